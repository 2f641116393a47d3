"""A headless Chromium client of the view, driven over the DevTools protocol: what the bench
keeps connected while it measures, and what the tests take screenshots with.

WebGL renders in software (SwiftShader), so no GPU or display is needed. Host names resolve
to nothing but 127.0.0.1, and every request the page makes is kept (:attr:`requests`), so a
run shows that the view needs nothing from outside this machine.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from trg_ros.core.errors import TRGError

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--remote-debugging-port=0",
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise TRGError("no chromium on PATH (Debian: apt-get install chromium)")


class Browser:
    """One headless Chromium page at ``url`` in a window of ``size`` (w, h) px.

    ``network``: keep the requests (the DevTools events then cost this process some CPU, so
    the bench leaves them off).
    """

    def __init__(
        self, url: str, size: tuple[int, int] = (1200, 900), network: bool = True
    ) -> None:
        from websockets.sync.client import connect

        binary = chromium()  # before anything is made that would need cleaning up
        self._ids = 0
        self._replies: dict[int, Any] = {}
        self._cond = threading.Condition()
        self.requests: list[str] = []  # every URL the page asked for, in order
        self._loaded = threading.Event()
        self._ws: Any = None
        self._proc: subprocess.Popen | None = None
        self._profile = tempfile.mkdtemp(prefix="trg_chromium_")
        try:  # a failure anywhere below leaves no Chromium and no profile behind
            self._proc = subprocess.Popen(
                [binary, *FLAGS, f"--window-size={size[0]},{size[1]}",
                 f"--user-data-dir={self._profile}", "about:blank"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            port = self._devtools_port()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                page = next(t for t in json.load(r) if t["type"] == "page")
            self._ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
            if network:
                self.call("Network.enable")
            self.call("Page.enable")
            self.call("Page.navigate", url=url)
            if not self._loaded.wait(30.0):
                raise TRGError(f"chromium did not load {url}")
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, timeout: float = 30.0) -> int:
        marker = Path(self._profile) / "DevToolsActivePort"
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self._proc is None or self._proc.poll() is not None:
                raise TRGError("chromium exited before it opened its DevTools port")
            time.sleep(0.05)
        raise TRGError("chromium did not open its DevTools port")

    def _read(self) -> None:
        try:
            for raw in self._ws:
                msg = json.loads(raw)
                if msg.get("method") == "Network.requestWillBeSent":
                    self.requests.append(msg["params"]["request"]["url"])
                elif msg.get("method") == "Network.webSocketCreated":
                    self.requests.append(msg["params"]["url"])
                elif msg.get("method") == "Page.loadEventFired":
                    self._loaded.set()
                elif "id" in msg:
                    with self._cond:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()
        except Exception:  # the connection closed: close() is under way
            return

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> Any:
        with self._cond:
            self._ids += 1
            key = self._ids
        self._ws.send(json.dumps({"id": key, "method": method, "params": params}))
        with self._cond:
            if not self._cond.wait_for(lambda: key in self._replies, timeout):
                raise TRGError(f"chromium did not answer {method}")
            reply = self._replies.pop(key)
        if "error" in reply:
            raise TRGError(f"chromium: {method}: {reply['error']}")
        return reply.get("result", {})

    def screenshot(self) -> np.ndarray:
        """The page as it is now, (H, W, 3) RGB."""
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
