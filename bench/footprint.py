"""Footprint (issue 17): the memory ``make run`` holds, idle and under load.

The launcher (``python -m notifier.runtime.launcher``, as ``make run`` starts it)
runs on the bench's database, Redis and sinks; memory is PSS (proportional set
size: a page shared by n processes counts 1/n in each) from
``/proc/<pid>/smaps_rollup``, summed over the launcher and all its descendants,
plus the embedded redis-server on the embedded default. Measured:

* idle: once the web answers and the workers listen, after a settle time;
* under the bench's open-loop load (50 events/s, 10 minutes, or
  BENCH_FOOTPRINT_MINUTES; --quick: 20/s for 6 s), sampled once a minute (quick:
  once a second), per process and in total; the leak check compares the total
  at the last minute with minute 2 (within 10%).

Also an estimate of the Docker image (no Docker engine is needed): the base
image's published size plus what the Dockerfile adds, measured with ``du``.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

from . import dataset, load
from .servers import ROOT, WEBHOOK_SECRET, Stack, free_port

IDLE_TARGET_MB = 150
LOAD_TARGET_MB = 250
LEAK_TOLERANCE = 0.10
# python:3.11-slim (Debian bookworm, linux/amd64) as `docker images` shows it,
# uncompressed; its registry (compressed) size is about 41 MB. Not measured here
# (no Docker engine on the bench machine): the published figure, an assumption.
BASE_IMAGE = "python:3.11-slim"
BASE_IMAGE_MB = 131
IMAGE_TARGET_MB = 250
CALLERS_FROM = 5_000_000  # callers' numbers, apart from the employees' (bench.dataset.number)


def pss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _role(proc: psutil.Process, launcher_pid: int) -> str:
    """What a process is: by its name (the launcher's forked children), else its command
    line (launchers that started ``gunicorn`` and ``worker.py`` as programs)."""
    try:
        name, ppid, cmd = proc.name(), proc.ppid(), " ".join(proc.cmdline())
    except psutil.Error:
        return "gone"
    if proc.pid == launcher_pid:
        return "launcher"
    if name == "notifier-web" or "gunicorn" in cmd:
        return "gunicorn master" if ppid == launcher_pid else "gunicorn worker"
    if name == "notifier-worker" or "worker.py" in cmd:
        return "worker" if ppid == launcher_pid else "worker's child (RQ scheduler)"
    if "redis" in name:
        return "redis-server"
    return name


def sample(launcher_pid: int, extra_pids: tuple[int, ...] = ()) -> dict:
    """PSS of the launcher, its descendants and ``extra_pids``: per process and in total (MB)."""
    try:
        root = psutil.Process(launcher_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        procs = []
    procs += [psutil.Process(pid) for pid in extra_pids if psutil.pid_exists(pid)]
    rows = []
    for proc in procs:
        rows.append({"pid": proc.pid, "role": _role(proc, launcher_pid), "pss_mb": round(pss_mb(proc.pid), 1)})
    total = round(sum(r["pss_mb"] for r in rows), 1)
    by_role: dict[str, float] = {}
    for r in rows:
        by_role[r["role"]] = round(by_role.get(r["role"], 0) + r["pss_mb"], 1)
    return {"total_mb": total, "processes": rows, "by_role": by_role}


class LaunchedApp:
    """``python -m notifier.runtime.launcher`` on the stack's database, Redis and sinks."""

    def __init__(self, stack: Stack, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(stack.logs / f"{stack.phase}-launcher.log", "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "notifier.runtime.launcher"], cwd=ROOT,
            env=stack.env(HOST="127.0.0.1", PORT=str(self.port), **env),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.extra = (stack.embedded.process.pid,) if stack.embedded and stack.embedded.process else ()

    def wait_ready(self, stack: Stack, timeout: float = 90) -> None:
        """Until /health says all is up (web, database, Redis, a worker)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the launcher exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the launcher's app was not healthy in {timeout} s; see {self.log.name}")

    def sample(self) -> dict:
        return sample(self.proc.pid, self.extra)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def footprint(stack: Stack, opts) -> dict:
    """Idle and under load, with the launcher's defaults (WORKERS, WEB_CONCURRENCY as set, else its own)."""
    stack.reset_data()
    stack.stop_workers()  # the bench's own workers would take the launcher's jobs
    quick = opts.quick
    settle, rate = (3.0, 20) if quick else (10.0, 50)
    minutes, interval = (6, 1.0) if quick else (int(os.environ.get("BENCH_FOOTPRINT_MINUTES") or 10), 60.0)
    employees = 50 if quick else 1000
    first = 700_000
    from .measure import _seed_employees  # one seeding path with end_to_end

    _seed_employees(stack, first, employees)
    app = LaunchedApp(stack)
    try:
        app.wait_ready(stack)
        time.sleep(settle)
        idle = app.sample()
        idle["workers"] = os.environ.get("WORKERS") or "default"
        idle["web_concurrency"] = os.environ.get("WEB_CONCURRENCY") or "default"

        count = int(rate * minutes * interval)
        nonce = secrets.token_hex(3)
        items = _cycled_items(first, employees, count, f"fp-{nonce}")
        mark = stack.sink_log.mark()
        sent_box: dict = {}
        sender = threading.Thread(target=lambda: sent_box.update(
            result=load.run_open_loop(app.url, "/api/v1/events", items, rate)), daemon=True)
        started = time.monotonic()
        sender.start()
        samples = []
        for m in range(1, minutes + 1):
            wait = started + m * interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            s = app.sample()
            samples.append({"minute": m, "total_mb": s["total_mb"], "by_role": s["by_role"]})
        sender.join(max(5.0, interval))
        stack.sink_log.wait_count(mark, 2 * count, 60)
        delivered = len(stack.sink_log.since(mark))
        after = app.sample()
    finally:
        app.stop()
    result = sent_box.get("result")
    accepted = result.statuses.get(202, 0) if result else 0
    peak = max([s["total_mb"] for s in samples] + [after["total_mb"]])
    at2 = samples[1]["total_mb"] if len(samples) > 1 else samples[0]["total_mb"]
    at_end = samples[-1]["total_mb"]
    growth = (at_end - at2) / at2 if at2 else 0.0
    out = {
        "status": "ok", "idle": idle,
        "load": {"rate": rate, "seconds": minutes * interval, "events": count, "accepted": accepted,
                 "notifications_expected": 2 * count, "notifications_received": delivered,
                 "samples": samples, "after": after, "peak_mb": peak,
                 "sample_interval_s": interval, "leak_from_minute": 2, "leak_to_minute": minutes,
                 "growth": round(growth, 3)},
        "image": image_estimate(), "bare_python_mb": bare_python_mb(),
    }
    out["targets"] = {
        "idle_total_mb": {"target": f"<= {IDLE_TARGET_MB}", "value": idle["total_mb"],
                          "pass": idle["total_mb"] <= IDLE_TARGET_MB},
        "load_peak_mb": {"target": f"<= {LOAD_TARGET_MB}", "value": peak, "pass": peak <= LOAD_TARGET_MB},
        "no_growth": {"target": f"minute {minutes} within {LEAK_TOLERANCE:.0%} of minute 2",
                      "value": round(growth, 3), "pass": growth <= LEAK_TOLERANCE,
                      **({"note": "quick mode: seconds, not minutes"} if quick else {})},
        "image_mb": {"target": f"< {IMAGE_TARGET_MB} (estimate)", "value": out["image"]["total_mb"],
                     "pass": out["image"]["total_mb"] < IMAGE_TARGET_MB},
    }
    return out


def bare_python_mb() -> float:
    """The floor of one Python process: this interpreter, nothing imported, idle."""
    proc = subprocess.Popen([sys.executable, "-S", "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        time.sleep(0.5)
        return round(pss_mb(proc.pid), 1)
    finally:
        proc.stdin.close()
        proc.wait(10)


def _cycled_items(first: int, employees: int, count: int, prefix: str) -> list:
    """(key, body, sign) for ``count`` missed calls, each to one of ``employees`` in turn, each
    from a caller of its own (repeated calls from one caller update the Telegram message
    already sent instead of sending another, so every event here notifies anew)."""
    items = []
    for k in range(count):
        call = dataset.missed_call(f"{prefix}-{k}", dataset.number(first + k % employees),
                                   caller=dataset.number(CALLERS_FROM + k))
        body = json.dumps(call, separators=(",", ":")).encode()
        msg_id = f"msg_{prefix}-{k}"
        items.append((k, body, lambda b=body, m=msg_id: dataset.sign(WEBHOOK_SECRET, m, b)))
    return items


# --- the Docker image ----------------------------------------------------------------


def image_estimate() -> dict:
    """The image's size as the Dockerfile builds it: the base image's published size, the
    installed runtime packages (requirements.txt, measured in this venv), tini and the app's
    files that ``COPY . .`` takes (minus .dockerignore). An estimate, not a build."""
    packages_mb = _installed_size_mb(_locked_names(ROOT / "requirements.txt"))
    app_mb = _copied_files_mb()
    tini_mb = 0.8  # Debian's tini package, installed size
    total = BASE_IMAGE_MB + packages_mb + app_mb + tini_mb
    return {"estimate": True, "base": BASE_IMAGE, "base_mb": BASE_IMAGE_MB, "packages_mb": round(packages_mb, 1),
            "app_files_mb": round(app_mb, 1), "tini_mb": tini_mb, "total_mb": round(total, 1),
            "how": "base image's published uncompressed size (assumed, not pulled) + the files of the "
                   "packages requirements.txt installs (their RECORD in this venv: *.pyc included, pip "
                   "compiles them at install) + the files COPY . . takes (git ls-files) + tini"}


def _locked_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "--")) and "==" in line:
            names.add(_norm(line.split("==")[0].split("[")[0]))
    return names


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _installed_size_mb(names: set[str]) -> float:
    from importlib.metadata import distributions

    total = 0
    seen = set()
    for dist in distributions():
        name = _norm(dist.metadata["Name"] or "")
        if name not in names or name in seen:
            continue
        seen.add(name)
        base = Path(dist.locate_file(""))
        for f in dist.files or ():
            p = base / f
            try:
                total += p.stat().st_size
            except OSError:
                pass
    return total / 1024 / 1024


def _copied_files_mb() -> float:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0.0
    total = 0
    for name in out.decode().split("\0"):
        if name and not name.startswith((".venv/", "instance/", "test-output/", ".git/")):
            try:
                total += (ROOT / name).stat().st_size
            except OSError:
                pass
    return total / 1024 / 1024
