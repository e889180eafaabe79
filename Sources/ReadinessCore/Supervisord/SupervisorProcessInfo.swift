/// What `supervisor.getProcessInfo` says about the followed program. Its values
/// are live (as of the call, not of the event being handled), and its times
/// are whole seconds.
package struct SupervisorProcessInfo: Equatable, Sendable {
    package var state: ProcessState
    package var start: Int
    package var stop: Int
    /// supervisord's clock when it answered.
    package var now: Int
    package var pid: Int
    /// 0 when supervisord does not know it (too quick an exit, spawn error), -1 after a signal.
    package var exitStatus: Int
    package var spawnError: String
    package var stdoutLogfile: String
    package var stderrLogfile: String

    package init(
        state: ProcessState, start: Int = 0, stop: Int = 0, now: Int = 0, pid: Int = 0, exitStatus: Int = 0, spawnError: String = "",
        stdoutLogfile: String = "", stderrLogfile: String = ""
    ) {
        self.state = state
        self.start = start
        self.stop = stop
        self.now = now
        self.pid = pid
        self.exitStatus = exitStatus
        self.spawnError = spawnError
        self.stdoutLogfile = stdoutLogfile
        self.stderrLogfile = stderrLogfile
    }

    /// For an EXITED process, whether its exit status was in `exitcodes`:
    /// supervisord sets `spawnerr` to `Bad exit code N` on every unexpected
    /// exit and clears it at every spawn. (The status alone cannot tell:
    /// `exitcodes=0,2` makes 2 expected.)
    package var exitWasExpected: Bool { !spawnError.utf8.starts(with: "Bad exit code".utf8) }

    /// Reads the struct getProcessInfo returns; nil when a field it needs is missing.
    package init?(_ fields: [String: XMLRPC.Value]) {
        guard case .string(let name)? = fields["statename"], let state = ProcessState(rawValue: name),
            case .int(let start)? = fields["start"], case .int(let stop)? = fields["stop"],
            case .int(let pid)? = fields["pid"], case .int(let exitStatus)? = fields["exitstatus"]
        else { return nil }
        func string(_ key: String) -> String {
            if case .string(let value)? = fields[key] { return value }
            return ""
        }
        var now = 0
        if case .int(let value)? = fields["now"] { now = value }
        self.init(
            state: state, start: start, stop: stop, now: now, pid: pid, exitStatus: exitStatus, spawnError: string("spawnerr"),
            stdoutLogfile: string("stdout_logfile"), stderrLogfile: string("stderr_logfile"))
    }
}

/// What asking supervisord's XML-RPC interface about the followed program gave.
package enum SupervisorAnswer: Equatable, Sendable {
    /// No usable answer (no server, wrong credentials, a timeout): events only.
    case unavailable
    /// supervisord has no such program (the BAD_NAME fault).
    case noSuchProgram
    case info(SupervisorProcessInfo)
}

/// The faults of supervisord's XML-RPC interface the listener acts on; any
/// other (SHUTDOWN_STATE while supervisord stops, say) means "no answer".
package enum SupervisorFault {
    package static let badName = 10
    /// startProcess of a program that is already STARTING, RUNNING or BACKOFF.
    package static let alreadyStarted = 60
    /// stopProcess of a program that is not STARTING, RUNNING or BACKOFF.
    package static let notRunning = 70
}

/// What `supervisor.startProcess(name, false)` or `stopProcess(name, false)`
/// answered: supervisord spawns (or signals) the program and returns at
/// once, before `startsecs` (or the stop) has passed.
package enum ControlAnswer: Equatable, Sendable {
    case done
    /// The fault that says it was so already (ALREADY_STARTED, NOT_RUNNING): nothing to do.
    case already
    /// Any other fault (BAD_NAME, NO_FILE, NOT_EXECUTABLE, SPAWN_ERROR,
    /// SHUTDOWN_STATE…), with supervisord's fault string ("SPAWN_ERROR: web").
    case refused(String)

    /// The answer in a response body; `already` is the fault code that means "so already".
    package init(response bytes: some Collection<UInt8>, already: Int) throws(XMLRPCError) {
        switch try XMLRPC.parseValue(bytes) {
        case .fault(let code, _) where code == already: self = .already
        case .fault(_, let message): self = .refused(message)
        case .value(.bool(true)): self = .done
        case .value: throw .malformed("supervisord answered something other than true")
        }
    }
}
