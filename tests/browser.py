"""A real browser and a real ``prefect-dask ui`` process, for the UI's tests and benchmark.

``Chromium`` starts headless Chromium (Debian's ``chromium``) with the flags a
closed network needs and drives one page over the DevTools protocol (a
websocket, through ``websocket-client``): go to an address, evaluate
JavaScript, wait for a condition, take a screenshot.  ``UIProcess`` starts
``prefect-dask ui --port 0`` on 127.0.0.1 and reads the address it prints.
``chromium()`` is None where no Chromium is installed (tests skip then; CI
installs it, see ``.ci/run``).
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["chromium", "Chromium", "UIProcess", "fetch", "FLAGS"]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio"]


def chromium() -> str | None:
    """The Chromium executable, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def fetch(url: str, headers: dict | None = None) -> tuple[int, str]:
    """(status, body) of a GET, errors included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.05)



def stop(proc: subprocess.Popen) -> None:
    """Terminate ``proc`` (if still running), killing it when it does not end in 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

# DevTools errors of an evaluation that met a navigation (the page it ran in went away)
NAVIGATING = ("Inspected target navigated or closed", "Execution context was destroyed",
              "Cannot find context with specified id")


class PageChanged(RuntimeError):
    """The page navigated while being asked something: ask the new one."""


class Chromium:
    """One headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, width: int = 1300, height: int = 1000) -> None:
        import websocket   # test dependency (pyproject's "test" extra)

        exe = chromium()
        if exe is None:
            raise RuntimeError("Chromium is not installed: apt-get install -y chromium")
        self.profile = tempfile.mkdtemp(prefix="prefect-dask-chromium-")
        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "--remote-allow-origins=*", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        active = Path(self.profile) / "DevToolsActivePort"
        try:
            _wait(lambda: active.exists() and len(active.read_text().split()) >= 2, 60,
                  "Chromium's DevTools port")
            port = active.read_text().split()[0]
            pages = _wait(lambda: [t for t in json.loads(fetch(
                f"http://127.0.0.1:{port}/json/list")[1]) if t.get("type") == "page"], 30,
                "Chromium's first page")
            self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=60,
                                                  suppress_origin=True)
        except BaseException:
            self.close()
            raise
        self._ids = itertools.count(1)
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def send(self, method: str, **params: Any) -> dict:
        """Call a DevTools method and return its result (events met meanwhile are dropped)."""
        n = next(self._ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == n:
                if "error" in message:
                    error = message["error"].get("message", "")
                    kind = PageChanged if any(m in error for m in NAVIGATING) else RuntimeError
                    raise kind(f"{method}: {message['error']}")
                return message.get("result", {})

    def eval(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url: str, timeout: float = 30) -> None:
        """Open ``url`` and wait until it has loaded."""
        self.eval("window.__loaded_before = true")
        self.send("Page.navigate", url=url)
        self.wait_for("!window.__loaded_before && document.readyState === 'complete'",
                      timeout, f"{url} to load")

    def wait_for(self, expression: str, timeout: float = 30, what: str | None = None) -> Any:
        """Wait until a JavaScript expression is truthy in the page; its value.  While the
        page is being replaced (a click that navigates) the expression is asked again."""
        def value() -> Any:
            try:
                return self.eval(expression)
            except PageChanged:
                return None
        return _wait(value, timeout, what or expression)

    def text(self, selector: str = "body") -> str:
        """What the page shows in ``selector`` (its innerText)."""
        return self.eval(f"(document.querySelector({json.dumps(selector)}) || {{}})"
                         ".innerText || ''")

    def html(self) -> str:
        return self.eval("document.documentElement.outerHTML")

    def screenshot(self, path: str | Path, full_page: bool = True) -> Path:
        """A PNG of the page (all of it, or the window)."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": min(size["height"], 4000), "scale": 1}
        data = self.send("Page.captureScreenshot", **params)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        stop(self.proc)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class UIProcess:
    """``prefect-dask ui --port 0 --home HOME [args]`` in a child process; ``url`` is where it
    answers."""

    def __init__(self, home: str | Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "prefect_dask.app.cli", "ui", "--port", "0", "--home", str(home),
             *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if "http://" not in line:
            self.close()
            raise RuntimeError(f"prefect-dask ui did not start: {line}{self.stderr}")
        self.url = line.split(" at ", 1)[1].split()[0].split("?")[0].rstrip("/")
        self.stderr = ""

    def close(self) -> None:
        stop(self.proc)
        self.stderr = self.proc.stderr.read() if self.proc.stderr else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> "UIProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
