/// When the listener's periodic run of the hook (`--hook-interval`) starts,
/// and when its loop must wake for it: values computed from `now` (monotonic
/// milliseconds). A wake-up time is never one already past for a run that
/// will not start this turn: a loop that polls with the time left would spin.
package struct HookSchedule: Equatable, Sendable {
    package let intervalMilliseconds: Int64
    /// When the next run may start; nil: as soon as one can.
    package private(set) var nextRun: Int64?

    package init(intervalMilliseconds: Int64) {
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// The common check has just started to pass: the next run is due at once.
    package mutating func runAtOnce() { nextRun = nil }

    /// Whether a run starts now. `canRun`: the common check passes, a hook
    /// is installed and no run is going on. When one starts, the next is due
    /// an interval later.
    package mutating func startsRun(now: Int64, canRun: Bool) -> Bool {
        guard canRun, nextRun.map({ now >= $0 }) ?? true else { return false }
        nextRun = now + intervalMilliseconds
        return true
    }

    /// When the loop must wake for the hook, asked after `startsRun` in the
    /// same turn: when a running probe needs it (`runningUntil`: its deadline,
    /// where the caller kills it, or sooner to look for an exit no pidfd
    /// shows); else the next run when one can
    /// start; else (the common check fails, no hook) an interval from now,
    /// to look again for a hook installed meanwhile. Always later than `now`
    /// when nothing is running.
    package func wakeAt(now: Int64, runningUntil running: Int64?, canRun: Bool) -> Int64 {
        if let running { return running }
        if canRun, let nextRun, nextRun > now { return nextRun }
        return now + intervalMilliseconds
    }
}

/// The state of start.sh a hook verdict was taken for: the common check
/// passing for one recorded state (its event serial and when it was
/// entered). Another state that passes too, such as a new run that exited 0
/// with its earlier events lost, needs a run of the hook of its own.
package struct PassingState: Equatable, Sendable {
    private let serial: UInt64?
    private let since: Timestamp?

    /// Nil while the common check fails.
    package init?(_ record: StatusRecord) {
        guard Verdict.commonCheck(record).isReady else { return nil }
        serial = record.serial
        since = record.since
    }
}
