"""The `--start-after` rows of `make bench` (bench/start_order.sh), as
markdown table rows on stdout.

usage: start_order_rows.py WORK ROUNDS PROGRAMS RATE
WORK/so/script is the driver's script (t=P marks the event that makes P's
conditions hold); for each round N and each kind (none: no --start-after,
graph: with it), WORK/so_latency_KINDN.txt is the driver's summary,
WORK/so/KINDN/events its `INDEX SENT_NS ANSWERED_NS` lines, /calls the fake
supervisord's `NS METHOD ARGUMENT` lines and /listener.log the listener's log.
"""
import statistics, sys
from pathlib import Path

work, rounds, programs, rate = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])


def target(ok, text):
    """The issues' target for the row, and whether this run met it."""
    return f"{text}: {'met' if ok else '**missed**'}"


def pairs(path):
    return dict(item.split("=") for item in path.read_text().split())


def percentile(values, fraction):
    """As bench/driver.c takes them: the sorted values' element at count × fraction."""
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))]


def rows():
    """Prints the rows; raises when a run left no usable files."""
    triggers = {}  # event index -> the programs whose conditions it makes hold
    for index, line in enumerate((work / "so" / "script").read_text().splitlines()):
        for flag in line.split(" ", 1)[0].split(","):
            if flag.startswith("t="):
                triggers.setdefault(index, []).append(flag[2:])

    delays, first_call, gaps, calls_before, trigger_latency, trigger_latency_none = [], [], [], [], [], []
    other_latency, other_latency_none = [], []
    late = early = missing = twice = elsewhere = refused = 0
    for round in range(1, rounds + 1):
        for kind in ["none", "graph"]:
            run = work / "so" / f"{kind}{round}"
            events = {}
            for line in (run / "events").read_text().splitlines():
                index, sent, answered = map(int, line.split())
                events[index] = (sent, answered)
            others = [(answered - sent) / 1e3 for index, (sent, answered) in events.items() if index not in triggers]
            if kind == "none":
                trigger_latency_none += [(events[i][1] - events[i][0]) / 1e3 for i in triggers]
                other_latency_none += others
                continue
            other_latency += others
            calls = []
            for line in (run / "calls").read_text().splitlines():
                at, method, *argument = line.split()
                calls.append((int(at), method, argument[0] if argument else ""))
            starts = {}
            for at, method, argument in calls:
                if method == "startProcess":
                    starts.setdefault(argument, []).append(at)
            log = (run / "listener.log").read_text()
            elsewhere += log.count("was started by someone else")
            refused += log.count("cannot start program")
            for index, names in triggers.items():
                sent, answered = events[index]
                trigger_latency.append((answered - sent) / 1e3)
                for name in names:
                    if name not in starts:
                        missing += 1
                        continue
                    if len(starts[name]) > 1:
                        twice += 1
                    at = starts[name][0]
                    if at < sent:
                        early += 1
                        continue
                    if at > answered:
                        late += 1
                    delays.append((at - sent) / 1e3)
                    # The calls the listener made for it: from the event's write to the start.
                    between = [c for c, _, _ in calls if sent <= c <= at]
                    calls_before.append(len(between) - 1)
                    first_call.append((between[0] - sent) / 1e3)
                    gaps += [(b - a) / 1e3 for a, b in zip(between, between[1:])]


    def median_of(kind):
        """Each key's median over the rounds' driver summaries."""
        rows = [pairs(path) for path in sorted(work.glob(f"so_latency_{kind}[0-9]*.txt"))]
        return {key: statistics.median(float(row[key]) for row in rows) for key in rows[0]}


    none, graph = median_of("none"), median_of("graph")
    expected = programs * rounds
    checks = []
    if missing:
        checks.append(f"**{missing} never started**")
    if twice:
        checks.append(f"**{twice} asked twice**")
    if early:
        checks.append(f"**{early} before their conditions held**")
    if elsewhere:
        checks.append(f"**{elsewhere} said started by someone else**")
    if refused:
        checks.append(f"**{refused} failed starts**")
    if graph.get("await_timeouts", 0):
        checks.append(f"**STARTING sent without a start {graph['await_timeouts']:.0f} times**")
    checks.append(f"{late} after their event's answer")
    if delays:
        print(f"| `--start-after`, {programs} programs in a dependency graph (1–2 conditions each): from the write of the event that makes a program's conditions hold "
              f"to its `startProcess` reaching the server, p50 / p99 / max ({len(delays)} starts in {rounds} round{'s' if rounds != 1 else ''}; {'; '.join(checks)}) | "
              f"{percentile(delays, 0.5):,.0f} / {percentile(delays, 0.99):,.0f} / {max(delays):,.0f} µs | "
              f"{percentile(delays, 0.5) / none['latency_us_p50']:.1f} × the event answer p50 without `--start-after` ({none['latency_us_p50']:.0f} µs); "
              f"the first call after {percentile(first_call, 0.5):.0f} µs, then {statistics.median(calls_before):.0f} calls before the start "
              f"(getProcessInfo of the program and each dependency) {percentile(gaps, 0.5):.0f} µs apart (p50) | |")
    else:
        print(f"| `--start-after`, {programs} programs in a dependency graph: time to `startProcess` | **no start seen** ({'; '.join(checks)}) | | |")
    print(f"| event answer latency at {int(rate):,} events/s, p50 / p99: readiness_listener without `--start-after`, the same events (this section's rounds) | "
          f"{none['latency_us_p50']:.0f} / {none['latency_us_p99']:.0f} µs | 1.00 | |")
    p99_ratio = graph["latency_us_p99"] / none["latency_us_p99"]
    print(f"| event answer latency, p50 / p99: `--start-after`, {programs} programs started in a dependency graph during the run "
          f"({len(triggers)} of {int(graph['events']):,} events each make a program's conditions hold: their answers p50 "
          f"{percentile(trigger_latency, 0.5):,.0f} µs, max {max(trigger_latency):,.0f} µs, against {percentile(trigger_latency_none, 0.5):,.0f} µs without; "
          f"the other events' p50 {percentile(other_latency, 0.5):,.0f} µs, against {percentile(other_latency_none, 0.5):,.0f} µs without; "
          f"listener CPU per event {graph['cpu_us_per_event']:,.0f} µs, against {none['cpu_us_per_event']:,.0f} µs without) | "
          f"{graph['latency_us_p50']:.0f} / {graph['latency_us_p99']:.0f} µs | "
          f"{graph['latency_us_p50'] / none['latency_us_p50']:.2f} / {p99_ratio:.2f} × without | "
          f"{target(p99_ratio <= 2, 'p99 ≤ 2 × without (issue 25: events never held back by starts)')} |")


try:
    rows()
except (OSError, KeyError, ValueError, IndexError, ZeroDivisionError, statistics.StatisticsError) as error:
    # A run that failed (the listener refused its arguments, say) costs these rows, not the table.
    print(f"| `--start-after` rows | **not measured**: {type(error).__name__}: {error} (see the section's logs) | | |")
