"""Where a sweep's tasks run: in this process, on a Dask cluster, or in a process pool.

Every executor takes the same tasks and hands back each task's rows (or the exception that
stopped it, after its retries) as soon as it finishes, so the caller can journal it at once.

- ``inprocess``: one task after another here (``serial`` or ``batch`` mode decides how a task runs).
- ``dask``: Dask distributed futures on a ``LocalCluster`` (one single-threaded worker process
  per core) or on the scheduler at an address. Workers are warmed first (numba kernels loaded).
  A task that raises is retried ``retries`` times; a task whose worker dies is rescheduled by the
  scheduler (up to ``distributed.scheduler.allowed-failures`` times).
- ``processes``: ``concurrent.futures.ProcessPoolExecutor``, the fallback when Dask is missing;
  a task that raises is resubmitted ``retries`` times.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import UsageError
from .runner import Task, run_task, warm_up

__all__ = ["run_inprocess", "run_dask", "run_processes", "dask_available", "connect"]

Done = Callable[[Task, list[dict] | None, BaseException | None], None]


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def run_inprocess(scenes: list, tasks: Iterable[Task], done: Done, retries: int = 2) -> None:
    """Run ``tasks`` one after another in this process (``scenes[config_id]`` is each one's scene)."""
    for task in tasks:
        _retrying(lambda t=task: run_task(scenes[t.config_id], t), task, done, retries)


def _retrying(call, task: Task, done: Done, retries: int) -> None:
    for attempt in range(retries + 1):
        try:
            rows = call()
        except Exception as exc:  # noqa: BLE001 - retried, then reported with the task, never dropped
            if attempt == retries:
                done(task, None, exc)
            continue
        done(task, rows, None)
        return


def connect(scheduler: str | None, workers: int | None, timeout_s: float = 5.0):
    """A Dask ``Client``: to ``scheduler`` when given, else to a new ``LocalCluster``.

    Raises:
        UsageError: the scheduler cannot be reached (names the address and how to start one).
    """
    from distributed import Client, LocalCluster

    if scheduler is None:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster)
    if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://", "ucx://")):
        raise UsageError(f"--scheduler {scheduler!r}: expected an address such as tcp://host:8786")
    try:
        return Client(scheduler, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({type(exc).__name__}). "
                         f"Hint: start one with `dask scheduler` and workers with `dask worker {scheduler}`, "
                         "or leave --scheduler out to run on a local cluster") from None


def run_dask(client, scenes: list, tasks: list[Task], done: Done, retries: int = 2) -> None:
    """Run ``tasks`` on ``client``'s cluster; call ``done`` as each finishes (in completion order)."""
    from distributed import as_completed

    client.run(warm_up)  # every worker loads the kernels once, before the first task arrives
    tag = os.urandom(4).hex()
    # Each configuration's scene travels to the cluster once, as a task whose result the run tasks
    # take: unlike scattered data, the scheduler can compute it again if the worker holding it dies.
    remote = {c: client.submit(_scene_of, scenes[c], key=f"twin-scene-{tag}-{c}", pure=False)
              for c in sorted({t.config_id for t in tasks})}
    futures = {}
    for task in tasks:
        fut = client.submit(run_task, remote[task.config_id], task, retries=retries, pure=False,
                            key=f"twin-sweep-{tag}-{task.key}")
        futures[fut] = task
    try:
        for fut in as_completed(futures):
            task = futures[fut]
            if fut.status == "finished":
                done(task, fut.result(), None)
            else:
                done(task, None, fut.exception())
            fut.release()
    finally:
        for fut in futures:
            fut.release()
        for fut in remote.values():
            fut.release()


def _scene_of(scene):
    return scene


def _init_process() -> None:
    warm_up()


def run_processes(scenes: list, tasks: list[Task], done: Done, retries: int = 2,
                  workers: int | None = None) -> None:
    """Run ``tasks`` on a local process pool (the fallback when Dask is not installed).

    A task that raises, or whose worker died (the pool is then broken), is run again in a fresh
    pool, up to ``retries`` times.
    """
    import multiprocessing as mp
    import sys
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    attempts: dict[str, int] = {}  # by task key: a task's overrides may hold unhashable mappings
    pending = list(tasks)
    while pending:
        with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=ctx,
                                 initializer=_init_process) as pool:
            futures = {pool.submit(run_task, scenes[t.config_id], t): t for t in pending}
            pending = []
            for fut in as_completed(futures):
                task = futures[fut]
                exc: Any = fut.exception()
                if exc is None:
                    done(task, fut.result(), None)
                    continue
                attempts[task.key] = attempts.get(task.key, 0) + 1
                if attempts[task.key] > retries:
                    done(task, None, exc)
                else:
                    pending.append(task)
