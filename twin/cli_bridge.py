"""Bridge commands besides ``twin serve``: ``twin device`` (a simulated plant device or control program)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import _duration, _fail, app, err, out  # noqa: F401
from .errors import TwinError, UsageError


@app.command()
def device(
    connect: Annotated[str, typer.Option(help="the served twin, tcp://host:P (as given to twin serve --bind)")]
    = "tcp://127.0.0.1:5556",
    mode: Annotated[str, typer.Option(help="commissioning (a control program: stop the belt when the eye "
                                           "blocks, restart after --dwell) or shadow (write measured belt "
                                           "speeds)")] = "commissioning",
    conveyor: Annotated[str | None, typer.Option(help="the conveyor it drives or measures")] = None,
    eye: Annotated[str | None, typer.Option(help="commissioning: the photo-eye it reads, e.g. belt/eye")] = None,
    dwell: Annotated[str, typer.Option(help="commissioning: twin time the belt stands after a stop")] = "2s",
    speed_profile: Annotated[str | None, typer.Option(help="shadow: measured speed over twin time, "
                                                           "'0:0.5,10:0.3' (from 0 s 0.5 m/s, from 10 s 0.3)")]
    = None,
    noise: Annotated[float, typer.Option(help="shadow: measurement noise, m/s (1 sigma)")] = 0.0,
    seed: Annotated[int, typer.Option(help="shadow: noise seed")] = 0,
    rate_hz: Annotated[float, typer.Option(help="scan cycles per wall second")] = 50.0,
    until: Annotated[str | None, typer.Option(help="run for this much twin time (default: until interrupted)")]
    = None,
    timeout: Annotated[float, typer.Option(help="wall seconds without word from the twin before giving up")]
    = 5.0,
    name: Annotated[str, typer.Option(help="this device's name in the twin's health report")] = "device",
    server_key: Annotated[Path | None, typer.Option(help="the twin's server.key (twin keys generate)")] = None,
    client_key: Annotated[Path | None, typer.Option(help="this device's .key_secret")] = None,
    insecure: Annotated[bool, typer.Option(help="connect without CURVE (a twin served --insecure)")] = False,
) -> None:
    """Run a simulated plant device or control program against a served twin, for demos and tests."""
    from .bridge import CloneClient
    from .bridge.device import Commissioning, Shadow, parse_profile

    if mode not in ("commissioning", "shadow"):
        _fail(UsageError(f"--mode must be commissioning or shadow, got {mode!r}"))
    if conveyor is None:
        _fail(UsageError("--conveyor is required (the belt the device drives or measures)"))
    if mode == "commissioning" and eye is None:
        _fail(UsageError("--mode commissioning needs --eye (the photo-eye the program reads)"))
    if mode == "shadow" and speed_profile is None:
        _fail(UsageError("--mode shadow needs --speed-profile, e.g. 0:0.5,10:0.3"))
    if not timeout > 0:
        _fail(UsageError(f"--timeout must be > 0, got {timeout}"))
    if insecure == (server_key is not None or client_key is not None):
        _fail(UsageError("give --server-key and --client-key, or, for a twin served --insecure, --insecure"))
    until_s = _duration("--until", until)
    dwell_s = _duration("--dwell", dwell)
    try:
        profile = parse_profile(speed_profile) if mode == "shadow" else None
    except UsageError as exc:
        _fail(exc)
    try:
        client = CloneClient(connect, timeout_s=timeout, server_key=server_key, client_key=client_key, name=name)
    except (TwinError, ValueError) as exc:
        _fail(exc)
    program = None
    try:
        client.sync()
        if mode == "commissioning":
            program = Commissioning(client, conveyor, eye, dwell_s, rate_hz, until_s)
        else:
            program = Shadow(client, conveyor, profile, noise, seed, rate_hz, until_s)
        stats = program.run()
        rtt = client.ping()
    except TwinError as exc:
        client.close()
        _fail(exc)
    except (TimeoutError, OSError, ValueError) as exc:  # unreachable, silent, or a protocol error
        client.close()
        err.print(f"error: {connect}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        stats, rtt = (program.stats if program else {}), float("nan")
    client.close()
    what = f"belt {conveyor!r}, eye {eye!r}" if mode == "commissioning" else f"belt {conveyor!r} speed"
    out.print(f"device ({mode}) on {connect}: {what}; {stats.get('cycles', 0)} scan cycles to t="
              f"{client.t_s:.2f} s; " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                                  for k, v in stats.items() if k != "cycles")
              + f"; round trip {1e3 * rtt:.2f} ms", highlight=False)
