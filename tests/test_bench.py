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
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import alertmanager, measure, report
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
    # issue 15: the peer beside ours (or skipped, saying how to install it), the slow-SMTP row
    e2e, slow = run["measurements"]["end_to_end"], run["measurements"]["slow_smtp"]
    if e2e["status"] == "ok":
        assert {"sustained_rate", "p99_vs_peer"} <= set(e2e["targets"])
        for peer in (e2e["peer"], slow["peer"]):
            if alertmanager.binary():
                assert peer["status"] == "ok", peer.get("reason")
                assert all(s["lost"] == 0 and s["duplicated"] == 0 for s in peer["steps"]), peer["steps"]
            else:
                assert "apt-get install -y prometheus-alertmanager" in peer["reason"]
                assert "SKIPPED" in proc.stdout
        assert slow["status"] == "ok" and slow["reply_delay_ms"] == 20 and slow["ours"]["lost"] == 0
        assert "Alertmanager" in proc.stdout and "SMTP replies +20 ms" in proc.stdout


def _drop_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')


# --- issue 15: the rate ladder, the peer, the slow sink -------------------------------------------

@pytest.mark.parametrize("done, expected", [
    ({}, 20),                                                      # up the ladder
    ({20: True, 50: True}, 100),
    ({20: True, 50: False}, 100),                                  # up to the target rate whatever happens
    ({20: True, 50: False, 100: False}, 35),                       # then between 20 and 50
    ({20: True, 50: True, 100: True, 150: False}, 125),            # above the target: stop, refine
    ({20: True, 50: True, 100: True, 150: True, 200: True}, None),  # all sustained
    ({20: True, 50: True, 100: False}, 75),
    ({20: True, 50: True, 100: False, 75: True}, 90),
    ({20: True, 50: True, 100: False, 75: True, 90: False}, None),  # two refinements at most
    ({20: True, 50: True, 100: False, 75: False}, 60),
    ({20: False, 50: False, 100: False}, 10),                      # none: the fallback rates
    ({20: False, 50: False, 100: False, 10: False}, 5),
    ({20: False, 50: False, 100: False, 10: True}, None),          # 10..20: too close to refine
    ({20: False, 50: False, 100: False, 10: False, 5: False}, None),
])
def test_rate_schedule(done, expected):
    assert measure._next_rate(done, measure.Options()) == expected


def test_peer_missing_is_skipped_with_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert alertmanager.binary() is None
    peer = measure._peer_steps(None, measure.Options(), 25, [100], 0, "alertmanager")
    assert peer["status"] == "unavailable" and "apt-get install -y prometheus-alertmanager" in peer["reason"]
    target = measure._vs_peer({"all": {"p99_ms": 5.0}, "sustained": True}, peer, 100)
    assert target["skipped"] and not target["pass"]
    assert report._mark(target) == "n/a"


def test_slow_sink_answers_every_reply_20_ms_late(tmp_path):
    log = tmp_path / "sinks.log"
    proc = subprocess.Popen([sys.executable, "-m", "bench.sinks", "smtp-slow", str(log)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["reply_delay_ms"] == 20
        t0 = time.perf_counter()
        host = smtplib.SMTP("127.0.0.1", info["port"], timeout=10)  # greeting
        host.sendmail("a@bench.local", ["emp1@bench.local"], b"Subject: 1\r\n\r\nx")  # EHLO MAIL RCPT 354 250
        t1 = time.perf_counter()
        host.sendmail("a@bench.local", ["emp2@bench.local"], b"Subject: 2\r\n\r\nx")  # MAIL RCPT 354 250
        t2 = time.perf_counter()
        host.quit()
    finally:
        proc.terminate()
        proc.wait(10)
    assert t1 - t0 >= 6 * 0.020
    assert t2 - t1 >= 4 * 0.020
    assert [line.split("\t")[:2] for line in log.read_text().splitlines()] == [
        ["email", "emp1@bench.local"], ["email", "emp2@bench.local"]]


def test_a_duplicate_does_not_stand_in_for_a_notification_on_its_way(tmp_path):
    from types import SimpleNamespace

    from bench.servers import SinkLog

    stack = SimpleNamespace(sink_log=SinkLog(tmp_path / "sinks.log"))
    mark = stack.sink_log.mark()
    with open(tmp_path / "sinks.log", "a") as fh:
        fh.write("email\temp1@bench.local\t1.0\nemail\temp1@bench.local\t1.1\nemail\temp9@bench.local\t1.2\n")
    assert not measure._wait_delivered(stack, mark, {1, 2}, ("email",), 0.1)  # 3 records, 1 of the 2 wanted
    with open(tmp_path / "sinks.log", "a") as fh:
        fh.write("email\temp2@bench.local\t1.3\n")
    assert measure._wait_delivered(stack, mark, {1, 2}, ("email",), 0.1)
