"""Real servers on 127.0.0.1 for tests of notifications: an HTTP server that records the
JSON POSTed to it (webhooks, Slack) and an SMTP server (aiosmtpd) that records mail,
with TLS (SMTPS or STARTTLS, a self-signed certificate for 127.0.0.1) and login."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["Server", "free_port", "self_signed_cert", "SMTPServer"]


class Server:
    """A real HTTP server on 127.0.0.1 that records the JSON POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[dict] = []
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    server.posts.append({"path": self.path,
                                         "content_type": self.headers.get("Content-Type"),
                                         "json": json.loads(body)})
                self.send_response(server.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    @property
    def payloads(self) -> list[dict]:
        return [p["json"] for p in self.posts]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1, made with the openssl CLI."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class SMTPServer:
    """aiosmtpd on 127.0.0.1 in a thread; ``messages`` holds what it received as
    ``(envelope sender, recipients, email.message.Message)``.

    ``tls`` is None (plain), "SSL" (TLS from the first byte) or "STARTTLS"; with TLS it
    requires a login as ``user``/``password``.  Clients trust its certificate through
    ``SSL_CERT_FILE`` (set it to ``cert`` in the test)."""

    def __init__(self, folder: Path, tls: str | None = None, user: str = "bot",
                 password: str = "pw") -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[tuple[str, list[str], Message]] = []
        self.logins: list[str] = []
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope) -> str:
                server.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                        message_from_bytes(envelope.content)))
                return "250 OK"

        def authenticator(smtp, session, envelope, mechanism, auth_data) -> AuthResult:
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            if ok:
                server.logins.append(auth_data.login.decode())
            return AuthResult(success=ok, handled=False)   # handled=False: a 535 is sent

        self.cert = self.key = None
        kwargs: dict = {}
        if tls is not None:
            self.cert, self.key = self_signed_cert(folder)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert, self.key)
            kwargs = {"authenticator": authenticator, "auth_required": True}
            kwargs["ssl_context" if tls == "SSL" else "tls_context"] = context
            if tls == "STARTTLS":
                kwargs["require_starttls"] = True
            else:   # TLS from the first byte: aiosmtpd cannot see it, logins are safe
                kwargs["auth_require_tls"] = False
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     server_hostname="127.0.0.1", **kwargs)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()
