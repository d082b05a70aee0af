"""``make bench`` / ``python -m bench.run``: run the benchmark, print the table,
write the JSON.

    python -m bench.run                  # embedded default: SQLite + embedded Redis
    python -m bench.run --db postgres    # PostgreSQL (BENCH_DATABASE_URL) + Redis server (BENCH_REDIS_URL)
    python -m bench.run --db both --json bench-results.json
    python -m bench.run --quick          # a tiny load: checks that everything runs (the test suite's mode)
    python -m bench.run --only intake,rules_page
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from . import alertmanager, footprint, measure, report
from .profile import Profile, py_spy
from .servers import Stack

# Measurements that live in modules of their own (the others are bench/measure.py's functions).
_MEASURE = {"footprint": footprint.footprint}

MEASUREMENTS = ("intake", "end_to_end", "slow_smtp", "worker_throughput", "recovery", "decision_cost", "rules_page",
                "footprint")


def machine() -> dict:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk = shutil.which("wrk")
    wrk_version = None
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        wrk_version = (out.stdout or out.stderr).split("[")[0].strip() or "wrk"
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "load_average": list(os.getloadavg()), "wrk": wrk_version,
            "alertmanager": alertmanager.version()}


def run_one(kind: str, opts: measure.Options, only: list[str], workdir: Path, web_workers: int | None,
            log=print, profile: bool = False) -> dict:
    started = time.monotonic()
    stack = Stack(kind, workdir / kind, web_workers)
    res: dict = {"measurements": {}}
    try:
        stack.start()
        res.update(database=_shown(stack.database_url), redis=_shown(stack.redis_url), web_workers=stack.web_workers)
        stack.start_web()
        for name in MEASUREMENTS:
            if name not in only:
                continue
            log(f"[{kind}] {name} ...")
            stack.phase = name
            t0 = time.monotonic()
            spy = Profile(os.getpid(), stack.workdir / f"profile-{name}.txt") if profile else None
            try:
                result = (_MEASURE.get(name) or getattr(measure, name))(stack, opts)
            except Exception as exc:  # a measurement that breaks is reported, the others still run
                result = {"status": "error", "reason": f"{type(exc).__name__}: {exc}",
                          "traceback": traceback.format_exc()}
            if spy:
                result["profile"] = spy.stop()
                result["profile_raw"] = str(spy.out)
            result["seconds"] = round(time.monotonic() - t0, 1)
            res["measurements"][name] = result
            log(f"[{kind}] {name}: {result['status']} ({result['seconds']} s)")
    except Exception as exc:
        res["error"] = f"{type(exc).__name__}: {exc}"
        res.setdefault("database", kind)
        res.setdefault("redis", "?")
        res.setdefault("web_workers", stack.web_workers)
        traceback.print_exc()
    finally:
        stack.close()
    res["table"] = [dict(zip(("measurement", "value", "baseline", "target", "mark"), row))
                    for row in report.rows(res["measurements"])]
    res["logs"] = str(stack.logs)
    res["seconds"] = round(time.monotonic() - started, 1)
    return res


def _shown(url: str) -> str:
    """A URL without credentials; the embedded parts named as such."""
    if url.startswith("sqlite"):
        return "SQLite (embedded default)"
    if url.startswith("unix://"):
        return "embedded Redis"
    return url.split("@")[-1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    p.add_argument("--quick", action="store_true", help="a tiny load (seconds): checks that it runs")
    p.add_argument("--json", default="bench-results.json", help="where to write the results")
    p.add_argument("--only", default=",".join(MEASUREMENTS), help="comma-separated: " + ", ".join(MEASUREMENTS))
    p.add_argument("--web-workers", type=int, default=None,
                   help="gunicorn workers (default: WEB_CONCURRENCY or 1, as the launcher)")
    p.add_argument("--box-workers", type=int, default=0, help="worker processes for the box throughput figure")
    p.add_argument("--profile", action="store_true",
                   help="sample every process with py-spy during each measurement (pip install py-spy)")
    p.add_argument("--no-wrk", action="store_true", help="use the Python load generator even where wrk exists")
    p.add_argument("--workdir", default=None, help="keep logs and data here (default: a temporary folder)")
    args = p.parse_args(argv)

    only = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = set(only) - set(MEASUREMENTS)
    if unknown:
        p.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    opts = measure.Options.quick_mode() if args.quick else measure.Options()
    if args.box_workers:
        opts.box_workers = args.box_workers
    opts.no_wrk = args.no_wrk
    if not shutil.which("wrk"):
        print("* wrk is not installed: intake is measured with the Python load generator, which saturates "
              "earlier (Debian: apt-get install -y wrk)", flush=True)
    if not alertmanager.binary() and {"end_to_end", "slow_smtp"} & set(only):
        print(f"* {alertmanager.missing_reason()}", flush=True)
    if args.profile and not py_spy():
        p.error("--profile needs py-spy (pip install -r requirements-dev.txt)")
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="notifier-bench-"))
    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    results = {"started_at": started.isoformat(timespec="seconds"), "mode": "quick" if args.quick else "full",
               "machine": machine(), "runs": {}}
    for kind in kinds:
        results["runs"][kind] = run_one(kind, opts, only, workdir, args.web_workers,
                                        log=lambda s: print(s, flush=True), profile=args.profile)
    results["seconds"] = round(time.monotonic() - t0, 1)
    results["machine"]["load_average_after"] = list(os.getloadavg())
    Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    m = results["machine"]
    print(f"\nmachine: {m['nproc']} cores, {m['cpu_model']}, Python {m['python']}, "
          f"load average {m['load_average'][0]:.2f} at start; {results['mode']} run, {results['seconds']:.0f} s")
    print(report.table(results))
    print(f"\nJSON: {args.json}   logs: {workdir}")
    return 1 if any(r.get("error") for r in results["runs"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
