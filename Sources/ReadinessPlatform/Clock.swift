import CReadiness
@preconcurrency import Glibc
package import ReadinessCore

/// Wall-clock time for records and logs, monotonic time for deadlines.
package enum Clock {
    package static func now() -> Timestamp {
        let time = system_clock(CLOCK_REALTIME)
        return Timestamp(millisecondsSinceEpoch: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }

    package static func monotonicMilliseconds() -> Int64 {
        let time = system_clock(CLOCK_MONOTONIC)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    package static func sleep(milliseconds: Int64) { system_sleep(milliseconds: milliseconds) }
}
