#!/bin/sh
# The bench's shell peer: the same common check a hand-written
# readiness_probe.sh would make on the same status file, then the hook.
file=${1:-/run/readiness/status}
hook=${2:-/usr/bin/readiness_probe_hook}
if [ ! -f "$file" ]; then
    echo "not ready: no status file" >&2
    exit 104
fi
state=$(grep '^state=' "$file" | cut -d= -f2)
expected=$(grep '^expected=' "$file" | cut -d= -f2)
supervisord=$(grep '^supervisord_pid=' "$file" | cut -d= -f2)
if ! kill -0 "$supervisord" 2>/dev/null; then
    echo "not ready: stale status" >&2
    exit 106
fi
if [ "$state" != EXITED ] || [ "$expected" != 1 ]; then
    echo "not ready: start is $state" >&2
    exit 100
fi
if [ -x "$hook" ]; then
    "$hook" || exit $?
fi
echo "ready"
