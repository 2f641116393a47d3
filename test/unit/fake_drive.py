"""A stand-in for Google Drive on 127.0.0.1, reached by gdown through a local HTTPS proxy.

gdown always asks drive.google.com, so tests point ``HTTPS_PROXY`` at a proxy here that
answers ``CONNECT`` with TLS under a throw-away certificate for Drive's host names (trusted
through ``REQUESTS_CA_BUNDLE``) and serves the pages gdown reads: the embedded folder view
(the listing), the large-file confirmation form, Drive's quota error page and the file itself.
The page shapes are what gdown 6.5 parses; whether real Drive still serves them is only seen
where Drive is reachable. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HOSTS = ("drive.google.com", "drive.usercontent.google.com", "docs.google.com")
QUOTA = (
    "Too many users have viewed or downloaded this file recently. Please try accessing the "
    "file again later."
)


def drive_id(path: str) -> str:
    """A Drive-like id (gdown wants 25+ word characters) derived from a path."""
    return "1" + hashlib.sha256(path.encode()).hexdigest()[:32]


def folder_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]


class FakeDrive:
    """Folders and files to serve, and a log of what was asked."""

    def __init__(self) -> None:
        self.folders: dict[str, tuple[str, list[tuple[str, str, bool]]]] = {}
        self.files: dict[str, Path | bytes] = {}
        self.over_quota: set[str] = set()
        self.requests: list[str] = []

    def add_folder(self, url: str, title: str, tree: dict) -> dict[str, str]:
        """Publish ``tree`` (name -> bytes, a file path, or a sub-tree) as folder ``url``.

        Returns:
            path inside the folder -> file id.
        """
        ids: dict[str, str] = {}
        self._add(folder_id(url), title, tree, "", ids)
        return ids

    def _add(self, fid: str, title: str, tree: dict, prefix: str, ids: dict[str, str]) -> None:
        children = []
        for name, value in tree.items():
            path = f"{prefix}{name}"
            child = drive_id(fid + path)
            if isinstance(value, dict):
                self._add(child, name, value, f"{path}/", ids)
            else:
                self.files[child] = value
                ids[path] = child
            children.append((child, name, isinstance(value, dict)))
        self.folders[fid] = (title, children)


class _DriveHandler(http.server.BaseHTTPRequestHandler):
    """Drive's pages, spoken over the TLS tunnel that the proxy opened."""

    protocol_version = "HTTP/1.1"
    drive: FakeDrive

    def do_GET(self) -> None:
        host = self.headers.get("Host", "")
        self.drive.requests.append(f"{host}{self.path}")
        query = dict(p.split("=", 1) for p in self.path.partition("?")[2].split("&") if "=" in p)
        fid = query.get("id", "")
        if self.path.startswith("/embeddedfolderview") and fid in self.drive.folders:
            self._send(self._folder_view(fid), "text/html; charset=utf-8")
        elif self.path.startswith("/uc") and fid in self.drive.over_quota:
            page = f'<html><body><p class="uc-error-subcaption">{QUOTA}</p></body></html>'
            self._send(page.encode(), "text/html; charset=utf-8")
        elif self.path.startswith("/uc") and fid in self.drive.files:
            # The "can't scan this file for viruses" form that large files get.
            page = (
                '<html><body><form id="download-form" '
                'action="https://drive.usercontent.google.com/download" method="get">'
                f'<input type="hidden" name="id" value="{fid}">'
                '<input type="hidden" name="export" value="download">'
                '<input type="hidden" name="confirm" value="t"></form></body></html>'
            )
            self._send(page.encode(), "text/html; charset=utf-8")
        elif self.path.startswith("/download") and query.get("confirm") == "t":
            value = self.drive.files[fid]
            data = value.read_bytes() if isinstance(value, Path) else value
            self._send(data, "application/octet-stream", f'attachment; filename="{fid}"')
        else:
            self.send_error(404)

    def _folder_view(self, fid: str) -> bytes:
        title, children = self.drive.folders[fid]
        links = "".join(
            f'<a href="https://drive.google.com/drive/folders/{cid}">{html.escape(name)}</a>'
            if is_folder
            else f'<a href="https://drive.google.com/file/d/{cid}/view?usp=drive_web">'
            f"{html.escape(name)}</a>"
            for cid, name, is_folder in children
        )
        return f"<html><head><title>{title}</title></head><body>{links}</body></html>".encode()

    def _send(self, body: bytes, kind: str, disposition: str = "") -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        if disposition:
            self.send_header("Content-Disposition", disposition)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # gdown may stop reading once it has the headers.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _certificate(folder: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the fake Drive's certificate: apt install openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    names = ",".join(f"DNS:{h}" for h in HOSTS)
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=fake-drive"),
            *("-addext", f"subjectAltName={names}"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def serve(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDrive]:
    """Run a fake Drive and route this process's (and its children's) HTTPS through it."""
    cert, key = _certificate(folder)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    drive = FakeDrive()
    handler = type("Handler", (_DriveHandler,), {"drive": drive})

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_CONNECT(self) -> None:
            self.send_response(200, "Connection established")
            self.end_headers()
            with (
                contextlib.suppress(ssl.SSLError, OSError),  # the client hung up
                tls.wrap_socket(self.connection, server_side=True) as conn,
            ):
                handler(conn, self.client_address, self.server)
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    route(monkeypatch, f"http://127.0.0.1:{proxy.server_address[1]}", cert, plain_http=False)
    try:
        yield drive
    finally:
        proxy.shutdown()
        proxy.server_close()


def route(
    monkeypatch: pytest.MonkeyPatch, proxy: str, ca_bundle: Path | None, plain_http: bool
) -> None:
    """Send HTTPS (and plain HTTP if asked) to ``proxy``, whatever the machine had set."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTPS_PROXY", "https_proxy") + ("HTTP_PROXY", "http_proxy") * plain_http:
        monkeypatch.setenv(name, proxy)
    if ca_bundle is not None:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route HTTP(S) to a closed local port: what gdown sees on a machine without internet."""
    route(monkeypatch, "http://127.0.0.1:9", None, plain_http=True)
