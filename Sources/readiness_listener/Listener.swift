import ReadinessCore
import ReadinessPlatform

/// The event loop: READY, read one event, update the status file, RESULT 2 OK.
///
/// Stdout carries the protocol and nothing else; every log line goes to stderr.
/// Every event is acknowledged OK, even one that cannot be understood or
/// recorded: a rejected event is redelivered forever.
struct Listener {
    private var tracker: ProgramTracker
    private var writer: StatusWriter
    private var supervisor: SupervisorConnection
    private let verbose: Bool

    init(selector: ProgramSelector, statusPath: String, verbose: Bool) {
        writer = StatusWriter(path: statusPath)
        tracker = ProgramTracker(
            selector: selector, listenerPID: Processes.currentPID, supervisordPID: Processes.parentPID,
            supervisordStartTicks: Processes.startTicks(of: Processes.parentPID), previous: Self.previousRecord(at: statusPath))
        self.verbose = verbose
        supervisor = SupervisorConnection()
    }

    /// The record a previous listener left, to resume from after a restart.
    /// An unusable one is replaced, and said so.
    private static func previousRecord(at path: String) -> StatusRecord? {
        let problem: String
        switch StatusFileRead(contentsOf: path) {
        case .missing: return nil
        case .record(let record): return record
        case .malformed(let error): problem = error.description
        case .tooLarge(let size): problem = "\(size) bytes"
        case .notRegularFile: problem = "not a regular file"
        case .unreadable(let reason): problem = reason
        }
        log(.warning, "previous status file unusable, starting afresh", [("path", path), ("error", problem)])
        return nil
    }

    /// Runs until end of input; returns the exit status.
    mutating func run() -> Int32 {
        do throws(Errno) { try Processes.prepareListener() } catch {
            log(.error, "cannot install the signal handlers; SIGTERM may now cut a status write short", [("error", error.description)])
        }
        Files.removeIfPresent(Files.temporaryPath(for: writer.path))
        log(.info, "listener started", [
            ("program", tracker.selector.description), ("status_file", writer.path), ("state", tracker.record.state.rawValue),
            ("supervisord_pid", "\(tracker.record.supervisordPID)"), ("version", ReadinessVersion.current),
        ])
        // Only what queued events cannot contradict: an absent program, or a
        // resumed record of a run from before a reload. The first TICK_5 does the rest.
        reconcile(reason: "start-up", eventsMayBeQueued: true)
        // Before the first READY, so that "no file" means "the listener never ran".
        writer.write(tracker.record)
        guard send("READY\n") else { return 0 }

        var framer = EventFramer()
        // An event is a few hundred bytes; the framer keeps what a read splits.
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count: Int
            do {
                count = try StandardStreams.readStandardInput(into: &buffer)
            } catch {
                log(.error, "cannot read standard input", [("error", error.description)])
                return 2
            }
            if count == 0 {
                log(.info, "end of input, exiting", [])
                return 0
            }
            framer.append(buffer[..<count])
            do {
                while let frame = try framer.next() {
                    handle(frame)
                    guard send("RESULT 2\nOKREADY\n") else { return 0 }
                }
            } catch {
                log(.error, "cannot frame the event stream, exiting so supervisord restarts the listener", [("error", error.description)])
                return 2
            }
        }
    }

    private mutating func handle(_ frame: Frame) {
        let header: EventHeader
        let event: ListenerEvent
        do {
            (header, event) = try ListenerEvent.parse(frame)
        } catch {
            log(.error, "ignored an event that cannot be parsed", [("error", error.description)])
            writer.retryIfPending(tracker.record)
            return
        }
        switch event {
        case .tick:
            if reconcile(reason: "tick", eventsMayBeQueued: false) { writer.write(tracker.record) } else { writer.retryIfPending(tracker.record) }
        case .other(let name):
            log(.warning, "ignored an event of a type the listener does not follow", [("event", name), ("serial", "\(header.serial)")])
            writer.retryIfPending(tracker.record)
        case .processState(let change):
            apply(change)
        }
    }

    private mutating func apply(_ change: ProcessStateEvent) {
        let outcome = tracker.apply(change, at: Clock.now())
        switch outcome {
        case .otherProgram:
            if verbose {
                log(.debug, "event of another program", [
                    ("program", "\(change.groupName):\(change.processName)"), ("to", change.state.rawValue), ("serial", "\(change.serial)"),
                ])
            }
        case .duplicate:
            log(.info, "event already applied, ignored", [("program", tracker.selector.description), ("serial", "\(change.serial)")])
        case .transition(let from, let to, let gap):
            if let gap {
                log(.warning, "events were lost; the next tick reconciles with supervisord", [
                    ("program", tracker.selector.description), ("recorded", gap.rawValue), ("from", from.rawValue),
                ])
            }
            let record = tracker.record
            var fields = [("program", record.program), ("from", from.rawValue), ("to", to.rawValue)]
            if let expected = record.expected { fields.append(("expected", expected ? "1" : "0")) }
            if let pid = record.pid { fields.append(("pid", "\(pid)")) }
            if let tries = change.tries { fields.append(("tries", "\(tries)")) }
            fields.append(("serial", "\(change.serial)"))
            log(.info, "transition", fields)
        }
        switch outcome.followUp {
        case .retryPendingWrite:
            writer.retryIfPending(tracker.record)
        case .write:
            writer.write(tracker.record)
        case .fetchDetailsThenWrite:
            learnDetails()
            writer.write(tracker.record)
        }
    }

    /// Asks supervisord for the program's state and applies it; true when the
    /// record changed. Without XML-RPC this does nothing (events only).
    @discardableResult
    private mutating func reconcile(reason: String, eventsMayBeQueued: Bool) -> Bool {
        let answer = supervisor.processInfo(tracker.selector.description)
        let before = tracker.record
        if case .transition(let from, let to, _)? = tracker.reconcile(with: answer, eventsMayBeQueued: eventsMayBeQueued, at: Clock.now()) {
            log(.info, "reconciled with supervisord", [
                ("program", tracker.selector.description), ("from", from.rawValue), ("to", to.rawValue), ("reason", reason),
                ("exit_status", tracker.record.exitStatus.map { "\($0)" } ?? "unknown"),
            ])
        }
        return tracker.record != before
    }

    /// After EXITED, FATAL or BACKOFF: the exit status or spawn error, which no event carries.
    private mutating func learnDetails() {
        guard case .info(let info) = supervisor.processInfo(tracker.selector.description) else { return }
        tracker.learnDetails(from: info)
        if let status = tracker.record.exitStatus {
            log(.info, "exit status", [("program", tracker.selector.description), ("exit_status", "\(status)")])
        }
        if let error = tracker.record.spawnError {
            log(.info, "spawn error", [("program", tracker.selector.description), ("spawn_error", error)])
        }
    }

    /// Writes protocol bytes; false when supervisord is gone (EPIPE).
    private func send(_ text: String) -> Bool {
        do {
            try StandardStreams.standardOutput(text)
            return true
        } catch {
            log(.info, "standard output closed, exiting", [("error", error.description)])
            return false
        }
    }
}

/// supervisord's XML-RPC interface, when it has one: logs when it becomes
/// unusable (once) and when it is usable again, so a missing server or
/// missing credentials cost one warning, not one per event.
struct SupervisorConnection {
    private let client: Result<SupervisorClient, SupervisorClient.Failure>
    private var lastFailure: String?

    init() {
        client = SupervisorClient.fromEnvironment()
    }

    /// What supervisord says about `program`; `.unavailable` when XML-RPC is unusable.
    mutating func processInfo(_ program: String) -> SupervisorAnswer {
        let result = client.flatMap { $0.processInfo(program) }
        switch result {
        case .success(let answer):
            if lastFailure != nil { log(.info, "XML-RPC usable again", []) }
            lastFailure = nil
            return answer
        case .failure(let failure):
            if lastFailure == nil {
                log(.warning, "XML-RPC unusable, following events only (no exit status, no reconcile)", [("error", failure.description)])
            }
            lastFailure = failure.description
            return .unavailable
        }
    }
}

/// Writes the status file, remembering a failed write so it is retried on the
/// next event or tick, and logging a failure once rather than at every retry.
struct StatusWriter {
    let path: String
    private var pendingError: String?
    private var failedAttempts = 0

    init(path: String) { self.path = path }

    mutating func write(_ record: StatusRecord) {
        do {
            try Files.replace(path, with: record.encoded)
            if pendingError != nil {
                log(.info, "status file written again", [("path", path), ("failed_attempts", "\(failedAttempts)"), ("state", record.state.rawValue)])
            }
            pendingError = nil
            failedAttempts = 0
        } catch {
            failedAttempts += 1
            if error.description != pendingError {
                log(.error, "cannot write the status file, will retry on the next event", [
                    ("path", path), ("error", error.description), ("state", record.state.rawValue),
                ])
            }
            pendingError = error.description
        }
    }

    mutating func retryIfPending(_ record: StatusRecord) {
        if pendingError != nil { write(record) }
    }
}

func log(_ level: LogLine.Level, _ message: String, _ fields: [(String, String)]) {
    var line = LogLine(time: Clock.now(), level: level, message: message)
    for (key, value) in fields { line.append(key, value) }
    StandardStreams.log(line)
}
