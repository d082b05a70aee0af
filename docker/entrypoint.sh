#!/bin/sh
# The container's entry point (after tini): checks that the data folder is
# writable by this (non-root) user, then runs the command as PID 2 under tini.
# A host folder bind-mounted at /app/instance keeps its host owner (often root),
# and the app would fail later with a less clear error.
set -e
dir="${INSTANCE_PATH:-/app/instance}"
probe="$dir/.write-test.$$"
if ! (: > "$probe") 2>/dev/null; then
    uid="$(id -u)"; gid="$(id -g)"
    cat >&2 <<MSG
ERROR: $dir is not writable by the app's user (uid $uid, gid $gid).
A host folder mounted there keeps its owner. Either give it to that user:
    sudo chown -R $uid:$gid /path/on/host
or use a named volume instead (-v notifier-data:/app/instance), which Docker
creates with the right owner, or run as the folder's owner (--user UID:GID).
MSG
    exit 1
fi
rm -f "$probe"
exec "$@"
