#!/usr/bin/env bash
# Sourced by bench/run.sh (which sets work, release, repo, rounds,
# latency_events, latency_rate and background): the `--start-after` rows
# (issue 25). Alone: `bench/start_order.sh RELEASE_DIR` prints the rows
# (BENCH_KEEP=1 keeps its work directory under /dev/shm: scripts, logs, calls).
#   BENCH_START_PROGRAMS (default 50) programs p01..pN, autostart=false, in a
#   dependency graph: p01 waits for start:exited, each next one for the one
#   before (running, or exited after the oneshots p05, p15, ...) and from p03
#   on also for p(k/2):ready when that one is no oneshot. The driver plays
#   supervisord's events (bench/driver.c SCRIPT=): start exits, then each
#   program's STARTING (only once the listener asked startProcess for it),
#   RUNNING and, for a oneshot, EXITED, spread over BENCH_LATENCY_EVENTS
#   (default 2000) events of another program at BENCH_LATENCY_RATE (default
#   500) per second. bench/fake_supervisord.py answers XML-RPC from the state
#   those events describe and logs each call's arrival. BENCH_ROUNDS
#   interleaved rounds of: the listener without --start-after (the same events
#   and server), and with the graph. Figures: from the write of the event
#   that makes a program's conditions hold to startProcess reaching the server
#   (all rounds' starts pooled), and the event answer latency of both
#   listeners (medians of the rounds' p50 and p99).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # Alone: what bench/run.sh would have set.
    set -euo pipefail
    repo=$(cd "$(dirname "$0")/.." && pwd)
    release=$(cd "${1:?usage: bench/start_order.sh RELEASE_DIR}" && pwd)
    rounds=${BENCH_ROUNDS:-5}
    latency_events=${BENCH_LATENCY_EVENTS:-2000}
    latency_rate=${BENCH_LATENCY_RATE:-500}
    work=$(mktemp -d /dev/shm/readiness-bench-start-order.XXXXXX)
    background=""
    trap 'for pid in $background; do kill "$pid" 2>/dev/null || true; done; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT
    cc -O2 -Wall -o "$work/driver" "$repo/bench/driver.c"
    start_order_alone=1
fi
start_programs=${BENCH_START_PROGRAMS:-50}
mkdir -p "$work/so"
# The graph: the fake server's programs, the listener's rules, the driver's script.
python3 - "$work/so" "$start_programs" "$latency_events" <<'PY'
import sys
directory, count, filler = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
width = max(2, len(str(count)))
name = lambda k: f"p{k:0{width}d}"
process = lambda k: f"{name(k)}:{name(k)}"
oneshot = lambda k: k % 10 == 5
rules, graph = [], []
with open(f"{directory}/programs", "w") as programs:
    # supervisord stops groups by descending priority: each dependent's above its dependencies'.
    programs.write("start RUNNING true 999\nother RUNNING true 999\n")
    for k in range(1, count + 1):
        programs.write(f"{name(k)} STOPPED false {1000 + k}\n")
        if k == 1:
            after = ["start:exited"]
        else:
            after = [f"{name(k - 1)}:{'exited' if oneshot(k - 1) else 'running'}"]
            if k >= 3 and not oneshot(k // 2):
                after.append(f"{name(k // 2)}:ready")
        rules.append(f"{name(k)}={','.join(after)}")
# Graph events: `FLAGS EVENTNAME PAYLOAD`; t=P marks the event after which
# all of P's conditions hold, a=P the STARTING sent once P was asked to start.
def trigger(k):
    return f",t={process(k)}" if k <= count else ""
graph.append(f"m{trigger(1)} PROCESS_STATE_EXITED processname:start groupname:start from_state:RUNNING expected:1 pid:4242")
for k in range(1, count + 1):
    pid = 5000 + k
    graph.append(f"m,a={process(k)} PROCESS_STATE_STARTING processname:{name(k)} groupname:{name(k)} from_state:STOPPED tries:0")
    graph.append(f"m{'' if oneshot(k) else trigger(k + 1)} PROCESS_STATE_RUNNING processname:{name(k)} groupname:{name(k)} from_state:STARTING pid:{pid}")
    if oneshot(k):
        graph.append(f"m{trigger(k + 1)} PROCESS_STATE_EXITED processname:{name(k)} groupname:{name(k)} from_state:RUNNING expected:1 pid:{pid}")
# Spread evenly among events of another program (as the driver's own mix sends).
total = max(filler, 2 * len(graph))
at = {int((i + 0.5) * total / len(graph)): line for i, line in enumerate(graph)}
with open(f"{directory}/script", "w") as script:
    for index in range(total):
        script.write((at.get(index) or f"- PROCESS_STATE_RUNNING processname:other groupname:other from_state:STARTING pid:{100 + index}") + "\n")
with open(f"{directory}/args", "w") as args:
    for rule in rules:
        args.write(f"--start-after\n{rule}\n")
PY
mapfile -t start_order_args < "$work/so/args"
# One run: a fresh fake supervisord (every program STOPPED, never started),
# the driver playing the script against the listener with ARGS.
start_order_run() {
    local kind=$1 round=$2
    shift 2
    local run=$work/so/$kind$round
    mkdir -p "$run"
    python3 "$repo/bench/fake_supervisord.py" "$run/port" 0 - - --programs "$work/so/programs" \
        --state-log "$run/state" --call-log "$run/calls" --unix "$run/supervisor.sock" 2> "$run/fake_supervisord.log" &
    local server=$!
    background="$background $server"
    for _ in $(seq 1 100); do [ -s "$run/port" ] && break; sleep 0.05; done
    SUPERVISOR_SERVER_URL="unix://$run/supervisor.sock" SCRIPT="$work/so/script" STATE_LOG="$run/state" \
        EVENT_LOG="$run/events" EVENT_RATE=$latency_rate "$@" \
        > "$work/so_latency_$kind$round.txt" 2> "$run/listener.log" || echo "bench: the $kind run of round $round failed" >&2
    kill "$server" 2> /dev/null || true
    wait "$server" 2> /dev/null || true
    background=${background% $server}
}
for round in $(seq 1 "$rounds"); do
    start_order_run none "$round" "$work/driver" "$latency_events" "$release/readiness_listener" --status-file "$work/so/none$round/run/status"
    CALL_LOG="$work/so/graph$round/calls" \
        start_order_run graph "$round" "$work/driver" "$latency_events" "$release/readiness_listener" --status-file "$work/so/graph$round/run/status" "${start_order_args[@]}"
done
python3 "$repo/bench/start_order_rows.py" "$work" "$rounds" "$start_programs" "$latency_rate" > "$work/start_order_rows.md"
if [ -n "${start_order_alone:-}" ]; then
    echo "| what | figure | ratio | target |"
    echo "| --- | --- | --- | --- |"
    cat "$work/start_order_rows.md"
fi
