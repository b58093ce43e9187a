"""run_replications: core-only scenes run in batches and give exactly the KPIs of one Twin per seed."""

from __future__ import annotations

import json

import pytest

from twin import Twin
from twin.replications import run_replications
from twin.scene import load_scene_text

LINE = """\
version: 1
part_types: [{name: a}, {name: b}]
sources: [{name: src, to: q, interarrival: {dist: exponential, mean: 1.2}, part_mix: {a: 0.7, b: 0.3}}]
buffers:
  - {name: q, to: m1, capacity: 4}
  - {name: q2, to: m2, capacity: 2}
stations:
  - {name: m1, to: q2, process_time: {dist: exponential, mean: 1.0}, scrap_prob: 0.02,
     failures: [{mtbf_s: 60, mttr_s: 4}]}
  - {name: m2, to: out, process_time: {dist: triangular, low: 0.5, mode: 1.0, high: 1.6}}
sinks: [{name: out}]
"""

STORED = LINE.replace("{name: m2, to: out,", "{name: m2, to: rack,") + (
    "storages: [{name: rack, to: out, bays: 4, levels: 2, handling_s: 0.1}]\n")


def _twin_kpis(scene, seed: int, until: float, warmup: float) -> dict:
    """The reference: a fresh ``Twin`` per replication."""
    tw = Twin(scene, seed=seed, trace=False, warmup_s=warmup)
    tw.run(until=until, check_deadlock=False)
    out = tw.kpis()
    out["deadlock"] = tw.deadlocked()
    return out


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


@pytest.mark.parametrize("text", [LINE, STORED], ids=["batched", "one_twin_each"])
@pytest.mark.parametrize("workers", [1, 2])
def test_replications_equal_one_twin_per_seed(text, workers):
    scene = load_scene_text(text)
    seen = []
    runs = run_replications(scene, 7, until=2000.0, seed=11, warmup_s=100.0, workers=workers,
                            progress=lambda done, n: seen.append((done, n)))
    assert [r["seed"] for r in runs] == list(range(11, 18))
    assert seen[-1] == (7, 7) and all(b == 7 for _, b in seen) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    for r in runs:
        expected = _twin_kpis(scene, r["seed"], 2000.0, 100.0)
        expected["seed"] = r["seed"]
        assert _same(r, expected), r["seed"]
    assert len({r["throughput"]["total"] for r in runs}) > 1  # the seeds differ


def test_batch_restart_runs_each_seed_as_a_fresh_twin():
    """A batch's states are reset in place for new seeds (``BatchRun.restart``, which
    ``run_replications_batch`` uses between replications): each result equals a fresh ``Twin``'s,
    also after a lead-time log grew in an earlier run, and with fewer seeds than states."""
    from twin.core.batch import BatchRun, run_replications_batch

    scene = load_scene_text(LINE)
    batch = BatchRun(scene, [3, 4], log_capacity=64)  # ~1,600 exits: the logs grow
    batch.advance_to(2000.0)
    assert [k["throughput"]["total"] for k in batch.kpis(None, 0.0)] == [
        _twin_kpis(scene, s, 2000.0, 0.0)["throughput"]["total"] for s in (3, 4)]
    assert len(batch.states[0].lt_t) > 64
    for seeds in ([5, 6], [7]):
        batch.restart(seeds)
        batch.advance_to(100.0)
        base = batch.accumulators()
        batch.advance_to(2000.0)
        got = batch.kpis(base, 100.0)
        assert len(got) == len(seeds)
        for seed, k in zip(seeds, got, strict=True):
            assert _same(k, _twin_kpis(scene, seed, 2000.0, 100.0)), seed
    runs = run_replications_batch(scene, [8, 9, 10], 1500.0, 50.0)
    for seed, k in zip([8, 9, 10], runs, strict=True):
        assert _same(k, _twin_kpis(scene, seed, 1500.0, 50.0)), seed
    with pytest.raises(Exception, match="restart needs 1 to 1 seeds"):
        batch.restart([1, 2])


def test_worker_batch_follows_the_scene():
    """A process keeps one batch between the chunks of a call. A later call, with another scene, the
    first again, or the same scene object changed in place (a what-if edit in a notebook), must not
    reuse a batch compiled for what its scene was before."""
    one = load_scene_text(LINE)
    two = load_scene_text(LINE.replace("capacity: 4", "capacity: 1").replace("mean: 1.2", "mean: 0.9"))
    edited = load_scene_text(LINE)

    def check(scene) -> list[int]:
        runs = run_replications(scene, 2, until=800.0, seed=21, warmup_s=0.0, workers=1)
        for r in runs:
            expected = _twin_kpis(scene, r["seed"], 800.0, 0.0)
            expected["seed"] = r["seed"]
            assert _same(r, expected), r["seed"]
        return [r["throughput"]["total"] for r in runs]

    for scene in (one, two, one):
        check(scene)
    before = check(edited)
    edited.buffers[0] = edited.buffers[0].model_copy(update={"capacity": 1})
    edited.buffers[1] = edited.buffers[1].model_copy(update={"capacity": 1})
    assert check(edited) != before  # the edit changes the results, and they are the edited line's


@pytest.mark.parametrize("n,workers", [(1, 1), (7, 4), (60, 2), (1000, 2), (50, 1)])
def test_chunks_cover_the_seeds_once_and_shrink_towards_the_end(n, workers):
    from twin.replications import _chunks

    chunks = _chunks(n, workers)
    starts = [i for i, _ in chunks]
    sizes = [size for _, size in chunks]
    assert starts == [sum(sizes[:k]) for k in range(len(sizes))] and sum(sizes) == n
    assert all(1 <= s <= 20 for s in sizes) and sizes == sorted(sizes, reverse=True)
    # the last chunks are small: the workers finish within about one replication of each other
    assert sizes[-1] == 1 and sum(sizes[-workers:]) <= 2 * workers
