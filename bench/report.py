"""The printed table: each figure, its same-run baseline, the target and a mark."""
from __future__ import annotations

from . import profile


def _mark(target: dict | None) -> str:
    if not target:
        return ""
    if target.get("skipped"):
        return "n/a"
    return "PASS" if target.get("pass") else "MISS"


def _ms(s: dict | None) -> str:
    if not s or s.get("p50_ms") is None:
        return "-"
    parts = [f"p50 {s['p50_ms']:.1f}"]
    if "p95_ms" in s and s.get("p95_ms") is not None:
        parts.append(f"p95 {s['p95_ms']:.1f}")
    parts.append(f"p99 {s['p99_ms']:.1f} ms")
    return " / ".join(parts)


def _step(s: dict) -> str:
    """Latency figures of one rate, and what went wrong at it."""
    text = _ms(s["all"])
    if s["lost"]:
        text += f"; {s['lost']} of {s['expected']} not in by {s['drain_s']:.0f} s"
    if s["duplicated"]:
        text += f"; {s['duplicated']} twice"
    if not s["sustained"] and not s["lost"]:
        text += f" (fell behind: median {s['first_quarter_p50_ms']:.0f} -> {s['last_quarter_p50_ms']:.0f} ms)"
    return text


def _e2e_rows(r: dict, base: dict) -> list[tuple[str, str, str, str, str]]:
    out = []
    t = r["targets"]
    peer = r.get("peer") or {}
    theirs = {s["rate"]: s for s in peer.get("steps", [])}
    for s in r["steps"]:
        target, mark = "", ""
        if s["rate"] == 50:
            target, mark = "p99 <= 50 ms", _mark(t["p99_at_50_per_s_ms"])
        out.append((f"2 e2e at {s['rate']}/s POST->sink", _step(s),
                    "no-op job " + _ms(base.get(str(s["rate"]))), target, mark))
        am = theirs.get(s["rate"])
        if am:
            ratio = (f"ours/AM p99 {s['all']['p99_ms'] / am['all']['p99_ms']:.2f}x"
                     if am["all"]["p99_ms"] and s["all"]["p99_ms"] is not None else "")
            out.append((f"  Alertmanager at {s['rate']}/s", _step(am), ratio, "", ""))
    for rate, am in theirs.items():  # the peer's rates ours did not reach
        if rate not in {s["rate"] for s in r["steps"]}:
            out.append((f"  Alertmanager at {rate}/s", _step(am), "ours: not run", "", ""))
    if peer.get("status") == "unavailable":
        out.append(("  Alertmanager (peer)", "SKIPPED: " + peer["reason"], "", "", "n/a"))
    t50 = t["p99_at_50_per_s_ms"]
    if t50.get("note"):
        out.append(("2 e2e at 50/s POST->sink", t50["note"], "", "p99 <= 50 ms", _mark(t50)))
    highest = f"{r['highest_sustained_rate']}/s" if r["highest_sustained_rate"] else "none"
    tried = ", ".join(str(s["rate"]) for s in r["steps"])
    am_high = ""
    if peer.get("status") == "ok":
        am_high = f"Alertmanager {peer['highest_sustained_rate'] or 'none'}" + (
            "/s" if peer["highest_sustained_rate"] else "")
    st = t.get("sustained_rate")
    out.append(("2 e2e highest sustained rate", f"{highest} ({r['workers']} workers; tried {tried})", am_high,
                st["target"] if st else "", _mark(st)))
    vp = t.get("p99_vs_peer")
    if vp:
        name = f"2 e2e p99 at {vp['rate']}/s vs Alertmanager"
        if vp.get("value") is not None:
            value = (f"{vp['value']:.2f}x (ours {vp['ours_p99_ms']:.1f} ms / AM {vp['peer_p99_ms']:.1f} ms); "
                     f"{vp['value'] - 1:+.2f}x from 1x")
        else:
            value = vp.get("note", "-")
        out.append((name, value, "Alertmanager = 1x", vp["target"], _mark(vp)))
    return out


def _slow_rows(r: dict) -> list[tuple[str, str, str, str, str]]:
    ours, peer = r["ours"], r["peer"]
    name = f"2b e2e at {r['rate']}/s, SMTP replies +{r['reply_delay_ms']} ms"
    value = f"{_step(ours)} (email {_ms(ours.get('email'))})"
    if peer.get("status") == "ok":
        am = peer["steps"][0]
        ratio = f"; ours/AM p99 {r['p99_ratio_to_peer']:.2f}x" if r.get("p99_ratio_to_peer") else ""
        base = f"Alertmanager {_step(am)}{ratio}"
    else:
        base = "Alertmanager SKIPPED: " + peer["reason"]
    return [(name, value, base, "(no target)", "")]


def rows(m: dict) -> list[tuple[str, str, str, str, str]]:
    """(measurement, value, baseline, target, mark) rows for one database's results."""
    out: list[tuple[str, str, str, str, str]] = []

    def na(name: str, res: dict, baseline: str = "-"):
        word = "FAILED" if res.get("status") == "error" else "NOT MEASURED"
        out.append((name, f"{word} (see below)", baseline, "", "n/a"))

    r = m.get("intake")
    if r:
        bare = r.get("bare")
        b = f"bare {bare['events_per_s']:.0f}/s, {_ms(bare)}" if bare else "-"
        gen = f" [{r['load_generator']}]"
        if r["status"] == "ok":
            i, t = r["intake"], r["targets"]
            out.append(("1 intake events/s" + gen, f"{i['events_per_s']:.0f}/s, {_ms(i)}", b,
                        ">= 1500/s", _mark(t["events_per_s"])))
            out.append(("1 intake / bare", f"{r['ratio']:.2f}x", "1.00x", ">= 0.5x", _mark(t["ratio_to_bare"])))
            if r.get("note"):
                out.append(("  note", r["note"], "", "", ""))
        else:
            na("1 intake events/s" + gen, r, b)

    r = m.get("end_to_end")
    if r:
        base = (r.get("baseline") or {}).get("per_rate", {})
        if r["status"] == "ok":
            out += _e2e_rows(r, base)
        else:
            na("2 e2e POST->sink", r, "; ".join(f"no-op job at {k}/s {_ms(v)}" for k, v in base.items()) or "-")

    r = m.get("slow_smtp")
    if r:
        if r["status"] == "ok":
            out += _slow_rows(r)
        else:
            na("2b e2e, SMTP replies 20 ms late", r)

    r = m.get("worker_throughput")
    if r:
        base = (r.get("baseline") or {}).get("jobs_per_s_by_workers", {})
        if r["status"] == "ok":
            for w, res in r["by_workers"].items():
                target, mark = "", ""
                if int(w) == r["box_workers"]:
                    target, mark = ">= 300/s on the box", _mark(r["targets"]["box_notifications_per_s"])
                out.append((f"3 worker notifications/s, {w} proc", f"{res['notifications_per_s']:.0f}/s "
                            f"({res['per_worker_process']:.0f}/s per process)",
                            f"no-op jobs {base.get(w)}/s", target, mark))
        else:
            na("3 worker notifications/s", r,
               "; ".join(f"no-op jobs {v}/s with {k} proc" for k, v in base.items()) or "-")

    r = m.get("decision_cost")
    if r:
        if r["status"] == "ok":
            sizes = list(r["by_rules"].values())
            base = sizes[0]
            for s in sizes[1:]:
                last = s is sizes[-1]
                out.append((f"4 decision per event, {s['rules']:,} rules", _ms(s),
                            f"{base['rules']} rules {_ms(base)}",
                            "same within noise (<= 1.25x)" if last else "",
                            _mark(r["targets"]["same_within_noise"]) if last else ""))
        else:
            na("4 decision per event", r)

    r = m.get("rules_page")
    if r:
        b = "empty page " + _ms(r.get("baseline"))
        if r["status"] == "ok":
            out.append((f"5 rules page, {r['rules']:,} rules", _ms(r["with_rules"]), b, "<= 150 ms",
                        _mark(r["targets"]["server_time_ms"])))
        else:
            na(f"5 rules page, {r.get('rules', 0):,} rules", r, b)

    r = m.get("recovery")
    if r:
        if r["status"] == "ok":
            t, b = r["targets"], r["baseline"]
            secs = f"NOT all in after {r['wait_s']:.0f} s" if r["recovery_s"] is None else f"{r['recovery_s']:.1f} s"
            each = ", ".join("-" if k["seconds_until_all_done"] is None else f"{k['seconds_until_all_done']:.0f}"
                             for k in r["kills"])
            jobs = sum(len(k.get("abandoned_jobs", [])) for k in r["kills"])
            out.append(("6 recovery after SIGKILL", f"all done {secs} after the kill (worst of {len(r['kills'])}: "
                        f"{each} s; {jobs} started jobs abandoned)",
                        f"no kill: all done {b['seconds_until_all_done']} s after the same point",
                        "<= 60 s", _mark(t["done_within_s"])))
            missing = "lost" if r["complete"] else "not arrived"
            out.append((f"6 recovery {missing} / duplicated", f"{r['lost']} / {r['duplicated']} of {r['expected']}",
                        f"no kill: {b['lost']} / {b['duplicated']}", "0 / 0",
                        "PASS" if t["lost"]["pass"] and t["duplicated"]["pass"] else "MISS"))
        else:
            na("6 recovery after SIGKILL", r)

    r = m.get("footprint")
    if r:
        if r["status"] == "ok":
            out += _footprint_rows(r)
        else:
            na("7 footprint (PSS)", r)
    return out


def _per_process(sample: dict) -> str:
    """"launcher 21, gunicorn worker 2x17, ..." (MB) from a footprint sample."""
    counts: dict[str, int] = {}
    for p in sample["processes"]:
        counts[p["role"]] = counts.get(p["role"], 0) + 1
    return ", ".join(f"{role} {f'{counts[role]}x' if counts[role] > 1 else ''}{mb / counts[role]:.0f}"
                     for role, mb in sample["by_role"].items())


def _footprint_rows(r: dict) -> list[tuple[str, str, str, str, str]]:
    t, idle, ld, img = r["targets"], r["idle"], r["load"], r["image"]
    bare = f"one bare Python {r['bare_python_mb']:.0f} MB" if r.get("bare_python_mb") else "-"
    span = f"{ld['seconds'] / 60:.0f} min" if ld["seconds"] >= 60 else f"{ld['seconds']:.0f} s"
    got = f"{ld['notifications_received']} of {ld['notifications_expected']} notifications"
    leak = t["no_growth"]
    first, last = ld["samples"][min(1, len(ld["samples"]) - 1)], ld["samples"][-1]
    rows = [
        ("7 footprint idle, PSS of all processes", f"{idle['total_mb']:.0f} MB", bare, "<= 150 MB",
         _mark(t["idle_total_mb"])),
        ("  idle per process (MB)", _per_process(idle), "", "", ""),
        (f"7 footprint at {ld['rate']}/s for {span}, peak", f"{ld['peak_mb']:.0f} MB ({got})",
         f"idle {idle['total_mb']:.0f} MB", "<= 250 MB", _mark(t["load_peak_mb"])),
        ("  under load per process (MB)", _per_process(ld["after"]), "", "", ""),
        (f"7 footprint growth, sample {ld['leak_to_minute']} vs {ld['leak_from_minute']}",
         f"{leak['value']:+.1%} ({first['total_mb']:.0f} -> {last['total_mb']:.0f} MB)"
         + (f" [{leak['note']}]" if leak.get("note") else ""), "", "<= +10%", _mark(leak)),
        ("7 Docker image size (ESTIMATE)", f"{img['total_mb']:.0f} MB", f"base {img['base']} {img['base_mb']} MB "
         f"(published, assumed) + packages {img['packages_mb']:.0f} + app {img['app_files_mb']:.0f}",
         "< 250 MB", _mark(t["image_mb"])),
    ]
    return rows


def table(results: dict) -> str:
    lines = []
    for db_name, res in results["runs"].items():
        lines.append(f"\n== {db_name}: {res['database']} + {res['redis']}; gunicorn --workers "
                     f"{res['web_workers']}; {res['seconds']:.0f} s ==")
        if res.get("error"):
            lines.append("  FAILED: " + res["error"])
        body = rows(res["measurements"])
        head = ("measurement", "value", "baseline (same run)", "target", "")
        widths = [min(60, max(len(r[i]) for r in body + [head])) for i in range(5)]
        fmt = "  ".join("{:<%d}" % w for w in widths)
        lines.append(fmt.format(*head))
        lines.append(fmt.format(*("-" * w for w in widths)))
        for row in body:
            lines.append(fmt.format(*row).rstrip())
        for name, r in res["measurements"].items():
            if r.get("status") != "ok":
                lines.append(f"  {name}: {r.get('reason')}")
        for name, r in res["measurements"].items():
            if r.get("profile") and "error" not in r["profile"]:
                lines.append(f"\n  profile of {name} (py-spy; raw stacks: {r['profile_raw']}):")
                lines += profile.text(r["profile"])
    return "\n".join(lines)
