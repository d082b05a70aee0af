"""Serving HTTP so that slow or stalled clients cannot starve the app (issue 12).

gunicorn's default sync worker gives each connection the whole process: two
clients that send ``Content-Length: 1000`` and then nothing froze every page
for the worker timeout. gunicorn.conf.py (read by ``gunicorn app:app`` from the
working directory, and passed by the launcher) runs :class:`Worker` instead:

* gunicorn's gthread worker: connections that have sent nothing wait in its
  event loop without a thread, and each process has many threads (``threads``
  in gunicorn.conf.py), so a few stalled clients leave the others free;
* every client socket read and write times out after ``CLIENT_TIMEOUT``
  seconds, so a stalled client gives its thread back (gthread has no such
  timeout of its own once a request has started), and the connection is
  closed in that thread, not in the worker's event loop;
* :class:`BufferedBody` reads the whole request body before the app runs, within
  ``BODY_DEADLINE``: no app code waits on a client, so none holds one of the
  process's database connections (fewer than its threads) meanwhile.

That bounds what a slow client holds, it does not make threads unlimited: on an
address open to the internet, put a buffering reverse proxy (nginx) in front.
"""
from __future__ import annotations

import errno
import io
import logging
import time

from gunicorn.workers.gthread import TConn, ThreadWorker

CLIENT_TIMEOUT = 10   # seconds one socket read or write may wait for the client
BODY_DEADLINE = 30    # seconds the whole request body may take to arrive
_CHUNK = 64 * 1024


class _Conn(TConn):
    closed = False

    def init(self):
        """Runs in the request's thread each time a request on the connection
        starts, after gthread made the socket blocking (without a timeout)."""
        super().init()
        self.sock.settimeout(CLIENT_TIMEOUT)

    def close(self, graceful=False):
        if not self.closed:
            self.closed = True
            super().close(graceful)


class Worker(ThreadWorker):
    """gunicorn's gthread worker whose client sockets time out (see the module doc)."""

    def init_process(self):
        self.log.error_log.addFilter(_client_timeouts_in_one_line)
        super().init_process()  # runs the worker's loop

    def handle(self, conn):
        """Close a finished connection here, in the request's thread.

        gthread closes it in its event loop, gracefully: lingering up to 2 s for
        the client to close first. A stalled client never does, so each one froze
        the loop (no accept, no answer) for 2 s: 20 timing out at once, 20 s."""
        keep = super().handle(conn)
        if keep is False:
            conn.close(graceful=True)
        return keep

    def accept(self, listener):
        # ThreadWorker.accept (gunicorn 27), building a _Conn instead of a TConn.
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock.setblocking(True)
            self.enqueue_req(_Conn(self.cfg, client_sock, client_addr, listener.getsockname()))
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise


def _client_timeouts_in_one_line(record: logging.LogRecord) -> bool:
    """gthread logs a socket error with its traceback; a client that timed out is
    no fault of ours, so it becomes one INFO line (many slow clients, few log lines)."""
    if record.exc_info and isinstance(record.exc_info[1], TimeoutError):
        record.msg, record.args = "Client timed out (stalled for %s s); connection closed", (CLIENT_TIMEOUT,)
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info = record.exc_text = None
    return True


class BufferedBody:
    """WSGI middleware: the request body is read into memory before the app runs.

    A body larger than the app's MAX_CONTENT_LENGTH is left unread for Flask to
    refuse (413). A client that stops sending (a socket read timing out, see
    CLIENT_TIMEOUT) or takes longer than BODY_DEADLINE gets 408; gunicorn then
    closes the connection, as the rest of the body never came.
    """

    def __init__(self, wsgi_app, max_length):
        self.wsgi_app = wsgi_app
        self.max_length = max_length  # () -> int | None

    def __call__(self, environ, start_response):
        stream = environ.get("wsgi.input")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Flask treats it as no body
        limit = self.max_length()
        if stream is None or (length <= 0 and not chunked) or (limit is not None and length > limit):
            return self.wsgi_app(environ, start_response)
        want = length if not chunked else (limit + 1 if limit is not None else None)
        try:
            body = _read(stream, want, time.monotonic() + BODY_DEADLINE)
        except TimeoutError:
            body = None
        except (OSError, ValueError):  # the client went away, or a malformed chunked body
            return _answer(start_response, "400 Bad Request", "Тело запроса не удалось прочитать.")
        if body is None:
            return _answer(start_response, "408 Request Timeout", "Запрос не пришёл целиком вовремя.")
        environ["wsgi.input"] = io.BytesIO(body)
        if not chunked:
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.wsgi_app(environ, start_response)


def _read(stream, want: int | None, deadline: float) -> bytes | None:
    """Up to ``want`` bytes (all of them if None) until EOF; None past the deadline."""
    parts, got = [], 0
    while want is None or got < want:
        if time.monotonic() > deadline:
            return None
        chunk = stream.read(_CHUNK if want is None else min(_CHUNK, want - got))
        if not chunk:
            break  # EOF: the client sent less than it announced; Flask sees what came
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _answer(start_response, status: str, text: str):
    body = (text + "\n").encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
