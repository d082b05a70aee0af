"""`make bench` runs end to end on a tiny load (--quick) and writes its JSON.

No timing assertions: only that every measurement ran (or says clearly why
it could not) and the JSON has the documented shape. Runs the benchmark as a
subprocess on the database this suite uses: SQLite + embedded Redis, or
PostgreSQL + a Redis server (a separate database, ``<name>_bench``, so the
suite's own schema is untouched).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.run import MEASUREMENTS

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_writes_results(tmp_path):
    env = dict(os.environ)
    args = [sys.executable, "-m", "bench.run", "--quick", "--json", str(tmp_path / "out.json"),
            "--workdir", str(tmp_path / "work")]
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        env["BENCH_DATABASE_URL"] = os.environ["DATABASE_URL"].rstrip("/") + "_bench"
        env["BENCH_REDIS_URL"] = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/6"
        args += ["--db", "postgres"]
    try:
        proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    finally:
        if "BENCH_DATABASE_URL" in env:
            _drop_database(env["BENCH_DATABASE_URL"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "measurement" in proc.stdout and "baseline (same run)" in proc.stdout

    results = json.loads((tmp_path / "out.json").read_text())
    assert results["mode"] == "quick"
    assert {"nproc", "cpu_model", "python"} <= set(results["machine"])
    [run] = results["runs"].values()
    assert not run.get("error")
    assert set(run["measurements"]) == set(MEASUREMENTS)
    assert run["table"] and {"measurement", "value", "baseline", "target", "mark"} == set(run["table"][0])
    for name, m in run["measurements"].items():
        assert m["status"] in ("ok", "unavailable"), (name, m.get("reason"), m.get("traceback"))
        if m["status"] == "unavailable":
            assert m["reason"], name  # says why, instead of numbers
        else:
            for target in m["targets"].values():
                assert {"target", "pass"} <= set(target), name
    # the bare baseline is part of this app and always measurable
    bare = run["measurements"]["intake"]["bare"]
    assert bare["requests"] > 0 and bare["errors"] == 0


def _drop_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
