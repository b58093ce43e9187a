"""CURVE security for the bridge: key pairs, and who may connect.

Keys are ZeroMQ's certificate files (``zmq.auth``): ``<name>.key`` holds a public key,
``<name>.key_secret`` the pair. A served twin has its own pair and a folder of the public keys of
the clients it allows; the ZAP handler (``zmq.auth.ThreadAuthenticator``) checks every connecting
client against that folder *before* any message is read, so a client without an allowed key never
gets a byte through. Layout of a keys folder (what ``twin keys generate`` makes)::

    <dir>/server.key, <dir>/server.key_secret       the twin's pair
    <dir>/clients/<name>.key                        public keys of allowed clients
    <dir>/<name>.key, <dir>/<name>.key_secret       a client's pair (give it to that client)
"""

from __future__ import annotations

from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from ..errors import UsageError

__all__ = ["generate_keys", "load_pair", "load_public", "ServerSecurity", "client_options"]


def generate_keys(folder: str | Path, clients: list[str]) -> list[Path]:
    """Create the server's pair and one pair per client (their public keys allowed); return the files."""
    folder = Path(folder)
    (folder / "clients").mkdir(parents=True, exist_ok=True)
    made = list(zmq.auth.create_certificates(folder, "server"))
    for name in clients:
        public, secret = zmq.auth.create_certificates(folder, name)
        allowed = folder / "clients" / Path(public).name
        allowed.write_bytes(Path(public).read_bytes())
        made += [Path(public), Path(secret), allowed]
    return [Path(p) for p in made]


def load_pair(path: str | Path) -> tuple[bytes, bytes]:
    """(public, secret) from a ``.key_secret`` file. Raises UsageError naming the file."""
    try:
        public, secret = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the key pair {str(path)!r}: {exc}") from None
    if not secret:
        raise UsageError(f"{str(path)!r} holds no secret key (use the .key_secret file)")
    return public, secret


def load_public(path: str | Path) -> bytes:
    try:
        public, _ = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the public key {str(path)!r}: {exc}") from None
    return public


class ServerSecurity:
    """The twin's CURVE setup: its pair, and a ZAP authenticator allowing the keys in ``allowed``."""

    def __init__(self, context: zmq.Context, keys_dir: str | Path) -> None:
        keys = Path(keys_dir)
        self.public, self.secret = load_pair(keys / "server.key_secret")
        allowed = keys / "clients"
        if not allowed.is_dir() or not any(allowed.glob("*.key")):
            raise UsageError(f"no allowed client keys in {str(allowed)!r} (make some with `twin keys generate`)")
        self.auth = ThreadAuthenticator(context)
        self.auth.start()
        self.auth.configure_curve(domain="*", location=str(allowed))

    def apply(self, sock: zmq.Socket) -> None:
        """Make ``sock`` (before bind) a CURVE server with the twin's keys."""
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_server = True

    def stop(self) -> None:
        self.auth.stop()


def client_options(server_public_file: str | Path, client_pair_file: str | Path):
    """A function that makes a client socket (before connect) use CURVE with these keys."""
    server_public = load_public(server_public_file)
    public, secret = load_pair(client_pair_file)

    def apply(sock: zmq.Socket) -> None:
        sock.curve_serverkey = server_public
        sock.curve_publickey = public
        sock.curve_secretkey = secret

    return apply
