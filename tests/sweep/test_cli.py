"""`twin sweep` and `twin optimize` as a user runs them: subprocesses, real files, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ..reference.closed_form import two_machine_exponential_throughput
from .scenes import two_machines

ROOT = Path(__file__).resolve().parents[2]


def twin_cmd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return two_machines(tmp_path_factory.mktemp("cli"))


def test_sweep_writes_runs_summary_and_plots(scene, tmp_path):
    out = tmp_path / "sweep"
    r = twin_cmd("sweep", scene, "--set", "b1.capacity=1..3", "--set", "m2.process_time.mean=0.8,1.0",
                 "--replications", "5", "--until", "1h", "--warmup", "60", "--seed", "10", "--executor", "batch",
                 "--format", "csv", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "6 configuration(s) x 5 replication(s)" in r.stdout and "30 run(s)" in r.stdout
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs.columns[:5]) == ["config_id", "replication", "seed", "b1.capacity", "m2.process_time.mean"]
    assert len(runs) == 30 and (runs["status"] == "ok").all()
    assert sorted(runs["seed"].unique()) == [10, 11, 12, 13, 14]
    assert runs.groupby("config_id")["seed"].apply(tuple).nunique() == 1  # the same seeds everywhere
    doc = json.loads((out / "summary.json").read_text())
    assert doc["until_s"] == 3600 and doc["warmup_s"] == 60 and doc["runs_ok"] == 30
    first = doc["summary"][0]
    assert first["parameters"] == {"b1.capacity": 1, "m2.process_time.mean": 0.8} and first["n"] == 5
    tp = runs[runs["config_id"] == 0]["throughput_per_hour"]
    assert first["kpis"]["throughput_per_hour"]["mean"] == pytest.approx(tp.mean())
    summary = pd.read_csv(out / "summary.csv")
    assert {"throughput_per_hour_mean", "throughput_per_hour_ci95", "wip_avg_mean"} <= set(summary.columns)
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == ["main_effects.png", "throughput_vs_b1.capacity.png", "throughput_vs_m2.process_time.mean.png"]
    assert all((out / "plots" / p).stat().st_size > 10_000 for p in plots)


def test_sweep_from_a_spec_file_with_latin_hypercube(scene, tmp_path):
    spec = tmp_path / "study.yaml"
    spec.write_text(f"scene: {scene}\nparameters:\n  b1.capacity: 1..8\n  m1.process_time.mean: {{low: 0.8, "
                    "high: 1.2}\ndesign: lhs\nsamples: 6\nreplications: 3\nuntil: 600\n")
    r = twin_cmd("sweep", "--spec", spec, "--out", tmp_path / "o", "--executor", "batch")
    assert r.returncode == 0, r.stderr
    runs = pd.read_parquet(tmp_path / "o" / "runs.parquet")
    assert len(runs) == 18 and runs["config_id"].nunique() == 6
    assert runs["m1.process_time.mean"].between(0.8, 1.2).all() and runs["b1.capacity"].between(1, 8).all()


def test_optimize_finds_the_smallest_buffer_for_95_percent(scene, tmp_path):
    """Exact: TH(B)/TH(8) = 0.943 at B=4 and 0.963 at B=5, so the smallest buffer is 5."""
    exact = [two_machine_exponential_throughput(1.0, 1.0, b) for b in range(1, 9)]
    assert [b for b in range(1, 9) if exact[b - 1] >= 0.95 * max(exact)][0] == 5
    r = twin_cmd("optimize", scene, "--set", "b1.capacity=1..8", "--constraint", "throughput_per_hour >= 0.95 * max",
                 "--replications", "20", "--until", "20000", "--warmup", "500", "--executor", "batch",
                 "--out", tmp_path / "opt")
    assert r.returncode == 0, r.stderr
    assert "best: b1.capacity=5 (cost 5)" in r.stdout
    doc = json.loads((tmp_path / "opt" / "optimize.json").read_text())
    assert doc["best"] == {"b1.capacity": 5} and doc["best_surely_feasible"] is True
    assert doc["feasible"] == 4  # 5, 6, 7, 8


@pytest.mark.parametrize("args, words", [
    (["--set", "b1.capacty=1..4"], ["b1 has no field 'capacty'", "Did you mean 'capacity'"]),
    (["--set", "b2.capacity=1..4"], ["no element named 'b2'", "Did you mean 'm2' or 'b1'?"]),
    (["--set", "b1.capacity=4..1"], ["empty range (4 > 1)"]),
    (["--set", "b1.capacity=1.5,2"], ["b1.capacity=1.5", "valid integer", "(got 1.5)"]),
    (["--set", "b1.capacity=1..2", "--until", "0"], ["until must be > 0"]),
    (["--set", "b1.capacity=1..2", "--scheduler", "tcp://127.0.0.1:9"],
     ["tcp://127.0.0.1:9", "cannot reach the Dask scheduler", "Hint: start one with `dask scheduler`"]),
])
def test_bad_input_is_one_clear_line_and_exit_code_2(scene, args, words):
    r = twin_cmd("sweep", scene, "--replications", "2", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    message = " ".join(r.stderr.split())
    assert all(w in message for w in words), r.stderr


def test_optimize_bad_constraint(scene):
    r = twin_cmd("optimize", scene, "--set", "b1.capacity=1..3", "--constraint", "throughput >= 0.9 * max")
    assert r.returncode == 2
    assert "unknown KPI 'throughput'" in r.stderr and "Did you mean 'throughput_total'" in r.stderr
