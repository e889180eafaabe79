# Sourced by bench/run.sh (which sets work, repo, release, latency_rate,
# free_port and background): event answer latency while the listener asks
# a real supervisord (the .venv's) for every one of BENCH_PROCESSES (default
# 1000) processes (issue 23). The driver plays supervisord's event side;
# SUPERVISOR_SERVER_URL names the real one, whose answer to getAllProcessInfo
# grows with its processes. BENCH_MANY_EVENTS (default 5000) events at
# BENCH_LATENCY_RATE, in BENCH_MANY_ROUNDS (default 3) interleaved rounds of:
#   quiet: `--http`, no event lost: no call while the events are timed
#   lost: one event in BENCH_LOST_EVERY (default 2500: one TICK_5's worth at
#         500 events/s) a TICK after a lost event, at which a listener
#         serving /metrics asks for every process.
many_processes=${BENCH_PROCESSES:-1000}
lost_every=${BENCH_LOST_EVERY:-2500}
many_events=${BENCH_MANY_EVENTS:-5000}
many_rounds=${BENCH_MANY_ROUNDS:-3}
mkdir -p "$work/many"
cat > "$work/many/supervisord.conf" <<EOF
[unix_http_server]
file=$work/many/supervisor.sock
[supervisord]
nodaemon=true
logfile=$work/many/supervisord.log
pidfile=$work/many/supervisord.pid
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$work/many/supervisor.sock
[program:many]
command=/bin/sleep 1000000
numprocs=$many_processes
process_name=%(program_name)s_%(process_num)04d
startsecs=0
autorestart=false
EOF
"$repo/.venv/bin/supervisord" -c "$work/many/supervisord.conf" > /dev/null 2>&1 &
many_supervisord=$!
background="$background $many_supervisord"
running=0
for _ in $(seq 1 240); do
    running=$("$repo/.venv/bin/supervisorctl" -c "$work/many/supervisord.conf" status 2> /dev/null | grep -c ' RUNNING ' || true)
    [ "$running" -eq "$many_processes" ] && break
    sleep 0.5
done
if [ "$running" -ne "$many_processes" ]; then
    echo "bench: supervisord started $running of $many_processes processes within 120 s" >&2
    exit 1
fi
# The call itself, from supervisor's own Python client: the time an event
# would wait if the call were made in its way.
"$repo/.venv/bin/python" - "$work/many/supervisor.sock" > "$work/many_call.txt" <<'PY'
import statistics, sys, time, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=SupervisorTransport(None, None, "unix://" + sys.argv[1]))
times, count = [], 0
for _ in range(5):
    start = time.monotonic()
    count = len(proxy.supervisor.getAllProcessInfo())
    times.append(time.monotonic() - start)
print(f"processes={count} call_ms={statistics.median(times) * 1000:.1f}")
PY
many() {
    SUPERVISOR_SERVER_URL="unix://$work/many/supervisor.sock" FOLLOWED_EVERY=0 EVENT_RATE=$latency_rate \
        "$work/driver" "$many_events" "$release/readiness_listener" --http "127.0.0.1:$(free_port)" --hook "$work/none" "$@" 2>/dev/null
}
for round in $(seq 1 "$many_rounds"); do
    many --status-file "$work/many-quiet/status" > "$work/many_quiet$round.txt"
    LOST_EVERY=$lost_every many --status-file "$work/many-lost/status" > "$work/many_lost$round.txt"
done
# supervisord stops its processes before it exits.
kill "$many_supervisord"
wait "$many_supervisord" || true
