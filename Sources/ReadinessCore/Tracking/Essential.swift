/// The essential programs and what counts as their end: the rule the listener
/// applies to every PROCESS_STATE event and every state learnt from supervisord.
package struct EssentialRule: Equatable, Sendable {
    /// `--essential-exit`: which EXITED states are failures.
    package enum ExitPolicy: String, Equatable, Sendable {
        /// Only an exit status not in the program's `exitcodes` (the default).
        case unexpected
        /// Any exit: for programs that must never end.
        case any
    }

    package var specs: [ProcessPattern]
    package var exitPolicy: ExitPolicy

    package init(specs: [ProcessPattern], exitPolicy: ExitPolicy = .unexpected) {
        self.specs = specs
        self.exitPolicy = exitPolicy
    }

    package var isEmpty: Bool { specs.isEmpty }

    package func isEssential(processName: String, groupName: String) -> Bool {
        specs.contains { $0.matches(processName: processName, groupName: groupName) }
    }

    /// The same for `GROUP:NAME`, as a recorded failure names its program.
    package func isEssential(_ program: String) -> Bool { specs.contains { $0.matches(process: program) } }

    /// Whether an essential program entering `state` is gone for good.
    /// STOPPING and STOPPED are someone's decision (`supervisorctl stop`, a
    /// shutdown), never a failure; BACKOFF is still being retried.
    package func isFailure(_ state: ProcessState, expected: Bool?) -> Bool {
        switch state {
        case .fatal: true
        case .exited: exitPolicy == .any || expected == false
        default: false
        }
    }

    /// The failure `event` reports, if it is one of an essential program.
    package func failure(for event: ProcessStateEvent, at time: Timestamp?) -> EssentialFailure? {
        guard isEssential(processName: event.processName, groupName: event.groupName),
            isFailure(event.state, expected: event.expected)
        else { return nil }
        return EssentialFailure(
            program: "\(event.groupName):\(event.processName)", state: event.state, expected: event.expected, since: time)
    }

    /// The first failure among programs supervisord describes (getAllProcessInfo),
    /// for events lost to an overflow or to a listener restart.
    ///
    /// Whether an exit was expected is what supervisord says (`exitWasExpected`).
    package func failure(among programs: [NamedProcessInfo], at time: Timestamp?) -> EssentialFailure? {
        for program in programs where isEssential(processName: program.name, groupName: program.group) {
            let info = program.info
            let expected: Bool? = info.state == .exited ? info.exitWasExpected : nil
            guard isFailure(info.state, expected: expected) else { continue }
            var failure = EssentialFailure(program: "\(program.group):\(program.name)", state: info.state, expected: expected, since: time)
            failure.learnDetails(from: info)
            return failure
        }
        return nil
    }
}

/// A program's info from getAllProcessInfo, with the names that say which.
package struct NamedProcessInfo: Equatable, Sendable {
    package var group: String
    package var name: String
    package var info: SupervisorProcessInfo

    package init(group: String, name: String, info: SupervisorProcessInfo) {
        self.group = group
        self.name = name
        self.info = info
    }

    /// Reads one struct of getAllProcessInfo's array; nil when a field is missing.
    package init?(_ fields: [String: XMLRPC.Value]) {
        guard case .string(let group)? = fields["group"], case .string(let name)? = fields["name"],
            let info = SupervisorProcessInfo(fields)
        else { return nil }
        self.init(group: group, name: name, info: info)
    }
}

/// The essential program whose end shuts supervisord down, as recorded in the
/// status file: once recorded it stays, so that a restarted listener finishes
/// the shutdown and every probe answers ESSENTIAL_DOWN until the container goes.
package struct EssentialFailure: Equatable, Sendable {
    /// What the listener has done about it.
    package enum Shutdown: String, Equatable, Sendable {
        /// Recorded; supervisord not asked yet (or asking failed: retried on every TICK).
        case pending
        /// `supervisor.shutdown` accepted.
        case requested
        /// SIGTERM sent to supervisord.
        case signaled
        /// `--essential-dry-run`: logged and recorded only.
        case dryRun = "dry_run"
    }

    /// `GROUP:NAME`.
    package var program: String
    package var state: ProcessState
    /// EXITED only, as for the start program.
    package var expected: Bool?
    /// From XML-RPC, when it describes this end.
    package var exitStatus: Int?
    package var spawnError: String?
    package var since: Timestamp?
    package var shutdown: Shutdown

    package init(
        program: String, state: ProcessState, expected: Bool? = nil, exitStatus: Int? = nil, spawnError: String? = nil,
        since: Timestamp? = nil, shutdown: Shutdown = .pending
    ) {
        self.program = program
        self.state = state
        self.expected = expected
        self.exitStatus = exitStatus
        self.spawnError = spawnError
        self.since = since
        self.shutdown = shutdown
    }

    /// The exit status or spawn error supervisord reports, when it is in the
    /// recorded state (a later run would be in another: supervisord does not
    /// restart a FATAL program, and the listener acts on the event at once).
    package mutating func learnDetails(from info: SupervisorProcessInfo) {
        guard info.state == state else { return }
        if state == .exited, info.exitStatus >= 0 { exitStatus = info.exitStatus }
        // After an exit spawnerr says "Bad exit code N": no spawn error.
        if state == .fatal, !info.spawnError.isEmpty { spawnError = info.spawnError }
    }

    /// What happened, for the log line and the probe's message: deterministic,
    /// no times or pids.
    package var summary: String {
        switch state {
        case .exited:
            let how = expected == true ? "expectedly" : "unexpectedly"
            return "essential program \(program) exited \(how) (\(exitStatus.map { "status \($0)" } ?? "status unknown"))"
        case .fatal:
            return "supervisord could not start essential program \(program) (FATAL)\(spawnError.map { ": \($0)" } ?? "")"
        case .stopped:
            // Under --start-after, never started: a dependency failed, or
            // --start-timeout passed; `spawnError` says which.
            return "essential program \(program) cannot be started\(spawnError.map { ": \($0)" } ?? "")"
        default:
            return "essential program \(program) is \(state.rawValue)"
        }
    }
}
