import CReadiness
package import ReadinessCore

/// Wall-clock time for records and logs, monotonic time for deadlines.
package enum Clock {
    package static func now() -> Timestamp { Timestamp(millisecondsSinceEpoch: milliseconds(CLOCK_REALTIME)) }

    package static func monotonicMilliseconds() -> Int64 { milliseconds(CLOCK_MONOTONIC) }

    package static func sleep(milliseconds: Int64) { system_sleep(milliseconds: milliseconds) }

    private static func milliseconds(_ clock: clockid_t) -> Int64 {
        let time = system_clock(clock)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
