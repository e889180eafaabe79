import CReadiness
package import ReadinessCore

/// The image's hook, run on the listener's own timer for `/readyz`
/// (`--hook-interval`): through readiness_probe, so with exactly the exec
/// probe's containment (own process group, deadline, output tail, every
/// descendant killed) and verdict. The probe runs as a `BackgroundCommand`
/// whose output the listener's poll loop watches: nothing here blocks.
package struct PeriodicProbe: ~Copyable {
    private let arguments: [String]
    private let intervalMilliseconds: Int64
    /// Past this, a run is killed: the probe keeps its hook's deadline
    /// itself, so only a probe that hangs gets here.
    private let runLimitMilliseconds: Int64
    private var running: BackgroundCommand?
    private var nextRun: Int64 = 0
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
        self.intervalMilliseconds = intervalMilliseconds
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

    /// When the loop must wake: the next run, or a running one's limit;
    /// nil when disabled.
    package var wakeAt: Int64? {
        guard isEnabled else { return nil }
        return switch running {
        case .some(let command): command.killAt
        case .none: nextRun
        }
    }

    /// Forgets the latest verdict and runs again as soon as asked: the
    /// common check has just passed, and the hook has not been run for it.
    package mutating func restart() {
        epoch += 1
        latest = nil
        nextRun = 0
    }

    /// Starts a run if one is due and none is running; an error to log if
    /// it cannot be started.
    package mutating func startIfDue() -> String? {
        let now = Clock.monotonicMilliseconds()
        if running != nil, let killAt = wakeAt, now >= killAt, let overdue = running.take() {
            finish(overdue.kill())
            return "readiness_probe ran past \(runLimitMilliseconds) ms and was killed"
        }
        guard running == nil, now >= nextRun else { return nil }
        nextRun = now + intervalMilliseconds
        do throws(BackgroundCommand.StartFailure) {
            running = try BackgroundCommand.start(arguments: arguments, timeoutMilliseconds: runLimitMilliseconds)
        } catch {
            if case .spawn = error { latest = Verdict(.internalError, "cannot run \(arguments[0]) for the hook: \(error)") }
            return "cannot run readiness_probe: \(error)"
        }
        runEpoch = epoch
        return nil
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
