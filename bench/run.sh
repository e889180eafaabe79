#!/usr/bin/env bash
# make bench: start-up and throughput figures as ratios against floors
# measured in the same run. No assertion: it prints a table and writes it
# to .build/bench/results.md.
#   BENCH_ROUNDS (default 5) rounds of BENCH_RUNS (default 300) runs per command
#   BENCH_EVENTS (default 200000) events for the Swift listener (the Python peer gets a quarter)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
release=$1
out=$repo/.build/bench
rounds=${BENCH_ROUNDS:-5}
runs=${BENCH_RUNS:-300}
events=${BENCH_EVENTS:-200000}
mkdir -p "$out"
work=$(mktemp -d /dev/shm/readiness-bench.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O2 -Wall -o "$work/driver" "$repo/bench/driver.c"
cc -O2 -Wall -o "$work/floor_listener" "$repo/bench/floor_listener.c"

# A status file that says READY, written by the release listener itself; its
# parent, this shell, stands in for supervisord (alive for the whole run).
printf 'ver:3.0 server:supervisor serial:1 pool:p poolserial:1 eventname:PROCESS_STATE_EXITED len:70\nprocessname:start groupname:start from_state:RUNNING expected:1 pid:77' > "$work/event"
"$release/readiness_listener" --status-file "$work/run/status" < "$work/event" > /dev/null 2>&1
status=$work/run/status
"$release/readiness_probe" --status-file "$status" --hook "$work/none" > /dev/null
sh "$repo/bench/readiness_probe_peer.sh" "$status" "$work/none" > /dev/null

probe="$release/readiness_probe --status-file $status --hook $work/none"
probe_hook="$release/readiness_probe --status-file $status --hook /bin/true"
shell_peer="/bin/sh $repo/bench/readiness_probe_peer.sh $status $work/none"

# Interleaved: every round runs each command in turn; the figure is the median
# of the rounds' medians.
for round in $(seq 1 "$rounds"); do
    hyperfine -N --style none --warmup 20 --runs "$runs" --export-json "$work/round$round.json" \
        -n true /bin/true -n probe "$probe" -n shell_peer "$shell_peer" -n probe_hook "$probe_hook" > /dev/null
done

listener() { taskset -c 0 "$work/driver" "$@" 2>/dev/null; }
listener "$events" "$work/floor_listener" > "$work/floor.txt"
listener "$events" "$release/readiness_listener" --status-file "$work/swift/status" > "$work/swift.txt"
listener $((events / 4)) "$repo/.venv/bin/python" "$repo/bench/listener_peer.py" "$work/python/status" > "$work/python.txt"
listener 1000000 "$release/readiness_listener" --status-file "$work/swift-1m/status" > "$work/swift-1m.txt"

python3 - "$work" "$release" "$rounds" "$runs" > "$out/results.md" <<'PY'
import json, os, pathlib, platform, statistics, subprocess, sys
work, release, rounds, runs = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
medians = {}
for path in sorted(work.glob("round*.json")):
    for result in json.loads(path.read_text())["results"]:
        medians.setdefault(result["command"], []).append(result["median"] * 1000)
ms = {name: statistics.median(values) for name, values in medians.items()}
def listener(name):
    return dict(item.split("=") for item in (work / f"{name}.txt").read_text().split())
floor, swift, python, million = (listener(n) for n in ["floor", "swift", "python", "swift-1m"])
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
print(f"Machine: {cpu}, {os.cpu_count()} cores, Linux {platform.release()}; {rounds} interleaved rounds of {runs} runs each (hyperfine -N).")
print()
print("| what | figure | ratio |")
print("| --- | --- | --- |")
print(f"| `/bin/true` (the floor) | {ms['true']:.2f} ms | 1.00 |")
print(f"| probe, ready path, no hook | {ms['probe']:.2f} ms | {ms['probe']/ms['true']:.2f} × floor |")
print(f"| shell peer, same check | {ms['shell_peer']:.2f} ms | probe is {ms['shell_peer']/ms['probe']:.1f} × faster |")
print(f"| probe with hook `/bin/true` | {ms['probe_hook']:.2f} ms | {ms['probe_hook']/ms['true']:.2f} × running the hook directly |")
for name, row in [("floor listener (C, frames and answers only)", floor), ("readiness_listener", swift), ("Python childutils peer", python)]:
    ratio = float(row['rate']) / float(python['rate'])
    print(f"| {name}: events/s | {float(row['rate']):,.0f} | {ratio:.1f} × Python |")
for name, row in [("floor listener", floor), ("readiness_listener", swift), ("Python childutils peer", python)]:
    ratio = float(python['cpu_us_per_event']) / float(row['cpu_us_per_event'])
    print(f"| {name}: own CPU per event | {float(row['cpu_us_per_event']):.2f} µs | Python uses {ratio:.1f} × this |")
print(f"| readiness_listener RSS idle / after 1,000 / after 1,000,000 events | {int(million['rss_kb_idle'])/1024:.1f} / {int(million['rss_kb_at_1000'])/1024:.1f} / {int(million['rss_kb_end'])/1024:.1f} MiB | peak (VmHWM) {int(million['hwm_kb_end'])/1024:.1f} MiB; anonymous {int(million['anon_kb_end'])/1024:.2f} MiB, the rest is the binary's own clean pages |")
print(f"| Python peer RSS | {int(python['rss_kb_end'])/1024:.1f} MiB | anonymous {int(python['anon_kb_end'])/1024:.2f} MiB |")
for binary in ["readiness_probe", "readiness_listener"]:
    size = os.path.getsize(os.path.join(release, binary))
    print(f"| {binary} size (static, stripped) | {size/1048576:.2f} MiB | |")
PY
cat "$out/results.md"
echo
echo "written to $out/results.md"
