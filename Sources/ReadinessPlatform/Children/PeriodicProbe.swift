import CReadiness
package import ReadinessCore

/// The image's hook, run on the listener's own timer for `/readyz`
/// (`--hook-interval`): through readiness_probe, so with exactly the exec
/// probe's containment (own process group, deadline, output tail, every
/// descendant killed) and verdict. The probe runs as a `BackgroundCommand`
/// whose output the listener's poll loop watches: nothing here blocks.
package struct PeriodicProbe: ~Copyable {
    private let arguments: [String]
    private var schedule: HookSchedule
    /// Past this, a run is killed: the probe keeps its hook's deadline
    /// itself, so only a probe that hangs gets here.
    private let runLimitMilliseconds: Int64
    private var running: BackgroundCommand?
    /// Whether a run could start at the last `advance`.
    private var canRun = false
    /// Results of runs started before the last `restart()` are not taken.
    private var epoch = 0
    private var runEpoch = 0
    /// The latest run's verdict since the last `restart()`.
    package private(set) var latest: Verdict?

    /// `hookTimeout` is `--hook-timeout` as given (seconds), already checked
    /// to be `hookTimeoutMilliseconds`.
    package init(
        probePath: String, statusPath: String, hookPath: String, hookTimeout: String, hookTimeoutMilliseconds: Int64, intervalMilliseconds: Int64
    ) {
        arguments = [probePath, "--status-file", statusPath, "--hook", hookPath, "--hook-timeout", hookTimeout]
        schedule = HookSchedule(intervalMilliseconds: intervalMilliseconds)
        runLimitMilliseconds = hookTimeoutMilliseconds + 2000
    }

    /// No `--hook-interval`: never runs.
    package static var disabled: PeriodicProbe {
        PeriodicProbe(probePath: "", statusPath: "", hookPath: "", hookTimeout: "", hookTimeoutMilliseconds: 0, intervalMilliseconds: 0)
    }

    package var isEnabled: Bool { !arguments[0].isEmpty }

    /// What to poll for the running probe, or -1: its output, and once that
    /// ended (a probe that closed it early), its exit.
    package var outputDescriptor: Int32 {
        switch running {
        case .some(let command): command.outputDescriptor >= 0 ? command.outputDescriptor : command.exitDescriptor
        case .none: -1
        }
    }

    /// When the loop must wake, asked after `advance` in the same turn: a
    /// running probe's limit, the next run, or (when none can start) an
    /// interval from `now` to look again; never a moment already past for
    /// something not done this turn (`HookSchedule`). Nil when disabled.
    package func wakeAt(now: Int64) -> Int64? {
        guard isEnabled else { return nil }
        return schedule.wakeAt(now: now, runningUntil: running?.wakeAt(now: now), canRun: canRun)
    }

    /// Forgets the latest verdict and runs again as soon as asked: the
    /// common check has just passed, and the hook has not been run for it.
    package mutating func restart() {
        epoch += 1
        latest = nil
        schedule.runAtOnce()
    }

    /// Kills a run past its limit (whether or not one could start now),
    /// then starts one if `canRun` (the common check passes and a hook is
    /// installed) and one is due; an error to log if something went wrong.
    package mutating func advance(now: Int64, canRun: Bool) -> String? {
        var problem: String?
        if running?.exitUnwatched == true { readOutput() }
        if let killAt = running?.killAt, now >= killAt, let overdue = running.take() {
            let ended = overdue.kill()
            finish(ended)
            if ended.termination == .timedOut { problem = "readiness_probe ran past \(runLimitMilliseconds) ms and was killed" }
        }
        self.canRun = canRun
        guard running == nil, schedule.startsRun(now: now, canRun: canRun) else { return problem }
        do throws(BackgroundCommand.StartFailure) {
            running = try BackgroundCommand.start(arguments: arguments, timeoutMilliseconds: runLimitMilliseconds)
        } catch {
            if case .spawn = error { latest = Verdict(.internalError, "cannot run \(arguments[0]) for the hook: \(error)") }
            return "cannot run readiness_probe: \(error)"
        }
        runEpoch = epoch
        return problem
    }

    /// Reads what the probe printed; at its end, takes its verdict.
    package mutating func readOutput() {
        guard var current = running.take() else { return }
        if let ended = current.readOutput() {
            finish(ended)
        } else {
            running = consume current
        }
    }

    private mutating func finish(_ ended: BackgroundCommand.Ended) {
        guard runEpoch == epoch else { return }
        switch ended.termination {
        case .exited(let code): latest = Verdict(probeExit: code, output: ended.outputHead)
        case .signaled(let signal): latest = Verdict(.internalError, "readiness_probe for the hook died from signal \(signal)")
        case .timedOut: latest = Verdict(.internalError, "readiness_probe for the hook died (killed past its limit)")
        }
    }
}
