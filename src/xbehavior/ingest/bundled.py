"""Adapters for the bundled real datasets (see each folder's SOURCE.md).

Each event-log adapter only describes its source (a SourceSpec); reading, validation,
dropping and counting are shared (:mod:`xbehavior.ingest.core`). Online Retail keeps its own
module (order lines with cancellations); Online Shoppers is a session table, not an event log.
"""

from __future__ import annotations

from pathlib import Path

from xbehavior.engine import Engine
from xbehavior.ingest.checks import LAYOUT_FIX, check_columns, check_not_empty
from xbehavior.ingest.core import SourceSpec, load_events, read_relation
from xbehavior.ingest.quality import DataQuality
from xbehavior.ingest.schema import SESSION_COLUMNS

#: e-shop clothing 2008 country codes -> names, from its SOURCE.md / description file.
#: Code 12 ('unidentified') becomes NULL; 43-47 are internet domains, not countries.
ESHOP_COUNTRIES = (
    "Australia", "Austria", "Belgium", "British Virgin Islands", "Cayman Islands",
    "Christmas Island", "Croatia", "Cyprus", "Czech Republic", "Denmark", "Estonia", None,
    "Faroe Islands", "Finland", "France", "Germany", "Greece", "Hungary", "Iceland", "India",
    "Ireland", "Italy", "Latvia", "Lithuania", "Luxembourg", "Mexico", "Netherlands", "Norway",
    "Poland", "Portugal", "Romania", "Russia", "San Marino", "Slovakia", "Slovenia", "Spain",
    "Sweden", "Switzerland", "Ukraine", "United Arab Emirates", "United Kingdom", "USA",
    ".biz", ".com", ".int", ".net", ".org",
)
ESHOP_CATEGORIES = ("trousers", "skirts", "blouses", "sale")


def _list_sql(values: tuple[str | None, ...]) -> str:
    return "[" + ", ".join("NULL" if v is None else f"'{v}'" for v in values) + "]"


def _columns(engine: Engine, relation: str) -> list[str]:
    return [str(c) for c in engine.sql(f"DESCRIBE SELECT * FROM {relation}").iloc[:, 0]]


def ingest_rees46(engine: Engine, path: Path, table: str = "events") -> DataQuality:
    """REES46 events: view / cart / remove_from_cart / purchase with user and session ids.

    ``user_session`` -> session_id, ``category_code`` -> category, ``product_id`` -> item_id;
    ``event_time`` carries ' UTC'. Purchases are one unit each: revenue = price.
    """
    relation = read_relation(path)
    need = {"event_time": "ts", "event_type": "event_type", "product_id": "item_id",
            "category_code": "category", "brand": "brand", "price": "price",
            "user_id": "user_id", "user_session": "session_id"}
    check_columns(path, need, _columns(engine, relation), LAYOUT_FIX)
    exprs = {"user_id": "user_id", "session_id": "user_session", "item_id": "product_id",
             "category": "category_code", "brand": "brand", "price": "price"}
    spec = SourceSpec(path=path, relation=relation, ts_expr="event_time", exprs=exprs,
                      event_expr="event_type", columns={v: k for k, v in need.items()})
    return load_events(engine, spec, table)


def ingest_eshop_clickstream(engine: Engine, path: Path, table: str = "events") -> DataQuality:
    """e-shop clothing 2008: every product-page click -> one ``view`` event.

    The source has a date but **no time of day**: ts is midnight UTC of the click's day, and
    the order of clicks within a session is the file order (column ``order``). Sessions come
    from ``session ID``; there is no user id. No duplicates are dropped: repeated clicks on
    one product in a day differ only by ``order``, which the canonical schema does not keep.
    """
    relation = read_relation(path, delimiter=";")
    need = {"year": "ts", "month": "ts", "day": "ts", "order": "order", "country": "country",
            "session ID": "session_id", "page 1 (main category)": "category",
            "page 2 (clothing model)": "item_id", "price": "price"}
    check_columns(path, need, _columns(engine, relation), LAYOUT_FIX)
    ts = ('make_date(CAST("year" AS INTEGER), CAST("month" AS INTEGER), '
          'CAST("day" AS INTEGER))')
    exprs = {
        "session_id": '"session ID"',
        "item_id": '"page 2 (clothing model)"',
        "category": f'{_list_sql(ESHOP_CATEGORIES)}[CAST("page 1 (main category)" AS INTEGER)]',
        "price": "price",
        "country": f"{_list_sql(ESHOP_COUNTRIES)}[CAST(country AS INTEGER)]",
    }
    spec = SourceSpec(path=path, relation=relation, ts_expr=ts, exprs=exprs,
                      default_event="view", columns={"ts": "year/month/day"}, dedupe=False)
    quality = load_events(engine, spec, table)
    quality.notes["date_only_timestamps"] = quality.rows_kept
    return quality


def ingest_dunnhumby(engine: Engine, path: Path, table: str = "events") -> DataQuality:
    """dunnhumby Complete Journey basket lines -> ``purchase`` events.

    household_id -> user_id, basket_id -> order_id, product_id -> item_id, product category
    and brand (National/Private) from ``products.parquet`` beside ``path``; revenue =
    sales_value, price = sales_value / quantity (NULL when quantity is 0); coupon = 'coupon'
    where coupon_disc > 0. Timestamps are already UTC instants (see SOURCE.md).
    """
    products = read_relation(path.parent / "products.parquet")
    lines = read_relation(path).replace("')", "', file_row_number=true)")
    need = ("household_id", "basket_id", "product_id", "quantity", "sales_value", "coupon_disc",
            "transaction_timestamp")
    check_columns(path, {c: c for c in need}, _columns(engine, lines), LAYOUT_FIX)
    relation = f"""(SELECT t.*, p.product_category, p.brand FROM {lines} t
        LEFT JOIN {products} p USING (product_id) ORDER BY t.file_row_number)"""
    exprs = {
        "user_id": "household_id", "order_id": "basket_id", "item_id": "product_id",
        "category": "product_category", "brand": "brand", "quantity": "quantity",
        "price": "CASE WHEN quantity > 0 THEN sales_value / quantity END",
        "revenue": "sales_value", "country": "'United States'",
        "coupon": "CASE WHEN coupon_disc > 0 THEN 'coupon' END",
    }
    spec = SourceSpec(path=path, relation=relation, ts_expr="transaction_timestamp",
                      exprs=exprs, default_event="purchase",
                      columns={"ts": "transaction_timestamp", "price": "sales_value"})
    return load_events(engine, spec, table)


_SHOPPERS_EXTRA = {
    "Administrative": "n_admin_pages", "Informational": "n_info_pages",
    "ProductRelated": "n_product_pages", "Administrative_Duration": "admin_duration_s",
    "Informational_Duration": "info_duration_s",
    "ProductRelated_Duration": "product_duration_s", "BounceRates": "bounce_rate",
    "ExitRates": "exit_rate", "PageValues": "page_value", "SpecialDay": "special_day",
}


def ingest_online_shoppers(engine: Engine, path: Path, table: str = "sessions") -> DataQuality:
    """Online Shoppers Intention: one row per session -> the session-table form.

    Columns are SESSION_COLUMNS (session_id = 1-based row number, converted = Revenue,
    n_views = ProductRelated pages, n_events = all pages, os/browser = the anonymised codes;
    no user, time, country or cart columns) plus the source's own page/duration/GA-rate
    columns and month, weekend, region, traffic_type, visitor_type. Nothing is dropped: the
    125 fully repeated rows are sessions of different users (single-page bounces) and are
    kept and flagged as ``repeated_rows``.
    """
    relation = read_relation(path)
    present = _columns(engine, relation)
    need = {c: "session table" for c in (*_SHOPPERS_EXTRA, "Month", "OperatingSystems",
                                          "Browser", "Region", "TrafficType", "VisitorType",
                                          "Weekend", "Revenue")}
    check_columns(path, need, present, LAYOUT_FIX)
    common = {
        "session_id": "CAST(row_number() OVER () AS VARCHAR)",
        "n_events": "CAST(Administrative AS INTEGER) + CAST(Informational AS INTEGER) "
                    "+ CAST(ProductRelated AS INTEGER)",
        "n_views": "CAST(ProductRelated AS INTEGER)",
        "os": "OperatingSystems", "browser": "Browser",
        "converted": "upper(Revenue) = 'TRUE'",
    }
    parts = [f"CAST({common.get(c, 'NULL')} AS {t}) AS {c}" for c, t in SESSION_COLUMNS.items()]
    parts += [f"CAST({src} AS DOUBLE) AS {dst}" for src, dst in _SHOPPERS_EXTRA.items()]
    parts += ["Month AS month", "upper(Weekend) = 'TRUE' AS weekend",
              "CAST(Region AS INTEGER) AS region", "CAST(TrafficType AS INTEGER) AS traffic_type",
              "VisitorType AS visitor_type"]
    engine.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {', '.join(parts)} "
                   f"FROM {relation}")
    rows = engine.count(table)
    check_not_empty(path, rows)
    repeated = rows - int(engine.sql(
        f"SELECT count(*) FROM (SELECT DISTINCT * EXCLUDE (session_id) FROM {table})").iloc[0, 0])
    quality = DataQuality(source=str(path), rows_read=rows, rows_kept=rows,
                          notes={"repeated_rows": repeated})
    quality.check_balanced()
    return quality
