"""Rebuild ``rees46_renamed.csv``: a real REES46 slice exported the way another shop might.

Takes every event of the first 40 users (by first appearance) who purchased in the bundled
REES46 window, renames the columns, renames the event names, and writes local Warsaw time in
day-first format. ``rees46_mapping.yaml`` maps it back; ingesting it must give the same
events as the bundled adapter for those users (tests/ingest/test_generic.py checks this).

Run: ``python examples/make_rees46_example.py``
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from xbehavior.datasets import data_path

OUT = Path(__file__).with_name("rees46_renamed.csv")


def main() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    src = data_path("rees46")
    con.execute(f"""
        COPY (
          WITH raw AS (SELECT *, row_number() OVER () AS n
                       FROM read_csv('{src}', all_varchar=true)),
          buyers AS (SELECT user_id, min(n) AS first_n FROM raw
                     WHERE user_id IN (SELECT user_id FROM raw WHERE event_type = 'purchase')
                     GROUP BY user_id ORDER BY first_n LIMIT 40)
          SELECT user_session AS "Visit", user_id AS "Shopper",
                 strftime(timezone('Europe/Warsaw', CAST(event_time AS TIMESTAMPTZ)),
                          '%d/%m/%Y %H:%M:%S') AS "When",
                 CASE event_type WHEN 'view' THEN 'product_view'
                                 WHEN 'cart' THEN 'add_to_basket'
                                 WHEN 'purchase' THEN 'order' END AS "Action",
                 product_id AS "SKU", category_code AS "Category", brand AS "Maker",
                 price AS "Amount"
          FROM raw WHERE user_id IN (SELECT user_id FROM buyers) ORDER BY n
        ) TO '{OUT}' (HEADER, DELIMITER ',')
    """)


if __name__ == "__main__":
    main()
