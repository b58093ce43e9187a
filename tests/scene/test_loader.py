"""Scene loading: YAML subset, pydantic validation, reference/topology rules, limits, JSON Schema.

The tables pin the message fragment *and* the line each error names, because "file:line: key:
what is wrong" is the contract users rely on (docs/scene-format.md, "Error messages").
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.errors import SceneError
from twin.scene import load_scene, load_scene_text, yaml_source
from twin.scene.resolve import MAX_TOTAL_SLOTS, element_kinds
from twin.scene.schema import SCHEMA_ID, SCHEMA_PATH, scene_json_schema, schema_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "scene-format.md"

# Line numbers below refer to this text: line 1 is 'version: 1'.
BASE = """\
version: 1
part_types: [{name: a}, {name: b}]
sources: [{name: src, to: q, interarrival: 10}]
buffers: [{name: q, to: st, capacity: 5}]
stations: [{name: st, to: out, process_time: 5}]
sinks: [{name: out}]
"""


def scene(old: str = "", new: str = "", extra: str = "") -> str:
    """BASE with ``old`` replaced by ``new`` (which must occur) and ``extra`` lines appended."""
    assert old in BASE, old
    return (BASE.replace(old, new, 1) if old else BASE) + extra


def worked_example() -> str:
    """The YAML block of docs/scene-format.md that follows the worked-example marker."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- worked-example.*?-->\s*```yaml\n(.*?)```", text, re.S)
    assert match, "worked example block not found in docs/scene-format.md"
    return match.group(1)


def load_error(text: str, name: str = "s.yaml") -> SceneError:
    with pytest.raises(SceneError) as info:
        load_scene_text(text, name)
    return info.value


# (id, yaml text, fragment of the message (regex), line the error names)
ERRORS = [
    # --- YAML syntax and the YAML subset
    ("malformed-yaml", "version: 1\nfoo: [1, 2\nbar: 3\n", r"s\.yaml:3:\d+: malformed YAML", 3),
    ("tab-indent", "version: 1\n\tx: 1\n", r"s\.yaml:2:1: malformed YAML", 2),
    ("empty-file", "", r"file is empty; a scene starts with 'version: 1'", None),
    ("comments-only", "# nothing here\n", r"file is empty", None),
    ("not-a-mapping", "- a\n- b\n", r"must be a mapping with 'version: 1' at the top, got a list", 1),
    ("scalar-document", "hello\n", r"got a string", 1),
    ("null-document", "---\n", r"got null", 2),
    ("two-documents", "version: 1\n---\nversion: 1\n", r"holds one YAML document", 2),
    ("duplicate-key", scene("process_time: 5", "process_time: 5, process_time: 6"),
     r"duplicate key 'process_time'", 5),
    ("duplicate-top-key", BASE + "version: 1\n", r"duplicate key 'version'", 7),
    ("anchor-alias", "version: 1\na: &x [1]\nb: *x\n", r"anchors and aliases are not supported", 2),
    ("merge-key", "version: 1\nsim:\n  <<: {seed: 1}\n", r"merge keys \('<<'\) are not supported", 3),
    ("python-tag", "version: 1\nx: !!python/object/apply:os.system ['echo hi']\n",
     r"unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'", 2),
    ("custom-tag", "version: 1\nx: !include other.yaml\n", r"unsupported YAML tag '!include'", 2),
    ("date-is-text", "version: 1\nx: 2024-01-01\n", r"x: unknown key 'x'", 2),
    ("non-string-key", scene(extra="7: x\n"), r"mapping keys must be strings, got 7", 7),
    ("complex-key", "version: 1\n? [a]\n: 1\n", r"mapping keys must be plain scalars", 2),
    ("nul-character", "version: 1\nname: a\x00b\n", r"character U\+0000 is not allowed", 2),
    ("lone-surrogate", "version: 1\nname: a\ud800b\n", r"not valid Unicode text \(lone surrogate U\+D800\)", 2),
    ("deep-nesting", "version: 1\nx:\n" + "".join("  " * i + "- \n" for i in range(1, 80)),
     r"nested too deeply \(limit 64 levels\)", 66),
    # --- version
    ("missing-version", scene("version: 1\n", ""), r"missing 'version'; a scene starts with 'version: 1'", 1),
    ("version-2", scene("version: 1", "version: 2"), r"unsupported scene format version 2; this twin reads version 1", 1),
    ("version-string", scene("version: 1", "version: '1'"), r"version '1'", 1),
    ("version-true", scene("version: 1", "version: true"), r"version True", 1),
    ("version-float", scene("version: 1", "version: 1.0"), r"version 1.0", 1),
    # --- keys and types
    ("unknown-key", scene("process_time: 5", "proces_time: 5"),
     r"stations\[0\]\.proces_time: unknown key 'proces_time'\. Did you mean 'process_time'\?", 5),
    ("unknown-top-key", scene(extra="stattions: []\n"),
     r"stattions: unknown key 'stattions'\. Did you mean 'stations'\? Valid keys: \[", 7),
    ("unknown-dist-key", scene("interarrival: 10", "interarrival: {dist: exponential, mean: 4, sd: 1}"),
     r"unknown key 'sd'\. Did you mean 'std'\?", 3),
    ("missing-required", scene("process_time: 5", "capacity: 2"),
     r"stations\[0\]\.process_time: required key is missing", 5),
    ("missing-sinks", scene("sinks: [{name: out}]\n", ""), r"sinks: required key is missing", 1),
    ("empty-list-value", scene("sinks: [{name: out}]", "sinks:"), r"sinks: Input should be a valid list \(got null\)", 6),
    ("wrong-type-int", scene("capacity: 5", "capacity: many"),
     r"buffers\[0\]\.capacity: Input should be a valid integer.*\(got 'many'\)", 4),
    ("wrong-type-name", scene("to: out", "to: 5"), r"stations\[0\]\.to: Input should be a valid string \(got 5\)", 5),
    ("wrong-type-dist", scene("process_time: 5", "process_time: fast"),
     r"expected a number \(a constant\) or a distribution mapping .* \(got 'fast'\)", 5),
    ("bool-is-not-a-dist", scene("process_time: 5", "process_time: true"), r"distribution mapping .*\(got True\)", 5),
    ("bad-name", scene("name: st,", "name: 'st x',"), r"String should match pattern", 5),
    # --- ranges
    ("zero-capacity", scene("capacity: 5", "capacity: 0"),
     r"buffers\[0\]\.capacity: Input should be greater than or equal to 1 \(got 0\)", 4),
    ("negative-capacity", scene("process_time: 5", "process_time: 5, capacity: -3"),
     r"stations\[0\]\.capacity: Input should be greater than or equal to 1 \(got -3\)", 5),
    ("capacity-above-max", scene("capacity: 5", "capacity: 10000000"), r"less than or equal to 1000000", 4),
    ("probability-above-1", scene("process_time: 5", "process_time: 5, scrap_prob: 1.5"),
     r"scrap_prob: Input should be less than or equal to 1", 5),
    ("nan-time", scene("process_time: 5", "process_time: .nan"), r"Input should be a finite number", 5),
    ("negative-constant", scene("process_time: 5", "process_time: -5"), r"greater than or equal to 0 \(got -5\)", 5),
    ("huge-max-parts", scene("interarrival: 10", "interarrival: 10, max_parts: 99999999999999999999999"),
     r"max_parts: Input should be less than 9223372036854775808", 3),
    ("calendar-period-too-long", scene(extra="calendars: [{name: c, period_h: 1e7, shifts: [{start: '06:00', end: '14:00'}]}]\n"),
     r"period_h: Input should be less than or equal to 8784", 7),
    ("bad-clock-time", scene(extra="calendars: [{name: c, shifts: [{start: '06:75', end: '14:00'}]}]\n"),
     r"bad time of day '06:75': minutes and seconds must be < 60", 7),
    ("bad-duration", scene(extra="sim: {until: forever}\n"), r"sim\.until: cannot read duration 'forever'", 7),
    ("zero-until", scene(extra="sim: {until: 0}\n"), r"sim\.until: until must be > 0", 7),
    ("duplicate-key-path", scene("process_time: 5", "process_time: 5, process_time: 6"),
     r"^s\.yaml:5:\d+: stations\[0\]\.process_time: duplicate key 'process_time'$", 5),
    ("tag-key-path", scene(extra="sim: {seed: !!binary aGVsbG8=}\n"),
     r"^s\.yaml:7:\d+: sim\.seed: unsupported YAML tag 'tag:yaml\.org,2002:binary'$", 7),
    ("negative-until", scene(extra="sim: {until: -5}\n"), r"^s\.yaml:7: sim\.until: Input should be greater than or "
                                                         r"equal to 0 \(got -5\)$", 7),
    ("unknown-dist-first", scene("process_time: 5", "process_time: {dist: weibull, shape: 2}"),
     r"^s\.yaml:5: stations\[0\]\.process_time\.dist: Input should be 'constant'.*\(got 'weibull'\)", 5),
    ("huge-integer", scene("process_time: 5", "process_time: " + "9" * 5000),
     r"bad scalar '9+\.\.\. \(5002 chars\): Exceeds the limit \(4300 digits\)", 5),
    ("long-dangling-name", scene("to: out", "to: " + "x" * 190), r"no element named 'x+\.\.\. \(192 chars\)\.", 5),
    ("warmup-past-end", scene(extra="sim: {until: 1h, warmup_s: 7200}\n"),
     r"sim: warmup_s \(7200 s\) must be shorter than until \('1h'\)", 7),
    ("calendar-all-break", scene(extra="calendars: [{name: c, shifts: [{start: '06:00', end: '14:00'}], "
                                       "breaks: [{start: '00:00', end: '24:00'}]}]\n"),
     r"calendars\[0\]: the calendar has no working time", 7),
    ("calendar-empty-shift", scene(extra="calendars: [{name: c, shifts: [{start: '06:00', end: '06:00'}]}]\n"),
     r"calendars\[0\]: the calendar has no working time", 7),
    ("conveyor-spacing", scene(extra="conveyors: [{name: c, to: out, length_m: 1, speed_mps: 1, spacing_m: 2}]\n"),
     r"spacing_m \(2\.0\) must be <= length_m \(1\.0\)", 7),
    ("photo-eye-past-end", scene(extra="conveyors: [{name: c, to: out, length_m: 1, speed_mps: 1, spacing_m: 0.5, "
                                       "photo_eyes: [{name: e, at_m: 2}]}]\n"), r"photo-eye 'e' at_m \(2\.0\) is past the end", 7),
    # --- distributions
    ("unknown-dist", scene("process_time: 5", "process_time: {dist: exponental, mean: 5}"),
     r"\(got 'exponental'\)\. Did you mean 'exponential'\?", 5),
    ("dist-missing-param", scene("process_time: 5", "process_time: {dist: normal, mean: 5}"),
     r"distribution 'normal' needs mean, std; missing std", 5),
    ("dist-extra-param", scene("process_time: 5", "process_time: {dist: exponential, mean: 5, std: 1}"),
     r"distribution 'exponential' takes only mean; remove std", 5),
    ("dist-low-above-high", scene("process_time: 5", "process_time: {dist: uniform, low: 5, high: 1}"),
     r"low \(5\.0\) must be <= high \(1\.0\)", 5),
    ("dist-mode-outside", scene("process_time: 5", "process_time: {dist: triangular, low: 1, mode: 9, high: 5}"),
     r"mode \(9\.0\) must lie in \[low, high\]", 5),
    ("dist-empty-samples", scene("process_time: 5", "process_time: {dist: empirical, samples: []}"),
     r"empirical distribution needs at least one sample", 5),
    # --- per-element rules
    ("source-no-mode", scene(", interarrival: 10", ""), r"give exactly one of 'interarrival', 'always_available: true'", 3),
    ("source-two-modes", scene("interarrival: 10", "interarrival: 10, always_available: true"), r"give exactly one of", 3),
    ("type-and-mix", scene("interarrival: 10", "interarrival: 10, part_type: a, part_mix: {a: 1}"),
     r"give 'part_type' or 'part_mix', not both", 3),
    ("drop-needs-interarrival", scene("interarrival: 10", "always_available: true, on_blocked: drop"),
     r"'on_blocked: drop' applies to 'interarrival' sources only", 3),
    ("max-parts-with-schedule", scene("interarrival: 10", "schedule: [{at_s: 0, count: 3}], max_parts: 2"),
     r"'max_parts' does not apply to a 'schedule'", 3),
    ("failure-needs-ttf", scene("process_time: 5", "process_time: 5, failures: [{mttr_s: 5}]"),
     r"give exactly one of 'mtbf_s' or 'time_to_failure'", 5),
    ("diverter-missing-field", scene("to: out,", "to: d,", "diverters: [{name: d, rule: by_inspection, on_pass: out}]\n"),
     r"rule 'by_inspection' needs on_pass, on_fail; missing on_fail", 7),
    ("diverter-unused-field", scene("to: out,", "to: d,", "diverters: [{name: d, rule: round_robin, outputs: [out], routes: {a: out}}]\n"),
     r"rule 'round_robin' does not use routes; remove it", 7),
    ("unknown-diverter-rule", scene("to: out,", "to: d,", "diverters: [{name: d, rule: round_robbin, outputs: [out]}]\n"),
     r"Did you mean 'round_robin'\?", 7),
    # --- references (resolve.py)
    ("dangling-to", scene("to: out", "to: ot"), r"stations\[0\]\.to: no element named 'ot'\. Did you mean 'out'\? Valid: \[", 5),
    ("to-a-source", scene("to: q,", "to: src,"), r"'src' is a source and cannot receive parts", 3),
    ("duplicate-element", scene(extra="merges: [{name: st, to: out}]\n"), r"duplicate element name 'st' \(first defined at stations\[0\]\)", 7),
    ("duplicate-part-type", scene("{name: b}", "{name: a}"), r"part_types\[1\]\.name: duplicate name 'a'", 2),
    ("unknown-part-type", scene("interarrival: 10", "interarrival: 10, part_type: c"), r"no part type named 'c'", 3),
    ("unknown-mix-type", scene("interarrival: 10", "interarrival: 10, part_mix: {a: 1, bb: 1}"),
     r"part_mix\.bb: no part type named 'bb'\. Did you mean 'b'\?", 3),
    ("unknown-calendar", scene("process_time: 5", "process_time: 5, calendar: shifts"), r"no calendar named 'shifts'", 5),
    ("duplicate-photo-eye", scene("to: q,", "to: c,", "conveyors: [{name: c, to: q, length_m: 1, speed_mps: 1, spacing_m: 0.5, "
                                  "photo_eyes: [{name: e, at_m: 0.1}, {name: e, at_m: 0.2}]}]\n"), r"duplicate name 'c/e'", 7),
    ("routes-incomplete", scene("to: out,", "to: d,", "diverters: [{name: d, rule: by_part_type, routes: {a: out}}]\n"),
     r"no route for part type\(s\) \['b'\]; add them or give 'default'", 7),
    ("priority-without-inputs", scene("to: out,", "to: m,", "merges: [{name: m, to: out, rule: priority}]\n"),
     r"rule 'priority' needs 'inputs' in priority order", 7),
    ("merge-input-not-feeding", scene("to: out,", "to: m,", "merges: [{name: m, to: out, inputs: [q]}]\n"),
     r"merges\[0\]\.inputs\[0\]: 'q' does not send parts to merge 'm'; elements that do: \['st'\]", 7),
    ("priority-unranked-feeder", scene("to: out,", "to: m,", "merges: [{name: m, to: out, rule: priority, inputs: [st]}]\n")
     .replace("interarrival: 10}]", "interarrival: 10}, {name: src2, to: m, interarrival: 7}]"),
     r"rule 'priority' ranks every input, but \['src2'\] also send\(s\) to 'm'; add them to 'inputs'", 7),
    ("merge-input-twice", scene("to: out,", "to: m,", "merges: [{name: m, to: out, inputs: [st, st]}]\n"),
     r"merges\[0\]\.inputs\[1\]: 'st' is listed twice", 7),
    # --- topology (resolve.py)
    ("unreachable", scene(extra="merges: [{name: lonely, to: out}]\n"), r"merge 'lonely' is unreachable from any source", 7),
    ("no-path-to-sink", scene("to: out,", "to: d,", "diverters: [{name: d, rule: round_robin, outputs: [out, loop1]}]\n"
                              "conveyors: [{name: loop1, to: loop2, length_m: 1, speed_mps: 1, spacing_m: 1},"
                              " {name: loop2, to: loop1, length_m: 1, speed_mps: 1, spacing_m: 1}]\n"),
     r"conveyor 'loop1' has no path to a sink", 8),
    ("router-loop", scene("to: out,", "to: m,", "merges: [{name: m, to: d}]\n"
                          "diverters: [{name: d, rule: by_part_type, routes: {a: m}, default: out}]\n"),
     r"diverters/merges form a loop through 'd' with no buffer, conveyor or station in it", 8),
    ("choosing-into-choosing", scene("to: out,", "to: d1,", "diverters: [{name: d1, rule: round_robin, outputs: [d2, out]},"
                                     " {name: d2, rule: shortest_queue, outputs: [out]}]\n"),
     r"output 'd2' leads to choosing diverter 'd2'", 7),
    ("always-available-to-sink", scene("interarrival: 10", "always_available: true")
     .replace("stations: [{name: st, to: out, process_time: 5}]", "merges: [{name: st, to: out}]"),
     r"always-available source 'src' reaches sink 'out' through buffers/routers only", 3),
    ("zero-interarrival", scene("interarrival: 10", "interarrival: 0"), r"interarrival time is always 0", 3),
    ("zero-process-time", scene("process_time: 5", "process_time: 0"), r"process time is always 0", 5),
    ("zero-uniform-process-time", scene("process_time: 5", "process_time: {dist: uniform, low: 0, high: 0}"),
     r"process time is always 0", 5),
    ("zero-time-by-type", scene("process_time: 5", "process_time: 5, process_time_by_type: {b: {dist: empirical, samples: [0, 0]}}"),
     r"stations\[0\]\.process_time_by_type\.b: process time is always 0", 5),
    ("zero-time-to-failure", scene("process_time: 5", "process_time: 5, failures: [{time_to_failure: 0, mttr_s: 5}]"),
     r"time to failure is always 0", 5),
    ("scene-too-big", scene("capacity: 5}]", "capacity: 1000000}" + "".join(
        f", {{name: q{i}, to: st, capacity: 1000000}}" for i in range(MAX_TOTAL_SLOTS // 1_000_000)) + "]"),
     r"the scene holds 11000001 parts at most \(buffer capacities \+ station capacities \+ conveyor places\); "
     r"the limit is 10000000", 1),
]


@pytest.mark.parametrize(("text", "fragment", "line"), [pytest.param(t, f, n, id=i) for i, t, f, n in ERRORS])
def test_error_message_and_line(text, fragment, line):
    """Each broken scene fails with a SceneError naming the problem and the right line."""
    err = load_error(text)
    assert re.search(fragment, str(err)), f"{fragment!r} not in:\n{err}"
    assert err.line == line, str(err)
    expected_prefix = "s.yaml:" + (f"{line}:" if line is not None else " ")
    assert str(err).startswith(expected_prefix), str(err)
    assert err.path == "s.yaml"


def test_error_attributes_carry_line_key_and_detail():
    """A SceneError exposes path, line, key path and the bare message as attributes."""
    err = load_error(scene("to: out", "to: ot"), "lines.yaml")
    assert (err.path, err.line, err.key) == ("lines.yaml", 5, "stations[0].to")
    assert err.detail.startswith("no element named 'ot'")
    assert str(err) == f"lines.yaml:5: stations[0].to: {err.detail}"


def test_line_numbers_follow_block_layout():
    """In block style each error names the line of its own key, not of the enclosing element."""
    text = """\
version: 1
part_types:
  - name: a
sources:
  - name: src
    to: st
    interarrival: 10
stations:
  - name: st
    to: out
    capacity: 0
    process_time:
      dist: normal
      mean: 5
      stdev: 1
sinks:
  - name: out
"""
    err = load_error(text)
    assert err.line == 15 and err.key == "stations[0].process_time.stdev"
    assert "Did you mean 'std'?" in str(err)
    # the other problem is listed after it, at its own line
    assert "\ns.yaml:11: stations[0].capacity: Input should be greater than or equal to 1 (got 0)" in str(err)


def test_several_problems_are_listed_with_a_count_of_the_rest():
    """Up to five pydantic problems are listed, one per line, then '... and N more'."""
    text = scene("process_time: 5", "process_time: 5, a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7")
    lines = str(load_error(text)).splitlines()
    assert len(lines) == 6
    assert all(line.startswith("s.yaml:5: stations[0].") for line in lines[:5])
    assert lines[-1] == "... and 2 more problem(s)"


def test_long_received_values_are_cut_in_messages():
    """A huge bad value is not echoed in full (a hostile file may hold megabytes)."""
    err = load_error(scene("name: st,", f"name: {'x' * 100_000},"))
    assert len(str(err)) < 1000
    assert "(100002 chars)" in str(err)


@pytest.mark.parametrize(("value", "expected"), [("14:30", 52200.0), ("06:00", 21600.0), ("23:59:30", 86370.0)])
def test_unquoted_clock_times_are_strings(value, expected):
    """YAML 1.1 would read 14:30 as the integer 870; scene files read it as a clock time."""
    from twin.scene.durations import parse_clock_s

    sc = load_scene_text(scene(extra=f"calendars: [{{name: c, shifts: [{{start: {value}, end: '24:00'}}]}}]\n"))
    assert sc.calendars[0].shifts[0].start == value
    assert parse_clock_s(sc.calendars[0].shifts[0].start) == expected


def test_exponent_numbers_are_numbers():
    """1e3 and 2.5e-1 are floats (YAML 1.2), so they work as distributions and quantities."""
    sc = load_scene_text(scene("process_time: 5", "process_time: 1e3, scrap_prob: 2.5e-1"))
    assert sc.stations[0].process_time.value == 1000.0
    assert sc.stations[0].scrap_prob == 0.25


def test_valid_scene_loads_and_references_resolve():
    """The documented worked example loads, with every reference naming an existing element."""
    sc = load_scene_text(worked_example(), "pcb_line.yaml")
    kinds = element_kinds(sc)
    assert kinds["smt/printer"] == "stations" and kinds["reject_bin"] == "sinks"
    for section in ("sources", "buffers", "conveyors", "stations"):
        for el in getattr(sc, section):
            assert kinds[el.to] != "sources"
    gate = sc.diverters[0]
    assert gate.targets() == ["packed", "reject_bin"]
    assert [s.name for s in sc.sinks if s.reject] == ["reject_bin"]
    printer = sc.stations[0]
    assert printer.process_time.dist == "constant" and printer.process_time.value == 30.0
    assert printer.failures[0].ttf().dist == "exponential" and printer.failures[0].ttf().mean == 7200.0
    assert sc.sources[0].calendar == printer.calendar == sc.calendars[0].name
    assert [e.name for e in sc.conveyors[0].photo_eyes] == ["eye_entry", "eye_exit"]


def test_load_scene_reads_a_file(tmp_path):
    """load_scene(path) gives the same scene as load_scene_text and names the path in errors."""
    path = tmp_path / "line.yaml"
    path.write_text(worked_example(), encoding="utf-8")
    assert load_scene(path) == load_scene_text(worked_example())
    path.write_text(scene("to: out", "to: ot"), encoding="utf-8")
    with pytest.raises(SceneError, match=re.escape(f"{path}:5: stations[0].to: no element named 'ot'")):
        load_scene(path)


@pytest.mark.parametrize(("old", "new", "name"), [
    ("    process_time: {dist: normal", "    proces_time: {dist: normal", "misspelt key"),
    ("on_fail: reject_bin", "on_fail: reject_bim", "misspelt reference"),
])
def test_documented_error_examples_are_real(old, new, name):
    """The error outputs shown in docs/scene-format.md are what the loader prints today."""
    text = worked_example()
    assert old in text, name
    err = load_error(text.replace(old, new), "my_line.yaml")
    assert f"SceneError: {err}" in DOC.read_text(encoding="utf-8"), name


# --------------------------------------------------------------------- files and hostile input

def test_billion_laughs_fails_fast(tmp_path):
    """A 'billion laughs' file is refused at its first alias, in well under 2 s."""
    lines = ["version: 1", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "lol.yaml"
    path.write_text("\n".join(lines) + "\n")
    t0 = time.perf_counter()
    with pytest.raises(SceneError, match="anchors and aliases are not supported") as info:
        load_scene(path)
    assert time.perf_counter() - t0 < 2.0
    assert info.value.line == 2


def test_file_over_size_limit_is_refused_unread(tmp_path):
    """A 25 MiB file is refused by its size, before it is read or parsed."""
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:
        f.write(b"version: 1\n")
        f.truncate(25 * 1024 * 1024)
    t0 = time.perf_counter()
    with pytest.raises(SceneError, match=r"file is 26214400 bytes; scene files are limited to 8388608"):
        load_scene(path)
    assert time.perf_counter() - t0 < 1.0


def test_node_limit_stops_the_parse_early(tmp_path, monkeypatch):
    """The YAML node limit is enforced while parsing, naming the line where it was crossed."""
    monkeypatch.setattr(yaml_source, "MAX_NODES", 1000)
    path = tmp_path / "many.yaml"
    path.write_text("version: 1\nx:\n" + "".join(f"  - {i}\n" for i in range(5000)))
    with pytest.raises(SceneError, match=r"too many YAML nodes \(limit 1000\)") as info:
        load_scene(path)
    # nodes 1-5 are the root mapping, 'version', 1, 'x' and the list: item 995 (line 998) is node 1001
    assert info.value.line == 998


@pytest.mark.parametrize(("content", "fragment"), [
    (b"version: 1\nname: caf\xe9\n", r"not UTF-8 text \(bad byte at offset 20\)"),
    (b"\xff\xfe\x00\x00", r"not UTF-8 text \(bad byte at offset 0\)"),
])
def test_non_utf8_bytes_are_refused(tmp_path, content, fragment):
    """Bytes that are not UTF-8 give a SceneError naming the offset."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes(content)
    with pytest.raises(SceneError, match=fragment):
        load_scene(path)


def test_directory_is_refused(tmp_path):
    """A directory path is refused with a clear message."""
    with pytest.raises(SceneError, match=re.escape(f"{tmp_path}: is a directory, not a scene file")):
        load_scene(tmp_path)


def test_missing_file_is_refused(tmp_path):
    """A path that does not exist is a SceneError, not FileNotFoundError."""
    path = tmp_path / "nope.yaml"
    with pytest.raises(SceneError, match=re.escape(f"{path}: no such file")):
        load_scene(path)


def test_deeply_nested_flow_collections_are_refused():
    """Thousands of nested brackets fail quickly, without a RecursionError."""
    t0 = time.perf_counter()
    with pytest.raises(SceneError, match="nest"):
        load_scene_text("version: 1\nx: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert time.perf_counter() - t0 < 2.0


# --------------------------------------------------------------------- properties

_FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# Any character, with YAML's syntax characters, NUL, a BOM and a lone surrogate drawn often.
_YAML_CHARS = st.one_of(st.characters(), st.sampled_from(list(":-?[]{},#&*!|>'\"%@` \n\t\x00\ufeff\ud800")))


@_FUZZ
@given(st.lists(_YAML_CHARS, max_size=300).map("".join))  # st.text() would never draw a surrogate
def test_arbitrary_text_raises_only_scene_error(text):
    """Any text either loads or raises SceneError; no other exception escapes."""
    try:
        load_scene_text(text)
    except SceneError:
        pass


@_FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_scene_error(tmp_path, data):
    """Any file content either loads or raises SceneError; no other exception escapes."""
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    try:
        load_scene(path)
    except SceneError:
        pass


@_FUZZ
@given(st.data())
def test_mutated_valid_scene_raises_only_scene_error(data):
    """Random edits of a valid scene reach the validators; they too raise only SceneError."""
    text = worked_example()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 12)))
        text = text[:i] + data.draw(st.sampled_from(["", "0", "-1", " x", ":", "\n", "[", "{", "}", "'", "1e9",
                                                     "null", "  ", "- ", "!!", "&a ", "*a", "true"])) + text[j:]
    try:
        load_scene_text(text)
    except SceneError:
        pass


# --------------------------------------------------------------------- JSON Schema

def test_shipped_schema_file_is_up_to_date():
    """scene.schema.json equals scene_json_schema(); regenerate with `python -m twin.scene.schema`."""
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == scene_json_schema()
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


def test_schema_header_and_number_shorthand():
    """The schema is draft 2020-12 with its $id, and a Distribution accepts a bare number >= 0."""
    schema = scene_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID == "https://twin.dev/schema/scene-v1.json"
    assert schema["title"] and schema["description"]
    number = schema["$defs"]["Distribution"]["anyOf"][0]
    assert number["type"] == "number" and number["minimum"] == 0


def test_schema_validates_the_worked_example():
    """The JSON Schema accepts the documented example and rejects what the loader rejects by field."""
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    from twin.scene.yaml_source import parse_yaml_text

    validator_cls = jsonschema.Draft202012Validator
    schema = scene_json_schema()
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    data = parse_yaml_text(worked_example()).data
    assert list(validator.iter_errors(data)) == []
    assert data["stations"][0]["process_time"] == 30  # the bare-number shorthand is exercised
    for path, bad in [(("stations", 0, "process_time"), -1), (("stations", 0, "proces_time"), 1),
                      (("calendars", 0, "shifts", 0, "start"), "six"), (("buffers", 0, "capacity"), 0)]:
        broken = parse_yaml_text(worked_example()).data
        target = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = bad
        assert list(validator.iter_errors(broken)), path


def test_devices_and_pipes_are_refused_unread(tmp_path):
    """/dev/zero never ends and a named pipe blocks until written: neither is read at all."""
    fifo = tmp_path / "line.yaml"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        t0 = time.perf_counter()
        with pytest.raises(SceneError, match=r"is not a regular file \(a device, pipe or socket\)"):
            load_scene(path)
        assert time.perf_counter() - t0 < 2.0
