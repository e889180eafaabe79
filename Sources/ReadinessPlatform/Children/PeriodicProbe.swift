import CReadiness
package import ReadinessCore

/// The image's hook, run on the listener's own timer for `/readyz`
/// (`--hook-interval`): through readiness_probe, so with exactly the exec
/// probe's containment (own process group, deadline, output tail, every
/// descendant killed) and verdict. The probe runs as a `BackgroundCommand`
/// whose output the listener's `EventLoop` watches: nothing here blocks.
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

    /// Watches the running probe this turn (its output, and once that ended,
    /// a probe that closed it early, its exit), and wakes the loop, asked
    /// after `advance` in the same turn: at a running probe's limit, the next
    /// run, or (when none can start) an interval from `now` to look again;
    /// never at a moment already past for something not done this turn
    /// (`HookSchedule`). Nothing when disabled.
    package func watch(in loop: inout EventLoop, now: Int64) {
        guard isEnabled else { return }
        switch running {
        case .some(let command): loop.watch(command.outputDescriptor >= 0 ? command.outputDescriptor : command.exitDescriptor, as: .hook)
        case .none: break
        }
        loop.wake(at: schedule.wakeAt(now: now, runningUntil: running?.wakeAt(now: now), canRun: canRun), for: .hook)
    }

    /// Forgets the latest verdict and runs again as soon as asked: the
    /// common check has just passed, and the hook has not been run for it.
    package mutating func restart() {
        epoch += 1
        latest = nil
        schedule.runAtOnce()
    }

    /// Starts a run if `canRun` (the common check passes and a hook is
    /// installed), none is going on and one is due; an error to log if it
    /// cannot start.
    package mutating func advance(now: Int64, canRun: Bool) -> String? {
        self.canRun = canRun
        guard running == nil, schedule.startsRun(now: now, canRun: canRun) else { return nil }
        do throws(BackgroundCommand.StartFailure) {
            running = try BackgroundCommand.start(arguments: arguments, timeoutMilliseconds: runLimitMilliseconds)
        } catch {
            if case .spawn = error { latest = Verdict(.internalError, "cannot run \(arguments[0]) for the hook: \(error)") }
            return "cannot run readiness_probe: \(error)"
        }
        runEpoch = epoch
        return nil
    }

    /// After the loop's wait (`woken`: it found the run's output or exit
    /// ready): reads what the probe printed, kills a run past its limit,
    /// and at its end takes its verdict; an error to log if it was killed.
    package mutating func follow(woken: Bool, now: Int64) -> String? {
        guard var current = running.take() else { return nil }
        guard let ended = current.step(woken: woken, now: now) else {
            running = consume current
            return nil
        }
        finish(ended)
        return ended.termination == .timedOut ? "readiness_probe ran past \(runLimitMilliseconds) ms and was killed" : nil
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
