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
///
/// With `--http` the same loop also answers kubelet's httpGet probes from the
/// record in memory, written before they are answered: one `EventLoop` over
/// the event pipe, the notify socket, the checks, the hook and the HTTP
/// sockets, where nothing blocks, so no client can hold an event's answer back.
struct Listener: ~Copyable {
    private var core: ListenerCore
    private var io: ListenerIO
    private let http: ListenAddress?
    /// The image's hook, for `/readyz`.
    private let hookPath: String
    /// With `--hook-interval`: the hook run on the listener's timer; else
    /// httpGet answers never run it.
    private var periodicProbe: PeriodicProbe
    /// The state the common check passed for at the last look: when it
    /// starts to pass, or passes for another state, the hook's last verdict
    /// no longer counts and it runs at once.
    private var passing: PassingState?
    /// How often an unbound HTTP socket is tried again.
    private static let bindRetryMilliseconds: Int64 = 5000
    /// `--notify-socket`, bound when a service is `notify`.
    private let notifySocketPath: String
    /// The checks of `tcp:` and `exec:` services, for the runs RUNNING now
    /// (the list rebuilt only after supervisord said something of a service).
    private var checks: ServiceChecks
    /// `core.services.runsChanged` when `checks` last learnt the runs.
    private var checkedRuns = -1
    /// Datagrams taken per loop turn at most, so a flood cannot hold back events.
    private static let datagramsPerTurn = 64

    init(
        configuration: ListenerConfiguration, http: ListenAddress? = nil, hookPath: String, periodicProbe: consuming PeriodicProbe = .disabled,
        notifySocketPath: String = "/run/readiness/notify"
    ) {
        self.http = http
        self.notifySocketPath = notifySocketPath
        checks = ServiceChecks(timing: configuration.checkTiming)
        self.hookPath = hookPath
        self.periodicProbe = periodicProbe
        let statusPath = configuration.statusPath
        io = ListenerIO(statusPath: statusPath)
        let tracker = ProgramTracker(
            selector: configuration.selector, listenerPID: Processes.currentPID, supervisordPID: Processes.parentPID,
            supervisordStartTicks: Processes.startTicks(of: Processes.parentPID), previous: Self.previousRecord(at: statusPath),
            at: Clock.now())
        core = ListenerCore(configuration: configuration, tracker: tracker, at: Clock.now())
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
        io.writer.file.removeTemporary()
        var notify = NotifySocket.none
        if core.services.hasNotifyServices {
            if let problem = io.xmlrpcProblem {
                log(.error, "notify services need supervisord's XML-RPC interface, to be started once the notify socket is bound", [
                    ("error", problem),
                    ("fix", "add a [unix_http_server] section (file=/run/supervisor.sock) and [rpcinterface:supervisor] to supervisord.conf"),
                ])
                return 78
            }
            notify = bindNotifySocket()
            guard notify.isBound else { return 2 }
        }
        core.start(&io)
        if let refusal = core.refusal { return refusal }
        var server = ProbeServer(address: http)
        var scrapeMemory = ProbeEndpoint.ScrapeMemory()
        var nextBindAttempt: Int64 = 0
        var bindAttempts = 0
        guard send("READY\n") else { return 0 }

        var framer = EventFramer()
        var loop = EventLoop()
        followCommonCheck()
        while true {
            // Before the wait: what to watch and when to wake, nothing that
            // changes the record.
            var now = Clock.monotonicMilliseconds()
            if server.isEnabled && !server.isListening {
                if now >= nextBindAttempt {
                    nextBindAttempt = now + Self.bindRetryMilliseconds
                    listen(&server, firstTry: bindAttempts == 0)
                    bindAttempts += 1
                }
                if !server.isListening { loop.wake(at: nextBindAttempt, for: .httpListener) }
            }
            runHookIfDue(now: now)
            if !core.wantedEveryProcess.isEmpty, !core.isAskingEveryProcess, io.xmlrpcProblem == nil {
                let question = core.askingEveryProcess()
                if !io.askEveryProcess() { core.answered(everyProcess: nil, &io) }
                if core.configuration.verbose { log(.debug, "asking supervisord for every process", [("for", question.description)]) }
            }
            while let call = core.callingSupervisor() {
                guard let answer = io.beginCall(call) else { break }
                core.answered(call: answer, &io)
                // A turn at once, to finish this one (the record, what is due next).
                loop.wake(at: 0, for: .supervisorCall)
            }
            if core.services.runsChanged != checkedRuns {
                checkedRuns = core.services.runsChanged
                checks.follow(core.services.checkable, now: now)
            }
            loop.watch(StandardStreams.inputDescriptor, as: .events)
            if notify.isBound { loop.watch(notify.descriptor, as: .notify) }
            io.watchEveryProcess(in: &loop)
            io.watchCall(in: &loop)
            periodicProbe.watch(in: &loop, now: now)
            checks.watch(in: &loop, now: now)
            server.watch(in: &loop)
            let found: EventLoop.Found
            do {
                found = try loop.wait()
            } catch {
                log(.error, "cannot wait for events, datagrams, checks and HTTP probes", [("error", error.description)])
                return 2
            }
            // After it: every handler, then the record written once, then
            // the probes answered from it.
            now = Clock.monotonicMilliseconds()
            if let answer = io.collectEveryProcess(ready: found.contains(.supervisor)) { core.answered(everyProcess: answer, &io) }
            if let answer = io.collectCall(ready: found.contains(.supervisorCall)) { core.answered(call: answer, &io) }
            if found.contains(.notify) { receiveDatagrams(&notify) }
            if let problem = periodicProbe.follow(woken: found.contains(.hook), now: now) {
                log(.error, "cannot run the hook for httpGet probes", [("hook", hookPath), ("error", problem)])
            }
            for result in checks.collect(found, now: now) + checks.startDue(now: now) {
                core.checked(result.process, pid: result.pid, passed: result.passed, detail: result.detail, &io)
            }
            // The event last: the turn's one write, with everything else the
            // turn learnt, comes before its RESULT.
            var turnFinished = false
            let status = found.contains(.events) ? handleInput(&framer, turnFinished: &turnFinished) : nil
            if !turnFinished { core.finishTurn(&io) }
            if let status { return status }
            // This turn may have brought a new state: no answer gives the
            // hook's verdict of the one before.
            followCommonCheck()
            var answered: [(path: String, status: Int)] = []
            server.serve(found) { request in
                let response = ProbeEndpoint.response(
                    to: request, answers: ProbeEndpoint.Answers(record: core.record, hook: hookVerdict(), unwritten: io.writer.pendingError),
                    metrics: { storage in metricsExposition(reusing: consume storage) }, memory: &scrapeMemory)
                answered.append((ProbeEndpoint.pathLabel(of: request), response.status))
                return response.bytes
            }
            for (path, status) in answered { core.countRequest(path: path, status: status) }
        }
    }

    /// Reads what supervisord sent and answers every complete event in it,
    /// each once the turn is finished (`turnFinished`: the record written);
    /// the exit status once the listener must end.
    private mutating func handleInput(_ framer: inout EventFramer, turnFinished: inout Bool) -> Int32? {
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
                do {
                    let (header, event) = try ListenerEvent.parse(frame)
                    core.handle(header, event, &io)
                } catch {
                    core.unparseable(error, &io)
                }
                core.finishTurn(&io, startingPrograms: false)
                turnFinished = true
                guard send("RESULT 2\nOKREADY\n") else { return 0 }
                // Then the programs the event let start: supervisord is not
                // kept waiting for the RESULT while they are asked about and started.
                core.finishTurn(&io)
            }
        } catch {
            log(.error, "cannot frame the event stream, exiting so supervisord restarts the listener", [("error", error.description)])
            return 2
        }
        return nil
    }

    /// Binds the sd_notify socket, saying where; `.none` (said why) when it cannot be.
    private func bindNotifySocket() -> NotifySocket {
        do throws(Errno) {
            let socket = try NotifySocket.bind(path: notifySocketPath)
            log(.info, "receiving sd_notify messages", [("socket", notifySocketPath)])
            return socket
        } catch {
            log(.error, "cannot bind the notify socket, exiting (supervisord restarts the listener)", [
                ("socket", notifySocketPath), ("error", error.description),
            ])
            return .none
        }
    }

    /// Takes the datagrams waiting (a bounded number per turn), each with its
    /// sender's ancestry as /proc shows it now, for attribution.
    private mutating func receiveDatagrams(_ notify: inout NotifySocket) {
        for _ in 0..<Self.datagramsPerTurn {
            guard let datagram = notify.receive() else { return }
            let ancestry = datagram.senderPID.map { Processes.ancestry(of: $0) } ?? []
            core.receive(
                datagram: datagram.bytes, length: datagram.length, sender: datagram.senderPID, ancestry: ancestry,
                passedDescriptors: datagram.passedDescriptors, &io)
        }
    }

    /// With `--hook-interval`: starts the hook's run through readiness_probe
    /// when one is due, the common check passes and a hook is installed; at
    /// once when the common check has just started to pass, or passes for
    /// another state (`followCommonCheck`, at the end of the turn before).
    private mutating func runHookIfDue(now: Int64) {
        guard periodicProbe.isEnabled else { return }
        let canRun = passing != nil && HookRunner(path: hookPath, timeoutMilliseconds: 0).usability() == .usable
        if let error = periodicProbe.advance(now: now, canRun: canRun) {
            log(.error, "cannot run the hook for httpGet probes", [("hook", hookPath), ("error", error)])
        }
    }

    /// Forgets the hook's verdict when the common check starts to pass, or
    /// passes for another state of start.sh than the verdict was taken for.
    private mutating func followCommonCheck() {
        guard periodicProbe.isEnabled else { return }
        let now = PassingState(core.record)
        if let now, now != passing { periodicProbe.restart() }
        passing = now
    }

    /// Binds the HTTP socket, saying so or why not (once: retries are quiet
    /// until they succeed).
    private func listen(_ server: inout ProbeServer, firstTry: Bool) {
        guard let http else { return }
        do throws(Errno) {
            try server.listen()
            log(.info, "answering httpGet probes", [("address", http.description), ("paths", "/readyz,/livez,/metrics")])
        } catch {
            if firstTry {
                log(.error, "cannot listen for httpGet probes, retrying every 5 s (they fail until then)", [
                    ("address", http.description), ("error", error.description),
                ])
            }
        }
    }

    /// What the hook adds to `/readyz`: nothing when there is none. A request
    /// never starts a process: the hook's verdict is the latest periodic
    /// run's, and without `--hook-interval` an installed hook is not run,
    /// which the answer says rather than pass without it.
    private func hookVerdict() -> Verdict? {
        switch HookRunner(path: hookPath, timeoutMilliseconds: 0).usability() {
        case .absent:
            return nil
        case .unusable(let reason):
            return Verdict(.hookUnusable, reason)
        case .usable:
            guard periodicProbe.isEnabled else {
                return Verdict(.hookUnusable, "hook \(hookPath) is installed, and httpGet probes do not run it: use the exec probe, or --hook-interval")
            }
            return periodicProbe.latest ?? Verdict(.startPending, "\(Verdict.commonCheck(core.record).message); the hook has not run since")
        }
    }

    /// `/metrics` now. Its probe code is the exec probe's, but the hook's
    /// only from `--hook-interval`'s runs: a scrape never starts a process.
    private func metricsExposition(reusing storage: consuming [UInt8]) -> [UInt8] {
        let hook = periodicProbe.isEnabled ? hookVerdict() : nil
        let code = ProbeEndpoint.Answers(record: core.record, hook: hook, unwritten: io.writer.pendingError).readiness.code
        return (core.metrics ?? ListenerMetrics()).exposition(
            record: core.record, probeCode: code, xmlrpcCalls: io.xmlrpcCalls, version: ReadinessVersion.current, reusing: consume storage)
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

/// The listener's outside world, as `ListenerCore` asks for it: supervisord's
/// XML-RPC interface, SIGTERM to supervisord, the status file, stderr, the clock.
struct ListenerIO: ~Copyable, ListenerPort {
    var writer: StatusWriter
    private var supervisor = SupervisorConnection()

    init(statusPath: String) { writer = StatusWriter(path: statusPath) }

    /// supervisord's answers so far, by `result="ok"` or `result="error"`.
    var xmlrpcCalls: ListenerMetrics.Tally { supervisor.calls }

    /// Why supervisord's XML-RPC interface cannot be used at all; nil when it is configured.
    var xmlrpcProblem: String? { supervisor.configurationProblem }

    mutating func startProcess(_ process: String) -> String? { supervisor.startProcess(process) }

    mutating func processInfo(_ process: String) -> SupervisorAnswer { supervisor.processInfo(process) }

    mutating func allProcessInfo() -> [NamedProcessInfo]? { supervisor.allProcessInfo() }

    mutating func programConfigs() -> [ProgramConfig]? { supervisor.programConfigs() }

    /// Starts getAllProcessInfo for the loop to drive; false (noted) when it cannot start.
    mutating func askEveryProcess() -> Bool { supervisor.askEveryProcess() }

    func watchEveryProcess(in loop: inout EventLoop) { supervisor.watchEveryProcess(in: &loop) }

    /// getAllProcessInfo's answer once its exchange is over and the answer
    /// read (nil inside: no usable answer); nil while either goes on or none
    /// is in flight.
    mutating func collectEveryProcess(ready: Bool) -> [NamedProcessInfo]?? { supervisor.collectEveryProcess(ready: ready) }

    /// Begins a call for the loop to drive (a start's, or a question about
    /// one process): nil once under way, else the answer it gets at once (no
    /// exchange could begin).
    mutating func beginCall(_ call: SupervisorCall) -> SupervisorCallAnswer? { supervisor.beginCall(call) }

    func watchCall(in loop: inout EventLoop) { supervisor.watchCall(in: &loop) }

    /// The call's answer once its exchange is over; nil while it goes on or none is in flight.
    mutating func collectCall(ready: Bool) -> SupervisorCallAnswer? { supervisor.collectCall(ready: ready) }

    mutating func signalSupervisord(pid: Int, startTicks: UInt64?) -> String? {
        switch Processes.terminateSupervisord(pid: pid, startTicks: startTicks) {
        case .success: nil
        case .failure(let failure): failure.description
        }
    }

    mutating func ancestry(of pid: Int) -> [Int] { Processes.ancestry(of: pid) }

    mutating func write(_ record: StatusRecord) { writer.write(record) }

    mutating func retryPendingWrite(_ record: StatusRecord) { writer.retryIfPending(record) }

    mutating func heartbeat(_ record: StatusRecord) { writer.heartbeat(record) }

    mutating func log(_ level: LogLine.Level, _ message: String, _ fields: [(String, String)]) {
        readiness_listener.log(level, message, fields)
    }

    var now: Timestamp { Clock.now() }
}

/// supervisord's XML-RPC interface, when it has one: logs when it becomes
/// unusable (once) and when it is usable again, so a missing server or
/// missing credentials cost one warning, not one per event.
struct SupervisorConnection: ~Copyable {
    private let client: Result<SupervisorClient, SupervisorClient.Failure>
    private var lastFailure: String?
    /// getAllProcessInfo in flight, driven by the loop.
    private var everyProcess = SupervisorCallInFlight()
    /// Its answer once the exchange is over, read a part per turn.
    private var everyProcessAnswer: SupervisorClient.EveryProcessAnswer?
    /// The call of a fixed-size answer in flight (`SupervisorCall`), driven by the loop.
    private var callInFlight = SupervisorCallInFlight()
    private var callMade: SupervisorCall?
    /// Every call's result, for `readiness_xmlrpc_calls_total`.
    private(set) var calls = ListenerMetrics.Tally()

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

    /// Not noted: a failure here (an older supervisord, say) says nothing
    /// of the calls the listener lives on; the core says what it skips.
    mutating func programConfigs() -> [ProgramConfig]? {
        guard case .success(let client) = client, case .success(let configs) = client.programConfigs() else { return nil }
        return configs
    }

    mutating func askEveryProcess() -> Bool {
        guard case .success(let client) = client else { return false }
        guard let failure = everyProcess.begin(client.startAllProcessInfo()) else { return true }
        _ = note(Result<Void, SupervisorClient.Failure>.failure(failure))
        return false
    }

    /// While an answer is being read, the loop does not sleep between its parts.
    func watchEveryProcess(in loop: inout EventLoop) {
        everyProcess.watch(in: &loop)
        if everyProcessAnswer != nil { loop.wake(at: 0, for: .supervisor) }
    }

    /// At most this many processes of an answer are read in one turn: about
    /// 60 KiB of it, well under a millisecond here.
    static let processesPerTurn = 50

    mutating func collectEveryProcess(ready: Bool) -> [NamedProcessInfo]?? {
        if var answer = everyProcessAnswer.take() {
            guard let programs = answer.read(upTo: Self.processesPerTurn) else {
                everyProcessAnswer = answer
                return nil
            }
            return .some(note(programs))
        }
        guard let exchanged = everyProcess.advance(ready: ready) else { return nil }
        switch SupervisorClient.EveryProcessAnswer.reading(exchanged) {
        case .success(let answer): everyProcessAnswer = answer
        case .failure(let failure): return .some(note(Result<[NamedProcessInfo], SupervisorClient.Failure>.failure(failure)))
        }
        return nil
    }

    /// Begins `call`: nil once under way, else the answer it gets at once.
    @inline(never) mutating func beginCall(_ call: SupervisorCall) -> SupervisorCallAnswer? {
        guard case .success(let client) = client else { return Self.unanswered(call, "XML-RPC unusable") }
        let failure: SupervisorClient.Failure?
        switch call {
        case .processInfo(let process): failure = callInFlight.begin(client.startProcessInfo(process))
        case .start(let process): failure = callInFlight.begin(client.startStartProcess(process))
        case .stop(let process): failure = callInFlight.begin(client.startStopProcess(process))
        case .shutdown:
            #if READINESS_TEST_HOOKS
            // Debug builds only: a pause before shutting down, so that a test can
            // kill the listener between recording an essential failure and acting on it.
            if let delay = Int64(Processes.environmentValue("READINESS_TEST_SHUTDOWN_DELAY_MS") ?? ""), delay > 0 {
                Clock.sleep(milliseconds: delay)
            }
            #endif
            failure = callInFlight.begin(client.startShutdown())
        }
        guard let failure else {
            callMade = call
            return nil
        }
        _ = note(Result<Void, SupervisorClient.Failure>.failure(failure))
        return Self.unanswered(call, failure.description)
    }

    func watchCall(in loop: inout EventLoop) { callInFlight.watch(in: &loop, as: .supervisorCall) }

    /// The call's answer, once its exchange is over.
    @inline(never) mutating func collectCall(ready: Bool) -> SupervisorCallAnswer? {
        guard let exchanged = callInFlight.advance(ready: ready), let made = callMade.take() else { return nil }
        switch made {
        case .processInfo: return .processInfo(note(SupervisorClient.processInfoAnswer(exchanged)) ?? .unavailable)
        case .start: return .started(failure: Self.failure(of: note(SupervisorClient.startProcessAnswer(exchanged))))
        case .stop: return .stopped(failure: Self.failure(of: note(SupervisorClient.stopProcessAnswer(exchanged))))
        case .shutdown: return .shutDown(failure: shutdownFailure(SupervisorClient.shutdownAnswer(exchanged)))
        }
    }

    private static func unanswered(_ call: SupervisorCall, _ why: String) -> SupervisorCallAnswer {
        switch call {
        case .processInfo: .processInfo(.unavailable)
        case .start: .started(failure: why)
        case .stop: .stopped(failure: why)
        case .shutdown: .shutDown(failure: why)
        }
    }

    /// Nil when the client is configured (SUPERVISOR_SERVER_URL), else why not.
    var configurationProblem: String? {
        switch client {
        case .success: nil
        case .failure(let failure): failure.description
        }
    }

    /// startProcess: nil once supervisord accepted, or had it so already;
    /// else why not.
    mutating func startProcess(_ process: String) -> String? {
        Self.failure(of: note(client.flatMap { $0.startProcess(process) }))
    }

    /// Nil when supervisord accepted, or had it so already; else why not.
    private static func failure(of answer: ControlAnswer?) -> String? {
        switch answer {
        case .done?, .already?: nil
        case .refused(let fault)?: fault
        case nil: "XML-RPC unusable"
        }
    }

    /// supervisor.shutdown's answer: nil once supervisord accepted; else why
    /// not (a fault, SHUTDOWN_STATE, says nothing of XML-RPC's health).
    private mutating func shutdownFailure(_ answer: Result<Void, SupervisorClient.Failure>) -> String? {
        switch answer {
        case .success:
            calls.add(Self.ok)
            return nil
        case .failure(let failure):
            calls.add(Self.error)
            return failure.description
        }
    }

    private static let ok = "result=\"ok\""
    private static let error = "result=\"error\""

    private mutating func note<Value>(_ result: Result<Value, SupervisorClient.Failure>) -> Value? {
        // Without a configured server no call is made, and none is counted.
        let called = if case .success = client { true } else { false }
        switch result {
        case .success(let value):
            calls.add(Self.ok)
            if lastFailure != nil { log(.info, "XML-RPC usable again", []) }
            lastFailure = nil
            return value
        case .failure(let failure):
            if called { calls.add(Self.error) }
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
///
/// Fails closed: a write counts once the file is replaced and its lock held
/// (`ReplacedFile`); when one fails, the lock is let go and the old file
/// removed (where the file system still allows it), so no reader takes a
/// READY the listener could not replace.
struct StatusWriter: ~Copyable {
    private(set) var file: ReplacedFile
    /// Why the last write failed; nil once one succeeded.
    private(set) var pendingError: String?
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
            file.releaseLock()
            // Where even this fails (a read-only file system), the released
            // lock is what keeps the probe from taking the old file.
            if pendingError == nil { Files.removeIfPresent(path) }
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

    /// The heartbeat: the file's modification time set to now, or the file
    /// written anew when that fails or the last write failed.
    mutating func heartbeat(_ record: StatusRecord) {
        if pendingError != nil || (try? file.touch()) == nil { write(record) }
    }
}

func log(_ level: LogLine.Level, _ message: String, _ fields: [(String, String)]) {
    var line = LogLine(time: Clock.now(), level: level, message: message)
    for (key, value) in fields { line.append(key, value) }
    StandardStreams.log(line.rendered())
}
