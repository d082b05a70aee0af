"""Whether an address the app shows (for the PBX) can be reached from another machine."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_url(url: str) -> bool:
    """True for http://127.x…, http://[::1]…, http://localhost…: only this machine reaches it.

    A PBX is another machine, so such an address in Settings is useless to it
    (issue 14: `make run` binds 127.0.0.1 and PUBLIC_URL is unset)."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
