# Sourced by bench/run.sh (which sets work, release, repo, rounds, latency_events,
# latency_rate, free_port and background): the `--service` rows (issue 17).
#   BENCH_SERVICES (default 50) tcp: services svc1..svcN, checked every
#   BENCH_CHECK_PERIOD (default 0.1) s with BENCH_CHECK_TIMEOUT (default 0.05) s:
#   N / period checks per second (500/s by default), against three targets:
#   accept (bench/tcp_target.c accepts and closes), refused (a port nobody
#   listens on) and hang (a full accept queue: connects never complete and
#   each check runs to its timeout).
#   BENCH_CHECK_IDLE_MS (default 5000): the window, with no event, over which
#   CPU per check is measured, for each target and for exec:true.
#   BENCH_SERVICE_EVENTS (default 1000000) events and BENCH_DATAGRAMS (default
#   100000) sd_notify datagrams for the memory row.
services=${BENCH_SERVICES:-50}
check_period=${BENCH_CHECK_PERIOD:-0.1}
check_timeout=${BENCH_CHECK_TIMEOUT:-0.05}
check_idle_ms=${BENCH_CHECK_IDLE_MS:-5000}
service_events=${BENCH_SERVICE_EVENTS:-1000000}
datagrams=${BENCH_DATAGRAMS:-100000}
period_ms=$(python3 -c "print(round($check_period * 1000))")
timeout_ms=$(python3 -c "print(round($check_timeout * 1000))")
cc -O2 -Wall -o "$work/tcp_target" "$repo/bench/tcp_target.c"
cc -O2 -Wall -o "$work/floor_checker" "$repo/bench/floor_checker.c"

# The targets run for the whole section, this shell's children.
"$work/tcp_target" accept > "$work/target_accept.txt" &
background="$background $!"
"$work/tcp_target" hang > "$work/target_hang.txt" &
background="$background $!"
for _ in $(seq 1 50); do [ -s "$work/target_accept.txt" ] && [ -s "$work/target_hang.txt" ] && break; sleep 0.1; done
declare -A target_port
target_port[accept]=$(cut -d= -f2 "$work/target_accept.txt")
target_port[hang]=$(cut -d= -f2 "$work/target_hang.txt")
target_port[refused]=$(free_port)
# svc1..svcN=HOW, and the check knobs.
service_args() {
    local how=$1 i
    for i in $(seq 1 "$services"); do printf -- '--service\nsvc%d=%s\n' "$i" "$how"; done
    printf -- '--check-period\n%s\n--check-timeout\n%s\n' "$check_period" "$2"
}
how_of() { case $1 in exec) echo "exec:true" ;; *) echo "tcp:${target_port[$1]}" ;; esac; }

# Event answer latency with N services under check, interleaved rounds as the
# rows above: no services, the C floor listener, and each tcp target.
svc_latency() { EVENT_RATE=$latency_rate "$work/driver" "$latency_events" "$@" 2>/dev/null; }
for round in $(seq 1 "$rounds"); do
    svc_latency "$release/readiness_listener" --status-file "$work/svc-lat-none/status" > "$work/svc_latency_none$round.txt"
    svc_latency "$work/floor_listener" > "$work/svc_latency_floor$round.txt"
    for target in accept refused hang; do
        mapfile -t args < <(service_args "$(how_of $target)" "$check_timeout")
        SERVICES=$services svc_latency "$release/readiness_listener" --status-file "$work/svc-lat-$target/status" "${args[@]}" \
            > "$work/svc_latency_$target$round.txt"
    done
done

# CPU per check: the listener with N services and no event, over a window;
# the C floor (bench/floor_checker.c) doing the same checks, for as long.
# exec: checks get the default timeout (1 s): sh needs more than 50 ms on a busy machine.
for target in accept refused hang exec; do
    timeout=$check_timeout
    [ "$target" = exec ] && timeout=1
    mapfile -t args < <(service_args "$(how_of $target)" "$timeout")
    SERVICES=$services IDLE_MS=$check_idle_ms CHECK_PERIOD_MS=$period_ms \
        "$work/driver" 0 "$release/readiness_listener" --status-file "$work/svc-cpu-$target/status" "${args[@]}" \
        > "$work/svc_cpu_$target.txt" 2> /dev/null
    if [ "$target" = exec ]; then
        "$work/floor_checker" exec "$services" "$period_ms" 1000 $((check_idle_ms / 1000)) > "$work/svc_floor_cpu_$target.txt"
    else
        "$work/floor_checker" tcp "${target_port[$target]}" "$services" "$period_ms" "$timeout_ms" $((check_idle_ms / 1000)) > "$work/svc_floor_cpu_$target.txt"
    fi
done

# Memory and descriptors: N tcp services (accept) and one notify service
# (app, autostart=false, started over XML-RPC by the listener), 1,000,000
# events of other programs (FOLLOWED_EVERY=0: the steady state, no XML-RPC
# call per event) while datagrams arrive: a tenth from app's announced run
# (attributed), the rest from a child of the driver that is no service's run
# (held, supervisord asked again at most every 200 ms, dropped) and from a
# process that is not supervisord's (dropped). bench/fake_supervisord.py
# answers the XML-RPC calls (getAllProcessInfo, startProcess).
rm -f "$work/xmlrpc.port" "$work/app.pid"
python3 "$repo/bench/fake_supervisord.py" "$work/xmlrpc.port" "$services" app "$work/app.pid" 2> "$work/fake_supervisord.log" &
background="$background $!"
for _ in $(seq 1 50); do [ -s "$work/xmlrpc.port" ] && break; sleep 0.1; done
mapfile -t args < <(service_args "$(how_of accept)" "$check_timeout")
SUPERVISOR_SERVER_URL="http://127.0.0.1:$(cut -d= -f2 "$work/xmlrpc.port")" FOLLOWED_EVERY=0 SERVICES=$services \
    NOTIFY_SOCKET="$work/notify" NOTIFY_PIDFILE="$work/app.pid" NOTIFY_ATTRIBUTED=$((datagrams / 10)) \
    NOTIFY_STRAY=$((datagrams * 9 / 20)) NOTIFY_FOREIGN=$((datagrams - datagrams / 10 - datagrams * 9 / 20)) \
    "$work/driver" "$service_events" "$release/readiness_listener" --status-file "$work/svc-rss/status" "${args[@]}" \
    --service app=notify --notify-socket "$work/notify" > "$work/svc_rss.txt" 2> "$work/svc_rss.log"
grep -c '^service=.* ready=1 ' "$work/svc-rss/status" | sed 's/^/ready_services=/' >> "$work/svc_rss.txt"
echo "log_lines=$(wc -l < "$work/svc_rss.log")" >> "$work/svc_rss.txt"

# Idle with every feature on (issue 23): `--http`, the hook every 10 s,
# `--essential`, N services at the default check period (half tcp:, half
# exec:true), XML-RPC from the fake server, BENCH_IDLE_ALL_MS (default 60000)
# ms without an event. Such a listener should wake only for its timers.
idle_all_ms=${BENCH_IDLE_ALL_MS:-60000}
args=()
for i in $(seq 1 "$services"); do
    if [ "$i" -le $((services / 2)) ]; then args+=(--service "svc$i=tcp:${target_port[accept]}"); else args+=(--service "svc$i=exec:true"); fi
done
SUPERVISOR_SERVER_URL="http://127.0.0.1:$(cut -d= -f2 "$work/xmlrpc.port")" SERVICES=$services IDLE_MS=$idle_all_ms CHECK_PERIOD_MS=2000 \
    "$work/driver" 0 "$release/readiness_listener" --status-file "$work/idle-all/status" "${args[@]}" \
    --http "127.0.0.1:$(free_port)" --hook "$work/noop" --hook-interval 10 --essential svc1 > "$work/idle_all.txt" 2> "$work/idle_all.log"
