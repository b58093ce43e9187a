"""The `twin` command as a user runs it: real subprocesses, real files, exit codes."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMT = ROOT / "scenes" / "smt_line.yaml"


def twin_cmd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


def test_validate_ok():
    """A valid scene validates with exit code 0 and a summary."""
    r = twin_cmd("validate", str(SMT))
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout and "6 stations" in r.stdout


def test_run_writes_results(tmp_path):
    """`twin run --out` prints a KPI table and writes kpis.json, stations.csv and the trace."""
    r = twin_cmd("run", str(SMT), "--until", "2h", "--seed", "7", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "throughput" in r.stdout and "smt/place2" in r.stdout
    kpis = json.loads((tmp_path / "kpis.json").read_text())
    assert kpis["seed"] == 7 and kpis["until_s"] == 7200
    assert kpis["throughput"]["total"] > 0
    with (tmp_path / "stations.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows][:2] == ["smt/printer", "smt/spi"]
    for row in rows:
        total = sum(float(row[k]) for k in ("idle_frac", "busy_frac", "setup_frac", "blocked_frac",
                                             "down_frac", "off_shift_frac"))
        assert total == pytest.approx(1.0, abs=1e-9)
    with (tmp_path / "trace.csv").open() as fh:
        trace = list(csv.DictReader(fh))
    exits = [t for t in trace if t["event"] == "exit" and t["element"] == "smt/unloader"]
    # every part counted as output after the warm-up has an exit record in the trace
    after = [t for t in exits if float(t["t_s"]) >= kpis["warmup_s"]]
    assert len(after) == kpis["throughput"]["total"]


def test_same_seed_same_kpis(tmp_path):
    """Two runs with the same seed write identical KPIs; another seed differs."""
    outs = []
    for i, seed in enumerate(("3", "3", "4")):
        d = tmp_path / str(i)
        r = twin_cmd("run", str(SMT), "--until", "3h", "--seed", seed, "--out", str(d), "--no-trace")
        assert r.returncode == 0, r.stderr
        doc = json.loads((d / "kpis.json").read_text())
        doc.pop("scene_file")
        outs.append(doc)
    assert outs[0] == outs[1]
    assert outs[0]["lead_time_s"] != outs[2]["lead_time_s"]


def test_replications_report_ci(tmp_path):
    """`--replications N` reports mean and 95% CI half-width per KPI and one row per run."""
    r = twin_cmd("run", str(SMT), "--until", "2h", "--replications", "4", "--out", str(tmp_path),
                 "--no-trace", "--workers", "2")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "kpis.json").read_text())
    assert doc["replications"] == 4 and len(doc["runs"]) == 4
    assert [run["seed"] for run in doc["runs"]] == [7, 8, 9, 10]
    s = doc["summary"]["throughput_per_hour"]
    values = [run["throughput"]["per_hour"] for run in doc["runs"]]
    assert s["mean"] == pytest.approx(sum(values) / 4)
    assert s["ci95_half_width"] > 0
    # per part type, lead time p50, and per station: summarised too, stations also in a CSV
    assert {"throughput_per_hour/board_a", "throughput_per_hour/board_b", "lead_time_p50_s",
            "first_pass_yield"} <= set(doc["summary"])
    oee = doc["summary"]["station/smt/place2/oee"]
    assert 0 < oee["mean"] <= 1 and oee["n"] == 4
    with (tmp_path / "stations_summary.csv").open() as fh:
        rows = {(r["name"], r["kpi"]): r for r in csv.DictReader(fh)}
    assert float(rows[("smt/place2", "oee")]["mean"]) == pytest.approx(oee["mean"])
    assert "run 1 (seed 7)" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["run", "SMT", "--until", "8x"], "--until: cannot read duration '8x'"),
    (["run", "SMT", "--until", "-3h"], "--until"),
    (["run", "SMT", "--until", "1h", "--warmup", "2h"], "warm-up"),
    (["run", "SMT", "--until", "1h", "--trace-format", "xml"], "--trace-format"),
    (["run", "nope.yaml", "--until", "1h"], "nope.yaml: no such file"),
    (["validate", "nope.yaml"], "nope.yaml: no such file"),
    (["run", "SMT", "--until", "1h", "--seed", "-1"], "--seed must be in [0, 2**63"),
    (["run", "SMT", "--until", "1h", "--seed", "99999999999999999999999"], "--seed must be in [0, 2**63"),
    (["validate", "/dev/zero"], "/dev/zero: is not a regular file"),
])
def test_bad_input_exit_2(args, message):
    """Bad options and missing files give one clear message and exit code 2, no traceback."""
    args = [str(SMT) if a == "SMT" else a for a in args]
    r = twin_cmd(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in " ".join(r.stderr.split()) or message in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_scene_exit_2(tmp_path):
    """A scene error names file, line and key path, exit code 2."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMT.read_text().replace("to: smt/spi_in", "to: smt/spi_inn"))
    r = twin_cmd("validate", str(bad))
    assert r.returncode == 2
    text = " ".join(r.stderr.split())
    assert "bad.yaml:" in text and "stations[0].to" in text and "Did you mean 'smt/spi_in'" in text


def test_deadlock_exit_1(tmp_path):
    """A rework loop that fills up is reported as a deadlock naming the elements, exit code 1."""
    scene = tmp_path / "loop.yaml"
    scene.write_text("""
version: 1
part_types: [{name: p}]
sources: [{name: src, to: join, always_available: true}]
merges: [{name: join, to: q1}]
buffers:
  - {name: q1, to: work, capacity: 2}
  - {name: q2, to: check, capacity: 2}
stations:
  - {name: work, to: q2, process_time: 1.0, defect_prob: 0.5}
  - {name: check, to: gate, process_time: 1.0, inspection: {detect_prob: 1.0}}
diverters: [{name: gate, rule: by_inspection, on_pass: out, on_fail: join}]
sinks: [{name: out}]
""")
    r = twin_cmd("run", str(scene), "--until", "1h", "--out", str(tmp_path / "res"))
    assert r.returncode == 1, (r.stdout, r.stderr)
    text = " ".join(r.stderr.split())
    assert "deadlock" in text and "q1" in text and "work" in text
    assert (tmp_path / "res" / "kpis.json").exists()


def test_schema_command(tmp_path):
    """`twin schema` prints the JSON Schema of scene files."""
    r = twin_cmd("schema")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert "properties" in doc and "stations" in doc["properties"]


def test_trace_parquet(tmp_path):
    """`--trace-format parquet` writes the same trace as CSV would, as a Parquet table."""
    import pyarrow.parquet as pq

    r = twin_cmd("run", str(SMT), "--until", "1h", "--out", str(tmp_path), "--trace-format", "parquet")
    assert r.returncode == 0, r.stderr
    table = pq.read_table(tmp_path / "trace.parquet")
    assert table.column_names == ["t_s", "part_id", "part_type", "event", "element", "server", "detail"]
    events = set(table.column("event").to_pylist())
    assert {"created", "enter", "leave", "process_start", "process_end", "exit"} <= events


def test_gui_without_display_exit_2():
    """`--gui` where no display exists says so clearly, exit code 2."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    r = subprocess.run([sys.executable, "-m", "twin", "run", str(SMT), "--until", "1h", "--gui"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert r.returncode == 2
    assert "DISPLAY is not set" in " ".join(r.stderr.split())
    # a DISPLAY that names no reachable X server: PyBullet would end the process silently
    env["DISPLAY"] = ":97"
    r = subprocess.run([sys.executable, "-m", "twin", "run", str(SMT), "--until", "1h", "--gui"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert r.returncode == 2
    message = " ".join(r.stderr.split())
    assert "cannot connect to the X display ':97'" in message or "libX11" in message


def test_kpis_json_is_strict_json_when_nothing_came_out(tmp_path):
    """A run too short for any part to leave: undefined figures are null (NaN is not JSON)."""
    r = twin_cmd("run", str(SMT), "--until", "20s", "--warmup", "0", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr

    def no_constants(name):
        raise AssertionError(f"kpis.json holds {name}")

    kpis = json.loads((tmp_path / "kpis.json").read_text(), parse_constant=no_constants)
    assert kpis["throughput"]["total"] == 0
    assert kpis["lead_time_s"]["mean"] is None and kpis["yield"] is None
    assert kpis["line_oee"] == 0.0


def test_schema_to_a_missing_folder_exit_2(tmp_path):
    r = twin_cmd("schema", "--out", str(tmp_path / "nowhere" / "schema.json"))
    assert r.returncode == 2
    assert "cannot write" in r.stderr and "Traceback" not in r.stderr
