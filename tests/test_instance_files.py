"""Instance files are owner-only after a real start (issue 12, item 4): they hold
the database, generated secrets and the embedded Redis's data."""
import json
import os
import stat

import requests

from .conftest import WEBHOOK_SECRET
from .processes import Launcher
from .webhook_signing import example, signed_headers


def test_instance_files_are_owner_only(tmp_path):
    """Database (+ -wal/-shm), secrets.json, the embedded Redis's files and folder:
    0600 / 0700 after a real start, also what an older version left world-readable."""
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)
    (instance / "notifier.db").touch()
    os.chmod(instance / "notifier.db", 0o644)  # as before: SQLite's default mode
    launcher = Launcher(instance, WEBHOOK_SECRET=WEBHOOK_SECRET)
    try:
        launcher.wait_until_running()
        # gunicorn and the worker write too: an event through intake and processing
        body = json.dumps(example("missed-internal")).encode()
        resp = requests.post(launcher.url + "/api/v1/events", data=body,
                             headers=signed_headers(body, WEBHOOK_SECRET), timeout=10)
        assert resp.status_code == 202, resp.text
        launcher.wait_for_line("Job OK")
        paths = [instance, *instance.rglob("*")]
        names = {p.name for p in paths}
        assert {"notifier.db", "notifier.db-wal", "notifier.db-shm", "secrets.json", "redis",
                "redis.sock", "redis.log"} <= names, names
        assert any(n.startswith("appendonly") for n in names), names
        loose = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.lstat().st_mode)) for p in paths
                 if stat.S_IMODE(p.lstat().st_mode) & 0o077}
        assert not loose, loose
    finally:
        launcher.stop()
