"""What the image and docker-compose.yml promise, read from the files (no
Docker daemon on the build machines): a non-root user, tini as init, the data
volume, the port, a HEALTHCHECK on /health, a stop signal and grace the
launcher fits in; the compose file's four services with healthchecks.
The entrypoint script is run for real."""
from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess

from notifier.runtime.launcher import STOP_TIMEOUT

from .conftest import ROOT


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments dropped, backslash continuations joined."""
    out, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        name, _, args = full.partition(" ")
        out.append((name.upper(), args.strip()))
    assert not pending, "a continued instruction runs off the end"
    return out


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text())


def _all(name: str) -> list[str]:
    return [args for n, args in DOCKERFILE if n == name]


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def test_runs_as_a_non_root_user_it_creates():
    users = _all("USER")
    assert users and users[-1] not in ("root", "0", "0:0")
    runs = " ".join(_all("RUN"))
    assert f"useradd --uid 1000 --gid 1000 --create-home {users[-1]}" in runs
    assert "chown notifier:notifier instance" in runs


def test_tini_is_pid_1_and_the_entrypoint_checks_the_volume():
    assert re.search(r"apt-get install -y --no-install-recommends tini\b", " ".join(_all("RUN")))
    [entry] = _all("ENTRYPOINT")
    assert _exec_form(entry) == ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]
    [cmd] = _all("CMD")
    assert _exec_form(cmd) == ["python", "-m", "notifier.runtime.launcher"]
    script = ROOT / "docker" / "entrypoint.sh"
    assert script.stat().st_mode & stat.S_IXUSR
    assert not any(p.strip() in ("docker", "docker/", "docker/*") for p in (ROOT / ".dockerignore").read_text().split())


def test_volume_port_and_environment():
    assert _all("VOLUME") == ["/app/instance"]
    assert _all("EXPOSE") == ["8000"]
    env = " ".join(_all("ENV"))
    assert "HOST=0.0.0.0" in env and "PORT=8000" in env
    assert _all("WORKDIR") == ["/app"]


def test_healthcheck_asks_health_within_its_timeout():
    [check] = _all("HEALTHCHECK")
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", check))
    assert {"interval", "timeout", "start-period", "retries"} <= options.keys()
    cmd = _exec_form(check.split("CMD", 1)[1].strip())
    code = cmd[-1]
    assert cmd[:2] == ["python", "-c"] and "/health" in code and "PORT" in code
    # urlopen's own timeout ends before Docker's, so a hung app counts as a failure, not a kill
    assert float(re.search(r"timeout=(\d+)", code).group(1)) < int(options["timeout"].rstrip("s"))
    compile(code, "<healthcheck>", "exec")


def test_stop_signal_and_grace_fit_the_launcher():
    assert _all("STOPSIGNAL") == ["SIGTERM"]
    readme = (ROOT / "README.md").read_text()
    grace = int(re.search(r"--stop-timeout (\d+)", readme).group(1))
    assert grace > STOP_TIMEOUT  # Docker's default 10 s is not


# -- the entrypoint, run for real --------------------------------------------------

def _entry(instance, *cmd, user=None):
    env = {**os.environ, "INSTANCE_PATH": str(instance)}
    return subprocess.run(["sh", str(ROOT / "docker" / "entrypoint.sh"), *cmd], env=env, capture_output=True,
                          text=True, timeout=30, user=user)


def test_entrypoint_runs_the_command_when_the_volume_is_writable(tmp_path):
    result = _entry(tmp_path, "sh", "-c", "echo started $0", "ok")
    assert result.returncode == 0 and result.stdout.strip() == "started ok", result.stderr
    assert list(tmp_path.iterdir()) == []  # its probe file is gone


def test_entrypoint_explains_a_folder_it_cannot_write(tmp_path):
    folder = tmp_path / "host-folder"
    folder.mkdir()
    folder.chmod(0o555)
    # as root every folder is writable: then act as an ordinary user, as the image does
    user = "nobody" if os.geteuid() == 0 else None
    result = _entry(folder, "sh", "-c", "echo should not run", user=user)
    assert result.returncode == 1
    assert "should not run" not in result.stdout
    assert "is not writable" in result.stderr and "chown -R" in result.stderr


# -- docker-compose.yml --------------------------------------------------------------

def _compose() -> dict:
    """PyYAML is not a dependency: read the file with the system's PyYAML when it
    has one, else with the strict reader below for the subset the file uses."""
    text = (ROOT / "docker-compose.yml").read_text()
    try:
        import yaml
    except ImportError:
        return _subset_yaml(text)
    return yaml.safe_load(text)


def _scalar(raw: str):
    raw = raw.strip()
    if raw.startswith("[") or raw.startswith('"'):
        return json.loads(raw)
    if raw.isdigit():
        return int(raw)
    return None if raw == "" else raw


def _subset_yaml(text: str) -> dict:
    """Block maps, "- item" lists, JSON-style flow lists and double-quoted strings,
    plus one anchor (&name on a top-level key) merged with "<<: *name". Anything
    else fails loudly."""
    lines = [(len(ln) - len(ln.lstrip(" ")), ln.strip()) for ln in text.splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    anchors: dict[str, dict] = {}

    def block(i: int, indent: int):
        if lines[i][1].startswith("- "):
            items = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                items.append(_scalar(lines[i][1][2:]))
                i += 1
            return items, i
        mapping: dict = {}
        while i < len(lines) and lines[i][0] == indent:
            key, sep, rest = lines[i][1].partition(":")
            assert sep, f"not a key: {lines[i][1]}"
            rest = rest.strip()
            anchor = None
            if rest.startswith("&"):
                anchor, rest = rest[1:], ""
            i += 1
            if key == "<<":
                assert rest.startswith("*"), rest
                mapping.update(anchors[rest[1:]])
            elif rest:
                mapping[key] = _scalar(rest)
            elif i < len(lines) and lines[i][0] > indent:
                mapping[key], i = block(i, lines[i][0])
            else:
                mapping[key] = None
            if anchor:
                anchors[anchor] = mapping[key]
        return mapping, i

    result, end = block(0, 0)
    assert end == len(lines), f"unread from: {lines[end][1]}"
    return result


SAMPLE = """
x-a: &a
  build: .
  environment:
    K: "v:1"
s:
  one:
    <<: *a
    command: ["sh", "-c", "x"]
    ports:
      - "8000:8000"
    retries: 10
v:
  data:
"""


def test_subset_reader():
    assert _subset_yaml(SAMPLE) == {
        "x-a": {"build": ".", "environment": {"K": "v:1"}},
        "s": {"one": {"build": ".", "environment": {"K": "v:1"}, "command": ["sh", "-c", "x"],
                      "ports": ["8000:8000"], "retries": 10}},
        "v": {"data": None}}


def test_subset_reader_agrees_with_pyyaml_on_the_compose_file():
    """Where a python3 with PyYAML exists (this machine's system one does), the
    fallback reader must read docker-compose.yml exactly as PyYAML does."""
    try:
        out = subprocess.run(["python3", "-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"],
                             input=(ROOT / "docker-compose.yml").read_text(), capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        out = None  # no PyYAML anywhere: test_subset_reader is the check
    if out is not None:
        assert _subset_yaml((ROOT / "docker-compose.yml").read_text()) == json.loads(out)


def test_compose_runs_app_worker_postgres_redis_with_healthchecks():
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"app", "worker", "postgres", "redis"}
    for name in ("worker", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    # the app's check is the image's HEALTHCHECK (/health); the worker overrides it (no web server there)
    assert "healthcheck" not in services["app"]
    assert "last_heartbeat" in services["worker"]["healthcheck"]["test"][-1]
    for name in ("app", "worker"):
        svc = services[name]
        assert svc["build"] == "."
        assert svc["environment"]["DATABASE_URL"].startswith("postgresql://notifier:")
        assert "@postgres:5432/notifier" in svc["environment"]["DATABASE_URL"]
        assert svc["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert "notifier-data:/app/instance" in svc["volumes"]  # one secrets.json for both
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
        assert int(svc["stop_grace_period"].rstrip("s")) > STOP_TIMEOUT
    assert "db upgrade" in services["app"]["command"][-1] and "gunicorn app:app" in services["app"]["command"][-1]
    assert services["app"]["ports"] == ["8000:8000"]
    assert "(head)" in services["worker"]["command"][-1] and "python worker.py" in services["worker"]["command"][-1]
    assert set(compose["volumes"]) == {"notifier-data", "postgres-data", "redis-data"}


def test_compose_commands_are_valid_shell():
    for name in ("app", "worker"):
        cmd = _compose()["services"][name]["command"]
        assert cmd[:2] == ["sh", "-c"]
        subprocess.run(["sh", "-n", "-c", cmd[2]], check=True, timeout=10)
        shlex.split(cmd[2])
