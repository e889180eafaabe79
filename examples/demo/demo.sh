#!/usr/bin/env bash
# make demo: a real supervisord with the repository's supervisor.d config, a
# start.sh that initializes for a few seconds, and the probe run once a
# second the way kubelet runs it, until the container turns ready.
#   DEMO_FAIL=1      start.sh exits 3 instead
#   DEMO_INTERVAL=S  seconds between probe runs (default 1)
#   DEMO_STEP=S      length of each start.sh step (default 1)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${DEMO_BIN:-$repo/.build/debug}
venv=$repo/.venv/bin
interval=${DEMO_INTERVAL:-1}
export DEMO_STEP=${DEMO_STEP:-1} DEMO_FAIL=${DEMO_FAIL:-0}
export DEMO_DIR=$(mktemp -d /tmp/readiness-demo.XXXXXX)
supervisord_pid=

cleanup() {
    trap - EXIT INT TERM
    if [ -n "$supervisord_pid" ] && kill -0 "$supervisord_pid" 2>/dev/null; then
        kill -TERM "$supervisord_pid" 2>/dev/null || true
        wait "$supervisord_pid" 2>/dev/null || true
    fi
    rm -rf "$DEMO_DIR"
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

sed -e "s#/usr/bin/readiness_listener#$bin/readiness_listener#" \
    -e "s#/run/readiness/status#$DEMO_DIR/run/status#" \
    -e "s#^stderr_logfile=/dev/stderr#stderr_logfile=$DEMO_DIR/listener.log#" \
    "$repo/supervisor.d/readiness_listener.conf" > "$DEMO_DIR/readiness_listener.conf"
sed -e "s#^command=.*#command=$repo/examples/demo/start.sh#" \
    -e "s#^stdout_logfile=/dev/stdout#stdout_logfile=$DEMO_DIR/start.log#" \
    "$repo/supervisor.d/start.conf.example" > "$DEMO_DIR/start.conf"
cat > "$DEMO_DIR/supervisord.conf" <<CONF
[supervisord]
nodaemon=true
logfile=$DEMO_DIR/supervisord.log
pidfile=$DEMO_DIR/supervisord.pid
user=root
[unix_http_server]
file=$DEMO_DIR/supervisor.sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[include]
files = $DEMO_DIR/readiness_listener.conf $DEMO_DIR/start.conf
CONF

echo "supervisord with supervisor.d/readiness_listener.conf and a start.sh that $([ "$DEMO_FAIL" = 1 ] && echo "fails with status 3" || echo "initializes in three steps of ${DEMO_STEP} s")"
echo "probe: $bin/readiness_probe --status-file $DEMO_DIR/run/status --hook examples/demo/readiness_probe_hook"
echo
"$venv/supervisord" -c "$DEMO_DIR/supervisord.conf" > "$DEMO_DIR/supervisord.out" 2>&1 &
supervisord_pid=$!

printf '%-8s  %-4s  %-14s  %s\n' TIME EXIT NAME MESSAGE
last=
for _ in $(seq 1 120); do
    set +e
    line=$("$bin/readiness_probe" --status-file "$DEMO_DIR/run/status" --hook "$repo/examples/demo/readiness_probe_hook" 2>&1)
    code=$?
    set -e
    name=$(printf '%s' "$line" | sed -E 's/^(not )?ready: [0-9]+ ([A-Z_]+): .*/\2/')
    message=${line#*: }
    message=${message#*: }
    printf '%-8s  %-4s  %-14s  %s\n' "$(date +%H:%M:%S)" "$code" "$name" "$message"
    if [ "$code" = 0 ]; then
        echo
        echo "the pod turns ready: kubelet adds it to the Service's endpoints"
        exit 0
    fi
    # START_FAILED and START_FATAL do not change by themselves: show them twice, then stop.
    if { [ "$code" = 101 ] || [ "$code" = 102 ]; } && [ "$code" = "$last" ]; then
        echo
        echo "start.sh failed for good: the pod stays unready and the upgrade controller rolls back"
        echo "--- listener log (what you would grep in the container log):"
        grep 'program=start' "$DEMO_DIR/listener.log" | tail -n 4
        exit 0
    fi
    last=$code
    sleep "$interval"
done
echo "gave up waiting" >&2
exit 1
