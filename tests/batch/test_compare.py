"""`storagemarket compare` on the bundled comparison at two days: runs, page, table, resume.

One test, so pytest-xdist never runs the ten simulations twice (a module fixture runs once per
worker that gets one of the module's tests).
"""

import pandas as pd
from test_compare_report import Text

from batch_runs import comparison
from batch_runs.store import ResultStore
from experiments.cli import main
from market.measures import MEASURES

BUNDLED = "experiments/comparisons/designs.yaml"


def test_compare_the_bundled_designs_on_two_days(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["compare", BUNDLED, "--out", str(out), "--seeds", "2", "--processes", "1"]
    assert main(args) == 0
    design = comparison.load(BUNDLED, seeds=2)

    # every design ran on both days, labelled by its name
    rows = ResultStore(out).read()
    assert (rows.status == "ok").all(), rows.error.dropna().tolist()
    assert sorted(rows.run_id) == sorted(r.run_id for r in design.runs())
    assert list(rows.columns[5:7]) == ["design_name", "recipe"], "the design's name is a parameter column"
    assert rows.groupby("design_name").seed.apply(tuple).to_dict() == dict.fromkeys(design.designs, (0, 1))
    s0 = rows[rows.design_name == "S0"]
    assert (s0["outcomes.p2p_volume_mwh"] == 0).all() and (s0["outcomes.gain_rmb"].abs() < 1e-6).all()

    # the page names every design and measure; the table pairs every design with S0 on both days
    page = (out / "compare.html").read_text()
    text = " ".join(Text(page).text)
    assert all(f"<td>{name}</td>" in page for name in design.designs)
    assert [name for name in MEASURES if name not in text] == []
    assert "Few days (n = 2)" in text and page.count("data:image/png;base64,") == 4
    table = pd.read_csv(out / "compare.csv")
    assert set(table.design_name) == set(design.designs) and (table.n == 2).all()
    assert table[table.design_name != "S0"].pairs.eq(2).all()

    # --resume runs nothing and writes the same bytes; other seeds are another design
    before = {p.name: p.read_bytes() for p in out.glob("compare*")}
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    captured = capsys.readouterr()
    assert "0 runs done (0 failed), 10 already there" in captured.out and "10/10" in captured.err
    assert {p.name: p.read_bytes() for p in out.glob("compare*")} == before, "byte-reproducible"
    assert main(["compare", BUNDLED, "--out", str(out), "--seeds", "3", "--resume"]) == 2
    assert "holds a different design" in capsys.readouterr().err
