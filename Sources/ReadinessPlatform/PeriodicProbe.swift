import CReadiness
package import ReadinessCore

/// The image's hook, run on the listener's own timer for `/readyz`
/// (`--hook-interval`): through readiness_probe, so with exactly the exec
/// probe's containment (own process group, deadline, output tail, every
/// descendant killed) and verdict. The probe runs as a child whose output
/// pipe the listener's poll loop watches: nothing here blocks, except the
/// reaping of a child that has already closed its output.
package struct PeriodicProbe: ~Copyable {
    private let arguments: [String]
    private let intervalMilliseconds: Int64
    /// Past this, a run is killed: the probe keeps its hook's deadline
    /// itself, so only a probe that hangs gets here.
    private let runLimitMilliseconds: Int64
    private var running: (pid: pid_t, output: Int32, killAt: Int64, received: [UInt8])?
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

    /// The read end of the running probe's output, or -1.
    package var outputDescriptor: Int32 { running?.output ?? -1 }

    /// When the loop must wake: the next run, or a running one's limit;
    /// nil when disabled.
    package var wakeAt: Int64? { isEnabled ? running?.killAt ?? nextRun : nil }

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
        if let running, now >= running.killAt {
            try? system_kill(-running.pid, SIGKILL)
            try? system_kill(running.pid, SIGKILL)
            finish(status: nil)
            return "readiness_probe ran past \(runLimitMilliseconds) ms and was killed"
        }
        guard running == nil, now >= nextRun else { return nil }
        nextRun = now + intervalMilliseconds
        var pipe: Pipe
        do { pipe = try Self.outputPipe() } catch { return "cannot run readiness_probe: pipe: \(error)" }
        let pid: pid_t
        do throws(SpawnFailure) {
            pid = try system_spawn_in_new_group(arguments[0], arguments, [], outputFD: pipe.write.rawValue)
        } catch {
            latest = Verdict(.internalError, "cannot run \(arguments[0]) for the hook: \(error.call): \(error.errno)")
            return "cannot run readiness_probe: \(error.call): \(error.errno)"
        }
        // The read end stays open, owned by `running` until `finish`; the
        // write end closes here, so the probe's exit is the pipe's end.
        running = (pid, pipe.read.release(), now + runLimitMilliseconds, [])
        runEpoch = epoch
        return nil
    }

    private static func outputPipe() throws(Errno) -> Pipe {
        let pipe = try Pipe(flags: O_CLOEXEC)
        try system_set_nonblocking(pipe.read.rawValue)
        return pipe
    }

    /// Reads what the probe printed; at its end, reaps it and takes its verdict.
    package mutating func readOutput() {
        guard let current = running else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count: Int
        do { count = try system_read(current.output, into: &buffer) } catch {
            if error == .wouldBlock { return }
            count = 0
        }
        if count > 0 {
            if current.received.count < 4096 { running?.received += buffer[..<count] }
            return
        }
        let status = try? system_waitpid(current.pid, 0)
        finish(status: status.map { system_wait_status($0.status) })
    }

    private mutating func finish(status: (exitCode: Int32?, signal: Int32?)?) {
        guard let current = running else { return }
        running = nil
        try? system_close(current.output)
        if status == nil { _ = try? system_waitpid(current.pid, 0) }
        guard runEpoch == epoch else { return }
        if let code = status?.exitCode {
            latest = Verdict(probeExit: code, output: current.received)
        } else {
            latest = Verdict(.internalError, "readiness_probe for the hook died\(status?.signal.map { " from signal \($0)" } ?? " (killed past its limit)")")
        }
    }
}
