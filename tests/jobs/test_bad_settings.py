"""Bad settings and output paths for `run`, `segment`, `analyze`: one line, nothing left behind."""

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from xbehavior.atomic import output_folder
from xbehavior.cli import app
from xbehavior.errors import DataError

runner = CliRunner()
HEAD = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
        "CustomerID", "Country"]


def retail_csv(path: Path, customer_ids: bool = True) -> Path:
    """HAND-BUILT Online Retail log: customers 1 and 2 buy the same one line on 2011-01-10
    (identical profiles), 3 buys twice, 4 three times; 5 buys on 2011-06-01, after the
    cut-off (2011-06-01 - 90 days = 2011-03-03), so 4 customers and 3 distinct profiles."""
    orders = [(1, "2011-01-10"), (2, "2011-01-10"), (3, "2011-01-05"), (3, "2011-02-01"),
              (4, "2011-01-02"), (4, "2011-01-20"), (4, "2011-02-20"), (5, "2011-06-01")]
    rows = [(f"5{i:05d}", "A1", "MUG", 2, f"{day} 10:00:00", 3.5,
             float(cust) if customer_ids else None, "France")
            for i, (cust, day) in enumerate(orders)]
    pd.DataFrame(rows, columns=HEAD).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", [["run", "--models", "rnn"], ["segment"], ["analyze",
                                                                            "online_retail"]])
def test_out_that_is_a_file_is_one_line(tmp_path, command) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    result = runner.invoke(app, [*command, "--input", str(retail_csv(tmp_path / "o.csv")),
                                 "--out", str(afile)])
    assert result.exit_code == 2
    assert result.output.strip().endswith(f"--out {afile} is an existing file, not a folder; "
                                          "give a folder path (new or existing)")
    assert afile.read_text() == "keep me"


@pytest.mark.parametrize("command, message", [
    (["run", "--seed", "-1"], "error: setting 'seed' = -1: input should be greater than or "
                              "equal to 0"),
    (["run", "--seed", str(2**32)], "error: setting 'seed' = 4294967296: input should be less "
                                    "than 4294967296"),
    (["segment", "--seed", "-1"], "error: segments setting 'seed' = -1: input should be "
                                  "greater than or equal to 0"),
    (["segment", "--n-clusters", "0"], "error: segments setting 'n_clusters' = 0: input should "
                                       "be greater than or equal to 2"),
    (["segment", "--n-clusters", "-3"], "error: segments setting 'n_clusters' = -3: input "
                                        "should be greater than or equal to 2"),
    (["analyze", "online_retail", "--seed", "-1"],
     "error: --seed -1 is out of range; use a whole number from 0 to 4294967295"),
])
def test_bad_seed_or_k_is_one_line_and_leaves_no_folder(tmp_path, command, message) -> None:
    out = tmp_path / "new" / "out"
    result = runner.invoke(app, [*command, "--input", str(retail_csv(tmp_path / "o.csv")),
                                 "--out", str(out)])
    assert result.exit_code == 2 and result.output.strip() == message
    assert not (tmp_path / "new").exists()


def test_more_clusters_than_distinct_customers_is_refused(tmp_path) -> None:
    out = tmp_path / "seg"
    result = runner.invoke(app, ["segment", "--input", str(retail_csv(tmp_path / "o.csv")),
                                 "--out", str(out), "--n-clusters", "4"])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: --n-clusters 4 is more than the 3 distinct "
                                      "customer profiles (4 customers); choose 2 to 3, or leave "
                                      "it out to choose k")
    assert not out.exists()  # created by this command, nothing written: removed again


def _own_log_without_order_ids(path: Path) -> Path:
    path.write_text("user_id,ts,event_type,price\nu1,2024-01-01 10:00:00,purchase,5\n")
    return path


BUNDLED_FIX = ("give a file in the online_retail layout whose customer and order id columns "
               "are filled (docs/SCHEMA.md)")
OWN_LOG_FIX = ("map the customer and order (invoice) id columns: 'columns: {user_id: ..., "
               "order_id: ...}' in the --mapping file, and keep purchase rows")


@pytest.mark.parametrize(("command", "write", "counts", "fix"), [
    (["run", "--models", "rnn"], lambda p: retail_csv(p, customer_ids=False),
     "8 rows read, 8 kept, 0 dropped; flagged no_user_id 8", BUNDLED_FIX),
    (["segment"], lambda p: retail_csv(p, customer_ids=False),
     "8 rows read, 8 kept, 0 dropped; flagged no_user_id 8", BUNDLED_FIX),
    (["run", "--dataset", "file"], _own_log_without_order_ids,
     "1 rows read, 1 kept, 0 dropped", OWN_LOG_FIX),
])
def test_a_log_without_customers_names_file_counts_and_fix(tmp_path, command, write, counts,
                                                            fix) -> None:
    path = write(tmp_path / "nocust.csv")
    result = runner.invoke(app, [*command, "--input", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        f"error: {path}: no purchase row has both a customer id and an order id, so there are "
        f"no customers (data quality: {counts}); {fix}")
    assert not (tmp_path / "o").exists()


def test_output_folder_is_written_whole_or_not_at_all(tmp_path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(DataError), output_folder(existing):
        raise DataError("fails")
    assert existing.is_dir() and not any(existing.iterdir())  # existed before: kept, empty
    written = tmp_path / "written"
    with pytest.raises(DataError), output_folder(written) as staging:
        (staging / "report.html").write_text("x")
        raise DataError("fails after writing")
    assert not written.exists()  # a failed run leaves no half-written output
    nested = tmp_path / "a" / "b"
    with pytest.raises(DataError), output_folder(nested) as staging:
        (staging / "models").mkdir()
        raise DataError("fails")
    assert not (tmp_path / "a").exists()  # the parents it created are removed too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]  # no staging left


def test_an_earlier_output_is_replaced_whole_and_other_folders_refused(tmp_path) -> None:
    out = tmp_path / "run"
    with output_folder(out) as staging:
        (staging / "models" / "lstm").mkdir(parents=True)
        (staging / "report.html").write_text("first")
    with output_folder(out) as staging:  # the second run trained no lstm
        (staging / "report.html").write_text("second")
    assert (out / "report.html").read_text() == "second"
    assert not (out / "models").exists()  # nothing of the first run is mixed in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    foreign = r"already holds files that are not an xbehavior output; give a new or empty"
    with pytest.raises(DataError, match=foreign), output_folder(mine):
        pass
    reads = r"holds the input .*notes\.txt, which the outputs would replace; give another"
    with pytest.raises(DataError, match=reads), output_folder(mine, inputs=(mine / "notes.txt",)):
        pass
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
