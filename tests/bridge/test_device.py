"""`twin device` and `twin serve --signals` end to end, as subprocesses against a served twin."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.net import BELT_SCENE as SCENE
from tests.net import free_port
from twin.bridge import CloneClient


def _twin(*args, **kw):
    return subprocess.run([sys.executable, "-m", "twin", *args], capture_output=True, text=True, timeout=90, **kw)


def test_device_commissioning_and_shadow_against_twin_serve(tmp_path):
    path = tmp_path / "line.yaml"
    path.write_text(SCENE)
    signals = tmp_path / "signals.yaml"
    signals.write_text("groups:\n  belt: {rate_hz: 10, signals: ['belt.*', 'belt/*']}\ndeadbands: {press.busy: 0}\n")
    endpoint = f"tcp://127.0.0.1:{free_port(3)}"
    serve = subprocess.Popen([sys.executable, "-m", "twin", "serve", str(path), "--bind", endpoint, "--speed", "4",
                              "--until", "40", "--insecure", "--signals", str(signals)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with CloneClient(endpoint, timeout_s=20) as watcher:
            watcher.sync()  # the twin is up (and serves the groups of the signal-map file)
            assert watcher.groups["belt"]["mode"] == "periodic" and watcher.groups["belt"]["rate_hz"] == 10
        common = ["device", "--connect", endpoint, "--insecure", "--conveyor", "belt", "--until", "8"]
        plc = subprocess.Popen([sys.executable, "-m", "twin", *common, "--mode", "commissioning", "--eye", "belt/eye",
                                "--dwell", "0.5", "--name", "plc"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        shadow = _twin(*common, "--mode", "shadow", "--speed-profile", "0:0.6,1000:0.2", "--noise", "0.01",
                       "--name", "encoder")
        out, err = plc.communicate(timeout=90)
        assert plc.returncode == 0, err
        assert shadow.returncode == 0, shadow.stderr
        # the program stopped the belt at each part reaching the eye, and started it again
        stops = int(out.split("stops ")[1].split(",")[0])
        restarts = int(out.split("restarts ")[1].split(",")[0])
        assert stops >= 3 and restarts >= stops - 1, out
        assert "writes_refused 0" in out and "writes_refused 0" in shadow.stdout
        mean = float(shadow.stdout.split("mean_speed_mps ")[1].split(",")[0])
        assert abs(mean - 0.6) < 0.02, shadow.stdout
        with CloneClient(endpoint, timeout_s=10) as watcher:
            report = watcher.health()
        assert report["peers"]["plc"]["in"] >= 1 + 2 * stops and report["peers"]["encoder"]["in"] > 20
        # bad options: one clear line, exit code 2
        for args, message in ((["--mode", "x"], "--mode must be commissioning or shadow"),
                              (["--conveyor", "blet", "--eye", "belt/eye"], "Did you mean 'belt'"),
                              (["--conveyor", "belt", "--mode", "shadow", "--speed-profile", "0-1"],
                               "--speed-profile must look like"),
                              (["--conveyor", "belt", "--eye", "belt/eye", "--until", "soon"], "--until")):
            r = _twin("device", "--connect", endpoint, "--insecure", *args)
            assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    finally:
        serve.kill()
        serve.communicate()


def test_serve_signals_file_errors_are_one_line_and_exit_2(tmp_path):
    path = tmp_path / "line.yaml"
    path.write_text(SCENE)
    endpoint = f"tcp://127.0.0.1:{free_port(3)}"
    for text, message in (("groups:\n  g: {signals: [belt.sped_mps]}\n", "Did you mean 'belt.speed_mps'"),
                          ("groups:\n  g: {signals: [belt.parts], rate: 5}\n", "Did you mean 'rate_hz'"),
                          ("group: {}\n", "Did you mean 'groups'"),
                          ("deadbands: {belt.speed: 0.1}\n", "unknown signal 'belt.speed'"),
                          ("groups:\n  g: {signals: [belt.parts], mode: periodic}\n", "needs rate_hz")):
        bad = tmp_path / "signals.yaml"
        bad.write_text(text)
        start = time.monotonic()
        r = _twin("serve", str(path), "--bind", endpoint, "--insecure", "--until", "1", "--signals", str(bad))
        assert r.returncode == 2 and message in r.stderr, (text, r.stderr)
        assert str(bad) in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert time.monotonic() - start < 60


def test_serve_device_timeout_makes_a_silent_writer_stale_and_applies_the_fallback(tmp_path):
    path = tmp_path / "line.yaml"
    path.write_text(SCENE)
    endpoint = f"tcp://127.0.0.1:{free_port(3)}"
    serve = subprocess.Popen([sys.executable, "-m", "twin", "serve", str(path), "--bind", endpoint, "--speed", "4",
                              "--until", "60", "--insecure", "--device-timeout", "2s", "--fallback", "safe"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with CloneClient(endpoint, timeout_s=20) as client:
            client.sync()
            assert client.set({"belt.speed_mps": 0.3})["accepted"] == ["belt.speed_mps"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and client.get("belt.speed_mps.stale") is not True:
                client.poll(0.2)
            # silent for 2 simulated seconds: stale, and the safe value (a stopped belt) applies
            assert client.get("belt.speed_mps.stale") is True and client.get("belt.speed_mps") == 0.0
    finally:
        serve.kill()
        serve.communicate()
    for args, message in ((["--device-timeout", "0s"], "--device-timeout must be > 0"),
                          (["--device-timeout", "soon"], "--device-timeout"),
                          (["--device-timeout", "1s", "--fallback", "off"], "--fallback must be hold, simulate or safe")):
        r = _twin("serve", str(path), "--bind", endpoint, "--insecure", "--until", "1", *args)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
