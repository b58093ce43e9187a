"""OPC UA certificates and users: the folder ``twin certs generate`` makes, and the users file.

Certificate folder layout (``--opcua-cert-dir``)::

    own/cert.der      the twin's application instance certificate (DER, self-signed, SAN URI = app URI)
    own/key.pem       its private key (PEM, RSA 2048)
    trusted/          client certificates (DER or PEM) allowed to connect; any other is refused
    clients/<name>/   certificates made for clients by ``twin certs generate --client NAME`` (copied
                      into trusted/ as well)

Users file (``--opcua-users``), YAML: ``users: {NAME: {password_hash: ..., write: true|false}}``.
Password hashes are PBKDF2-HMAC-SHA256 (``pbkdf2_sha256$ITERATIONS$SALT_HEX$HASH_HEX``), made by
``twin certs user``. Users with ``write: true`` may write signals and call methods; others only read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from ...errors import UsageError
from ...yamlfile import read_yaml_file

__all__ = ["ServerCerts", "generate", "hash_password", "load_users", "load_server_certs", "Users",
           "SERVER_APP_URI"]

#: application URI of the twin's OPC UA server (and the SAN URI of its certificate)
SERVER_APP_URI = "urn:twin:server"
_ITERATIONS = 100_000


@dataclass(frozen=True)
class ServerCerts:
    cert: Path
    key: Path
    trusted: Path


def _make_pair(cert_path: Path, key_path: Path, app_uri: str, name: str, server: bool) -> None:
    from asyncua.crypto.cert_gen import (
        dump_private_key_as_pem,
        generate_private_key,
        generate_self_signed_app_certificate,
    )
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = generate_private_key()
    host = socket.gethostname()
    sans = [x509.UniformResourceIdentifier(app_uri), x509.DNSName(host), x509.DNSName("localhost")]
    use = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH] if server else \
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = generate_self_signed_app_certificate(key, name, {}, sans, extended=use, days=3650)
    from cryptography.hazmat.primitives.serialization import Encoding

    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(dump_private_key_as_pem(key))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))


def generate(folder: str | Path, clients: list[str] | None = None) -> list[Path]:
    """Make the twin's certificate (if missing) and one trusted certificate per client name.

    A client's application URI is ``urn:twin:client:<name>``: its OPC UA client must use it.
    """
    folder = Path(folder)
    own = ServerCerts(folder / "own" / "cert.der", folder / "own" / "key.pem", folder / "trusted")
    own.trusted.mkdir(parents=True, exist_ok=True)
    written = []
    if not own.cert.exists() or not own.key.exists():
        _make_pair(own.cert, own.key, SERVER_APP_URI, "twin OPC UA server", server=True)
        written += [own.cert, own.key]
    for name in clients or []:
        if not name.replace("-", "").replace("_", "").isalnum():
            raise UsageError(f"client names are letters, digits, - and _, got {name!r}")
        d = folder / "clients" / name
        _make_pair(d / "cert.der", d / "key.pem", f"urn:twin:client:{name}", f"twin client {name}", server=False)
        (own.trusted / f"{name}.der").write_bytes((d / "cert.der").read_bytes())
        written += [d / "cert.der", d / "key.pem"]
    return written


def load_server_certs(folder: str | Path) -> ServerCerts:
    """The twin's certificate files in ``folder``, checked readable and parseable.

    Raises:
        UsageError: a file is missing, unreadable or not a certificate/key.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    folder = Path(folder)
    c = ServerCerts(folder / "own" / "cert.der", folder / "own" / "key.pem", folder / "trusted")
    try:
        x509.load_der_x509_certificate(c.cert.read_bytes())
    except OSError as exc:
        raise UsageError(f"--opcua-cert-dir: cannot read certificate {c.cert}: {exc.strerror} (make one with "
                         f"`twin certs generate --out {folder}`)") from None
    except ValueError:
        raise UsageError(f"--opcua-cert-dir: {c.cert} is not a DER certificate") from None
    try:
        load_pem_private_key(c.key.read_bytes(), password=None)
    except OSError as exc:
        raise UsageError(f"--opcua-cert-dir: cannot read private key {c.key}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise UsageError(f"--opcua-cert-dir: {c.key} is not an unencrypted PEM private key") from None
    if not c.trusted.is_dir():
        raise UsageError(f"--opcua-cert-dir: missing folder {c.trusted} (trusted client certificates)")
    if not any(p.suffix.lower() in (".der", ".pem") for p in c.trusted.iterdir()):
        raise UsageError(f"--opcua-cert-dir: no trusted client certificate in {c.trusted}, so no client could "
                         f"connect; make one with `twin certs generate --out {folder} --client NAME` or copy a "
                         "client's certificate (.der or .pem) there")
    return c


def hash_password(password: str, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def _verify(password: str, encoded: str) -> bool:
    try:
        scheme, iterations, salt, digest = encoded.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


class Users:
    """Named users with password hashes and a write permission."""

    def __init__(self, users: dict[str, tuple[str, bool]]) -> None:
        self._users = users

    def check(self, name: str | None, password: str | None) -> bool | None:
        """None: unknown user or wrong password; else whether the user may write."""
        entry = self._users.get(name or "")
        if entry is None or password is None or not _verify(password, entry[0]):
            return None
        return entry[1]


def load_users(path: str | Path) -> Users:
    """Read a users file (see the module docstring).

    Raises:
        UsageError: unreadable, not YAML, or an entry lacks a valid hash.
    """
    path = Path(path)
    data = read_yaml_file(path, "--opcua-users")
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict) or not data["users"]:
        raise UsageError(f"--opcua-users: {path} needs 'users: {{NAME: {{password_hash: ..., write: true}}}}' "
                         "(make entries with `twin certs user NAME`)")
    users = {}
    for name, entry in data["users"].items():
        if not isinstance(entry, dict) or not str(entry.get("password_hash", "")).startswith("pbkdf2_sha256$"):
            raise UsageError(f"--opcua-users: {path}: users.{name}: needs password_hash: pbkdf2_sha256$... "
                             "(from `twin certs user`)")
        if not isinstance(entry.get("write", False), bool):
            raise UsageError(f"--opcua-users: {path}: users.{name}.write must be true or false")
        users[str(name)] = (entry["password_hash"], entry.get("write", False))
    return Users(users)
