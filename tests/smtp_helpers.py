"""A real SMTP server for tests (aiosmtpd, on its own thread and loop), optionally with
STARTTLS or implicit TLS under a throwaway self-signed certificate, and a login; and
servers that misbehave (one that never greets)."""
from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = "fync-mailer", "s3cret-smtp-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, and its key, as PEM files in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Inbox:
    """aiosmtpd's handler: keeps every message it is given."""

    def __init__(self):
        self.messages: list = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.arrived.set()
        return "250 OK"


def check_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """`security`: "none", "starttls" (STARTTLS required, login only after it) or "tls"."""

    def __init__(self, folder: Path, security: str = "none", login: bool = False):
        self.inbox, self.port, self.security = Inbox(), free_port(), security
        self.cert, key = self_signed(folder)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(self.cert, key)
        # aiosmtpd counts only STARTTLS as TLS: over implicit TLS it must not wait for it.
        options = {"authenticator": check_login, "auth_require_tls": security == "starttls"} if login else {}
        if security == "starttls":
            options.update(tls_context=server_tls, require_starttls=True)
        elif security == "tls":
            options.update(ssl_context=server_tls)
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     auth_required=login, **options)

    def client_tls(self) -> ssl.SSLContext:
        """What Fync must trust to talk to this server (certificates are verified)."""
        return ssl.create_default_context(cafile=str(self.cert))

    def start(self) -> "SmtpServer":
        if self.security == "tls":
            # aiosmtpd's readiness probe would wrap its socket in the server's own context.
            self.controller._trigger_server = self._probe_tls
        self.controller.start()
        return self

    def _probe_tls(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), 2.0) as raw:
            with self.client_tls().wrap_socket(raw, server_hostname="localhost") as tls:
                tls.recv(1024)

    def stop(self) -> None:
        self.controller.stop()


class SilentServer:
    """Accepts connections and never says a word: a hung SMTP server."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()
