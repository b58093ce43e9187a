"""Plots of a sweep (matplotlib, Agg): main effects, and throughput against each parameter with CIs.

- ``main_effects.png``: for each parameter, the mean throughput at each of its values, averaged
  over the other parameters' values (the classic design-of-experiments main-effects plot).
- ``throughput_vs_<parameter>.png``: throughput against the parameter, one line per combination of
  the other parameters, with its 95% confidence band. Drawn for numeric parameters.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

__all__ = ["write_plots"]

MAX_LINES = 12  # more lines than this in one plot are unreadable; the first ones are drawn


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def write_plots(summary: pd.DataFrame, runs: pd.DataFrame, parameters: list[str], folder: Path) -> list[Path]:
    """Write the plots into ``folder``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    ok = runs[runs["status"] == "ok"]
    fig, axes = plt.subplots(1, len(parameters), figsize=(4 * len(parameters), 3.4), squeeze=False,
                             sharey=True)
    for ax, p in zip(axes[0], parameters, strict=True):
        effect = ok.groupby(p, sort=True)["throughput_per_hour"].mean()
        x = effect.index if _numeric(ok[p]) else [str(v) for v in effect.index]
        ax.plot(x, effect.values, "o-")
        ax.set_xlabel(p)
        if pd.api.types.is_integer_dtype(ok[p]):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("throughput (parts/h), mean")
    fig.suptitle("main effects")
    fig.tight_layout()
    path = folder / "main_effects.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    for p in parameters:
        if not _numeric(summary[p]):
            continue
        others = [q for q in parameters if q != p]
        fig, ax = plt.subplots(figsize=(6, 4))
        groups = list(summary.groupby(others, sort=True)) if others else [((), summary)]
        for key, g in groups[:MAX_LINES]:
            g = g.sort_values(p)
            key = key if isinstance(key, tuple) else (key,)
            label = ", ".join(f"{q}={v}" for q, v in zip(others, key, strict=True)) or None
            mean, half = g["throughput_per_hour_mean"], g["throughput_per_hour_ci95"].fillna(0.0)
            line = ax.plot(g[p], mean, "o-", label=label)[0]
            ax.fill_between(g[p], mean - half, mean + half, color=line.get_color(), alpha=0.2)
        ax.set_xlabel(p)
        if pd.api.types.is_integer_dtype(summary[p]):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("throughput (parts/h), mean ± 95% CI")
        ax.grid(alpha=0.3)
        if others:
            ax.legend(fontsize=7)
        fig.tight_layout()
        path = folder / f"throughput_vs_{_slug(p)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
