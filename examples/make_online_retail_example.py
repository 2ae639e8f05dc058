"""Write the bundled UCI Online Retail log as another shop's order-line export might look.

Columns renamed ("Invoice", "Customer ID", ...), the date written day-first as a UK shop's
system would ("01/12/2010 08:26"), customer ids as whole-number text, and a "Document type"
column ("Invoice", or "Credit note" for a cancelled invoice "C..."), so that
``online_retail_mapping.yaml`` can net cancellations as returns through its event mapping.
Every row of the source is written (or every row of the first ``--customers`` customers by id,
for a quick try); nothing is cleaned, so ingest's data-quality summary shows what it drops.

    python examples/make_online_retail_example.py runs/orders.csv
    xbehavior run --dataset file --input runs/orders.csv \\
        --mapping examples/online_retail_mapping.yaml --out runs/own-orders
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from xbehavior.atomic import write_with
from xbehavior.datasets import data_path


def write_example(out: Path, customers: int | None = None) -> None:
    """Write the renamed export to ``out`` (CSV), all customers or the first ``customers``."""
    src = str(data_path("online_retail")).replace("'", "''")
    keep = ("" if customers is None else
            f"WHERE CustomerID IN (SELECT DISTINCT CustomerID FROM read_parquet('{src}') "
            f"WHERE CustomerID IS NOT NULL ORDER BY 1 LIMIT {int(customers)})")

    def copy(tmp: Path) -> None:
        quoted = str(tmp).replace("'", "''")
        duckdb.connect().execute(f"""
            COPY (
              SELECT InvoiceNo AS "Invoice",
                     CASE WHEN starts_with(InvoiceNo, 'C') THEN 'Credit note' ELSE 'Invoice'
                       END AS "Document type",
                     StockCode AS "StockCode", Description AS "Description",
                     Quantity AS "Quantity",
                     strftime(CAST(InvoiceDate AS TIMESTAMP), '%d/%m/%Y %H:%M')
                       AS "InvoiceDate",
                     UnitPrice AS "Price", CAST(CAST(CustomerID AS BIGINT) AS VARCHAR)
                       AS "Customer ID",
                     Country AS "Country"
              FROM read_parquet('{src}') {keep}
            ) TO '{quoted}' (HEADER, DELIMITER ',', FORMAT CSV)""")

    write_with(Path(out), copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--customers", type=int, help="only the first N customers by id")
    args = parser.parse_args()
    write_example(args.out, args.customers)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
