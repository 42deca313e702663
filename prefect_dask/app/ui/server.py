"""The UI's HTTP server: stdlib ``http.server``, read-only, one thread per request.

Routes (GET and HEAD only; anything else is 405)::

    /                      runs list (?flow=&state=&page=; &part=live: its table alone)
    /runs/<id>             a run's page (?task=&q= search its logs); short ids and "last" work
    /runs/<id>/live        the part of that page that changes while the run goes
    /runs/<id>/children    one mapped task's map indexes (?task=&state=&page=)
    /api/runs              the runs list as JSON (same filters)
    /api/runs/<id>         a run's view as JSON (/api/runs/<id>/logs?task=&q= its logs,
                           /api/runs/<id>/children?task=&state=&page= its children)
    /static/ui.css, /static/live.js

Safe by default: ``serve`` binds 127.0.0.1 unless told otherwise, and any
other address needs a token, then checked on every request (``?token=`` once,
kept in an HttpOnly cookie; or ``Authorization: Bearer``; or
``PREFECT_DASK_UI_TOKEN`` for the CLI).  Without a token
only requests naming a loopback host are answered (no DNS rebinding).  Every
answer forbids inline scripts and styles (Content-Security-Policy).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import sys
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from ...errors import PrefectDaskError, RunRecordError
from ...store.history import History
from . import data, pages

__all__ = ["make_server", "serve", "needs_token"]

logger = logging.getLogger("prefect_dask.ui")
COOKIE = "prefect_dask_ui"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
STATIC = {"ui.css": "text/css; charset=utf-8", "live.js": "text/javascript; charset=utf-8"}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def needs_token(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback ``host`` without a token."""
    if not _loopback(host) and not token:
        raise PrefectDaskError(
            f"prefect-dask ui --host {host}: anyone who can reach that address could read "
            "your runs, so it needs a token: add --token SOME-LONG-SECRET (then open "
            "http://HOST:PORT/?token=SOME-LONG-SECRET), or bind 127.0.0.1.")


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    server_version = "prefect-dask-ui"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
        logger.debug("%s " + format, self.address_string(), *args)

    # -- the answer ------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, kind: str, extra: dict | None = None) -> None:
        self.send_response(status)
        headers = {"Content-Type": kind, "Content-Length": str(len(body)),
                   "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                   "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
                   "X-Frame-Options": "DENY", **(extra or {})}
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, status: int, text: str, extra: dict | None = None) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8", extra)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value, default=repr).encode(),
                   "application/json; charset=utf-8")

    def _refuse(self, status: int, message: str, api: bool) -> None:
        if api:
            self._json(status, {"error": message})
        else:
            self._html(status, pages.error_page(status, message))

    # -- who may ask -------------------------------------------------------------------------
    def _allowed(self, query: dict, api: bool) -> bool:
        token = self.server.token
        if token is None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            if _loopback(host):
                return True
            self._refuse(403, f"Refused: this UI answers only at 127.0.0.1 or localhost, not "
                              f"{host!r}.", api)
            return False
        given = (query.get("token") or [None])[0]
        auth = self.headers.get("Authorization") or ""
        if not given and auth.startswith("Bearer "):
            given = auth[7:]
        if not given:
            cookie = SimpleCookie(self.headers.get("Cookie") or "")
            given = cookie[COOKIE].value if COOKIE in cookie else None
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return True
        self._refuse(403, "Refused: a wrong or missing token. Open the address the server "
                          "printed, which ends in ?token=...", api)
        return False

    # -- routes ----------------------------------------------------------------------------
    def do_HEAD(self) -> None:  # noqa: N802 (stdlib's name)
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [unquote(p) for p in url.path.split("/") if p]
        api = parts[:1] == ["api"]
        if not self._allowed(query, api):
            return
        if "token" in query and not api:   # a page: the token goes to a cookie, off the address
            rest = urlencode({k: v for k, v in query.items() if k != "token"}, doseq=True)
            self._send(303, b"", "text/plain", {
                "Location": "/" + url.path.lstrip("/") + (f"?{rest}" if rest else ""),
                "Set-Cookie": f"{COOKIE}={self.server.token}; HttpOnly; SameSite=Strict; Path=/"})
            return
        one = {k: v[0] for k, v in query.items() if v and v[0]}
        try:
            self._route(parts, one)
        except RunRecordError as exc:
            self._refuse(404, str(exc), api)
        except BrokenPipeError:
            pass   # the browser went away
        except Exception as exc:
            logger.exception("prefect-dask ui: %s failed", self.path)
            self._refuse(500, f"{type(exc).__name__}: {exc}", api)

    def _route(self, parts: list[str], q: dict) -> None:
        h = self.server.history
        if parts == []:
            page = data.runs_page(h, q.get("flow"), q.get("state"), _int(q.get("page")))
            render = pages.runs_part if q.get("part") == "live" else pages.runs_page
            self._html(200, render(page, q.get("flow"), q.get("state")))
        elif len(parts) == 2 and parts[0] == "static" and parts[1] in STATIC:
            body = resources.files(__package__).joinpath("static", parts[1]).read_bytes()
            if parts[1] == "ui.css":
                body += pages.state_css().encode()
            self._send(200, body, STATIC[parts[1]])
        elif len(parts) == 2 and parts[0] == "runs":
            view = data.run_view(h, parts[1])
            logs = data.run_logs(h, view["run_id"], q.get("task"), q.get("q"))
            self._html(200, pages.run_page(view, logs, q.get("task"), q.get("q")))
        elif len(parts) == 3 and parts[0] == "runs" and parts[2] == "children":
            self._html(200, pages.children_page(data.run_children(
                h, parts[1], q.get("task", ""), q.get("state"), _int(q.get("page")))))
        elif len(parts) == 3 and parts[0] == "runs" and parts[2] == "live":
            view = data.run_view(h, parts[1])
            self._html(200, pages.live_part(view))
        elif parts == ["api", "runs"]:
            self._json(200, data.runs_page(h, q.get("flow"), q.get("state"),
                                           _int(q.get("page"))))
        elif len(parts) == 3 and parts[:2] == ["api", "runs"]:
            self._json(200, data.run_view(h, parts[2]))
        elif len(parts) == 4 and parts[:2] == ["api", "runs"] and parts[3] == "logs":
            self._json(200, data.run_logs(h, parts[2], q.get("task"), q.get("q")))
        elif len(parts) == 4 and parts[:2] == ["api", "runs"] and parts[3] == "children":
            self._json(200, data.run_children(h, parts[2], q.get("task", ""), q.get("state"),
                                              _int(q.get("page"))))
        else:
            self._refuse(404, f"No page at {'/'.join(parts)!r}; the runs list is at /.",
                         parts[:1] == ["api"])

    def _read_only(self) -> None:
        self._refuse(405, "This UI is read-only.", True)

    do_POST = do_PUT = do_DELETE = do_PATCH = _read_only  # noqa: N815


def _int(value: str | None) -> int:
    try:
        return int(value) if value else 1
    except ValueError:
        return 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    token: str | None = None
    history: History

    def server_close(self) -> None:
        super().server_close()
        self.history.close()


def make_server(host: str = "127.0.0.1", port: int = 8765,
                token: str | None = None) -> ThreadingHTTPServer:
    """A UI server over this ``PREFECT_DASK_HOME``'s history, bound to ``host:port`` (port 0:
    a free one), not yet serving."""
    needs_token(host, token)
    try:
        server = _Server((host, port), _Handler)
    except OSError as exc:
        raise PrefectDaskError(f"prefect-dask ui: cannot listen on {host}:{port} ({exc}); "
                               "choose another --port (0 picks a free one).") from None
    server.token = token or None
    server.history = History()
    return server


def serve(host: str = "127.0.0.1", port: int = 8765, token: str | None = None) -> None:
    """Serve the UI until Ctrl-C; prints the address to open."""
    server = make_server(host, port, token)
    name, bound = server.server_address[:2]
    shown = f"[{name}]" if ":" in str(name) else name
    address = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
    print(f"prefect-dask ui: serving the runs in {server.history.runs_dir} at {address} "
          "(Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("prefect-dask ui: stopped.", file=sys.stderr)
    finally:
        server.server_close()
