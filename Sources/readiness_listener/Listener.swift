import ReadinessCore
import ReadinessPlatform

/// The event loop: READY, read one event, update the status file, RESULT 2 OK.
///
/// Stdout carries the protocol and nothing else; every log line goes to stderr.
/// Every event is acknowledged OK, even one that cannot be understood or
/// recorded: a rejected event is redelivered forever.
///
/// When an essential program ends it records that first (the probe answers
/// ESSENTIAL_DOWN), logs it, then shuts supervisord down, and goes on
/// answering events until supervisord stops it.
struct Listener: ~Copyable {
    private var tracker: ProgramTracker
    private var writer: StatusWriter
    private var supervisor: SupervisorConnection
    private let essential: EssentialRule
    private let essentialDryRun: Bool
    private let verbose: Bool
    /// For tests only: a pause between recording an essential failure and
    /// shutting down, so that a test can kill the listener in between.
    private let shutdownDelayMilliseconds = Int64(Processes.environmentValue("READINESS_TEST_SHUTDOWN_DELAY_MS") ?? "") ?? 0

    init(selector: ProgramSelector, statusPath: String, essential: EssentialRule, essentialDryRun: Bool, verbose: Bool) {
        self.essential = essential
        self.essentialDryRun = essentialDryRun
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
        writer.file.removeTemporary()
        log(.info, "listener started", [
            ("program", tracker.selector.description), ("status_file", writer.path), ("state", tracker.record.state.rawValue),
            ("supervisord_pid", "\(tracker.record.supervisordPID)"), ("version", ReadinessVersion.current),
            ("essential", essential.specs.map { $0.description }.joined(separator: ",")),
        ])
        // Only what queued events cannot contradict: an absent program, or a
        // resumed record of a run from before a reload. The first TICK_5 does the rest.
        reconcile(reason: "start-up", eventsMayBeQueued: true)
        // Before the first READY, so that "no file" means "the listener never ran".
        writer.write(tracker.record)
        // A failure recorded by a listener of this same supervisord that died
        // before shutting down (or whose shutdown did not take: a supervisord
        // that is shutting down restarts no listener).
        if let failure = tracker.record.essentialFailure, failure.shutdown != .dryRun {
            log(.warning, "resuming the shutdown for an essential program's end recorded before a restart", [("program", failure.program)])
            shutDownSupervisord()
        }
        reconcileEssential(reason: "start-up")
        guard send("READY\n") else { return 0 }

        var framer = EventFramer()
        while true {
            let count: Int
            do {
                count = try framer.append(reading: StandardStreams.readStandardInput)
            } catch {
                log(.error, "cannot read standard input", [("error", error.description)])
                return 2
            }
            if count == 0 {
                log(.info, "end of input, exiting", [])
                return 0
            }
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
            if tracker.record.essentialFailure?.shutdown == .pending {
                shutDownSupervisord()
            } else {
                reconcileEssential(reason: "tick")
            }
        case .other(let name):
            log(.warning, "ignored an event of a type the listener does not follow", [("event", name), ("serial", "\(header.serial)")])
            writer.retryIfPending(tracker.record)
        case .processState(let change):
            apply(change)
            if tracker.applyEssential(change, rule: essential, at: Clock.now()) { essentialEnded(reason: "event") }
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

    /// Asks supervisord for every program's state, for essential programs'
    /// events lost to an overflow; nothing without XML-RPC.
    private mutating func reconcileEssential(reason: String) {
        guard !essential.isEmpty, tracker.record.essentialFailure == nil, let programs = supervisor.allProcessInfo() else { return }
        if tracker.recordEssentialFailure(essential.failure(among: programs, at: Clock.now())) { essentialEnded(reason: reason) }
    }

    /// The first essential program's end, just recorded in the tracker:
    /// write it, say it, shut down (or, in a dry run, say what would be done).
    private mutating func essentialEnded(reason: String) {
        guard let recorded = tracker.record.essentialFailure else { return }
        if recorded.state == .exited || recorded.state == .fatal, case .info(let info) = supervisor.processInfo(recorded.program) {
            tracker.learnEssentialDetails(from: info)
        }
        if essentialDryRun { tracker.markEssentialShutdown(.dryRun) }
        writer.write(tracker.record)
        let failure = tracker.record.essentialFailure ?? recorded
        log(.error, essentialDryRun ? "essential program ended; dry run, supervisord is NOT shut down" : "essential program ended, shutting supervisord down", [
            ("program", failure.program), ("state", failure.state.rawValue),
            ("expected", failure.expected.map { $0 ? "1" : "0" } ?? "unknown"),
            ("exit_status", failure.exitStatus.map { "\($0)" } ?? "unknown"), ("spawn_error", failure.spawnError ?? ""),
            ("what", failure.summary), ("learnt_from", reason),
        ])
        if !essentialDryRun { shutDownSupervisord() }
    }

    /// `supervisor.shutdown` over XML-RPC; when that is not possible, SIGTERM
    /// to supervisord. Either is graceful: every program gets its stopsignal
    /// and stopwaitsecs. When both fail, the next TICK tries again.
    private mutating func shutDownSupervisord() {
        if shutdownDelayMilliseconds > 0 { Clock.sleep(milliseconds: shutdownDelayMilliseconds) }
        if let failure = supervisor.shutdown() {
            log(.warning, "supervisor.shutdown failed, sending SIGTERM to supervisord instead", [("error", failure.description)])
        } else {
            log(.info, "asked supervisord to shut down (supervisor.shutdown)", [])
            tracker.markEssentialShutdown(.requested)
            writer.write(tracker.record)
            return
        }
        switch Processes.terminateSupervisord(pid: tracker.record.supervisordPID, startTicks: tracker.record.supervisordStartTicks) {
        case .success:
            log(.info, "sent SIGTERM to supervisord", [("supervisord_pid", "\(tracker.record.supervisordPID)")])
            tracker.markEssentialShutdown(.signaled)
            writer.write(tracker.record)
        case .failure(let failure):
            log(.error, "cannot shut supervisord down, trying again at the next tick", [("error", failure.description)])
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
        note(client.flatMap { $0.processInfo(program) }) ?? .unavailable
    }

    /// Every program's info, or nil when XML-RPC is unusable.
    mutating func allProcessInfo() -> [NamedProcessInfo]? {
        note(client.flatMap { $0.allProcessInfo() })
    }

    /// Nil once supervisord accepted; else why not.
    mutating func shutdown() -> SupervisorClient.Failure? {
        switch client.flatMap({ $0.shutdown() }) {
        case .success: nil
        case .failure(let failure): failure
        }
    }

    private mutating func note<Value>(_ result: Result<Value, SupervisorClient.Failure>) -> Value? {
        switch result {
        case .success(let value):
            if lastFailure != nil { log(.info, "XML-RPC usable again", []) }
            lastFailure = nil
            return value
        case .failure(let failure):
            if lastFailure == nil {
                log(.warning, "XML-RPC unusable, following events only (no exit status, no reconcile)", [("error", failure.description)])
            }
            lastFailure = failure.description
            return nil
        }
    }
}

/// Writes the status file, remembering a failed write so it is retried on the
/// next event or tick, and logging a failure once rather than at every retry.
struct StatusWriter: ~Copyable {
    private(set) var file: ReplacedFile
    private var pendingError: String?
    private var failedAttempts = 0

    init(path: String) { file = ReplacedFile(path: path) }

    var path: String { file.path }

    mutating func write(_ record: StatusRecord) {
        do {
            try file.replace(with: record.encoded)
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
    StandardStreams.log(line.rendered())
}
