"""Downloading a voicemail recording to attach it to a notification.

The URL comes from the PBX payload, so it is untrusted: the worker fetches
only http(s) from hosts (and ports) listed in ``RECORDING_URL_HOSTS``, judged
by ``core.recording_url`` as the HTTP client will connect, on the first
request and on every redirect (followed here, at most three), at most 20 MB,
streamed, with socket timeouts and an overall deadline. Any failure raises
RecordingUnavailable with a Russian reason: the notification then goes out
without the file and says why (a missing recording never costs the
notification itself).
"""
from __future__ import annotations

import mimetypes
import posixpath
import re
import time
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import requests
from flask import current_app

from notifier.core import recording_url

MAX_BYTES = 20 * 1024 * 1024
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
DEADLINE = 20.0        # seconds for the whole download (the send must fit in the job lease)
MAX_REDIRECTS = 3
CHUNK = 64 * 1024

OGG_TYPES = ("audio/ogg", "audio/opus", "application/ogg")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class RecordingUnavailable(Exception):
    """The recording could not be fetched; ``str()`` is the reason in Russian."""


@dataclass(frozen=True)
class Recording:
    filename: str
    content_type: str
    data: bytes

    @property
    def is_ogg_opus(self) -> bool:
        """Telegram shows OGG/Opus as a voice note; other formats go as audio/document."""
        return self.content_type in OGG_TYPES or self.filename.lower().endswith((".ogg", ".oga", ".opus"))


def allowed_hosts() -> list[str]:
    return list(current_app.config.get("RECORDING_URL_HOSTS") or [])


def fetch(url: str, hosts: list[str] | None = None, max_bytes: int = MAX_BYTES,
          deadline: float = DEADLINE) -> Recording:
    """Download ``url``; raises RecordingUnavailable with the reason."""
    hosts = allowed_hosts() if hosts is None else hosts
    started = time.monotonic()
    with requests.Session() as session:
        for _ in range(MAX_REDIRECTS + 1):
            request = _checked_request(session, url, hosts)
            try:
                resp = session.send(request, allow_redirects=False, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                                    **_environment(session, request.url))
            except requests.RequestException as exc:
                raise RecordingUnavailable(f"сервер записи недоступен ({type(exc).__name__})") from None
            with resp:
                if resp.is_redirect and resp.headers.get("Location"):
                    url = _redirect_target(url, resp.headers["Location"])
                    continue
                if resp.status_code != 200:
                    raise RecordingUnavailable(f"сервер записи ответил {resp.status_code}")
                data = _read(resp, max_bytes, started + deadline)
                ctype = _content_type(resp)
                filename = _filename(url, ctype)
                ctype = ctype or mimetypes.guess_type(filename)[0] or "application/octet-stream"
                return Recording(filename, ctype, data)
    raise RecordingUnavailable("слишком много перенаправлений")


def _checked_request(session: requests.Session, url: str, hosts: list[str]) -> requests.PreparedRequest:
    """The request exactly as it will be sent, once both ``url`` and the
    prepared URL (which the client connects by) are judged allowed and agree."""
    reason = recording_url.refusal(url, hosts)
    if reason:
        raise RecordingUnavailable(reason)
    try:
        request = session.prepare_request(requests.Request("GET", url))
    except (requests.RequestException, ValueError):
        raise RecordingUnavailable(recording_url.NOT_PLAIN) from None
    if recording_url.origin(request.url) != recording_url.origin(url):
        raise RecordingUnavailable(recording_url.NOT_PLAIN)
    return request


def _redirect_target(url: str, location: str) -> str:
    """The absolute URL a ``Location`` points to; judged like the first one by the next round."""
    try:
        return urljoin(url, location)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise RecordingUnavailable(recording_url.NOT_PLAIN) from None


def _environment(session: requests.Session, url: str) -> dict:
    """Streaming, and the proxy and CA settings from the environment as ``session.get`` would use them."""
    return session.merge_environment_settings(url, {}, True, None, None)


def _read(resp: requests.Response, max_bytes: int, deadline: float) -> bytes:
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise RecordingUnavailable(_too_big(max_bytes))
    chunks, total = [], 0
    try:
        for chunk in resp.iter_content(CHUNK):
            total += len(chunk)
            if total > max_bytes:
                raise RecordingUnavailable(_too_big(max_bytes))
            if time.monotonic() > deadline:
                raise RecordingUnavailable("запись скачивалась слишком долго")
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise RecordingUnavailable(f"обрыв при скачивании записи ({type(exc).__name__})") from None
    if not total:
        raise RecordingUnavailable("файл записи пуст")
    return b"".join(chunks)


def _too_big(max_bytes: int) -> str:
    return f"запись больше {max_bytes // (1024 * 1024)} МБ"


def _content_type(resp: requests.Response) -> str | None:
    ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    return ctype if ctype.startswith(("audio/", "application/ogg")) else None


def _filename(url: str, content_type: str | None) -> str:
    """A safe file name from the URL path, with an extension when one is known."""
    base = posixpath.basename(unquote(urlsplit(url).path))
    name = _SAFE_NAME.sub("_", base).strip("._")[:80] or "voicemail"
    if "." not in name and content_type:
        ext = {"audio/ogg": ".ogg", "audio/opus": ".opus", "audio/mpeg": ".mp3",
               "audio/wav": ".wav", "audio/x-wav": ".wav"}.get(content_type) or mimetypes.guess_extension(content_type)
        name += ext or ""
    return name
