"""Keeping the viser server to the user's own browser tabs.

viser answers a client's request for a share URL by opening a tunnel to a public relay
(hiding the button does not stop a client asking), and its websocket server accepts any
Origin, so any web page the user visits could connect to the local port and read the
camera images. :func:`guard` turns the share handlers into no-ops and closes websocket
connections whose Origin is another site before anything is sent to them.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
CLOSE_POLICY = 1008  # websocket close code: policy violation


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) stays on this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin_allowed(origin: str | None, host_header: str | None, bound: str) -> bool:
    """A connection from a page of the served site itself, or from no page at all.

    A browser always sends Origin; a page of another site has its own there, not the
    ``Host`` it connects to. Served on a loopback address, the Host must be a loopback
    name too, so a site that rebinds its own name to 127.0.0.1 is turned away as well.
    """
    if origin is None:
        return True  # not a browser page (a script on this machine can connect anyway)
    if not host_header or urlsplit(origin).netloc.lower() != host_header.lower():
        return False
    if not is_loopback(bound):
        return True
    return is_loopback(urlsplit(f"//{host_header}").hostname or "")


def _no_share(*_args: Any, **_kwargs: Any) -> None:
    """Stands in for viser's share-URL handlers: no tunnel is ever opened."""
    return None


def guard(server: Any, host: str) -> None:
    """Disable sharing on ``server`` (a ``viser.ViserServer``) and check each websocket's
    Origin; warn when ``host`` is reachable from other machines."""
    # viser's ShareUrlRequest/Disconnect handlers look these methods up on the instance
    # at each request (viser 1.1.1, ViserServer.__init__).
    server.request_share_url = _no_share
    server.disconnect_share_url = _no_share
    websock = server._websock_server

    async def check_origin(client: Any) -> None:
        connection = websock._live_connections.get(client.client_id)
        if connection is None:
            return
        headers = connection.request.headers
        if not origin_allowed(headers.get("Origin"), headers.get("Host"), host):
            # Closed before the producers start: the page gets no message at all.
            await connection.close(CLOSE_POLICY, "origin not allowed")

    websock._client_connect_cb.insert(0, check_origin)
    if not is_loopback(host):
        print(
            f"warning: the view listens on {host}: anyone who can reach this machine can "
            "watch the camera (and no password is asked)",
            file=sys.stderr,
        )
