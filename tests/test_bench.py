"""The benchmark harness still runs: its cheapest scenario, end to end, on a tiny data set.

The figures themselves are not checked (benchmarks never assert on time), only that the
run completes and writes every figure it promises.
"""

import io
import json

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_bench_run_quick_engine_writes_its_figures(tmp_path, capsys):
    if connection.vendor != "postgresql":
        pytest.skip("bench generate writes with COPY: needs PostgreSQL (set DATABASE_URL)")
    from bench.__main__ import main
    from bench.generate import generate

    generate(talks=1, issues=3, parties=2, revisions=12, seed=4242, out=io.StringIO())
    code = main(
        ["run", "--quick", "--only", "engine", "--seed", "4242", "--results", str(tmp_path)]
    )
    assert code == 0
    (written,) = tmp_path.glob("*.json")
    result = json.loads(written.read_text())
    assert result["scenarios"] == ["engine"]
    assert result["failed"] == []
    assert {"cpu", "cores", "ram_gib", "kernel", "python", "postgresql", "commit"} <= set(
        result["machine"]
    )
    figures = {f["name"]: f for f in result["figures"]}
    for kind in ("numeric", "ordinal", "categorical"):
        figure = figures[f"{kind} issue, 8 parties"]
        assert figure["unit"] == "summaries/s"
        assert figure["median"] > 0
        assert figure["p95"] >= figure["median"]
    recompute = figures["whole talk recomputed (3 issues x 2 layers)"]
    assert (recompute["unit"], recompute["count"]) == ("ms", 3)
    assert recompute["median"] > 0
    assert "whole talk recomputed" in capsys.readouterr().out
