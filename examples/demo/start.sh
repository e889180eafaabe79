#!/bin/sh
# The demo's start.sh: initializes a pretend service for a few seconds.
# DEMO_FAIL=1 makes it fail with status 3 instead.
echo "start.sh: loading configuration"
sleep "${DEMO_STEP:-1}"
echo "start.sh: migrating the database"
sleep "${DEMO_STEP:-1}"
if [ "${DEMO_FAIL:-0}" = 1 ]; then
    echo "start.sh: migration failed" >&2
    exit 3
fi
echo "start.sh: warming caches"
sleep "${DEMO_STEP:-1}"
touch "$DEMO_DIR/service-up"
echo "start.sh: done"
exit 0
