/// A probe result: the exit code and the one deterministic line that explains it.
package struct Verdict: Equatable, Sendable {
    package var code: ProbeCode
    package var message: String

    package init(_ code: ProbeCode, _ message: String) {
        self.code = code
        self.message = message
    }

    package var isReady: Bool { code.rawValue == 0 }

    /// `ready: 0 READY: …` or `not ready: 101 START_FAILED: …`. No times, pids
    /// or durations: kubelet merges events with equal messages and OpenKruise
    /// writes this text into a pod condition.
    package var line: String {
        "\(isReady ? "ready" : "not ready"): \(code.rawValue) \(code.name): \(message)"
    }

    /// The common check: an essential program's end first (readiness is
    /// withdrawn before the container goes), then what the followed program's
    /// recorded state means, then the programs under `--start-after`, then
    /// the services. A dry run's failure does not withdraw readiness.
    package static func commonCheck(_ record: StatusRecord) -> Verdict {
        let start = startCheck(record)
        guard start.isReady else { return start }
        if let waiting = startOrderCheck(record.starts) { return waiting }
        return servicesCheck(record.services, after: start)
    }

    /// What one probe is about, whichever it is: the container's end (an
    /// essential program's, or supervisord stopping) takes readiness from all.
    package static func check(_ record: StatusRecord, of subject: ProbeSubject) -> Verdict {
        switch subject {
        case .container: commonCheck(record)
        case .start: startCheck(record)
        case .service(let spec): containerEnding(record, what: "service \(spec)") ?? serviceCheck(record.services, spec)
        }
    }

    private static func containerEnding(_ record: StatusRecord, what: String) -> Verdict? {
        if let failure = record.essentialFailure, failure.shutdown != .dryRun {
            return Verdict(.essentialDown, "\(failure.summary); supervisord is being shut down")
        }
        if record.supervisordStopping {
            return Verdict(.startStopped, "supervisord is stopping (shutdown or reload): the recorded run of \(what) no longer counts")
        }
        return nil
    }

    private static func startCheck(_ record: StatusRecord) -> Verdict {
        let program = "program \(record.program)"
        if let ending = containerEnding(record, what: program) { return ending }
        switch record.state {
        case .process(.exited) where record.expected == true:
            return Verdict(.ready, "\(program) exited with \(record.exitStatus.map { "status \($0)" } ?? "an expected status")")
        case .process(.exited):
            if let status = record.exitStatus {
                return Verdict(.startFailed, "\(program) exited with status \(status)")
            }
            return Verdict(.startFailed, "\(program) exited unexpectedly (status not in exitcodes, or killed by a signal)")
        case .notSeen:
            return Verdict(.startPending, "\(program) has not been seen yet")
        case .process(.starting), .process(.running), .process(.backoff):
            return Verdict(.startPending, "\(program) is \(record.state.rawValue), not finished yet")
        case .absent:
            return Verdict(.ready, "supervisord has no \(program), nothing to wait for")
        case .process(.fatal):
            return Verdict(.startFatal, "supervisord could not start \(program) (FATAL)\(record.spawnError.map { ": \($0)" } ?? "")")
        case .process(.stopping), .process(.stopped):
            return Verdict(.startStopped, "\(program) was stopped (\(record.state.rawValue))")
        case .process(.unknown):
            return Verdict(.startStopped, "\(program) is in supervisord's UNKNOWN state")
        }
    }
}

extension Verdict {
    /// What a person should look at next, for `--explain`: the code's
    /// advice, but for a READY that holds only because supervisord has no
    /// such program (a typo in `--program` reads the same).
    package func advice(for record: StatusRecord?) -> String {
        guard code == .ready, let record, record.state == .absent else { return code.advice }
        return "supervisord has no program \(record.program) (ABSENT): the common check passes; if one is meant, --program must name it as supervisord.conf does"
    }
}
