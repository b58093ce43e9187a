"""OPC UA server (asyncua) over the tag map: browse, read, subscribe, write, call.

Address space (namespace URI ``urn:twin:<scene>``, see ``docs/plc.md``)::

    Objects/<scene>/                      folder, NodeId s=twin:<scene>
    Objects/<scene>/<element>/<signal>    a folder per line element (NodeId s=<element>), a variable per
                                          signal (NodeId s=<signal>)
    Objects/<scene>/line/Start() ...      methods Start, Stop, Reset, InjectFault (NodeIds s=line.Start ...)

Variables carry their data type (Double, Int64, Boolean, String), ``EngineeringUnits`` (UNECE codes)
and ``EURange`` properties where known, access level by direction and MinimumSamplingInterval = the
control step. Values change at most once per control step, stamped with the wall-clock time of the
step (source timestamp). Status codes are honest: ``BadWaitingForInitialData`` before the first
value, ``UncertainLastUsableValue`` while a writer or a mirrored source is stale, then
``BadNoCommunication``. Refused writes: ``BadNotWritable`` (read-only signal),
``BadUserAccessDenied`` (a user without write permission), ``BadTypeMismatch``, ``BadOutOfRange``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from urllib.parse import urlparse

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.internal_session import InternalSession

from ...errors import UsageError
from .certs import SERVER_APP_URI
from .exchange import QUALITY

__all__ = ["OpcUaAdapter", "parse_opcua_url"]

_VTYPE = {"float": ua.VariantType.Double, "int": ua.VariantType.Int64, "bool": ua.VariantType.Boolean,
          "str": ua.VariantType.String}
_ZERO = {"float": 0.0, "int": 0, "bool": False, "str": ""}
_INT_VTYPES = {ua.VariantType.SByte, ua.VariantType.Byte, ua.VariantType.Int16, ua.VariantType.UInt16,
               ua.VariantType.Int32, ua.VariantType.UInt32, ua.VariantType.Int64, ua.VariantType.UInt64}
_ACCEPT = {"float": {ua.VariantType.Double, ua.VariantType.Float}, "int": _INT_VTYPES,
           "bool": {ua.VariantType.Boolean}, "str": {ua.VariantType.String}}
#: unit -> UNECE common code (OPC UA EUInformation, namespace http://www.opcfoundation.org/UA/units/un/cefact)
_UNECE = {"s": "SEC", "m/s": "MTS", "m": "MTR", "ms": "C26", "parts": "C62", "servers": "C62", "faults": "C62",
          "cycles": "C62"}


def parse_opcua_url(url: str) -> tuple[str, int]:
    """(host, port) of ``opc.tcp://host:port[/path]``.

    Raises:
        UsageError: not of that form.
    """
    p = urlparse(url or "")
    try:
        port = p.port
    except ValueError:
        port = None
    if p.scheme != "opc.tcp" or not p.hostname or port is None or not 1 <= port <= 65535:
        raise UsageError(f"--opcua must look like opc.tcp://127.0.0.1:4840, got {url!r}")
    return p.hostname, port


def _eu(unit: str) -> ua.EUInformation:
    code = _UNECE.get(unit, "")
    unit_id = (ord(code[0]) << 16 | ord(code[1]) << 8 | ord(code[2])) if code else -1
    return ua.EUInformation(NamespaceUri="http://www.opcfoundation.org/UA/units/un/cefact", UnitId=unit_id,
                            DisplayName=ua.LocalizedText(unit), Description=ua.LocalizedText(unit))


class _Permissions:
    """Who may write: the users file's writers, or everyone on an explicitly insecure endpoint."""

    def __init__(self, users, insecure: bool) -> None:
        self.users, self.insecure = users, insecure
        self.writers: set[str] = set()

    def get_user(self, iserver, username=None, password=None, certificate=None):
        if username is None:  # anonymous: may browse, read and subscribe (role User for asyncua's ruleset)
            return User(role=UserRole.User, name=None)
        if self.users is None:
            return None
        may_write = self.users.check(username, password)
        if may_write is None:
            return None  # wrong name or password: the session is refused (BadUserAccessDenied)
        if may_write:
            self.writers.add(username)
        return User(role=UserRole.User, name=username)

    def may_write(self, user) -> bool:
        return self.insecure or (user is not None and user.name in self.writers)


class OpcUaAdapter:
    """An OPC UA server at ``url`` serving ``tagmap`` from ``exchange``.

    Args:
        certs: a :class:`~twin.bridge.adapters.certs.ServerCerts`: Basic256Sha256 Sign and SignAndEncrypt,
            only clients whose certificate is in ``certs.trusted``. None: no security, which needs
            ``insecure=True``.
        users: :class:`~twin.bridge.adapters.certs.Users` who may log in (writers may write and call
            methods); anonymous sessions may only read unless ``insecure``.
        sampling_ms: MinimumSamplingInterval of every variable (the control step).
    """

    def __init__(self, tagmap, exchange, url: str, scene_name: str, *, certs=None, users=None,
                 insecure: bool = False, sampling_ms: float = 10.0) -> None:
        if certs is None and not insecure:
            raise UsageError("--opcua without security needs --opcua-insecure (or give --opcua-cert-dir)")
        self.host, self.port = parse_opcua_url(url)
        self.url, self.tagmap, self.exchange, self.scene_name = url, tagmap, exchange, scene_name
        self.certs, self.sampling_ms = certs, float(sampling_ms)
        self.permissions = _Permissions(users, insecure=certs is None)
        self.server: Server | None = None
        self.idx = 0
        self._nodes: dict[str, ua.NodeId] = {}
        self._tag_of_node: dict[ua.NodeId, object] = {}
        self._method_ids: set[ua.NodeId] = set()
        self._last: dict[str, tuple] = {}
        self._served = -1  # version of the last snapshot written to the address space
        self._codes = {q: ua.StatusCode(getattr(ua.StatusCodes, name)) for q, name in QUALITY.items()}
        self._deadband = {n: s.deadband for n, s in exchange.signals.signals.items() if s.deadband}
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.stats = {"updates": 0, "writes": 0, "writes_refused": 0, "calls": 0}

    async def start(self) -> None:
        """Build the address space and listen; raises UsageError when the port cannot be bound."""
        logging.getLogger("asyncua").setLevel(logging.ERROR)
        server = Server(user_manager=self.permissions)
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name(f"twin {self.scene_name}")
        await server.set_application_uri(SERVER_APP_URI)
        if self.certs is None:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        else:
            await server.load_certificate(str(self.certs.cert))
            await server.load_private_key(str(self.certs.key))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_Sign,
                                        ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            server.set_identity_tokens([ua.AnonymousIdentityToken, ua.UserNameIdentityToken])
            store = TrustStore([self.certs.trusted], [])
            await store.load()
            server.set_certificate_validator(CertificateValidator(
                CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT, store))
        iserver, adapter = server.iserver, self

        def create_session(name, user=None, external=False):
            return _TwinSession(adapter, iserver, iserver.aspace, iserver.subscription_service, name,
                                user=user or User(role=UserRole.Anonymous),
                                external=external)

        iserver.create_session = create_session  # this server's sessions check writes and calls
        self.idx = await server.register_namespace(self.tagmap.namespace)
        await self._build(server)
        try:
            await server.start()
        except OSError as exc:
            raise UsageError(f"--opcua: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        self.server = server
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        self.exchange.on_publish(lambda snap: loop.call_soon_threadsafe(self._wake.set))
        self._task = asyncio.create_task(self._update_loop())
        await self._update(self.exchange.snapshot)

    async def _build(self, server: Server) -> None:
        idx = self.idx
        # ':' cannot clash with an element's folder: element names have no colon
        root = await server.nodes.objects.add_folder(ua.NodeId(f"twin:{self.scene_name}", idx),
                                                     ua.QualifiedName(self.scene_name, idx))
        folders = {}
        waiting = ua.StatusCode(ua.StatusCodes.BadWaitingForInitialData)
        for tag in self.tagmap.tags:
            folder = folders.get(tag.element)
            if folder is None:
                folder = await root.add_folder(ua.NodeId(tag.element, idx), ua.QualifiedName(tag.element, idx))
                folders[tag.element] = folder
            leaf = tag.signal[len(tag.element) + 1:] if tag.signal.startswith(tag.element + ".") else tag.signal
            nodeid = ua.NodeId(tag.node_id, idx)
            vtype = _VTYPE[tag.type]
            var = await folder.add_variable(nodeid, ua.QualifiedName(leaf, idx), _ZERO[tag.type],
                                            varianttype=vtype, datatype=ua.NodeId(vtype.value))
            if tag.writable:
                await var.set_writable()
            aspace = server.iserver.aspace
            await aspace.write_attribute_value(nodeid, ua.AttributeIds.MinimumSamplingInterval,
                                               ua.DataValue(ua.Variant(self.sampling_ms, ua.VariantType.Double)))
            await aspace.write_attribute_value(nodeid, ua.AttributeIds.Value,
                                               ua.DataValue(ua.Variant(None, ua.VariantType.Null), StatusCode=waiting))
            if tag.unit:
                await var.add_property(idx, "EngineeringUnits", _eu(tag.unit))
            if tag.low is not None:
                await var.add_property(idx, "EURange", ua.Range(Low=tag.low, High=tag.high))
            self._nodes[tag.signal] = nodeid
            self._tag_of_node[nodeid] = tag
        s = ua.VariantType.String
        for name, handler, inputs in (("Start", self._start, []), ("Stop", self._stop, []),
                                      ("Reset", self._reset, []),
                                      ("InjectFault", self._inject, [_arg("Target", s), _arg("Kind", s),
                                                                     _arg("DurationS", ua.VariantType.Double)])):
            node = await folders["line"].add_method(ua.NodeId(f"line.{name}", idx), ua.QualifiedName(name, idx),
                                                    handler, inputs, [_arg("Result", s)])
            self._method_ids.add(node.nodeid)

    # -- values out ---------------------------------------------------------------------------------

    async def _update_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._update(self.exchange.snapshot)

    async def _update(self, snap) -> None:
        """Write the signals that changed (value or quality) since the last snapshot served.

        When no snapshot was skipped, only the snapshot's ``changed`` names are looked at; the loop
        yields every 200 writes so that client requests are served in between.
        """
        if snap.version == 0:
            return
        aspace = self.server.iserver.aspace
        stamp = datetime.fromtimestamp(snap.wall_s, UTC)
        now = datetime.now(UTC)
        if snap.version == self._served + 1 and snap.changed is not None:
            tags = [self.tagmap.by_signal[n] for n in snap.changed if n in self.tagmap.by_signal]
        else:
            tags = self.tagmap.tags
        self._served = snap.version
        written = 0
        for tag in tags:
            value = snap.values.get(tag.signal)
            quality = snap.quality.get(tag.signal, "good")
            key = (value, quality)
            last = self._last.get(tag.signal)
            if last == key:
                continue
            band = self._deadband.get(tag.signal)
            if band and last is not None and quality == last[1] and abs(value - last[0]) < band:
                continue
            self._last[tag.signal] = key
            code = self._codes[quality]
            if quality in ("no_comm", "waiting") or value is None:
                variant = ua.Variant(None, ua.VariantType.Null)
            else:
                variant = ua.Variant(value, _VTYPE[tag.type])
            await aspace.write_attribute_value(self._nodes[tag.signal], ua.AttributeIds.Value,
                                               ua.DataValue(variant, StatusCode=code, SourceTimestamp=stamp,
                                                            ServerTimestamp=now))
            self.stats["updates"] += 1
            written += 1
            if written % 200 == 0:
                await asyncio.sleep(0)

    # -- writes and methods in ---------------------------------------------------------------------

    def check_write(self, user, wv: ua.WriteValue) -> ua.StatusCode | None:
        """The status of a write to one of our variables, or None when it is not ours."""
        tag = self._tag_of_node.get(wv.NodeId)
        if tag is None:
            return None
        if wv.AttributeId != ua.AttributeIds.Value or not tag.writable:
            return self._refuse(ua.StatusCodes.BadNotWritable)
        if not self.permissions.may_write(user):
            return self._refuse(ua.StatusCodes.BadUserAccessDenied)
        variant = wv.Value.Value if wv.Value is not None else None
        if variant is None or variant.VariantType not in _ACCEPT[tag.type] or variant.is_array:
            return self._refuse(ua.StatusCodes.BadTypeMismatch)
        value = variant.Value
        if tag.type == "float":
            value = float(value)
        reason = self.exchange.check(tag.signal, value)
        if reason is not None:
            code = ua.StatusCodes.BadTypeMismatch if reason.startswith("type") else \
                ua.StatusCodes.BadNotWritable if "mirrored" in reason else ua.StatusCodes.BadOutOfRange
            return self._refuse(code)
        self.exchange.submit_write(tag.signal, value)
        self.stats["writes"] += 1
        return ua.StatusCode(ua.StatusCodes.Good)

    def _refuse(self, code) -> ua.StatusCode:
        self.stats["writes_refused"] += 1
        return ua.StatusCode(code)

    async def _command(self, name: str, *args) -> list[ua.Variant]:
        self.stats["calls"] += 1
        fut = self.exchange.submit_command(name, *args)
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(fut), 5.0)
        except TimeoutError:
            return _failed(ua.StatusCodes.BadTimeout, "the twin did not step within 5 s")
        except ValueError as exc:  # refused: the reason goes back as the output argument
            bad = ua.StatusCodes.BadInvalidState if "sync" in str(exc) else ua.StatusCodes.BadInvalidArgument
            return _failed(bad, str(exc))
        return [ua.Variant(result, ua.VariantType.String)]

    async def _start(self, parent):
        return await self._command("start")

    async def _stop(self, parent):
        return await self._command("stop")

    async def _reset(self, parent):
        return await self._command("reset")

    async def _inject(self, parent, target, kind, duration):
        values = [getattr(v, "Value", v) for v in (target, kind, duration)]
        if not (isinstance(values[0], str) and isinstance(values[1], str) and isinstance(values[2], float)):
            return _failed(ua.StatusCodes.BadTypeMismatch, "InjectFault(Target: String, Kind: String, DurationS: Double)")
        return await self._command("inject_fault", *values)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.server is not None:
            await self.server.stop()
            self.server = None


def _failed(code, reason: str) -> ua.CallMethodResult:
    """A refused call: its status code, and the reason as the Result output argument."""
    return ua.CallMethodResult(StatusCode=ua.StatusCode(code), OutputArguments=[ua.Variant(reason[:500],
                                                                                          ua.VariantType.String)])


def _arg(name: str, vtype: ua.VariantType) -> ua.Argument:
    arg = ua.Argument()
    arg.Name = name
    arg.DataType = ua.NodeId(vtype.value)
    arg.ValueRank = -1
    arg.Description = ua.LocalizedText(name)
    return arg


class _TwinSession(InternalSession):
    """A session whose writes to twin variables, and method calls, are checked by the adapter."""

    def __init__(self, adapter: OpcUaAdapter, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self._adapter = adapter

    async def write(self, params: ua.WriteParameters) -> list[ua.StatusCode]:
        ours = [self._adapter.check_write(self.user, wv) for wv in params.NodesToWrite]
        rest = [wv for wv, status in zip(params.NodesToWrite, ours, strict=True) if status is None]
        others = iter(await super().write(ua.WriteParameters(NodesToWrite=rest)) if rest else [])
        return [status if status is not None else next(others) for status in ours]

    async def call(self, params: list[ua.CallMethodRequest]) -> list[ua.CallMethodResult]:
        denied = ua.CallMethodResult(StatusCode=ua.StatusCode(ua.StatusCodes.BadUserAccessDenied))
        if any(p.MethodId in self._adapter._method_ids for p in params) and \
                not self._adapter.permissions.may_write(self.user):
            return [denied if p.MethodId in self._adapter._method_ids else (await super().call([p]))[0]
                    for p in params]
        return await super().call(params)
