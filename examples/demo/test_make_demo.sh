#!/usr/bin/env bash
# Runs `make demo` for real, in short mode, as `make test`'s first step (it
# cannot run inside `swift test`, which holds SwiftPM's build lock that
# `make demo`'s build step needs). Checks that the demo turns ready, that
# FAIL=1 shows START_FAILED, and that neither leaves a process or a file.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
export DEMO_INTERVAL=0.2 DEMO_STEP=0.3
failures=0

check() {  # check NAME EXPECTED-TEXT [make arguments]
    local name=$1 expected=$2
    shift 2
    local output directory
    output=$(make -C "$repo" --no-print-directory demo "$@" 2>&1)
    local status=$?
    directory=$(printf '%s\n' "$output" | sed -n 's/.*--status-file \(\/[^ ]*\)\/run\/status.*/\1/p' | head -n 1)
    if [ "$status" != 0 ]; then
        echo "make demo $*: exit $status"; failures=$((failures + 1))
    elif ! printf '%s\n' "$output" | grep -q "$expected"; then
        echo "make demo $*: no line with '$expected'"; failures=$((failures + 1))
    elif [ -z "$directory" ]; then
        echo "make demo $*: did not name its directory"; failures=$((failures + 1))
    elif [ -e "$directory" ]; then
        echo "make demo $*: left $directory behind"; failures=$((failures + 1))
    elif pgrep -f "$directory" > /dev/null; then
        echo "make demo $*: left processes running: $(pgrep -af "$directory")"; failures=$((failures + 1))
    else
        echo "ok: $name"
        return
    fi
    printf '%s\n' "$output" | sed 's/^/  | /'
}

check "make demo turns ready and leaves nothing behind" "READY           program start exited with status 0; hook passed"
check "make demo FAIL=1 shows START_FAILED and leaves nothing behind" "START_FAILED    program start exited with status 3" FAIL=1
exit $((failures > 0))
