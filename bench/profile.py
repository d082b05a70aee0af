"""``--profile``: py-spy samples the benchmark and every process it started
(gunicorn and its workers, ``python worker.py`` and its scheduler process, the
sinks) while one measurement runs, and sums up where the time went per kind
of process. Raw stacks are kept in the work directory for flame graphs.
"""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

# Frames where a process waits rather than works.
IDLE = re.compile(r"(select|poll|epoll|wait|sleep|_read_from_socket|readinto|recv|accept|"
                   r"acquire|serve_forever|_worker|get_message|can_read|blpop)\b", re.I)


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


class Profile:
    def __init__(self, pid: int, out: Path, rate: int = 100):
        self.out = out
        self.proc = subprocess.Popen(
            [py_spy(), "record", "-p", str(pid), "--subprocesses", "--nonblocking", "-r", str(rate),
             "-f", "raw", "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return summarize(self.out) if self.out.exists() else {"error": "py-spy wrote nothing"}


def _kind(root: str) -> str:
    if "gunicorn" in root:
        return "gunicorn"
    if "worker.py" in root:
        return "worker"
    if "bench.sinks" in root:
        return "sinks"
    return "bench harness"


def summarize(path: Path, top: int = 8) -> dict:
    """Per process kind: samples, busy share, the busiest frames (own time) and the
    app's own functions with the most time under them (inclusive)."""
    own: dict[str, Counter] = {}
    incl: dict[str, Counter] = {}
    total: Counter = Counter()
    busy: Counter = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        procs = [f for f in frames if f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("process ")] or ["?"]
        kind = _kind(procs[-1] if procs else "")
        total[kind] += n
        leaf = frames[-1]
        if IDLE.search(leaf.split(" (")[0]):
            continue
        busy[kind] += n
        own.setdefault(kind, Counter())[_short(leaf)] += n
        seen = set()
        for f in frames:
            if ("notifier/" in f or "bench/" in f) and f not in seen:
                seen.add(f)
                incl.setdefault(kind, Counter())[_short(f)] += n
    out = {}
    for kind, n in total.most_common():
        b = busy[kind] or 1
        out[kind] = {
            "samples": n, "busy_samples": busy[kind],
            "top_own": [(f, round(100 * c / b, 1)) for f, c in own.get(kind, Counter()).most_common(top)],
            "top_app_inclusive": [(f, round(100 * c / b, 1)) for f, c in incl.get(kind, Counter()).most_common(top)],
        }
    return out


def _short(frame: str) -> str:
    return re.sub(r"\(/[^)]*?/(site-packages|lib/python3\.\d+|wt/[^/]+)/", "(", frame)


def text(summary: dict, kinds=("gunicorn", "worker", "bench harness")) -> list[str]:
    lines = []
    for kind in kinds:
        s = summary.get(kind)
        if not s or not s["busy_samples"]:
            continue
        lines.append(f"    {kind}: {s['busy_samples']} busy samples; busiest frames (own time, % of busy):")
        lines += [f"      {share:5.1f}%  {f}" for f, share in s["top_own"][:6]]
        if s["top_app_inclusive"]:
            lines.append("      app functions (inclusive):")
            lines += [f"      {share:5.1f}%  {f}" for f, share in s["top_app_inclusive"][:6]]
    return lines
