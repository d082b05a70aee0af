"""May the worker download this recording URL? Judged as the HTTP client will connect.

The URL comes from a PBX payload, or from a ``Location`` header of a listed
host, so it is untrusted. Python's ``urlsplit`` and urllib3's ``parse_url``
(which requests uses) disagree on some URLs: a backslash ends the host for
urllib3 but not for ``urlsplit``, so ``http://127.0.0.1:8398\\@allowed.example/``
looked like ``allowed.example`` while requests connected to 127.0.0.1:8398.
Two rules close that class of tricks rather than one instance of it:

- The host and port are read with urllib3's own parser, and ``urlsplit`` must
  read the same ones (requests picks the connection from its prepared URL with
  ``urlparse``), so no parser can see another host.
- Anything a parser might read differently is refused outright, whatever the
  parsers say today: characters other than printable ASCII, a backslash
  anywhere, user info (``@`` in the authority), percent-encoding or any
  character but letters, digits, ``-``, ``_`` and dots in a host name, empty
  labels or a trailing dot, numeric hosts other than a canonical dotted quad
  (``127.1``, ``0x7f.0.0.1``, ``2130706433``), non-canonical IPv6 literals and
  zone ids, an empty or zero-padded port. A PBX writes none of these.

A listed host matches on its port too: ``pbx.example`` means the scheme's
default port (80 for http, 443 for https), ``pbx.example:8443`` only that port.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL = 2048

NOT_PLAIN = "адрес записи не http(s) или записан неоднозначно, такой адрес не скачивается"
NOT_LISTED = "адрес записи не входит в список разрешённых (RECORDING_URL_HOSTS)"

_AUTHORITY = re.compile(r"^(?P<host>\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(?P<port>[1-9][0-9]{0,4}))?$", re.I)
_URL = re.compile(r"^(?P<scheme>https?)://(?P<authority>[^/?#]*)(?:[/?#].*)?$", re.I | re.S)
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LOOKING = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")


@dataclass(frozen=True)
class Origin:
    """Where a request goes: scheme, lower-case host (IPv6 in brackets) and port."""

    scheme: str
    host: str
    port: int


def _host(raw: str) -> str | None:
    """The canonical lower-case host, or None when it is not written plainly."""
    host = raw.lower()
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
        return host if address.compressed == host[1:-1] else None
    if len(host) > 253:
        return None
    labels = host.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return None  # empty label, trailing dot, leading/trailing hyphen, odd characters
    if _NUMERIC_LOOKING.match(labels[-1]):  # resolvers read it as an IPv4 address
        try:
            return host if str(ipaddress.IPv4Address(host)) == host else None
        except ValueError:
            return None
    return host


def _authority(raw: str) -> tuple[str, int | None] | None:
    """(host, port or None) of ``host[:port]`` written plainly, else None."""
    match = _AUTHORITY.match(raw)
    if not match:
        return None
    host = _host(match["host"])
    port = int(match["port"]) if match["port"] else None
    if host is None or (port is not None and port > 65535):
        return None
    return host, port


def origin(url: object) -> Origin | None:
    """Where requests will connect for ``url``, or None when that is not certain."""
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL:
        return None
    if not all("!" <= ch <= "~" for ch in url) or "\\" in url:
        return None  # whitespace, controls, non-ASCII (IDNA), backslashes
    match = _URL.match(url)
    if not match:
        return None
    authority = _authority(match["authority"])
    if authority is None:
        return None
    scheme = match["scheme"].lower()
    host, port = authority
    port = port or DEFAULT_PORTS[scheme]
    try:  # the client's parsers must read exactly the same
        client = parse_url(url)
        split = urlsplit(url)
        split_port = split.port
    except (LocationParseError, ValueError):
        return None
    if client.auth is not None or (client.scheme, client.host, client.port or DEFAULT_PORTS[scheme]) != (
            scheme, host, port):
        return None
    split_host = f"[{split.hostname}]" if split.hostname and ":" in split.hostname else split.hostname
    if split.username is not None or (split_host, split_port or DEFAULT_PORTS[scheme]) != (host, port):
        return None
    return Origin(scheme, host, port)


def listed(target: Origin, hosts: list[str]) -> bool:
    """Whether ``target`` is on the list: ``host`` for the scheme's default port, ``host:port`` for that port."""
    for entry in hosts:
        parsed = _authority(entry.strip())
        if parsed is None:
            continue
        host, port = parsed
        if host == target.host and (port or DEFAULT_PORTS[target.scheme]) == target.port:
            return True
    return False


def refusal(url: object, hosts: list[str]) -> str | None:
    """None when the worker may fetch ``url``, else the reason (Russian) it may not."""
    target = origin(url)
    if target is None:
        return NOT_PLAIN
    return None if listed(target, hosts) else NOT_LISTED
