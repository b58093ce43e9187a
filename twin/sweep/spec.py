"""What a sweep varies: parameters, their values, and the design that combines them.

A parameter is named as in the scene (``smt/oven_in.capacity``, ``sim.warmup_s``) and given
values on the command line (``--set NAME=VALUES``) or in a YAML spec file:

- ``2..10``: integers 2 to 10 inclusive; ``0.8..1.2:0.1``: 0.8 to 1.2 in steps of 0.1 (inclusive);
  ``0.8..1.2``: the continuous interval (Latin hypercube designs only);
- ``0.8,1.0,1.2``: a list (each item read as a YAML scalar, so ``8h`` and ``true`` work too);
- ``5``: one value (an override that every configuration shares);
- ``[..]`` / ``{..}``: a YAML list, or one YAML mapping (a whole distribution, for example).

A ``grid`` design runs every combination. A ``lhs`` design draws ``samples`` configurations by
Latin hypercube sampling (scipy.stats.qmc): a range is then a continuous interval (an integer
range gives integers), a list is sampled as categories.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError
from ..yamlfile import read_yaml_file

__all__ = ["Parameter", "SweepSpec", "parse_set", "parse_values", "load_spec_file"]

DESIGNS = ("grid", "lhs")
MAX_CONFIGURATIONS = 100_000


@dataclass(frozen=True)
class Parameter:
    """One swept parameter.

    Attributes:
        name: scene name plus field path (``smt/oven_in.capacity``).
        values: the discrete values (grid), in order.
        low, high: the interval of a range (used by LHS; ``values`` then holds its grid points).
        integer: the range holds integers.
    """

    name: str
    values: tuple[Any, ...]
    low: float | None = None
    high: float | None = None
    integer: bool = False

    @property
    def is_range(self) -> bool:
        return self.low is not None


def _scalar(text: str) -> Any:
    text = text.strip()
    try:
        value = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return text
    return text if value is None and text else value


def _number(where: str, text: str) -> int | float:
    value = _scalar(text)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UsageError(f"{where}: range bound {text.strip()!r} is not a number; a range is 'a..b' "
                         "(integers) or 'a..b:step'")
    return value


def _range(where: str, text: str) -> tuple[tuple[Any, ...], float, float, bool]:
    bounds, _, step_text = text.partition(":")
    lo_text, _, hi_text = bounds.partition("..")
    lo, hi = _number(where, lo_text), _number(where, hi_text)
    if step_text:
        step = _number(where, step_text)
        if step <= 0:
            raise UsageError(f"{where}: range step must be > 0, got {step_text.strip()!r}")
    elif isinstance(lo, int) and isinstance(hi, int):
        step = 1
    else:
        step = None  # a continuous interval: sampled by LHS; a grid needs a step
    if hi < lo or (hi == lo and step is None):
        raise UsageError(f"{where}: empty range ({lo} > {hi}); write the smaller bound first, e.g. "
                         f"'{hi}..{lo}'" if hi < lo else f"{where}: empty interval ({lo}..{hi})")
    if step is None:
        return (), float(lo), float(hi), False
    integer = all(isinstance(v, int) for v in (lo, hi, step))
    count = int(math.floor((hi - lo) / step + 1e-9)) + 1
    if count > MAX_CONFIGURATIONS:
        raise UsageError(f"{where}: the range has {count:,} values; at most {MAX_CONFIGURATIONS:,}")
    # lo + i * step, rounded, so that 0.8..1.2:0.1 gives 1.0 and not 0.9999999999999999
    values = tuple(lo + i * step if integer else round(lo + i * step, 12) for i in range(count))
    return values, float(lo), float(hi), integer


def parse_values(where: str, text: Any) -> tuple[tuple[Any, ...], float | None, float | None, bool]:
    """(values, low, high, integer) of a value text (or of a parsed YAML value from a spec file)."""
    if isinstance(text, list):
        values = tuple(text)
    elif isinstance(text, dict):
        if set(text) <= {"low", "high", "step"} and {"low", "high"} <= set(text):
            step = f":{text['step']}" if "step" in text else ""
            return _range(where, f"{text['low']}..{text['high']}{step}")
        values = (text,)
    elif not isinstance(text, str):
        values = (text,)
    else:
        stripped = text.strip()
        if not stripped:
            raise UsageError(f"{where}: no values; give a range (2..10), a list (0.8,1.0) or one value")
        if stripped[0] in "[{":
            try:
                parsed = yaml.safe_load(stripped)
            except yaml.YAMLError as exc:
                raise UsageError(f"{where}: not valid YAML: {str(exc).splitlines()[0]}") from None
            return parse_values(where, parsed)
        if ".." in stripped:
            return _range(where, stripped)
        values = tuple(_scalar(v) for v in stripped.split(","))
    if not values:
        raise UsageError(f"{where}: empty list of values")
    if any(v is None or v == "" for v in values):
        raise UsageError(f"{where}: an empty value in {text!r}")
    return values, None, None, False


def parse_set(text: str) -> Parameter:
    """A :class:`Parameter` from one ``--set NAME=VALUES`` argument."""
    name, eq, values = text.partition("=")
    name = name.strip()
    if not eq or not name:
        raise UsageError(f"--set {text!r}: expected NAME=VALUES, e.g. --set 'smt/oven_in.capacity=2..10'")
    vals, lo, hi, integer = parse_values(f"--set {name}", values)
    return Parameter(name, vals, lo, hi, integer)


@dataclass
class SweepSpec:
    """Parameters and how to combine them (plus run settings a spec file may give).

    Attributes:
        parameters: the swept parameters, in column order.
        design: ``grid`` (every combination) or ``lhs`` (Latin hypercube of ``samples`` points).
        samples: number of LHS points.
        sample_seed: seed of the LHS draw (the design is then reproducible).
        settings: run settings from a spec file (``replications``, ``until``, ``warmup``, ``seed``,
            ``scene``); command-line options override them.
    """

    parameters: list[Parameter]
    design: str = "grid"
    samples: int | None = None
    sample_seed: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.design not in DESIGNS:
            raise UsageError(f"design must be one of {list(DESIGNS)}, got {self.design!r}")
        names = [p.name for p in self.parameters]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise UsageError(f"parameter {dup!r} is given twice")
        if self.design == "lhs":
            if not self.samples or self.samples < 1:
                raise UsageError("a Latin hypercube design needs samples >= 1 (--lhs N)")

    def configurations(self) -> list[dict[str, Any]]:
        """Every configuration as {parameter name: value}, in a fixed order."""
        if not self.parameters:
            return [{}]
        if self.design == "lhs":
            return self._lhs()
        for p in self.parameters:
            if not p.values:
                raise UsageError(f"parameter {p.name}: a range of non-integers ({p.low:g}..{p.high:g}) needs a step "
                                 f"for a grid, e.g. '{p.low:g}..{p.high:g}:0.1', or sample it with --lhs N")
        count = math.prod(len(p.values) for p in self.parameters)
        if count > MAX_CONFIGURATIONS:
            raise UsageError(f"the grid has {count:,} configurations; at most {MAX_CONFIGURATIONS:,} "
                             "(sample it with --lhs N instead)")
        names = [p.name for p in self.parameters]
        return [dict(zip(names, combo, strict=True)) for combo in
                itertools.product(*(p.values for p in self.parameters))]

    def _lhs(self) -> list[dict[str, Any]]:
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(self.parameters), seed=self.sample_seed).random(self.samples)
        out = []
        for row in u:
            config = {}
            for p, x in zip(self.parameters, row, strict=True):
                if p.is_range and p.integer:
                    # stratify over the integers low..high: each gets an equal share of [0, 1)
                    config[p.name] = int(p.low) + min(int(x * (p.high - p.low + 1)), int(p.high - p.low))
                elif p.is_range:
                    config[p.name] = float(p.low + x * (p.high - p.low))
                else:
                    config[p.name] = p.values[min(int(x * len(p.values)), len(p.values) - 1)]
            out.append(config)
        return out


SPEC_KEYS = ("scene", "parameters", "design", "samples", "sample_seed", "replications", "until", "warmup",
             "seed")


def load_spec_file(path: str | Path) -> SweepSpec:
    """Read a YAML sweep spec (see docs/experiments.md)."""
    path = Path(path)
    data = read_yaml_file(path, "--spec")
    if not isinstance(data, dict) or not isinstance(data.get("parameters", {}), dict):
        raise UsageError(f"--spec {path}: expected a mapping with 'parameters: {{NAME: VALUES, ...}}'")
    unknown = [k for k in data if k not in SPEC_KEYS]
    if unknown:
        import difflib

        close = difflib.get_close_matches(str(unknown[0]), SPEC_KEYS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"--spec {path}: unknown key {unknown[0]!r}.{hint} Valid: {list(SPEC_KEYS)}")
    params = []
    for name, values in (data.get("parameters") or {}).items():
        vals, lo, hi, integer = parse_values(f"{path}: parameters.{name}", values)
        params.append(Parameter(str(name), vals, lo, hi, integer))
    settings = {k: data[k] for k in ("scene", "replications", "until", "warmup", "seed") if k in data}
    return SweepSpec(params, design=data.get("design", "grid"), samples=data.get("samples"),
                     sample_seed=int(data.get("sample_seed", 0)), settings=settings)
