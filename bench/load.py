"""Load generators: ``wrk`` (Debian package) for closed-loop throughput, a
Python fallback when wrk is missing, and an open-loop sender at a fixed rate.

wrk's LuaJIT cannot compute HMAC-SHA256, so the signed requests are written
to a file first (one unique webhook-id each) and bench/wrk_signed.lua cycles
through them.
"""
from __future__ import annotations

import http.client
import json
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from . import dataset
from .stats import percentile

LUA = Path(__file__).resolve().parent / "wrk_signed.lua"


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


@dataclass
class ClosedLoopResult:
    tool: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def write_signed_requests(path: Path, secret: str, prefix: str, count: int, to: str) -> None:
    """``count`` missed calls to ``to`` with ids prefix-0..N, signed now (5-minute window)."""
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(count):
            raw, headers = dataset.signed_request(secret, dataset.missed_call(f"{prefix}-{i}", to))
            fh.write(f"{headers['webhook-id']}\t{headers['webhook-timestamp']}\t"
                     f"{headers['webhook-signature']}\t{raw.decode()}\n")


def run_wrk(url: str, request_file: Path, seconds: float, connections: int, threads: int = 1) -> ClosedLoopResult:
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
           "--timeout", "10s", "-s", str(LUA), url, "--", str(request_file), str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout}\n{out.stderr}")
    d = json.loads(line.split(" ", 1)[1])
    errors = d["connect_errors"] + d["read_errors"] + d["write_errors"] + d["status_errors"] + d["timeouts"]
    return ClosedLoopResult("wrk", d["requests"], d["duration_us"] / 1e6, errors,
                            d["p50_us"] / 1000, d["p99_us"] / 1000)


def _post(conn_box: list, parts, path: str, body: bytes, headers: dict) -> int:
    """POST over a kept connection, reconnecting when the server closed it (gunicorn sync does)."""
    for attempt in (0, 1):
        if conn_box[0] is None:
            conn_box[0] = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn = conn_box[0]
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn_box[0] = None
            return resp.status
        except (http.client.HTTPException, OSError):
            conn.close()
            conn_box[0] = None
            if attempt:
                raise
    return 0


def run_python_closed_loop(url: str, request_file: Path, seconds: float, connections: int) -> ClosedLoopResult:
    """The fallback when wrk is missing: ``connections`` threads, each sending back to back."""
    parts = urlsplit(url)
    lines = request_file.read_text(encoding="utf-8").splitlines()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def sender(k: int):
        box = [None]
        mine, i = [], k
        while time.monotonic() < stop_at:
            wid, ts, sig, body = lines[i % len(lines)].split("\t", 3)
            i += connections
            headers = {"Content-Type": "application/json", "webhook-id": wid,
                       "webhook-timestamp": ts, "webhook-signature": sig}
            t0 = time.perf_counter()
            try:
                status = _post(box, parts, parts.path, body.encode(), headers)
            except OSError:
                status = 0
            mine.append(time.perf_counter() - t0)
            if not 200 <= status < 300:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    start = time.monotonic()
    threads = [threading.Thread(target=sender, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    latencies.sort()
    return ClosedLoopResult("python", len(latencies), elapsed, errors[0],
                            percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000)


@dataclass
class OpenLoopResult:
    rate: float
    sent: dict = field(default_factory=dict)  # key -> unix time just before the POST
    statuses: dict = field(default_factory=dict)
    late: int = 0  # sends that started over 50 ms behind schedule (the generator itself lagged)
    seconds: float = 0.0


def run_open_loop(url: str, path: str, items: list[tuple[str, bytes, dict]], rate: float,
                  senders: int = 32) -> OpenLoopResult:
    """POST ``items`` (key, body, headers) at a fixed rate, whatever the answers' speed.

    Open loop: request i is due at start + i/rate; a pool of senders keeps the
    schedule even when some answers are slow. Headers are signed just before
    sending, so long runs stay inside the signature's 5-minute window.
    """
    parts = urlsplit(url)
    result = OpenLoopResult(rate)
    due: queue.Queue = queue.Queue()
    lock = threading.Lock()
    start = time.monotonic() + 0.05
    for i, item in enumerate(items):
        due.put((start + i / rate, item))

    def sender():
        box = [None]
        while True:
            try:
                at, (key, body, sign) = due.get_nowait()
            except queue.Empty:
                return
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            headers = sign()
            sent = time.time()
            try:
                status = _post(box, parts, path, body, headers)
            except OSError:
                status = 0
            with lock:
                result.sent[key] = sent
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if delay < -0.05:
                    result.late += 1

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - start
    return result
