#!/usr/bin/env bash
# Runs test suites again and again, the last rounds beside a CPU hog, and
# prints each test that failed at least once with its count. `make flake-hunt`
# calls it; it is not part of `make test`.
#
# Usage: Tests/flake-hunt.sh ROUNDS HOG_ROUNDS OUT_DIR -- NAME=COMMAND [NAME=COMMAND ...]
#   Each NAME=COMMAND is one set of suites: a `swift test` command line run
#   through sh -c, to which --xunit-output is added. Every round runs every set.
#   The last HOG_ROUNDS rounds run beside one busy loop per core.
# Exits 1 if any test failed in any round, 0 otherwise.
set -uo pipefail
rounds=$1 hog_rounds=$2 out=$3
shift 3
[ "${1:-}" = "--" ] && shift
mkdir -p "$out"
rm -f "$out"/*.xml "$out"/*.log
hog=()
stop_hog() {
    for pid in "${hog[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    hog=()
}
trap stop_hog EXIT
started=$(date +%s)
for round in $(seq 1 "$rounds"); do
    label="round $round/$rounds"
    if [ "$round" -gt $((rounds - hog_rounds)) ]; then
        for _ in $(seq 1 "$(nproc)"); do
            sh -c 'while :; do :; done' &
            hog+=("$!")
        done
        label="$label, beside a CPU hog of $(nproc) busy loops"
    fi
    for set in "$@"; do
        name=${set%%=*} command=${set#*=}
        begun=$(date +%s)
        sh -c "$command --xunit-output $out/$name-$round.xml" >"$out/$name-$round.log" 2>&1
        status=$?
        echo "== $label: $name exited $status after $(( $(date +%s) - begun )) s"
    done
    stop_hog
done
echo "== $rounds rounds in $(( $(date +%s) - started )) s"
# Swift Testing writes its report as NAME.xml (NAME-swift-testing.xml beside XCTest's).
python3 - "$out" <<'PY'
import collections, glob, os, sys
import xml.etree.ElementTree as ET
failed, ran, broken = collections.Counter(), collections.Counter(), []
for path in sorted(glob.glob(f"{sys.argv[1]}/*.xml")):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        broken.append(f"{path}: {error}")
        continue
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}/{case.get('name')}"
        ran[name] += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failed[name] += 1
for log in sorted(glob.glob(f"{sys.argv[1]}/*.log")):
    stem = log[:-len(".log")]
    if not any(os.path.exists(stem + suffix) for suffix in (".xml", "-swift-testing.xml")):
        broken.append(f"{log}: the run left no report (it crashed or did not build)")
print(f"{sum(ran.values())} test runs of {len(ran)} tests")
for name, count in failed.most_common():
    print(f"FAILED {count} of {ran[name]}: {name}")
for line in broken:
    print(f"BROKEN {line}")
print(f"{len(failed)} tests failed at least once")
sys.exit(1 if failed or broken else 0)
PY
