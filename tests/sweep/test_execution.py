"""The same sweep gives identical per-run results wherever it runs; failures are retried; resume works.

One Dask LocalCluster (2 single-threaded worker processes) is shared by the module.
"""

from __future__ import annotations

import json
import os
import signal

import pandas as pd
import pytest

import twin
from twin.sweep.runner import KPI_COLUMNS

from .scenes import busy, two_machines

PARAMS = {"b1.capacity": "2..3", "m1.scrap_prob": "0.0,0.05"}
COMPARED = ["config_id", "replication", "seed", "b1.capacity", "m1.scrap_prob", "status", *KPI_COLUMNS]


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return busy(tmp_path_factory.mktemp("scenes"))


@pytest.fixture(scope="module")
def serial(scene):
    return twin.sweep(scene, PARAMS, replications=4, until=3000, executor="serial")


def test_serial_runs_are_plain_twin_runs(scene, serial):
    """Each row is what Twin gives for that configuration and seed (common seeds across configurations)."""
    runs = serial.runs
    assert len(runs) == 16 and (runs["status"] == "ok").all()
    assert sorted(set(runs["seed"])) == [3, 4, 5, 6]  # sim.seed 3, replication i -> 3 + i, in every configuration
    assert (runs.groupby("config_id")["seed"].apply(list) == pd.Series([[3, 4, 5, 6]] * 4)).all()
    row = runs[(runs["config_id"] == 3) & (runs["replication"] == 2)].iloc[0]
    assert (row["b1.capacity"], row["m1.scrap_prob"]) == (3, 0.05)
    sc = twin.sweep.params.SceneTemplate.from_path(scene).build({"b1.capacity": 3, "m1.scrap_prob": 0.05})
    tw = twin.Twin(sc, seed=5, trace=False)  # warm-up from the scene (100 s)
    tw.run(until=3000, check_deadlock=False)
    k = tw.kpis()
    assert row["good"] == k["good"] and row["throughput_per_hour"] == k["throughput"]["per_hour"]
    assert row["lead_time_mean_s"] == k["lead_time_s"]["mean"] and row["bottleneck"] == k["bottleneck"]
    assert runs["scrapped"][runs["m1.scrap_prob"] == 0.0].eq(0).all()
    assert runs["scrapped"][runs["m1.scrap_prob"] == 0.05].gt(0).all()


def test_batch_kernel_gives_identical_runs(scene, serial):
    batch = twin.sweep(scene, PARAMS, replications=4, until=3000, executor="batch")
    pd.testing.assert_frame_equal(batch.runs[COMPARED], serial.runs[COMPARED])


def test_dask_local_cluster_gives_identical_runs(scene, serial, client):
    dask = twin.sweep(scene, PARAMS, replications=4, until=3000, client=client, chunk=3)
    assert dask.executor == "dask"
    pd.testing.assert_frame_equal(dask.runs[COMPARED], serial.runs[COMPARED])


def test_scheduler_address_runs_on_that_cluster(scene, serial, client):
    """--scheduler tcp://...: the sweep connects to the running cluster (and leaves it running)."""
    address = client.scheduler.address
    assert address.startswith("tcp://")
    remote = twin.sweep(scene, PARAMS, replications=4, until=3000, scheduler=address)
    assert remote.executor == "dask"
    pd.testing.assert_frame_equal(remote.runs[COMPARED], serial.runs[COMPARED])
    assert len(client.scheduler_info()["workers"]) == 2


def test_process_pool_gives_identical_runs(scene, serial):
    pool = twin.sweep(scene, PARAMS, replications=4, until=3000, executor="processes", workers=2, chunk=1)
    pd.testing.assert_frame_equal(pool.runs[COMPARED], serial.runs[COMPARED])


class Interrupted(Exception):
    pass


def test_resume_runs_only_the_missing_runs(tmp_path, scene, serial):
    """A sweep stopped after 2 of 4 configurations resumes with only the 8 missing runs."""
    out = tmp_path / "sweep"

    def stop_after_two_configs(done, total):
        if done >= 8:
            raise Interrupted

    with pytest.raises(Interrupted):
        twin.sweep(scene, PARAMS, replications=4, until=3000, executor="batch", out=out,
                   progress=stop_after_two_configs)
    assert len((out / "runs.jsonl").read_text().splitlines()) == 8
    assert not (out / "runs.parquet").exists()
    with (out / "runs.jsonl").open("a") as fh:
        fh.write('{"config_id": 2, "replication": 0, "sta')  # the machine died mid-write
    with pytest.raises(twin.UsageError, match="add --resume"):
        twin.sweep(scene, PARAMS, replications=4, until=3000, out=out)
    with pytest.raises(twin.UsageError, match=r"holds a different sweep \(changed: replications\)"):
        twin.sweep(scene, PARAMS, replications=5, until=3000, out=out, resume=True)
    done = twin.sweep(scene, PARAMS, replications=4, until=3000, executor="batch", out=out, resume=True)
    assert done.ran == 8
    pd.testing.assert_frame_equal(done.runs[COMPARED], serial.runs[COMPARED])
    table = pd.read_parquet(out / "runs.parquet")
    pd.testing.assert_frame_equal(table[COMPARED], serial.runs[COMPARED])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs_ok"] == 16 and summary["runs_this_session"] == 8 and summary["failed"] == []
    again = twin.sweep(scene, PARAMS, replications=4, until=3000, executor="batch", out=out, resume=True)
    assert again.ran == 0


def test_a_killed_worker_is_replaced_and_the_sweep_completes(tmp_path, client):
    """SIGKILL one of the two workers mid-sweep: its task is rescheduled and no run is lost or changed."""
    scene = two_machines(tmp_path)
    params = {"b1.capacity": "1..12"}
    pids = set(client.run(os.getpid).values())
    killed = []

    def kill_one_worker(done, total):
        if done >= 1 and not killed:
            pid = sorted(pids)[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    # runs of about 0.1 s each, one per task, so that the killed worker has one in flight
    result = twin.sweep(scene, params, replications=1, until=300_000, client=client, chunk=1,
                        progress=kill_one_worker)
    assert killed

    def reruns(dask_scheduler):  # run tasks that went to processing more than once
        starts: dict = {}
        for key, _start, finish, *_ in dask_scheduler.transition_log:
            if str(key).startswith("twin-sweep-") and finish == "processing":
                starts[key] = starts.get(key, 0) + 1
        return sum(1 for n in starts.values() if n > 1)

    assert client.run_on_scheduler(reruns) >= 1  # the killed worker's task was run again elsewhere
    assert len(result.runs) == 12 and (result.runs["status"] == "ok").all(), result.failed
    reference = twin.sweep(scene, params, replications=1, until=300_000, executor="batch")
    pd.testing.assert_frame_equal(result.runs[["config_id", "seed", *KPI_COLUMNS]],
                                  reference.runs[["config_id", "seed", *KPI_COLUMNS]])
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in set(client.run(os.getpid).values())


def test_a_failing_run_is_retried_then_reported(tmp_path, monkeypatch):
    """A task that raises is retried; one that keeps raising is reported per run, never dropped."""
    from twin.sweep import runner

    scene = two_machines(tmp_path)
    calls = {"n": 0}
    real = runner.run_task

    def flaky(scene, task):
        calls["n"] += 1
        if task.config_id == 1 and calls["n"] <= 2:
            raise OSError("disk hiccup")  # transient: the retry succeeds
        if task.config_id == 2:
            raise MemoryError("worker out of memory")  # persistent
        return real(scene, task)

    monkeypatch.setattr("twin.sweep.execute.run_task", flaky)
    result = twin.sweep(scene, {"b1.capacity": "1..3"}, replications=2, until=500, executor="batch", retries=2,
                        out=tmp_path / "out")
    ok = result.runs[result.runs["status"] == "ok"]
    assert sorted(ok["config_id"].unique()) == [0, 1]
    assert len(result.failed) == 2 and set(result.failed["config_id"]) == {2}
    assert result.failed["error"].str.contains("MemoryError: worker out of memory").all()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["runs_failed"] == 2 and summary["summary"][2]["failed"] == 2


def test_a_whole_distribution_as_a_parameter(tmp_path):
    """Mapping values (a whole distribution) sweep like scalars, in the table as JSON text."""
    scene = two_machines(tmp_path)
    values = '[{dist: exponential, mean: 0.5}, {dist: constant, value: 0.5}]'
    result = twin.sweep(scene, {"m1.process_time": values}, replications=3, until=2000, executor="processes",
                        workers=2, chunk=1, out=tmp_path / "out")
    assert (result.runs["status"] == "ok").all()
    assert set(result.runs["m1.process_time"]) == {'{"dist": "exponential", "mean": 0.5}',
                                                   '{"dist": "constant", "value": 0.5}'}
    tp = result.summary.set_index("config_id")["throughput_per_hour_mean"]
    assert tp[1] > tp[0]  # a constant M1 (same mean) starves M2 less
    assert (tmp_path / "out" / "runs.parquet").is_file()


def test_without_dask_auto_falls_back_to_a_process_pool(tmp_path, monkeypatch):
    monkeypatch.setattr("twin.sweep.execute.dask_available", lambda: False)
    scene = two_machines(tmp_path)
    result = twin.sweep(scene, {"b1.capacity": "1..2"}, replications=3, until=500, workers=2)
    assert result.executor == "processes" and (result.runs["status"] == "ok").all()
    with pytest.raises(twin.UsageError, match="needs the distributed package"):
        twin.sweep(scene, {"b1.capacity": "1..2"}, replications=3, until=500, executor="dask")


def test_scheduled_belt_faults_run_exactly_as_in_twin():
    """smt_line stops a belt on a schedule (Twin applies it between kernel calls): the batch executor
    must not skip it, so its runs equal Twin's."""
    from pathlib import Path

    smt = Path(__file__).resolve().parents[2] / "scenes" / "smt_line.yaml"
    scene = twin.load_scene(smt)
    assert any(f.kind == "conveyor_stop" for f in scene.faults)
    result = twin.sweep(smt, {"smt/oven_in.capacity": "3,6"}, replications=2, until=5000, warmup=0,
                        executor="batch")
    sc = twin.sweep.params.SceneTemplate.from_path(smt).build({"smt/oven_in.capacity": 6})
    tw = twin.Twin(sc, seed=scene.sim.seed + 1, trace=False, warmup_s=0)
    tw.run(until=5000, check_deadlock=False)
    row = result.runs[(result.runs["config_id"] == 1) & (result.runs["replication"] == 1)].iloc[0]
    k = tw.kpis()
    assert (row["good"], row["wip_avg"], row["lead_time_mean_s"]) == (k["good"], k["wip_avg"], k["lead_time_s"]["mean"])
