"""A Web Push service on loopback, for the tests (SPEC §4 Web Push).

It speaks https, as every push service does and as Fync requires of endpoints: a
certificate for 127.0.0.1 from a throwaway CA (trustme) that the test trusts — in
this process by adding the CA to the TLS context Tornado's clients share, in a
`fync serve` process through SSL_CERT_FILE. Only the address check is relaxed, with
`[federation] allow_private_addresses`, as for federation's loopback peers.

For every push it checks what a real push service checks, and more: the VAPID JWT
(RFC 8292: ES256 signed by the instance's public key `k`, `aud` = this service's
origin, `exp` within 24 hours, `sub` when expected), the `TTL` and
`Content-Encoding: aes128gcm` headers, then decrypts the body (RFC 8291) with the
subscription's private key and auth secret, made by the test (http-ece), and keeps
the JSON payload. A push that fails a check is answered 400 and kept in `refused`.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import time
from dataclasses import dataclass, field

import http_ece
import tornado.netutil
import tornado.web
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.jwt import decode
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from gancio_like.webpush import b64url
from serve_helpers import free_port

MAX_EXP = 24 * 3600


@dataclass
class Device:
    """A browser's subscription: the keys it made, and what PushSubscription.toJSON() says."""
    name: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    auth: bytes = field(repr=False)

    def json(self) -> dict:
        point = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                           serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}


@dataclass
class Push:
    """One push received and checked: the decrypted payload, the claims, its size on the wire."""
    device: str
    payload: dict
    claims: dict
    headers: dict
    wire_bytes: int
    body_bytes: int
    at: float  # time.monotonic() when it arrived


class PushService:
    """POST /push/NAME → checks, decrypts and answers the next status queued for NAME (201 by default)."""

    def __init__(self, vapid_public_key: str, subject: str | None = None):
        self.vapid_public_key, self.subject = vapid_public_key, subject
        self.ca = trustme.CA()
        self.devices: dict[str, Device] = {}
        self.answers: dict[str, list] = {}  # NAME → statuses (or (status, headers)) to answer next, in order
        self.received: list[Push] = []
        self.refused: list[str] = []
        self.hits: dict[str, int] = {}  # requests per path, checked or not
        self.arrived = asyncio.Event()
        self.port = free_port()  # bound by start(): until then, connections are refused
        self.server: HTTPServer | None = None

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def ca_file(self, folder) -> str:
        """The CA as a PEM file, for SSL_CERT_FILE of a `fync serve` process."""
        path = os.path.join(folder, "push-ca.pem")
        self.ca.cert_pem.write_to_path(path)
        return path

    def trust_here(self) -> None:
        """Make this process's Tornado clients (and so Fync's guarded client) trust the CA."""
        self.ca.configure_trust(tornado.netutil._client_ssl_defaults())

    def start(self) -> "PushService":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(context)
        self.server = HTTPServer(tornado.web.Application([(r"/(.*)", _Endpoint, {"service": self})]),
                                 ssl_options=context)
        self.server.add_sockets(bind_sockets(self.port, "127.0.0.1"))
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            await self.server.close_all_connections()

    def device(self, name: str) -> Device:
        device = Device(name, f"{self.origin}/push/{name}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.devices[name] = device
        return device

    async def wait(self, count: int = 1, seconds: float = 10) -> list[Push]:
        deadline = time.monotonic() + seconds
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} push(es) arrived in {seconds} s, "
                                     f"not {count}; refused: {self.refused}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass
        return self.received

    def check(self, name: str, request) -> Push:
        """Everything a push must be; AssertionError says what is not."""
        device = self.devices.get(name)
        assert device is not None, f"no device {name}"
        claims = self._claims(request.headers.get("Authorization", ""))
        assert request.headers.get("Content-Encoding") == "aes128gcm", request.headers.get("Content-Encoding")
        assert int(request.headers.get("TTL", "-1")) >= 0, "TTL missing"
        plain = http_ece.decrypt(request.body, private_key=device.private_key, auth_secret=device.auth,
                                 version="aes128gcm")
        payload = json.loads(plain)
        assert set(payload) == {"type", "title", "body", "url"}, payload
        head = f"POST {request.uri} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in request.headers.get_all())
        return Push(name, payload, claims, dict(request.headers), len(head) + 2 + len(request.body),
                    len(request.body), time.monotonic())

    def _claims(self, authorization: str) -> dict:
        scheme, _, params = authorization.partition(" ")
        assert scheme == "vapid", f"not a VAPID authorization: {authorization[:40]!r}"
        parts = dict(part.split("=", 1) for part in params.split(","))
        assert parts["k"] == self.vapid_public_key, "signed with another key"
        header = json.loads(_unb64(parts["t"].split(".")[0]))
        assert header == {"typ": "JWT", "alg": "ES256"}, header
        claims = decode(parts["t"], parts["k"])  # raises InvalidSignature
        assert claims["aud"] == self.origin, claims
        assert time.time() < claims["exp"] <= time.time() + MAX_EXP, claims
        if self.subject is not None:
            assert claims.get("sub") == self.subject, claims
        return claims


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Endpoint(tornado.web.RequestHandler):
    def initialize(self, service: PushService) -> None:
        self.service = service

    def post(self, path: str) -> None:
        service = self.service
        service.hits[path] = service.hits.get(path, 0) + 1
        name = path.removeprefix("push/")
        try:
            push = service.check(name, self.request)
        except Exception as exc:  # a bad push: a real service refuses it too
            service.refused.append(f"{name}: {exc!r}")
            self.set_status(400)
            return
        queued = service.answers.get(name)
        answer = queued.pop(0) if queued else 201
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        if 200 <= status < 300:
            service.received.append(push)
            service.arrived.set()
        self.set_status(status)
        for key, value in headers.items():
            self.set_header(key, value)
