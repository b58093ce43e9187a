"""A secured OPC UA endpoint: Basic256Sha256, trusted client certificates, users who may write."""

from __future__ import annotations

import asyncio

import pytest
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from tests.adapters.conftest import Served, free_port
from twin.bridge.adapters.certs import generate, hash_password, load_server_certs, load_users
from twin.errors import UsageError

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    generate(d / "twin", ["plc"])
    generate(d / "other", ["intruder"])  # a well-formed certificate the twin does not trust
    users = d / "users.yaml"
    users.write_text(f"users:\n  operator: {{password_hash: \"{hash_password('op-secret-1')}\", write: true}}\n"
                     f"  viewer: {{password_hash: \"{hash_password('view-secret')}\", write: false}}\n")
    url = f"opc.tcp://127.0.0.1:{free_port()}"
    s = Served(opcua_url=url, certs=load_server_certs(d / "twin"), users=load_users(users))
    s.url, s.pki = url, d
    yield s
    s.close()


async def _run(secured, body, client="plc", folder="twin", user=None, password=None,
               mode=ua.MessageSecurityMode.SignAndEncrypt):
    c = Client(secured.url, timeout=4)
    c.application_uri = f"urn:twin:client:{client}"
    cdir = secured.pki / folder / "clients" / client
    await c.set_security(SecurityPolicyBasic256Sha256, str(cdir / "cert.der"), str(cdir / "key.pem"),
                         server_certificate=str(secured.pki / "twin" / "own" / "cert.der"), mode=mode)
    if user:
        c.set_user(user)
        c.set_password(password)
    async with c:
        ns = await c.get_namespace_index("urn:twin:adapters_test")
        return await body(c, ns)


async def _write_speed(c, ns, value=0.3):
    node = c.get_node(ua.NodeId("belt.speed_mps", ns))
    params = ua.WriteParameters(NodesToWrite=[ua.WriteValue(NodeId=node.nodeid, AttributeId=ua.AttributeIds.Value,
                                                            Value=ua.DataValue(ua.Variant(value, ua.VariantType.Double)))])
    read = await c.get_node(ua.NodeId("t_s", ns)).read_value()
    return read, (await c.uaclient.write(params))[0].name


async def _call_stop(c, ns):
    try:
        await c.get_node(ua.NodeId("line", ns)).call_method(ua.NodeId("line.Stop", ns))
        return "Good"
    except ua.UaStatusCodeError as exc:
        return type(exc).__name__


def test_a_writer_with_a_trusted_certificate_may_write(secured):
    t, code = asyncio.run(_run(secured, _write_speed, user="operator", password="op-secret-1"))
    assert t >= 0 and code == "Good"
    t, code = asyncio.run(_run(secured, lambda c, ns: _write_speed(c, ns, 0.4), user="operator",
                               password="op-secret-1", mode=ua.MessageSecurityMode.Sign))
    assert code == "Good"
    secured.wait_steps(2)
    assert secured.signals._setpoint["belt"] == pytest.approx(0.4)


def test_anonymous_and_read_only_users_are_refused_writes_and_calls(secured):
    t, code = asyncio.run(_run(secured, _write_speed))  # anonymous, trusted certificate: may read only
    assert t > 0 and code == "BadUserAccessDenied"
    assert asyncio.run(_run(secured, _call_stop)) == "BadUserAccessDenied"
    _, code = asyncio.run(_run(secured, _write_speed, user="viewer", password="view-secret"))
    assert code == "BadUserAccessDenied"
    assert asyncio.run(_run(secured, _call_stop, user="viewer", password="view-secret")) == "BadUserAccessDenied"
    assert secured.signals.read()["belt.motor_on"] is True  # nothing was stopped


def test_untrusted_certificates_wrong_passwords_and_no_security_are_refused(secured):
    with pytest.raises(ua.uaerrors.BadCertificateUntrusted):
        asyncio.run(_run(secured, _write_speed, client="intruder", folder="other"))
    with pytest.raises(ua.UaStatusCodeError):
        asyncio.run(_run(secured, _write_speed, user="operator", password="wrong"))

    async def plain():
        async with Client(secured.url, timeout=4) as c:
            return await c.get_node(ua.NodeId(ua.ObjectIds.Server_ServerStatus_State)).read_value()

    with pytest.raises(Exception):  # noqa: B017 - no endpoint offers SecurityPolicy None
        asyncio.run(plain())
    secured.wait_steps(1)  # the twin kept stepping


def test_unreadable_certificates_and_users_files_are_one_clear_error(tmp_path):
    with pytest.raises(UsageError, match="cannot read certificate"):
        load_server_certs(tmp_path)
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "cert.der").write_bytes(b"not a certificate")
    with pytest.raises(UsageError, match="is not a DER certificate"):
        load_server_certs(tmp_path)
    (tmp_path / "users.yaml").write_text("users:\n  bob: {password: plain}\n")
    with pytest.raises(UsageError, match="password_hash"):
        load_users(tmp_path / "users.yaml")


def test_cert_folder_without_trusted_clients_is_a_usage_error(tmp_path):
    """A secured endpoint nobody may connect to is a mistake: one clear message, not an asyncua traceback."""
    import subprocess
    import sys
    from pathlib import Path

    generate(tmp_path / "pki", [])
    with pytest.raises(UsageError, match="no trusted client certificate"):
        load_server_certs(tmp_path / "pki")
    scene = Path(__file__).resolve().parents[2] / "scenes" / "smt_line.yaml"
    run = subprocess.run([sys.executable, "-m", "twin", "serve", str(scene), "--insecure", "--opcua",
                          "opc.tcp://127.0.0.1:48999", "--opcua-cert-dir", str(tmp_path / "pki"), "--until", "1"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "no trusted client certificate" in run.stderr and "Traceback" not in run.stderr
