"""The Asterisk Manager Interface wire protocol, as a small blocking client.

AMI (docs.asterisk.org, "AMI v2 Specification"; AMI_Actions/Login) is text
over TCP: the server greets with one line ``Asterisk Call Manager/x.y.z``;
then every message, either way, is ``Key: Value`` lines ending with CRLF and
closed by an empty line. The client logs in with ``Action: Login`` (Username,
Secret, ``Events: on`` for every event) and gets ``Response: Success`` or
``Response: Error`` with ``Message: Authentication failed``; events follow as
``Event: <Name>`` messages.

Hand-written rather than a library (see the project README, «Asterisk»):
panoramisk and the other maintained clients are asyncio-only, which fits
badly in the worker's thread next to RQ's loop and the blocking database
intake; the sync ``asterisk-ami`` disconnects an idle connection on its own
read timeout and sends Login without ``Events``; astami has no event stream.
What is needed here is about a hundred lines: read with a timeout (so the
caller renews its lock and notices a stop between events), log in, close.
"""
from __future__ import annotations

import itertools
import re
import socket
import time
from collections.abc import Mapping

BANNER = re.compile(r"^Asterisk Call Manager/\S+")
_MESSAGE_END = re.compile(rb"\r?\n\r?\n")
MAX_MESSAGE = 256 * 1024  # bytes buffered for one message before the peer is taken as broken
CONNECT_TIMEOUT = 10.0


class AmiError(Exception):
    """A failure to talk AMI; ``str()`` is a short Russian reason (never a secret)."""


class ConnectionLost(AmiError):
    pass


class AuthFailed(AmiError):
    pass


def _clean(value: object) -> str:
    text = str(value)
    if "\r" in text or "\n" in text:
        raise ValueError("AMI values are one line")
    return text


class Connection:
    """One AMI session over a connected socket."""

    def __init__(self, sock: socket.socket, banner: str):
        self.sock = sock
        self.banner = banner
        self._buffer = b""
        self._ids = itertools.count(1)

    @classmethod
    def open(cls, host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> "Connection":
        """Connect and read the banner; AmiError when the peer is not an AMI server."""
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as err:
            raise AmiError(f"не удалось подключиться к {host}:{port}: {err.strerror or err}") from None
        conn = cls(sock, "")
        try:
            line = conn._read_line(timeout)
        except (AmiError, OSError) as err:
            conn.close()
            raise AmiError(f"{host}:{port} не прислал приветствие AMI ({err})") from None
        if not BANNER.match(line):
            conn.close()
            raise AmiError(f"{host}:{port} — не AMI: ответил «{line[:60]}»")
        conn.banner = line.strip()
        return conn

    # -- reading ----------------------------------------------------------------
    def _fill(self, timeout: float | None) -> bool:
        """Read more bytes; False on timeout; ConnectionLost at the end of the stream."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except (TimeoutError, socket.timeout):
            return False
        except OSError as err:
            raise ConnectionLost(f"соединение с AMI прервано: {err}") from None
        if not chunk:
            raise ConnectionLost("АТС закрыла соединение AMI")
        self._buffer += chunk
        if len(self._buffer) > MAX_MESSAGE:
            raise ConnectionLost("слишком длинное сообщение AMI")
        return True

    def _read_line(self, timeout: float) -> str:
        while b"\n" not in self._buffer:
            if not self._fill(timeout):
                raise AmiError("нет ответа")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace").rstrip("\r")

    def read(self, timeout: float | None = None) -> dict[str, str] | None:
        """The next message as {Key: Value} (the first value of a repeated key),
        or None when nothing complete arrived within ``timeout`` seconds."""
        while True:
            m = _MESSAGE_END.search(self._buffer)
            if m:
                raw, self._buffer = self._buffer[:m.start()], self._buffer[m.end():]
                message = parse(raw.decode("utf-8", "replace"))
                if message:
                    return message
                continue  # stray blank lines
            if not self._fill(timeout):
                return None

    # -- writing ----------------------------------------------------------------
    def send(self, action: Mapping[str, object]) -> str:
        """Send an action; returns its ActionID."""
        fields = dict(action)
        action_id = str(fields.setdefault("ActionID", f"notifier-{next(self._ids)}"))
        text = "".join(f"{_clean(k)}: {_clean(v)}\r\n" for k, v in fields.items()) + "\r\n"
        try:
            self.sock.sendall(text.encode("utf-8"))
        except OSError as err:
            raise ConnectionLost(f"соединение с AMI прервано: {err}") from None
        return action_id

    def request(self, action: Mapping[str, object], timeout: float) -> dict[str, str]:
        """Send an action and wait for its Response (events read meanwhile are dropped)."""
        action_id = self.send(action)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AmiError("АТС не ответила на запрос AMI")
            message = self.read(left)
            if message and "Response" in message and message.get("ActionID", action_id) == action_id:
                return message

    def login(self, username: str, secret: str, events: str = "on", timeout: float = CONNECT_TIMEOUT) -> str:
        """``Action: Login``; the server's message on success, AuthFailed otherwise."""
        try:
            reply = self.request({"Action": "Login", "Username": username, "Secret": secret, "Events": events},
                                 timeout)
        except ValueError:
            raise AuthFailed("имя или пароль AMI содержат перевод строки") from None
        if reply.get("Response", "").lower() != "success":
            raise AuthFailed(f"АТС не пустила: {reply.get('Message') or reply.get('Response') or 'ошибка входа'}")
        return reply.get("Message", "")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def parse(text: str) -> dict[str, str]:
    """``Key: Value`` lines as a dict (first value of a repeated key; lines without a colon skipped)."""
    message: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and key.strip() not in message:
            message[key.strip()] = value.strip()
    return message


def check(host: str, port: int, username: str, secret: str, timeout: float = 5.0) -> tuple[bool, str]:
    """Try a login (without events) and log off: (ok, a Russian sentence for the admin)."""
    try:
        conn = Connection.open(host, port, timeout)
    except AmiError as err:
        return False, str(err)
    try:
        conn.login(username, secret, events="off", timeout=timeout)
        try:
            conn.request({"Action": "Logoff"}, timeout)
        except AmiError:
            pass  # logged in is what was asked
        return True, f"Подключено к {host}:{port} ({conn.banner}), вход как {username} выполнен."
    except AuthFailed as err:
        return False, f"Неверное имя или пароль AMI — {err}."
    except AmiError as err:
        return False, f"Подключение к {host}:{port} есть, но вход не удался: {err}."
    finally:
        conn.close()
