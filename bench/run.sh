#!/usr/bin/env bash
# make bench: start-up, throughput and memory figures as ratios against floors
# measured in the same run. No assertion: it prints a table and writes it to
# .build/bench/results.md.
#   BENCH_ROUNDS (default 5) rounds of BENCH_RUNS (default 300) runs per command
#   BENCH_EVENTS (default 200000) events per listener run (the Python peer gets a quarter)
#   BENCH_RUNC_RUNS (default 100) runs of each `runc exec`; BENCH_ROOTFS, a root file
#   system with supervisord and the product installed (one directory, or overlay
#   lower layers `INSTALLED:BASE`, leftmost on top), enables the container rows.
#   BENCH_HTTP_PROBES (default 20000) httpGet probes per round, against the C floor
#   server and against the listener's /readyz (one long-lived client, bench/http_client.c)
#   BENCH_HTTP_PACED_PROBES (default 500) more per round at BENCH_HTTP_PACED_RATE (default
#   100) per second: probes that each find the processes asleep, as kubelet's do
#   BENCH_SCRAPES (default 2000) scrapes per round of the same listener's /metrics once
#   it knows 100 programs, against one exec of readiness_probe
#   BENCH_LATENCY_EVENTS (default 2000) events per round at BENCH_LATENCY_RATE (default 500)
#   per second, timed one by one, for each of: no --http, --http idle, --http under
#   BENCH_HTTP_RATE (default 1000) probes per second
#   The `--service` rows: bench/services.sh says its knobs (BENCH_SERVICES,
#   BENCH_CHECK_PERIOD, BENCH_CHECK_TIMEOUT, BENCH_CHECK_IDLE_MS,
#   BENCH_SERVICE_EVENTS, BENCH_DATAGRAMS, BENCH_IDLE_ALL_MS); the rows with a
#   real supervisord of many processes, bench/many_processes.sh
#   (BENCH_PROCESSES, BENCH_LOST_EVERY, BENCH_MANY_EVENTS, BENCH_MANY_ROUNDS); the
#   `--start-after` rows, bench/start_order.sh (BENCH_START_PROGRAMS; it also
#   runs alone: bench/start_order.sh RELEASE_DIR)
# Arguments: the release directory measured, and optionally the arm64 release
# directory, whose binaries' sizes only are reported (their speed under
# qemu-user would say nothing about an arm64 machine).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
release=$1
release_arm64=${2:-}
out=$repo/.build/bench
rounds=${BENCH_ROUNDS:-5}
runs=${BENCH_RUNS:-300}
events=${BENCH_EVENTS:-200000}
runc_runs=${BENCH_RUNC_RUNS:-100}
http_probes=${BENCH_HTTP_PROBES:-20000}
latency_events=${BENCH_LATENCY_EVENTS:-2000}
latency_rate=${BENCH_LATENCY_RATE:-500}
http_rate=${BENCH_HTTP_RATE:-1000}
http_paced_probes=${BENCH_HTTP_PACED_PROBES:-500}
http_paced_rate=${BENCH_HTTP_PACED_RATE:-100}
scrapes=${BENCH_SCRAPES:-2000}
mkdir -p "$out"
# /dev/shm is a tmpfs: the listeners' status files live there, so the figures
# are the listener's work, not the disk's.
work=$(mktemp -d /dev/shm/readiness-bench.XXXXXX)
container=""
background=""
ready_listener_pid=""
cleanup() {
    for pid in $background $ready_listener_pid; do kill "$pid" 2>/dev/null || true; done
    if [ -n "$container" ]; then
        runc kill "$container" KILL 2>/dev/null || true
        runc delete -f "$container" 2>/dev/null || true
        umount "$work/merged" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -Wall -o "$work/driver" "$repo/bench/driver.c"
cc -O2 -Wall -static -s -o "$work/floor_listener" "$repo/bench/floor_listener.c"
# The exec floors: a static C no-op against glibc (also the trivial static
# hook), and one against musl, the C library the release binaries link.
cc -O2 -static -s -o "$work/noop" "$repo/bench/noop.c"
musl-gcc -O2 -static -s -o "$work/noop_musl" "$repo/bench/noop.c"
# The probe's checks and system calls in C, linked as the probe is.
musl-gcc -O2 -Wall -static -s -o "$work/floor_probe" "$repo/bench/floor_probe.c"
cc -O2 -Wall -o "$work/http_client" "$repo/bench/http_client.c"
cc -O2 -Wall -static -s -o "$work/floor_http" "$repo/bench/floor_http.c"

# A status file that says READY, written by the release listener itself; its
# parent, this shell, stands in for supervisord (alive for the whole run). The
# probe takes the file only while a live listener keeps it: this one reads a
# fifo kept open until the probe rows are done.
printf 'ver:3.0 server:supervisor serial:1 pool:p poolserial:1 eventname:PROCESS_STATE_EXITED len:70\nprocessname:start groupname:start from_state:RUNNING expected:1 pid:77' > "$work/event"
mkfifo "$work/ready-stdin"
"$release/readiness_listener" --status-file "$work/run/status" < "$work/ready-stdin" > /dev/null 2>&1 &
ready_listener_pid=$!
exec 4<> "$work/ready-stdin"
cat "$work/event" >&4
status=$work/run/status
for _ in $(seq 1 100); do
    "$release/readiness_probe" --status-file "$status" --hook "$work/none" > /dev/null 2>&1 && break
    sleep 0.05
done
"$release/readiness_probe" --status-file "$status" --hook "$work/none" > /dev/null
"$work/floor_probe" --status-file "$status" --hook "$work/none" > /dev/null
"$release/readiness_probe" --status-file "$status" --hook "$work/noop" > /dev/null
sh "$repo/bench/readiness_probe_peer.sh" "$status" "$work/none" > /dev/null

probe="$release/readiness_probe --status-file $status --hook $work/none"
floor_probe="$work/floor_probe --status-file $status --hook $work/none"
probe_hook="$release/readiness_probe --status-file $status --hook $work/noop"
shell_peer="/bin/sh $repo/bench/readiness_probe_peer.sh $status $work/none"

# Interleaved: every round runs each command in turn; the figure is the median
# of the rounds' medians.
for round in $(seq 1 "$rounds"); do
    hyperfine -N --style none --warmup 20 --runs "$runs" --export-json "$work/round$round.json" \
        -n noop "$work/noop" -n noop_musl "$work/noop_musl" -n true /bin/true -n probe "$probe" -n floor_probe "$floor_probe" -n probe_hook "$probe_hook" \
        -n shell_peer "$shell_peer" > /dev/null
done

# Peak resident memory of one run (GNU time's maximum resident set size, KiB).
max_rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1; }
{
    echo "noop=$(max_rss "$work/noop")"
    echo "probe=$(max_rss $probe)"
    echo "probe_hook=$(max_rss $probe_hook)"
} > "$work/max_rss.txt"
exec 4>&-
wait "$ready_listener_pid"
ready_listener_pid=""

listener() { taskset -c 0 "$work/driver" "$@" 2>/dev/null; }
listener "$events" "$work/floor_listener" > "$work/floor.txt"
mkdir -p "$work/floor-writer"
listener "$events" "$work/floor_listener" "$work/floor-writer/status" > "$work/floor_writer.txt"
listener "$events" "$release/readiness_listener" --status-file "$work/swift/status" > "$work/swift.txt"
# The steady state of a running container: events of other programs only
# (the followed start.sh changes state a handful of times in its life).
FOLLOWED_EVERY=0 listener "$events" "$work/floor_listener" > "$work/floor_others.txt"
FOLLOWED_EVERY=0 listener "$events" "$release/readiness_listener" --status-file "$work/swift-others/status" > "$work/swift_others.txt"
listener $((events / 4)) "$repo/.venv/bin/python" "$repo/bench/listener_peer.py" "$work/python/status" > "$work/python.txt"
listener 1000000 "$release/readiness_listener" --status-file "$work/swift-1m/status" > "$work/swift-1m.txt"

# kubelet's httpGet probe: one long-lived client (kubelet starts no process
# per probe) making a new connection, `GET /readyz`, reading to end of stream
# and closing, against the C floor server (a fixed 200) and against the
# listener's /readyz, interleaved in rounds: back to back (the processes stay
# warm), then paced (each probe wakes both from sleep, as kubelet's do). Both servers are this shell's
# children (it stands in for supervisord), on loopback: not the container's
# network namespace, which adds a veth hop. The listener's stdin is a fifo
# kept open, fed the one event that makes start READY; closing it ends it.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
floor_port=$(free_port)
"$work/floor_http" 127.0.0.1 "$floor_port" &
floor_http_pid=$!
background="$floor_http_pid"
http_port=$(free_port)
mkfifo "$work/http-stdin"
"$release/readiness_listener" --status-file "$work/http/status" --http "127.0.0.1:$http_port" --hook "$work/none" \
    < "$work/http-stdin" > /dev/null 2> "$work/http-listener.log" &
http_listener_pid=$!
background="$background $http_listener_pid"
# Read-write: opening a fifo so never blocks, even if the listener is gone.
exec 3<> "$work/http-stdin"
cat "$work/event" >&3
for round in $(seq 1 "$rounds"); do
    "$work/http_client" -n "$http_probes" -p "$floor_http_pid" -w 5000 127.0.0.1 "$floor_port" > "$work/http_b2b_floor$round.txt"
    "$work/http_client" -n "$http_probes" -p "$http_listener_pid" -w 5000 127.0.0.1 "$http_port" > "$work/http_b2b_listener$round.txt"
    "$work/http_client" -n "$http_paced_probes" -r "$http_paced_rate" -p "$floor_http_pid" 127.0.0.1 "$floor_port" > "$work/http_paced_floor$round.txt"
    "$work/http_client" -n "$http_paced_probes" -r "$http_paced_rate" -p "$http_listener_pid" 127.0.0.1 "$http_port" > "$work/http_paced_listener$round.txt"
done
# Then 100 programs start (STARTING and RUNNING each, as supervisord sends
# them) and Prometheus scrapes /metrics, as kubelet probes: new connection,
# GET, read to end. The listener's CPU per scrape is the row.
python3 - > "$work/programs" <<'PY'
import sys
for n in range(100):
    for serial, (state, before) in enumerate([("STARTING", "STOPPED"), ("RUNNING", "STARTING")], start=2 + 2 * n):
        body = f"processname:program_{n} groupname:workers from_state:{before} pid:{1000 + n}" if state == "RUNNING" else f"processname:program_{n} groupname:workers from_state:{before} tries:0"
        sys.stdout.write(f"ver:3.0 server:supervisor serial:{serial} pool:p poolserial:{serial} eventname:PROCESS_STATE_{state} len:{len(body)}\n{body}")
PY
cat "$work/programs" >&3
# Once the listener has taken them all: its /metrics names the last one.
python3 - "$http_port" <<'PY'
import sys, time, urllib.request
deadline = time.time() + 30
while 'program="program_99"' not in urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics").read().decode():
    if time.time() > deadline: sys.exit("bench: the listener never took the 100 programs' events")
    time.sleep(0.05)
PY
for round in $(seq 1 "$rounds"); do
    "$work/http_client" -n "$scrapes" -p "$http_listener_pid" -w 5000 127.0.0.1 "$http_port" /metrics > "$work/http_scrape$round.txt"
done
exec 3>&-
wait "$http_listener_pid"
kill "$floor_http_pid"
wait "$floor_http_pid" 2>/dev/null || true
background=""

# The listener's answer to supervisord's events, timed one by one at a steady
# rate: without --http, with --http and no client, and while the client hits
# /readyz at BENCH_HTTP_RATE probes per second (started once the listener is
# READY, stopped after the last event). Not pinned: driver, listener and
# client share the machine's cores, as supervisord, the listener and kubelet do.
# Interleaved rounds; the figures are the medians of the rounds' percentiles.
latency() { EVENT_RATE=$latency_rate "$work/driver" "$latency_events" "$release/readiness_listener" "$@" 2>/dev/null; }
for round in $(seq 1 "$rounds"); do
    latency --status-file "$work/latency-none/status" > "$work/latency_none$round.txt"
    port=$(free_port)
    latency --status-file "$work/latency-idle/status" --http "127.0.0.1:$port" --hook "$work/none" > "$work/latency_idle$round.txt"
    port=$(free_port)
    SIDECAR="exec '$work/http_client' -n 0 -r $http_rate -p \"\$LISTENER_PID\" -w 5000 127.0.0.1 $port > '$work/latency_client$round.txt'" \
        latency --status-file "$work/latency-load/status" --http "127.0.0.1:$port" --hook "$work/none" > "$work/latency_load$round.txt"
done

# The `--service` rows (issue 17): latency with services under check, CPU per
# check, memory and descriptors after events and datagrams.
. "$repo/bench/services.sh"

# Event answer latency while the listener asks a supervisord with 1,000
# processes for all of them (issue 23).
. "$repo/bench/many_processes.sh"

# Start-up order (issue 25): the time from the event that makes a program's
# conditions hold to its startProcess, and event answer latency while 50
# programs of a dependency graph start.
. "$repo/bench/start_order.sh"

# The node's view: kubelet's probe is a `runc exec` into the running container
# (containerd's ExecSync). The same static no-op exec'd the same way is the
# runtime's own cost, so the difference is ours.
if [ -n "${BENCH_ROOTFS:-}" ] && command -v runc > /dev/null; then
    mkdir -p "$work/upper/usr/local/bin" "$work/upper/etc/supervisor/conf.d" "$work/overlay-work" "$work/merged" "$work/bundle"
    cp "$work/noop" "$work/upper/usr/local/bin/noop"
    # A start program that succeeds at once: the probe then takes its ready path.
    printf '[program:start]\ncommand=/bin/true\nstartsecs=0\nautorestart=false\nexitcodes=0\n' \
        > "$work/upper/etc/supervisor/conf.d/start.conf"
    mount -t overlay overlay -o "lowerdir=$BENCH_ROOTFS,upperdir=$work/upper,workdir=$work/overlay-work" "$work/merged"
    python3 - "$work/merged" > "$work/bundle/config.json" <<'PY'
import json, subprocess, sys, tempfile, pathlib
with tempfile.TemporaryDirectory() as directory:
    subprocess.run(["runc", "spec"], cwd=directory, check=True)
    spec = json.loads((pathlib.Path(directory) / "config.json").read_text())
spec["root"] = {"path": sys.argv[1], "readonly": False}
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/usr/bin/supervisord", "-n", "-c", "/etc/supervisor/supervisord.conf"]
spec["process"].pop("rlimits", None)
spec["mounts"].append({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=755"]})
print(json.dumps(spec, indent=1))
PY
    container=readiness-bench-$$
    (cd "$work/bundle" && runc run -d "$container" < /dev/null > "$work/console.log" 2>&1)
    for _ in $(seq 1 100); do
        runc exec "$container" /usr/bin/readiness_probe.sh > /dev/null 2>&1 && break
        sleep 0.1
    done
    if ! runc exec "$container" /usr/bin/readiness_probe.sh > /dev/null; then
        echo "bench: the probe in the container never became ready; supervisord's output:" >&2
        cat "$work/console.log" >&2
        exit 1
    fi
    for round in $(seq 1 "$rounds"); do
        hyperfine -N --style none --warmup 5 --runs "$runc_runs" --export-json "$work/runc$round.json" \
            -n runc_noop "runc exec $container /usr/local/bin/noop" \
            -n runc_probe "runc exec $container /usr/bin/readiness_probe.sh" > /dev/null
        # Paced as the httpGet rows' paced probes are: each exec after a
        # pause (BENCH_HTTP_PACED_RATE's period), from a machine at rest.
        hyperfine -N --style none --warmup 2 --runs $(( (runc_runs + 1) / 2 )) --prepare "sleep $(python3 -c "print(1 / $http_paced_rate)")" \
            --export-json "$work/paced_runc$round.json" -n runc_probe_paced "runc exec $container /usr/bin/readiness_probe.sh" > /dev/null
    done
fi

python3 - "$work" "$release" "$rounds" "$runs" "$release_arm64" "$latency_rate" "$http_rate" "$http_paced_rate" \
    "$services" "$check_period" "$check_timeout" "$service_events" "$datagrams" "$lost_every" > "$out/results.md" <<'PY'
import json, os, pathlib, platform, statistics, subprocess, sys
work, release, rounds, runs = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
medians = {}
for path in sorted(work.glob("round*.json")):
    for result in json.loads(path.read_text())["results"]:
        medians.setdefault(result["command"], []).append(result["median"] * 1000)
ms = {name: statistics.median(values) for name, values in medians.items()}
def pairs(name):
    return dict(item.split("=") for item in (work / name).read_text().split())
floor, swift, python, million = (pairs(f"{n}.txt") for n in ["floor", "swift", "python", "swift-1m"])
floor_writer, floor_others, swift_others = (pairs(f"{n}.txt") for n in ["floor_writer", "floor_others", "swift_others"])
rss = {key: int(value) for key, value in pairs("max_rss.txt").items()}
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
print(f"Machine: {cpu}, {os.cpu_count()} cores, Linux {platform.release()}; {rounds} interleaved rounds of {runs} runs each (hyperfine -N).")
print()
def target(ok, text):
    """The issues' target for the row, and whether this run met it."""
    return f"{text}: {'met' if ok else '**missed**'}"
mib = 1024
idle, at_1000, end = (int(million[k]) / mib for k in ["rss_kb_idle", "rss_kb_at_1000", "rss_kb_end"])
peak = int(million["hwm_kb_end"]) / mib
print("| what | figure | ratio | target |")
print("| --- | --- | --- | --- |")
print(f"| static C no-op, musl (the exec floor) | {ms['noop_musl']:.3f} ms | 1.00 | |")
print(f"| static C no-op, glibc | {ms['noop']:.3f} ms | {ms['noop']/ms['noop_musl']:.2f} × floor | |")
print(f"| `/bin/true` (dynamic) | {ms['true']:.3f} ms | {ms['true']/ms['noop_musl']:.2f} × floor | |")
print(f"| C probe floor: the probe's checks and system calls in C, static musl (`bench/floor_probe.c`) | {ms['floor_probe']:.3f} ms | {ms['floor_probe']/ms['noop_musl']:.2f} × floor | |")
probe_ratio = ms['probe'] / ms['noop_musl']
print(f"| probe, ready path, no hook | {ms['probe']:.3f} ms | {probe_ratio:.2f} × musl floor, {ms['probe']/ms['floor_probe']:.2f} × C probe floor, {ms['probe']/ms['noop']:.2f} × glibc no-op | {target(probe_ratio <= 1.1, '≤ 1.1 × musl floor')} |")
hook_ratio = ms['probe_hook'] / ms['noop']
print(f"| probe with a static no-op hook | {ms['probe_hook']:.3f} ms | {hook_ratio:.2f} × running the hook directly | {target(hook_ratio <= 2, '≤ 2 ×')} |")
print(f"| shell peer, same check | {ms['shell_peer']:.3f} ms | probe is {ms['shell_peer']/ms['probe']:.1f} × faster | |")
print(f"| max RSS: no-op / probe ready path / probe with hook | {rss['noop']/mib:.2f} / {rss['probe']/mib:.2f} / {rss['probe_hook']/mib:.2f} MiB | probe {rss['probe']/rss['noop']:.2f} × floor | |")
def listener_rows(mix, base, rows):
    """events/s and own CPU per event of each row against `base`, the C floor of the same mix."""
    for name, row, goal in rows:
        ratio = float(row['rate']) / float(base['rate'])
        print(f"| {mix}: {name}, events/s | {float(row['rate']):,.0f} | {ratio:.2f} × floor | {target(ratio >= 0.8, goal[0]) if goal else ''} |")
    for name, row, goal in rows:
        ratio = float(row['cpu_us_per_event']) / float(base['cpu_us_per_event'])
        print(f"| {mix}: {name}, own CPU per event | {float(row['cpu_us_per_event']):.2f} µs | {ratio:.2f} × floor | {target(ratio <= 1.5, goal[1]) if goal else ''} |")
targets = ("≥ 0.8 × floor", "≤ 1.5 × floor")
listener_rows("1 in 10 events for start", floor, [
    ("floor listener (C, frames and answers only)", floor, None),
    ("C floor that also replaces a file for each event for start", floor_writer, None),
    ("readiness_listener", swift, None),
    ("Python childutils peer", python, None),
])
# The listener records each event for start as the recording floor does: that
# floor is the one its speed is held to (issue 24).
recording_ratio = float(swift['rate']) / float(floor_writer['rate'])
print(f"| 1 in 10 events for start: readiness_listener / the C floor that also records, events/s | {float(swift['rate']):,.0f} / {float(floor_writer['rate']):,.0f} | "
      f"{recording_ratio:.2f} × recording floor | {target(recording_ratio >= 0.8, '≥ 0.8 × recording floor')} |")
listener_rows("only other programs' events", floor_others, [
    ("floor listener", floor_others, None),
    ("readiness_listener", swift_others, targets),
])
flat = end <= at_1000 * 1.02
print(f"| readiness_listener RSS idle / after 1,000 / after 1,000,000 events | {idle*mib:.0f} / {at_1000*mib:.0f} / {end*mib:.0f} KiB | anonymous {int(million['anon_kb_end'])} KiB | {target(max(idle, end) <= 0.5 and flat, '≤ 512 KiB and flat')} |")
print(f"| readiness_listener peak RSS (VmHWM) after 1,000,000 events | {peak*mib:.0f} KiB | | {target(peak <= 0.5, '≤ 512 KiB')} |")
print(f"| floor listener RSS after {int(floor['events']):,} events | {int(floor['rss_kb_end'])/mib:.2f} MiB | | |")
print(f"| Python peer RSS | {int(python['rss_kb_end'])/mib:.1f} MiB | anonymous {int(python['anon_kb_end'])/mib:.2f} MiB | |")
for directory, arch in [(release, "x86_64"), (sys.argv[5], "arm64")] if sys.argv[5] else [(release, "x86_64")]:
    for binary in ["readiness_probe", "readiness_listener"]:
        size = os.path.getsize(os.path.join(directory, binary)) / 1024
        print(f"| {binary} size, {arch} (static musl, stripped) | {size:.0f} KiB | {size/384:.2f} × the 384 KiB aim | {target(size <= 512, '≤ 512 KiB')} |")
# httpGet: the medians over the rounds of each round's mean per probe.
def http(kind):
    rounds = [pairs(path.name) for path in sorted(work.glob(f"http_{kind}*.txt"))]
    row = {key: statistics.median(float(r[key]) for r in rounds)
           for key in ["node_cpu_us_per_probe", "client_cpu_us_per_probe", "server_cpu_us_per_probe", "wall_us_per_probe", "wall_us_p50", "wall_us_p99"]}
    row["probes"] = sum(int(r["probes"]) for r in rounds)
    row["ok"] = sum(int(r["ok"]) for r in rounds)
    row["rss_kb"], row["hwm_kb"] = int(rounds[-1]["server_rss_kb"]), int(rounds[-1]["server_hwm_kb"])
    return row
http_floor, http_listener = http("b2b_floor"), http("b2b_listener")
paced_floor, paced_listener = http("paced_floor"), http("paced_listener")
paced_rate = int(float(sys.argv[8]))
def http_row(name, row, base):
    ratio = f"{row['node_cpu_us_per_probe']/base['node_cpu_us_per_probe']:.2f} × floor (server part {row['server_cpu_us_per_probe']/base['server_cpu_us_per_probe']:.2f} ×)"
    answered = "" if row["ok"] == row["probes"] else f"; only {row['ok']:,} of {row['probes']:,} answered 200"
    print(f"| {name} | {row['node_cpu_us_per_probe']:.1f} µs CPU (client {row['client_cpu_us_per_probe']:.1f} + server {row['server_cpu_us_per_probe']:.1f}); "
          f"wall {row['wall_us_per_probe']:.0f} µs mean, {row['wall_us_p50']:.0f} / {row['wall_us_p99']:.0f} µs p50 / p99{answered} | {ratio} | |")
http_row("httpGet probe, back to back: C floor server (fixed 200), per probe", http_floor, http_floor)
http_row("httpGet probe, back to back: readiness_listener `GET /readyz`, per probe", http_listener, http_floor)
http_row(f"httpGet probe, {paced_rate}/s: C floor server, per probe", paced_floor, paced_floor)
http_row(f"httpGet probe, {paced_rate}/s: readiness_listener `GET /readyz`, per probe", paced_listener, paced_floor)
http_hwm = http_listener["hwm_kb"] / mib
print(f"| readiness_listener RSS / peak RSS (VmHWM) after {http_listener['probes'] + paced_listener['probes']:,} httpGet probes | {http_listener['rss_kb']/mib:.2f} / {http_hwm:.2f} MiB | | {target(http_hwm <= 1.25, '≤ 1.25 MiB')} |")
latency_rate, http_rate = sys.argv[6], sys.argv[7]
def median_of(prefix):
    """Each key's median over the rounds' files `prefix`N.txt."""
    rounds = [pairs(path.name) for path in sorted(work.glob(f"{prefix}[0-9]*.txt"))]
    return {key: statistics.median(float(r[key]) for r in rounds) for key in rounds[0]}
lat = {name: median_of(f"latency_{name}") for name in ["none", "idle", "load"]}
client = median_of("latency_client")
client_errors = sum(int(pairs(path.name)["errors"]) for path in work.glob("latency_client[0-9]*.txt"))
print(f"| event answer latency at {int(float(latency_rate)):,} events/s, p50 / p99: without `--http` | {float(lat['none']['latency_us_p50']):.0f} / {float(lat['none']['latency_us_p99']):.0f} µs | 1.00 | |")
print(f"| event answer latency, p50 / p99: `--http`, no probes | {float(lat['idle']['latency_us_p50']):.0f} / {float(lat['idle']['latency_us_p99']):.0f} µs | "
      f"{float(lat['idle']['latency_us_p50'])/float(lat['none']['latency_us_p50']):.2f} / {float(lat['idle']['latency_us_p99'])/float(lat['none']['latency_us_p99']):.2f} × without | |")
print(f"| event answer latency, p50 / p99: `--http` while {client['probes']/client['seconds']:,.0f} probes/s hit /readyz ({client_errors} failed) | "
      f"{float(lat['load']['latency_us_p50']):.0f} / {float(lat['load']['latency_us_p99']):.0f} µs | "
      f"{float(lat['load']['latency_us_p50'])/float(lat['none']['latency_us_p50']):.2f} / {float(lat['load']['latency_us_p99'])/float(lat['none']['latency_us_p99']):.2f} × without | |")
print(f"| httpGet probe at {int(float(http_rate)):,}/s (that run): node CPU per probe, wall p50 / p99 | {float(client['node_cpu_us_per_probe']):.1f} µs (client {float(client['client_cpu_us_per_probe']):.1f} + listener {float(client['server_cpu_us_per_probe']):.1f}); {float(client['wall_us_p50']):.0f} / {float(client['wall_us_p99']):.0f} µs | | |")
# The `--service` rows (bench/services.sh).
services, check_period, check_timeout = int(sys.argv[9]), float(sys.argv[10]), float(sys.argv[11])
service_events, datagram_count = int(sys.argv[12]), int(sys.argv[13])
per_second = services / check_period
svc = {name: median_of(f"svc_latency_{name}") for name in ["none", "floor", "accept", "refused", "hang"]}
def p50_p99(row): return f"{row['latency_us_p50']:.0f} / {row['latency_us_p99']:.0f} µs"
none = svc["none"]
print(f"| event answer latency at {int(float(latency_rate)):,} events/s, p50 / p99: C floor listener (this section's rounds) | {p50_p99(svc['floor'])} | 1.00 | |")
print(f"| event answer latency, p50 / p99: readiness_listener, no services (this section's rounds) | {p50_p99(none)} | "
      f"{none['latency_us_p50']/svc['floor']['latency_us_p50']:.2f} / {none['latency_us_p99']/svc['floor']['latency_us_p99']:.2f} × floor | |")
what = {"accept": "a listening socket that accepts", "refused": "a port that refuses",
        "hang": f"a port whose connects never complete (each check times out at {check_timeout:g} s)"}
for kind in ["accept", "refused", "hang"]:
    row = svc[kind]
    p99_ratio = row['latency_us_p99'] / none['latency_us_p99']
    print(f"| event answer latency, p50 / p99: {services} `tcp:` services checked every {check_period:g} s ({per_second:,.0f} checks/s), against {what[kind]} | {p50_p99(row)} | "
          f"{row['latency_us_p50']/none['latency_us_p50']:.2f} / {p99_ratio:.2f} × no services; "
          f"{row['latency_us_p50']/svc['floor']['latency_us_p50']:.2f} / {row['latency_us_p99']/svc['floor']['latency_us_p99']:.2f} × floor | {target(p99_ratio <= 2, 'p99 ≤ 2 × no services')} |")
# Idle with every feature on (issue 23): what the listener costs while nothing happens.
idle_all = pairs("idle_all.txt")
idle_s = float(idle_all["idle_seconds"])
print(f"| idle {idle_s:.0f} s, every feature on (`--http`, hook every 10 s, `--essential`, {services // 2} `tcp:` + {services - services // 2} `exec:true` services every 2 s): "
      f"listener's own CPU; its children's (checks, hook); wake-ups | {float(idle_all['idle_cpu_us'])/1e6:.3f} s ({float(idle_all['idle_cpu_us'])/idle_s/1e4:.2f} % of a core); "
      f"{float(idle_all['idle_child_cpu_us'])/1e6:.3f} s; {int(idle_all['idle_wakeups']) / idle_s:.1f}/s for {services / 2 + 0.1:.1f} timers/s | | |")
for kind in ["accept", "refused", "hang", "exec"]:
    row, floor_row = pairs(f"svc_cpu_{kind}.txt"), pairs(f"svc_floor_cpu_{kind}.txt")
    own, floor_own = float(row["cpu_us_per_check"]), float(floor_row["cpu_us_per_check"])
    rate = int(row["checks"]) / float(row["idle_seconds"])
    if kind == "exec":
        child, floor_child = float(row["child_cpu_us_per_check"]), float(floor_row["child_cpu_us_per_check"])
        print(f"| CPU per `exec:true` check ({services} services every {check_period:g} s, no events; {int(row['checks']):,} checks, {rate:,.0f}/s): listener's own + its `sh` children's | "
              f"{own:,.0f} + {child:,.0f} µs | own {own/floor_own:.2f} × C floor ({floor_own:,.0f} µs, fork + exec + pidfd); children {child/floor_child:.2f} × ({floor_child:,.0f} µs) | |")
    else:
        print(f"| CPU per `tcp:` check, {what[kind]} ({services} services every {check_period:g} s, no events; {int(row['checks']):,} checks, {rate:,.0f}/s) | "
              f"{own:.0f} µs | {own/floor_own:.2f} × C floor ({floor_own:.0f} µs: connect, poll, close) | {target(own < 1000, 'microseconds (< 1 ms)')} |")
rss_row = pairs("svc_rss.txt")
idle_kb, at_kb, end_kb, hwm_kb = (int(rss_row[k]) for k in ["rss_kb_idle", "rss_kb_at_1000", "rss_kb_end", "hwm_kb_end"])
svc_flat = end_kb <= at_kb * 1.02
print(f"| readiness_listener RSS, {services} `tcp:` + 1 notify service: at READY / after 1,000 events / after {service_events:,} events and {int(rss_row['datagrams']):,} datagrams | "
      f"{idle_kb} / {at_kb} / {end_kb} KiB | peak (VmHWM) {hwm_kb} KiB, anonymous {int(rss_row['anon_kb_end'])} KiB | "
      f"{target(hwm_kb <= 640 and svc_flat, '≤ 640 KiB and flat')} |")
print(f"| that run: open descriptors before / after; services ready at the end; events/s; datagrams/s; log lines | {rss_row['fds_idle']} / {rss_row['fds_end']}; "
      f"{rss_row['ready_services']} of {services + 1}; {float(rss_row['rate']):,.0f}/s; {int(rss_row['datagrams'])/float(rss_row['datagram_seconds']):,.0f}/s; {rss_row['log_lines']} | | |")
# A real supervisord with many processes (bench/many_processes.sh).
many_call = pairs("many_call.txt")
quiet, lost = median_of("many_quiet"), median_of("many_lost")
lost_every = int(sys.argv[14])
print(f"| getAllProcessInfo of {many_call['processes']} processes, supervisord 4.3.0, from its Python client (median of 5) | {float(many_call['call_ms']):.0f} ms | | |")
def due(row): return f"{row['scheduled_us_p50']:,.0f} / {row['scheduled_us_p99']:,.0f} / {row['scheduled_us_max']:,.0f} µs"
print(f"| event answer latency from when each event was due, p50 / p99 / max: `--http`, XML-RPC to that supervisord, no event lost | {due(quiet)} | 1.00 | |")
lost_ratio = lost['scheduled_us_p99'] / quiet['scheduled_us_p99']
print(f"| the same, one event in {lost_every} a TICK after a lost event (a getAllProcessInfo of {many_call['processes']} processes each, asked by the loop, its answer read 50 processes a turn); listener CPU per event | "
      f"{due(lost)}; {lost['cpu_us_per_event']:.0f} µs (no event lost: {quiet['cpu_us_per_event']:.0f} µs) | p99 {lost_ratio:,.0f} × no call | "
      f"{target(lost_ratio <= 2, 'p99 ≤ 2 × no call (issue 23: no call holds events back)')} |")
# The `--start-after` rows (bench/start_order.sh prints them).
print((work / "start_order_rows.md").read_text(), end="")
# /metrics with 100 programs against one exec probe: the listener's CPU per
# scrape, and one exec of readiness_probe's CPU (hyperfine's user + system,
# without the runtime; `runc exec` below costs far more).
scrape = http("scrape")
probe_cpu_us = statistics.median(
    (r["user"] + r["system"]) * 1e6 for path in sorted(work.glob("round*.json")) for r in json.loads(path.read_text())["results"] if r["command"] == "probe")
scrape_ratio = scrape["server_cpu_us_per_probe"] / probe_cpu_us
answered = "" if scrape["ok"] == scrape["probes"] else f"; only {scrape['ok']:,} of {scrape['probes']:,} answered 200"
print(f"| `GET /metrics`, 100 programs: listener CPU per scrape (node, with the client) | {scrape['server_cpu_us_per_probe']:.1f} µs ({scrape['node_cpu_us_per_probe']:.1f} µs); "
      f"wall {scrape['wall_us_p50']:.0f} / {scrape['wall_us_p99']:.0f} µs p50 / p99{answered} | {scrape_ratio:.2f} × one readiness_probe exec's CPU ({probe_cpu_us:.0f} µs) | "
      f"{target(scrape_ratio < 1, '< 1 × an exec probe')} |")
print(f"| readiness_listener RSS / peak RSS (VmHWM) after {scrape['probes']:,} scrapes of 100 programs | {scrape['rss_kb']/mib:.2f} / {scrape['hwm_kb']/mib:.2f} MiB | | "
      f"{target(scrape['hwm_kb']/mib <= 1.25, '≤ 1.25 MiB')} |")
runc_rounds = sorted(work.glob("runc*.json")) + sorted(work.glob("paced_runc*.json"))
if runc_rounds:
    # Medians over the rounds of each round's median wall time and mean CPU
    # (hyperfine's user + system: runc and everything it waited for).
    wall, cpu = {}, {}
    for path in runc_rounds:
        for r in json.loads(path.read_text())["results"]:
            wall.setdefault(r["command"], []).append(r["median"] * 1000)
            cpu.setdefault(r["command"], []).append((r["user"] + r["system"]) * 1000)
    wall = {name: statistics.median(values) for name, values in wall.items()}
    cpu = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"| `runc exec` of the static no-op (the runtime's own cost) | {wall['runc_noop']:.2f} ms wall, {cpu['runc_noop']:.2f} ms CPU | 1.00 | |")
    print(f"| `runc exec` of the probe (what one probe costs the node) | {wall['runc_probe']:.2f} ms wall, {cpu['runc_probe']:.2f} ms CPU | {wall['runc_probe']/wall['runc_noop']:.2f} × (ours: {wall['runc_probe']-wall['runc_noop']:+.2f} ms wall, {cpu['runc_probe']-cpu['runc_noop']:+.2f} ms CPU) | |")
    # (a) / (b): the exec probe against the httpGet probe, node CPU per probe.
    print(f"| `runc exec` of the probe, a {1000/float(sys.argv[8]):.0f} ms pause before each | {wall['runc_probe_paced']:.2f} ms wall, {cpu['runc_probe_paced']:.2f} ms CPU | {cpu['runc_probe_paced']/cpu['runc_probe']:.2f} × back to back (CPU) | |")
    for how, name, row in [("back to back", "runc_probe", http_listener), (f"{paced_rate}/s", "runc_probe_paced", paced_listener)]:
        exec_us, http_us = cpu[name] * 1000, row["node_cpu_us_per_probe"]
        ratio = exec_us / http_us
        print(f"| (a) / (b), node CPU per probe, {how}: `runc exec` of the probe / httpGet of /readyz | {exec_us/1000:.2f} ms / {http_us:.1f} µs | "
              f"httpGet is {ratio:,.0f} × cheaper (wall {wall[name]*1000/row['wall_us_per_probe']:,.0f} ×) | {target(ratio >= 100, '≥ 100 × (b ≤ a / 100)')} |")
    # The issue's measure of a scrape: what one exec probe costs the node.
    scrape_vs_exec = cpu["runc_probe"] * 1000 / scrape["node_cpu_us_per_probe"]
    print(f"| `runc exec` of the probe / `GET /metrics` of 100 programs, node CPU | {cpu['runc_probe']:.2f} ms / {scrape['node_cpu_us_per_probe']:.1f} µs | "
          f"a scrape is {scrape_vs_exec:,.0f} × cheaper | {target(scrape_vs_exec > 1, 'a scrape < an exec probe')} |")
    # A fleet: 1,000 pods probed every 10 s is 100 probes per second, each one
    # finding the processes at rest: the paced figures.
    print(f"| 1,000 pods probed every 10 s (100 probes/s), node CPU: exec / httpGet ({paced_rate}/s figures) | "
          f"{100*cpu['runc_probe_paced']/1e3:.3f} / {100*paced_listener['node_cpu_us_per_probe']/1e6:.4f} cores | | |")
PY
cat "$out/results.md"
echo
echo "written to $out/results.md"
