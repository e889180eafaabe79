import ReadinessCore
import ReadinessPlatform

/// The two steps: the common check on the status file, then the hook. A
/// probe of start.sh alone or of one service (`--service`) is the first
/// step only: the hook speaks for the whole container.
struct Probe {
    let statusPath: String
    let hookPath: String
    let hookTimeoutMilliseconds: Int64
    let subject: ProbeSubject

    /// One check. A hook runs under `interruptions` when given (`--wait`
    /// holds them for its whole run), else under a signal scope of its own.
    func run(interruptions: Interruptions? = nil) -> Report {
        let read = StatusFileRead(contentsOf: statusPath)
        let start = Verdict.statusCheck(
            read, path: statusPath, subject: subject, listener: { ListenerPresence(observing: statusPath) },
            identity: SupervisordIdentity.init(of:))
        var report = Report(verdict: start, statusPath: statusPath, hookPath: hookPath, record: read.record)
        guard start.isReady, subject == .container, let record = read.record else { return report }

        let hook = HookRunner(path: hookPath, timeoutMilliseconds: hookTimeoutMilliseconds)
        switch hook.usability() {
        case .absent:
            report.verdict = Verdict(.ready, "\(start.message); no hook")
            return report
        case .unusable(let reason):
            report.verdict = Verdict(.hookUnusable, reason)
            return report
        case .usable:
            return runHook(hook, after: start, record: record, report: report, interruptions: interruptions)
        }
    }

    /// Runs the usable hook and takes its verdict. Out of line: inlined, its
    /// locals made `run`'s frame 3 KB, one more stack page to fault in on
    /// the ready path, where no hook runs.
    @inline(never)
    private func runHook(
        _ hook: HookRunner, after start: Verdict, record: StatusRecord, report: Report, interruptions: Interruptions?
    ) -> Report {
        var hook = hook
        var report = report
        hook.environment = [
            "READINESS_PROGRAM": record.program,
            "READINESS_START_STATE": record.state.rawValue,
            "READINESS_START_EXPECTED": record.expected.map { $0 ? "1" : "0" } ?? "",
            "READINESS_START_EXIT_STATUS": record.exitStatus.map { "\($0)" } ?? "",
            "READINESS_STATUS_FILE": statusPath,
        ]
        let outcome: HookRunner.Outcome
        if let interruptions {
            outcome = hook.run(interruptions: interruptions)
        } else {
            do throws(Errno) {
                outcome = try Signals.catchingTermination { hook.run(interruptions: $0) }
            } catch {
                report.verdict = Verdict.afterHook(
                    start, path: hookPath, termination: .probeFailed("signal handling: \(error)"), output: [],
                    timeoutMilliseconds: hookTimeoutMilliseconds)
                return report
            }
        }
        report.hook = outcome
        report.verdict = Verdict.afterHook(
            start, path: hookPath, termination: outcome.termination, output: outcome.outputTail,
            timeoutMilliseconds: hookTimeoutMilliseconds)
        return report
    }
}

extension Probe {
    /// Runs the check until it passes or `timeoutMilliseconds` pass; the last
    /// report stands. For upgrade post-checks and scripts. SIGTERM, SIGINT or
    /// SIGHUP stop it at once, during a hook run or between checks.
    func waitUntilReady(timeoutMilliseconds: Int64, intervalMilliseconds: Int64) -> Report {
        do throws(Errno) {
            return try Signals.catchingTermination { interruptions in
                let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
                while true {
                    var report = run(interruptions: interruptions)
                    if report.verdict.endsWait || deadline.hasPassed { return report }
                    let pause = Deadline.after(milliseconds: min(intervalMilliseconds, deadline.remainingMilliseconds))
                    do throws(Errno) {
                        guard let signal = try interruptions.wait(until: pause) else { continue }
                        report.verdict = Verdict.interruptedWhileWaiting(by: signal, last: report.verdict)
                    } catch {
                        report.verdict = Verdict(.internalError, "cannot wait between checks: poll: \(error)")
                    }
                    return report
                }
            }
        } catch {
            return Report(
                verdict: Verdict(.internalError, "cannot set up --wait: signal handling: \(error)"), statusPath: statusPath,
                hookPath: hookPath, record: nil)
        }
    }
}

/// A verdict and what led to it, rendered as one line, several, or JSON.
struct Report {
    enum Style { case line, verbose, explain, json }

    var verdict: Verdict
    let statusPath: String
    let hookPath: String
    let record: StatusRecord?
    var hook: HookRunner.Outcome? = nil

    func rendered(_ style: Style) -> String {
        switch style {
        case .line: verdict.line + "\n"
        case .verbose: details(advice: false)
        case .explain: details(advice: true)
        case .json: json + "\n"
        }
    }

    private func details(advice: Bool) -> String {
        var lines = [verdict.line, "status file: \(statusPath)"]
        if let record {
            lines.append("program: \(record.program)")
            lines.append("state: \(record.state.rawValue) (from \(record.previousState?.rawValue ?? "unknown")) since \(record.since?.description ?? "unknown")")
            lines.append("expected: \(record.expected.map { $0 ? "yes" : "no" } ?? "n/a")  exit status: \(record.exitStatus.map { "\($0)" } ?? "unknown")  pid: \(record.pid.map { "\($0)" } ?? "unknown")")
            lines.append("supervisord pid: \(record.supervisordPID)  listener pid: \(record.listenerPID)")
            if let spawnError = record.spawnError { lines.append("spawn error: \(spawnError)") }
            if record.stdoutLogfile != nil || record.stderrLogfile != nil {
                lines.append("program output: stdout \(record.stdoutLogfile ?? "unknown"), stderr \(record.stderrLogfile ?? "unknown")")
            } else {
                lines.append("program output: unknown (no XML-RPC); supervisorctl tail \(record.program)")
            }
            if let failure = record.essentialFailure {
                lines.append("essential: \(failure.summary); shutdown \(failure.shutdown.rawValue)")
            }
            for service in record.services {
                let pid = service.run.map { " pid \($0)" } ?? ""
                let since = service.since.map { " since \($0)" } ?? ""
                lines.append("service \(service.name) (\(service.kind.rawValue)): \(service.ready ? "ready" : "not ready")\(since)\(pid); \(service.ready ? service.detail ?? "" : service.notReadyReason)")
            }
            for start in record.starts {
                let state = start.started ? "started" : start.detail
                lines.append("start after: \(start.process) = \(start.after); holds \(start.holds.isEmpty ? "n/a" : start.holds); \(state)")
            }
            lines.append("history (oldest first):")
            lines += record.history.map { "  \($0.time?.description ?? "unknown") \($0.from.rawValue) -> \($0.to.rawValue) serial=\($0.serial.map { "\($0)" } ?? "unknown")" }
        }
        if let hook {
            lines.append("hook: \(hookPath): \(hook.termination)")
            lines.append("hook output, last \(hook.outputTail.count) of \(hook.outputByteCount) bytes:")
            lines += String(decoding: hook.outputTail, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map { "  | \($0)" }
        } else {
            lines.append("hook: \(hookPath): not run")
        }
        if advice { lines.append("next: \(verdict.advice(for: record))") }
        return lines.joined(separator: "\n") + "\n"
    }

    private var json: String {
        var object = JSONObject()
        object.set("ready", verdict.isReady)
        object.set("code", Int(verdict.code.rawValue))
        object.set("name", verdict.code.name)
        object.set("message", verdict.message)
        object.set("status_file", statusPath)
        if let record {
            var start = JSONObject()
            start.set("program", record.program)
            start.set("state", record.state.rawValue)
            start.set("previous_state", record.previousState?.rawValue)
            start.set("expected", record.expected)
            start.set("exit_status", record.exitStatus)
            start.set("pid", record.pid)
            start.set("spawn_error", record.spawnError)
            start.set("stdout_logfile", record.stdoutLogfile)
            start.set("stderr_logfile", record.stderrLogfile)
            start.set("since", record.since?.description)
            object.set("start", start)
            if let failure = record.essentialFailure {
                var essential = JSONObject()
                essential.set("program", failure.program)
                essential.set("state", failure.state.rawValue)
                essential.set("expected", failure.expected)
                essential.set("exit_status", failure.exitStatus)
                essential.set("spawn_error", failure.spawnError)
                essential.set("since", failure.since?.description)
                essential.set("shutdown", failure.shutdown.rawValue)
                object.set("essential_failure", essential)
            }
            if !record.services.isEmpty {
                object.set("services", record.services.map { service in
                    var entry = JSONObject()
                    entry.set("service", service.name)
                    entry.set("process", service.process)
                    entry.set("check", service.kind.rawValue)
                    entry.set("state", service.stateName)
                    entry.set("pid", service.run)
                    entry.set("ready", service.ready)
                    entry.set("since", service.since?.description)
                    entry.set("signal", service.signal?.rawValue)
                    entry.set("detail", service.detail)
                    entry.set("reason", service.ready ? nil : service.notReadyReason)
                    return entry
                })
            }
        }
        if let record, !record.starts.isEmpty {
            object.set("start_after", record.starts.map { start in
                var entry = JSONObject()
                entry.set("process", start.process)
                entry.set("after", start.after)
                entry.set("holds", start.holds.isEmpty ? nil : start.holds)
                entry.set("started", start.started)
                entry.set("detail", start.detail.isEmpty ? nil : start.detail)
                return entry
            })
        }
        var hookObject = JSONObject()
        hookObject.set("path", hookPath)
        hookObject.set("ran", hook != nil)
        if let hook {
            hookObject.set("output_tail", String(decoding: hook.outputTail, as: UTF8.self))
            hookObject.set("output_bytes", hook.outputByteCount)
        }
        object.set("hook", hookObject)
        return object.rendered
    }
}
