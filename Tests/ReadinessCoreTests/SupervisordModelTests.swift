import Testing

@testable import ReadinessCore

/// A model of what supervisord does to a listener, driving the real
/// `ListenerCore` through seeded random histories, with the probe's verdict
/// checked after every step.
///
/// Modelled: one start program (in its own group or in `[group:init]`, with
/// `exitcodes=0` or `0,2`) going through supervisord's states; other
/// programs' events; TICKs; an event pool of a few slots that drops its
/// oldest event on overflow; serials that keep counting across a reload and
/// poolserials that start again; XML-RPC answers that are live, taken a
/// little later than the event that asked (supervisord moves on meanwhile);
/// `supervisorctl restart` and `stop`; listener crashes before or after its
/// status write, and supervisord redelivering the event; reloads (the
/// STOPPING event, the old listener stopped at a random point, buffers
/// dropped, the start program perhaps gone from the new configuration, the
/// new listener started while start.sh may already run); `supervisorctl
/// update` of the listener's own section (a new pool, nothing restarted);
/// histories with and without XML-RPC. In half of them, `app:app` is
/// essential (`--essential app --essential-dry-run`): started with every
/// generation, it may exit, expectedly or not, and is not restarted. In half
/// of those with XML-RPC, `web:web` (`autostart=false`) is started by the
/// listener (`--start-after web=start:exited`), with the loop's calls:
/// getProcessInfo of web and start, answered when they arrive or (if every
/// event emitted since reached the listener first) when they were made, or
/// not at all; then startProcess, which supervisord takes when it is made.
/// The listener's questions about start.sh (its exit status, each TICK's
/// reconcile) are such calls too, in every history with XML-RPC.
/// In half of those, with `--restart-dependents`: the listener stops web
/// (stopProcess) when start.sh runs again or stops, and starts it again once
/// the new run exited expected.
/// In half of all histories,
/// `svc:svc` is a notify service (`--service svc=notify`) that supervisord
/// restarts: its runs send READY=1 themselves or from a child, name a child
/// with MAINPID=, name supervisord with MAINPID=, and die; a sibling
/// (`other`, pid 7) sends READY=1 too, before or after the listener knows the run.
/// In half, `chk:chk` (`--service chk=tcp:9000`), which supervisord
/// restarts, opens and closes its port; the listener's checks of a run end
/// in a turn of their own, their result taken when they began or when they
/// end (by then another run may listen). The listener may be stopped
/// (`supervisorctl stop`: its lock released, the pool keeping its events)
/// or frozen (SIGSTOP) for one to four TICK_5s, then started or resumed.
///
/// Invariants, after every step and at every write (so also between the
/// sub-steps of a reload, an update or a crash), on the status file as the
/// probe reads it:
/// 1. READY only for a run that exited with an expected status, in the
///    current generation (for ABSENT: a generation without the program).
///    The one window allowed: without XML-RPC, when the old listener never
///    recorded the reload, until the new listener's first event. With
///    XML-RPC, only for the latest run (or while a later one has exited
///    expected too), unless the listener cannot know of a later run yet:
///    its events are still queued, or were lost with no event since.
/// 2. The recorded states follow supervisord's order: each recorded state is
///    one the program entered after the previously recorded one.
/// 3. With XML-RPC, once the stream goes quiet: within two TICKs the record
///    equals supervisord's truth, the essential program's unexpected end
///    included, and the exit status once start.sh did not move in them.
/// 4. An essential failure is recorded only for an end of `app` in the
///    current generation; after a reload no listener recorded, only once
///    an event showed the new pool (until then the new listener cannot
///    tell the old generation's end from this one's).
/// 5. Start order: `web` is started only while supervisord has start's
///    latest run of this generation exited with an expected status (never
///    early), at most once a generation, or with `--restart-dependents`
///    once a run of start (never twice), and, once the stream goes quiet,
///    it has been started if that holds (never lost); with
///    `--restart-dependents` it then runs exactly when that holds.
/// 6. Services: `svc:svc` is recorded ready only for a run that sent
///    READY=1 itself, from a descendant, or from the MAINPID it named
///    among its descendants; never from a sibling's message. `chk:chk`
///    is recorded ready only for a run that listened on its port, or one
///    whose end the listener has not heard of yet (its successor's port
///    answers): a result is never taken for a run it was not begun for.
/// 7. A file no live listener keeps does not read READY to the probe: none
///    while the listener is stopped, none once a frozen listener's file is
///    more than 10 s old (when it promises the heartbeat: a listener frozen
///    before its first TICK_5, fresh after a reload, promised none); and a live listener that gets its TICK_5s keeps
///    its file from reading LISTENER_GONE (checked at the end of a history,
///    after two TICK_5s 5 s apart).
@Suite struct SupervisordModelTests {
    static let histories = Int(Environment.value("READINESS_MODEL_HISTORIES") ?? "") ?? 10_000
    static let batches = 8
    /// One history, to trace a failing seed (with READINESS_MODEL_TRACE=1).
    static let onlySeed = UInt64(Environment.value("READINESS_MODEL_SEED") ?? "")

    /// The seeds in `batches` parts, which Swift Testing runs in parallel.
    @Test(arguments: 0..<batches)
    func randomHistoriesKeepTheInvariants(batch: Int) {
        var failures: [String] = []
        var steps = 0
        for seed in stride(from: UInt64(batch + 1), through: UInt64(Self.histories), by: Self.batches) where Self.onlySeed.map({ $0 == seed }) ?? true {
            var model = SupervisordModel(seed: seed)
            let result = model.runHistory()
            steps += model.stepCount
            if let failure = result {
                failures.append("seed \(seed): \(failure)" + model.trace.lines.map { "\n  " + $0 }.joined())
                if failures.count >= 5 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        print("supervisord model, batch \(batch): \((Self.histories - batch + Self.batches - 1) / Self.batches) histories, \(steps) steps, invariants checked after each")
    }
}

struct SupervisordModel: ListenerPort {
    var random: SeededGenerator

    // This history's configuration.
    let group: String
    let exitcodes: Set<Int>
    let xmlrpc: Bool
    let bufferSize: Int
    let essential: Bool
    /// `--start-after web=start:exited`.
    let startOrder: Bool
    /// `--restart-dependents`, with `startOrder`.
    let restartDependents: Bool
    /// `--service svc=notify`.
    let notifyService: Bool
    /// `--service chk=tcp:9000`.
    let checkedService: Bool

    // supervisord's truth about the start program.
    struct Entry {
        var generation: Int
        var state: ProcessState
        var run: Int
    }
    struct Run {
        var start: Int
        var pid: Int
        var generation: Int
        var exitedExpected = false
    }
    var startConfigured = true
    var generation = 0
    var state: ProcessState = .stopped
    var laststart = 0
    var stop = 0
    var pid = 0
    var exitStatus = 0
    var spawnError = ""
    var clock = 1_000
    /// The latest the wall clock read before it stepped back.
    var clockHighWater = 1_000
    var nextPID = 100
    var runs: [Run] = []
    var truth: [Entry] = []

    // supervisord's truth about the essential program, `app:app`, which
    // every generation starts and nothing restarts.
    var appState: ProcessState = .running
    var appPID = 50
    var appStart = 900
    var appStop = 0
    var appExitStatus = 0
    /// It exited unexpectedly in the current generation: an essential failure.
    var appFailed = false

    // supervisord's truth about `web:web`, which only the listener starts.
    var web = ModelProgram(name: "web")
    /// The listener's startProcess calls for it in the current generation.
    var webSpawns = 0
    /// The run of start (index in `runs`) web was last started after.
    var webStartedAfterRun: Int?

    // supervisord's truth about `svc:svc` (autorestart=true), and what its
    // runs sent: the runs (pids) that sent READY=1 from themselves or a descendant.
    var svc = ModelProgram(name: "svc")
    var svcChild = 0
    var svcReadyRuns: Set<Int> = []

    // supervisord's truth about `chk:chk` (autorestart=true, checked by
    // `tcp:`), and the runs (pids) that listened on its port at some time.
    var chk = ModelProgram(name: "chk")
    var chkListens = false
    var chkListenedRuns: Set<Int> = []
    /// The runs whose end no listener has handled an event of yet (queued,
    /// or lost to an overflow until a TICK's reconcile).
    var chkEndsUnheard: Set<Int> = []
    /// The check under way: the run the listener checks (the pid it gave),
    /// and its result when taken as the check began (nil: when it ends).
    var checkInFlight: (pid: Int, passed: Bool?)?

    // The listener's event pool.
    struct Queued {
        var header: EventHeader
        var event: ListenerEvent
    }
    var buffer: [Queued] = []
    var serial: UInt64 = 0
    var poolSerial: UInt64 = 0

    // The listener and its status file.
    var core: ListenerCore?
    /// The loop's getAllProcessInfo in flight: its answer taken when asked,
    /// or (nil) taken when it arrives, events delivered in between either way.
    var everyProcessInFlight: [NamedProcessInfo]??
    var everyProcessAsked = false
    /// The loop's call in flight (`SupervisorCall`): supervisord takes a
    /// startProcess or stopProcess when it is made (`controlAnswer`, handed
    /// over when it arrives), and answers a getProcessInfo when its answer
    /// arrives, events delivered in between either way.
    var callInFlight: SupervisorCall?
    var controlAnswer: String?
    /// A getProcessInfo answer taken when the call was made, with
    /// supervisord's serial then: it is handed over only if every event
    /// emitted since reached the listener first (supervisord writes an
    /// event to a listener waiting for one at once), else the answer is
    /// taken when it arrives.
    var staleAnswer: (answer: SupervisorAnswer, serial: UInt64)?
    /// The serial when events were last lost (an overflow, a reload).
    var lastLostSerial: UInt64 = 0
    /// An event of start.sh was lost to an overflow, and no event has been
    /// handed to the listener since, nor has a listener started: none could
    /// show it the gap yet (invariant 1).
    var startLossUnseen = false
    /// Once the stream goes quiet (`converge`), every question is answered,
    /// and supervisord no longer moves on while it answers.
    var answersMayFail = true
    var settled = false
    var file: StatusRecord? {
        didSet { verdict = file.map { Verdict.commonCheck($0) } }
    }
    /// The probe's common check of `file`, computed once per write.
    var verdict: Verdict?
    var writesLost = false
    var listenerPID = 1_000
    /// `supervisorctl stop readiness_listener`: no listener holds the lock;
    /// supervisord keeps the pool's events for the next one.
    var listenerStopped = false
    /// SIGSTOP: the listener holds its lock and takes no turn.
    var listenerFrozen = false
    /// When the file was last written or refreshed (its modification time), in ms.
    var fileTime: Int64 = 0
    /// Whether the old listener recorded the reload, and whether the new
    /// one has since handled an event that shows the new pool (a poolserial
    /// below the recorded one, or equal with another serial): the window
    /// invariants 1 and 4 allow. Events the overflow took from the new pool
    /// can leave none that shows it: the reload then goes unnoticed until
    /// start.sh's own events (or XML-RPC showing another run) tell.
    var reloadRecorded = true
    var newPoolShown = true
    var recordedPoolAtReload: (poolSerial: UInt64?, serial: UInt64?) = (nil, nil)
    /// Whether the listener handled the STOPPING event and wrote the file
    /// (from the model's side, not the file's: a listener that ignored the
    /// event must not open the window for itself).
    var stoppingHandled = false
    /// Without XML-RPC, after an update, until a listener wrote what the
    /// first event told it: a new pool, which it takes for a reload.
    var updateUndecided = false

    // The checks' own state.
    /// The first invariant broken at a write (`write`), reported after the step.
    var writeFailure: String?
    var matchedTruth = -1
    var forgotten = false
    var finishedRun: Int?
    var seenHistory: [StatusRecord.Transition] = []
    var stepCount = 0
    /// What happened, for a failing seed (READINESS_MODEL_TRACE=1); built
    /// only then, since describing values is most of a step's cost.
    final class Trace { var lines: [String] = [] }
    let trace = Trace()
    static let tracing = Environment.value("READINESS_MODEL_TRACE") != nil
    func note(_ line: @autoclosure () -> String) { if Self.tracing { trace.lines.append(line()) } }

    init(seed: UInt64) {
        random = SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15)
        group = Bool.random(using: &random) ? "start" : "init"
        exitcodes = Bool.random(using: &random) ? [0] : [0, 2]
        xmlrpc = Int.random(in: 0..<4, using: &random) != 0
        bufferSize = Int.random(in: 2...12, using: &random)
        startConfigured = Int.random(in: 0..<10, using: &random) != 0
        essential = Bool.random(using: &random)
        startOrder = xmlrpc && Bool.random(using: &random)
        restartDependents = startOrder && Bool.random(using: &random)
        notifyService = Bool.random(using: &random)
        checkedService = Bool.random(using: &random)
        // A dependency supervisord does not have is refused at start-up.
        if startOrder { startConfigured = true }
    }

    // MARK: - The history

    mutating func runHistory() -> String? {
        let startFirst = Bool.random(using: &random)
        if startFirst && startConfigured { spawn() }
        startListener()
        if !startFirst && startConfigured && state == .stopped && laststart == 0 { spawn() }
        if let failure = writeFailure ?? check() { return failure }
        for _ in 0..<Int.random(in: 20...60, using: &random) {
            stepCount += 1
            if listenerStopped || listenerFrozen, Int.random(in: 0..<6, using: &random) == 0 { resumeListener() }
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<30: advance()
            case 30..<40: tick()
            case 40..<45: enqueue(.processState(ProcessStateEvent(serial: 0, state: .running, processName: "other", groupName: "other", fromState: .starting, pid: 7)))
            case 45..<48: crashListener()
            case 48..<50: reload()
            case 50..<51: updateListener()
            case 51..<53: endApp()
            case 53..<57: answerEveryProcess()
            case 57..<60: answerCall()
            case 60..<68 where notifyService && (!checkedService || Bool.random(using: &random)): serviceStep()
            case 60..<68 where checkedService: checkedServiceStep()
            case 68..<73 where checkedService: checkStep()
            case 73..<75: pauseListener()
            case 75: stepClockBack()
            default: deliver()
            }
            if let failure = writeFailure ?? check() { return failure }
        }
        return converge() ?? heartbeatKeepsTheFileFresh()
    }

    /// With XML-RPC: every event is delivered, then two TICKs; the record
    /// must then equal supervisord's truth. With `--start-after`,
    /// supervisord's programs stop changing and the two TICKs are ones in
    /// which it emits nothing else (a TICK's turn can start web, whose
    /// events may overflow the pool; the TICK after repairs that).
    mutating func converge() -> String? {
        if listenerStopped || listenerFrozen { resumeListener() }
        clock = max(clock, clockHighWater)
        guard xmlrpc else { return nil }
        answersMayFail = false
        // With --start-after supervisord's programs stop changing: a start
        // of web can overflow the pool at any TICK while start.sh moves on.
        settled = startOrder
        var quietTicks = 0
        // TICKs in a row in which start.sh did not move on (an answer lets it).
        var startQuietTicks = 0
        var rounds = 0
        while quietTicks < 2 {
            rounds += 1
            guard rounds <= 20 else { return "supervisord never went quiet in 20 TICKs" }
            let startMoves = truth.count
            tick()
            let emitted = serial
            var turns = 0
            while !buffer.isEmpty || everyProcessAsked || callInFlight != nil || checkInFlight != nil {
                turns += 1
                guard turns <= 1000 else { return "the listener keeps asking: no quiet after 1,000 turns" }
                if checkInFlight != nil && (buffer.isEmpty || Bool.random(using: &random)) {
                    checkStep()
                } else if callInFlight != nil && (buffer.isEmpty || Bool.random(using: &random)) {
                    answerCall(crashes: false)
                } else if everyProcessAsked {
                    answerEveryProcess()
                } else {
                    deliver(crashes: false)
                }
                if let failure = writeFailure ?? check() { return failure }
            }
            quietTicks = serial == emitted || !startOrder ? quietTicks + 1 : 0
            startQuietTicks = truth.count == startMoves ? startQuietTicks + 1 : 0
        }
        guard let file else { return "no status file after the stream went quiet" }
        let expected: RecordedState =
            !startConfigured ? .absent : (state == .stopped && laststart == 0) ? .notSeen : .process(state)
        guard file.state == expected else { return "after two quiet TICKs the file says \(file.state.rawValue), supervisord \(expected.rawValue)" }
        if state == .exited, file.expected != exitcodes.contains(exitStatus) {
            return "after two quiet TICKs expected=\(String(describing: file.expected)), supervisord's exit \(exitStatus) with exitcodes \(exitcodes.sorted())"
        }
        // -1 is a signal, recorded as no status. After lost events it is
        // taken from two TICKs' answers that agree with no event between.
        if state == .exited, startQuietTicks >= 2, file.exitStatus != (exitStatus >= 0 ? exitStatus : nil) {
            return "after two quiet TICKs exit_status=\(file.exitStatus.map { "\($0)" } ?? "unknown"), supervisord's \(exitStatus)"
        }
        if essential, appFailed, file.essentialFailure?.program != "app:app" {
            return "after two quiet TICKs no essential failure recorded, though app:app exited unexpectedly in this generation"
        }
        if startOrder, startHasExitedExpected, webSpawns == 0 {
            return "after two quiet TICKs web:web is not started, though start's latest run exited expected"
        }
        if restartDependents, (web.state == .running) != startHasExitedExpected {
            return "after two quiet TICKs web:web is \(web.state.rawValue) with --restart-dependents, and start is \(state.rawValue) (latest run exited expected: \(runs.last?.exitedExpected ?? false))"
        }
        return nil
    }

    /// Invariant 7, the other side: a live listener that gets its TICK_5s
    /// keeps its file fresh, whether or not the record changes.
    mutating func heartbeatKeepsTheFileFresh() -> String? {
        resumeListener()
        answersMayFail = false
        for _ in 0..<2 {
            clock += 5
            tick()
            while !buffer.isEmpty { deliver(crashes: false) }
        }
        if let verdict = probeVerdict, verdict.code == .listenerGone {
            return "a live listener that got every TICK_5 left a file that reads: \(verdict.line)"
        }
        return nil
    }

    /// supervisord has start's latest run of this generation exited with a status in exitcodes.
    var startHasExitedExpected: Bool { state == .exited && runs.last?.generation == generation && runs.last?.exitedExpected == true }

    // MARK: - supervisord

    func isStartEvent(_ queued: Queued) -> Bool {
        if case .processState(let change) = queued.event { return change.processName == "start" }
        return false
    }

    mutating func enqueue(_ event: ListenerEvent) {
        serial += 1
        poolSerial += 1
        var event = event
        if case .processState(var change) = event {
            change.serial = serial
            event = .processState(change)
        }
        note("emit \(serial)/\(poolSerial) \(event)")
        buffer.append(Queued(header: EventHeader(eventName: "MODEL", serial: serial, poolSerial: poolSerial), event: event))
        if buffer.count > bufferSize {
            note("overflow drops \(buffer[0].header.serial)")
            if isStartEvent(buffer.removeFirst()) { startLossUnseen = true }
            lastLostSerial = serial
        }
    }

    /// The wall clock steps back (NTP, a resumed VM), for supervisord and
    /// the listener alike. Not while a TICK is queued: one queued before the
    /// step and answered after it can confirm a reconcile against events
    /// still queued behind it (how-it-works, "What remains").
    mutating func stepClockBack() {
        guard !buffer.contains(where: { if case .tick = $0.event { true } else { false } }) else { return }
        clockHighWater = max(clockHighWater, clock)
        clock -= Int.random(in: 1...20, using: &random)
        note("the clock steps back to \(clock)")
    }

    /// TICK_5: every five seconds of supervisord's clock.
    mutating func tick() {
        clock += 1
        enqueue(.tick(when: clock))
    }

    mutating func enter(_ next: ProcessState, expected: Bool? = nil, eventPID: Int? = nil, tries: Int? = nil) {
        let from = state
        state = next
        truth.append(Entry(generation: generation, state: next, run: runs.count - 1))
        enqueue(.processState(ProcessStateEvent(
            serial: 0, state: next, processName: "start", groupName: group, fromState: from, expected: expected, pid: eventPID, tries: tries)))
    }

    /// A spawn: a new run, with a `start` of its own.
    mutating func spawn() {
        clock += 1
        laststart = clock
        spawnError = ""
        exitStatus = 0
        pid = nextPID
        nextPID += 1
        runs.append(Run(start: laststart, pid: pid, generation: generation))
        enter(.starting, tries: 0)
    }

    /// One thing supervisord does to the start program.
    mutating func advance() {
        guard startConfigured else { return }
        let roll = Int.random(in: 0..<100, using: &random)
        switch state {
        case .stopped, .exited, .fatal:
            if roll < 50 { spawn() }
        case .starting:
            if roll < 60 {
                enter(.running, eventPID: pid)
            } else if roll < 85 {
                spawnError = "Exited too quickly (process log may have details)"
                pid = 0
                enter(.backoff, tries: 1)
            } else {
                stopProgram()
            }
        case .running:
            if roll < 60 {
                let status = [0, 0, 1, 2, 3, -1].randomElement(using: &random)!
                let expected = exitcodes.contains(status)
                clock += 1
                stop = clock
                exitStatus = status
                spawnError = expected ? "" : "Bad exit code \(status)"
                runs[runs.count - 1].exitedExpected = expected
                let dead = pid
                pid = 0
                enter(.exited, expected: expected, eventPID: dead)
            } else {
                stopProgram()
            }
        case .backoff:
            if roll < 60 { spawn() } else { enter(.fatal) }
        case .stopping, .unknown:
            enter(.stopped, eventPID: pid)
        }
    }

    /// The essential program ends: exit 1 (unexpected) or 0 (expected, not a failure).
    mutating func endApp() {
        guard appState == .running else { return }
        let status = Bool.random(using: &random) ? 1 : 0
        clock += 1
        appStop = clock
        appExitStatus = status
        appState = .exited
        appFailed = status != 0
        enqueue(.processState(ProcessStateEvent(
            serial: 0, state: .exited, processName: "app", groupName: "app", fromState: .running, expected: status == 0, pid: appPID)))
        appPID = 0
    }

    /// A new generation starts the essential program again.
    mutating func startApp() {
        appPID = nextPID
        nextPID += 1
        clock += 1
        appStart = clock
        appState = .running
        appFailed = false
        enqueue(.processState(ProcessStateEvent(serial: 0, state: .running, processName: "app", groupName: "app", fromState: .starting, pid: appPID)))
    }

    mutating func stopProgram() {
        let running = pid
        enter(.stopping, eventPID: running)
        clock += 1
        stop = clock
        pid = 0
        enter(.stopped, eventPID: running)
    }

    /// `supervisorctl reload`: STOPPING to the listener first, programs
    /// stopped, the old listener stopped at a random point, a new generation.
    mutating func reload() {
        note("reload")
        stoppingHandled = false
        enqueue(.supervisorStopping)
        for _ in 0..<Int.random(in: 0...3, using: &random) { deliver(crashes: false) }
        if state == .running || state == .starting { stopProgram() }
        for _ in 0..<Int.random(in: 0...2, using: &random) { deliver(crashes: false) }
        core = nil
        reloadRecorded = stoppingHandled
        newPoolShown = false
        recordedPoolAtReload = (file?.poolSerial, file?.serial)
        generation += 1
        buffer = []
        lastLostSerial = serial
        poolSerial = 0
        state = .stopped
        laststart = 0
        pid = 0
        spawnError = ""
        exitStatus = 0
        startConfigured = startOrder || Int.random(in: 0..<10, using: &random) != 0
        web = ModelProgram(name: "web")
        webSpawns = 0
        webStartedAfterRun = nil
        svc = ModelProgram(name: "svc")
        svcChild = 0
        chkEndsUnheard.insert(chk.pid)
        chk = ModelProgram(name: "chk")
        chkListens = false
        truth.append(Entry(generation: generation, state: .stopped, run: -1))
        startApp()
        // The pool subscribes before anything is spawned; the listener
        // (priority -1) and start.sh are spawned in the same pass.
        let startFirst = Bool.random(using: &random)
        if startFirst && startConfigured { spawn() }
        startListener()
        if !startFirst && startConfigured && state == .stopped && laststart == 0 { spawn() }
    }

    /// `supervisorctl update` after an edit of the listener's own section:
    /// the listener stopped at a random point, a new pool (its poolserial
    /// starts again, the queued events gone with the old one), every other
    /// program left as it is, in the same generation. Without XML-RPC the
    /// new listener cannot tell that from a reload and starts afresh
    /// (documented): what it answered before the update no longer binds it.
    mutating func updateListener() {
        note("update of the listener's section")
        for _ in 0..<Int.random(in: 0...2, using: &random) { deliver(crashes: false) }
        core = nil
        buffer = []
        lastLostSerial = serial
        poolSerial = 0
        updateUndecided = !xmlrpc
        startListener()
    }

    /// supervisord spawns `program` anew: a new pid, STARTING.
    mutating func spawn(_ program: WritableKeyPath<Self, ModelProgram>) {
        clock += 1
        let starting = self[keyPath: program].spawn(pid: nextPID, at: clock)
        nextPID += 1
        enqueue(starting)
    }

    /// One thing `svc:svc` does: supervisord spawns or restarts it, it
    /// reaches RUNNING, a run (or its child) notifies, the sibling sends a
    /// MAINPID= naming supervisord and then READY=1, or the run dies.
    mutating func serviceStep() {
        let roll = Int.random(in: 0..<100, using: &random)
        switch svc.state {
        case .stopped, .exited, .fatal, .backoff:
            svcChild = nextPID + 1
            spawn(\.svc)
            nextPID += 1
        case .starting:
            enqueue(svc.reachRunning())
        case .running where roll < 25:
            svcReadyRuns.insert(svc.pid)
            notify("READY=1", from: svc.pid)
        case .running where roll < 40:
            svcReadyRuns.insert(svc.pid)
            notify("READY=1", from: svcChild)
        case .running where roll < 55:
            notify("MAINPID=\(svcChild)", from: svc.pid)
            if Bool.random(using: &random) {
                svcReadyRuns.insert(svc.pid)
                notify("READY=1", from: svcChild)
            }
        case .running where roll < 80:
            // The run names supervisord: taken, any process under it would speak for the run.
            notify("MAINPID=1", from: svc.pid)
            notify("READY=1", from: 7)
        case .running:
            svcChild = 0
            clock += 1
            enqueue(svc.exit())
        case .stopping, .unknown:
            svc.state = .stopped
        }
    }

    /// One thing `chk:chk` does: supervisord spawns or restarts it, it
    /// reaches RUNNING, it opens or closes its port, or it dies (and is
    /// perhaps restarted at once).
    mutating func checkedServiceStep() {
        let roll = Int.random(in: 0..<100, using: &random)
        switch chk.state {
        case .stopped, .exited, .fatal, .backoff:
            chkListens = false
            spawn(\.chk)
        case .starting:
            // Its port may open before supervisord's startsecs pass.
            if Bool.random(using: &random) {
                chkListens = true
                chkListenedRuns.insert(chk.pid)
            }
            enqueue(chk.reachRunning())
        case .running where roll < 40:
            chkListens = true
            chkListenedRuns.insert(chk.pid)
        case .running where roll < 55:
            chkListens = false
        case .running:
            chkListens = false
            chkEndsUnheard.insert(chk.pid)
            clock += 1
            enqueue(chk.exit())
            // Restarted at once (startsecs=0), its port not open yet.
            if roll < 80 {
                checkedServiceStep()
                checkedServiceStep()
            }
        case .stopping, .unknown:
            chk.state = .stopped
        }
    }

    /// The listener's `tcp:` check of chk: begun for the run it knows as
    /// RUNNING (by the pid it gives), its result taken then or when the
    /// check ends; or, with one under way, that result handed over in a
    /// turn of its own. A connect succeeds when some run listens on the
    /// port, whichever run that is.
    mutating func checkStep() {
        guard !listenerFrozen, core != nil else { return }
        guard let check = checkInFlight else { return beginCheck() }
        // Some checks take their timeout: runs may change meanwhile.
        guard var core, !answersMayFail || Bool.random(using: &random) else { return }
        self.core = nil
        checkInFlight = nil
        let passed = check.passed ?? chkListens
        note("check of chk:chk run \(check.pid) \(passed ? "passed" : "failed")")
        core.checked("chk:chk", pid: check.pid, passed: passed, detail: "", &self)
        endTurn(&core)
    }

    /// The check's timer: a check begins for the run the listener knows.
    mutating func beginCheck() {
        guard checkedService, checkInFlight == nil, let run = core?.services.checkable.first(where: { $0.process == "chk:chk" }) else { return }
        note("check of chk:chk run \(run.pid) begins")
        checkInFlight = (run.pid, Bool.random(using: &random) ? chkListens : nil)
    }

    /// `supervisorctl stop readiness_listener` (no listener holds the lock;
    /// supervisord keeps the pool's events for the next one) or SIGSTOP (it
    /// holds the lock and takes no turn), for one to four TICK_5s of
    /// supervisord's, queued in the pool, until `resumeListener`.
    mutating func pauseListener() {
        guard !listenerStopped, !listenerFrozen, core != nil else { return }
        if Bool.random(using: &random) {
            note("listener stopped")
            core = nil
            listenerStopped = true
        } else {
            note("listener frozen")
            listenerFrozen = true
        }
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            clock += 4
            tick()
        }
    }

    /// SIGCONT, or `supervisorctl start readiness_listener`.
    mutating func resumeListener() {
        if listenerFrozen {
            note("listener resumes")
            listenerFrozen = false
        }
        if listenerStopped { startListener() }
    }

    /// A datagram, in a turn of its own, with its sender's ancestry as /proc shows it.
    mutating func notify(_ text: String, from sender: Int) {
        guard !listenerFrozen, var core else { return }
        self.core = nil
        note("datagram \(text) from \(sender)")
        let bytes = Array(text.utf8)
        core.receive(datagram: bytes, length: bytes.count, sender: sender, ancestry: ancestry(of: sender), passedDescriptors: 0, &self)
        endTurn(&core)
    }

    // MARK: - The listener

    mutating func startListener() {
        note("listener starts, file: \(file?.state.rawValue ?? "none") stopping=\(file?.supervisordStopping ?? false)")
        listenerPID += 1
        listenerStopped = false
        listenerFrozen = false
        startLossUnseen = false
        checkInFlight = nil
        let tracker = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: listenerPID, supervisordPID: 1, supervisordStartTicks: 77, previous: file, at: now)
        let rule = EssentialRule(specs: essential ? [try! ProcessPattern(parsing: "app")] : [])
        var core = ListenerCore(
            configuration: ListenerConfiguration(
                selector: ProcessPattern(program: "start"), statusPath: "/model", essential: rule, essentialDryRun: true,
                services: (notifyService ? [try! ServiceSpec(parsing: "svc=notify")] : [])
                    + (checkedService ? [try! ServiceSpec(parsing: "chk=tcp:9000")] : []),
                startRules: startOrder ? [try! StartRule(parsing: "web=start:exited")] : [], restartDependents: restartDependents),
            tracker: tracker, at: now)
        core.start(&self)
        if let refusal = core.refusal { writeFailure = "the listener refused to run: \(refusal)" }
        everyProcessAsked = false
        callInFlight = nil
        beginCall(&core)
        self.core = core
    }

    /// The listener answers the event at the head of the pool; sometimes it
    /// is killed on the way (before or after its status write), and
    /// supervisord starts a new one, which gets the same event again. The
    /// event in flight is out of the pool: an overflow meanwhile (events
    /// supervisord emits while the listener asks or starts something)
    /// drops queued ones only.
    mutating func deliver(crashes: Bool = true) {
        guard !listenerFrozen, var core, !buffer.isEmpty else { return }
        let head = buffer.removeFirst()
        self.core = nil
        startLossUnseen = false
        let crash = crashes ? Int.random(in: 0..<30, using: &random) : 1
        let killed = [0: " (killed before writing)", 2: " (killed before answering)", 3: " (killed after answering, before starting)",
                      4: " (killed after starting, before writing)"]
        note("deliver \(head.header.serial)/\(head.header.poolSerial ?? 0)\(killed[crash] ?? "")")
        writesLost = crash == 0
        core.handle(head.header, head.event, &self)
        core.finishTurn(&self, startingPrograms: false)
        writesLost = false
        if updateUndecided && crash != 0 {
            updateUndecided = false
            finishedRun = nil
        }
        if crash != 0, case .processState(let change) = head.event, change.processName == "chk", let pid = change.pid, change.state == .exited {
            chkEndsUnheard.remove(pid)
        }
        if crash != 0 {
            // (A record without a poolserial, one no event of start.sh set, cannot show it.)
            if let current = head.header.poolSerial, let recorded = recordedPoolAtReload.poolSerial,
                current < recorded || (current == recorded && head.header.serial != recordedPoolAtReload.serial)
            {
                newPoolShown = true
            }
            if head.event == .supervisorStopping { stoppingHandled = true }
        }
        if crash == 0 || crash == 2 {
            // Back at the head, the oldest queued event dropped if the pool is full.
            buffer.insert(head, at: 0)
            if buffer.count > bufferSize {
                if isStartEvent(buffer.remove(at: 1)) { startLossUnseen = true }
                lastLostSerial = serial
            }
            startListener()
        } else if crash == 3 || crash == 4 {
            // Answered: what the event let start, or the record of its start, is the next listener's to find.
            if crash == 4 {
                writesLost = true
                core.finishTurn(&self)
                writesLost = false
            }
            startListener()
        } else {
            // The RESULT is sent; then the programs the event let start, in a turn of their own.
            endTurn(&core)
            if checkedService, Bool.random(using: &random) { beginCheck() }
        }
    }

    /// The loop asks once a turn wanted every process and none is in flight.
    /// supervisord takes its answer now or when it arrives; one in ten times
    /// there is none (a timeout).
    mutating func askEveryProcess(_ core: inout ListenerCore) {
        guard xmlrpc, !everyProcessAsked, !core.wantedEveryProcess.isEmpty else { return }
        let question = core.askingEveryProcess()
        note("ask every process for \(question)")
        everyProcessAsked = true
        let fails = answersMayFail && Int.random(in: 0..<10, using: &random) == 0
        everyProcessInFlight = fails ? .some(nil) : Bool.random(using: &random) ? .some(allProcessInfo()) : nil
    }

    /// The answer arrives, in a turn of its own.
    mutating func answerEveryProcess() {
        guard everyProcessAsked, !listenerFrozen, var core else { return }
        self.core = nil
        let answer = everyProcessInFlight ?? allProcessInfo()
        everyProcessAsked = false
        everyProcessInFlight = nil
        note("answer every process: \(answer.map { "\($0.count) processes" } ?? "none")")
        core.answered(everyProcess: answer, &self)
        endTurn(&core)
    }

    /// The loop makes the next call (a start's, or a question) once none is in flight.
    mutating func beginCall(_ core: inout ListenerCore) {
        guard callInFlight == nil, let call = core.callingSupervisor() else { return }
        note("call \(call)")
        callInFlight = call
        switch call {
        case .start(let process): controlAnswer = startProcess(process)
        case .stop(let process): controlAnswer = stopProcess(process)
        case .processInfo(let process): staleAnswer = Bool.random(using: &random) ? (processInfo(process), serial) : nil
        case .shutdown: controlAnswer = "not modelled"
        }
    }

    /// The call's answer arrives, in a turn of its own; one in ten
    /// getProcessInfo calls gets none, and the listener is killed before
    /// its write one in ten times.
    mutating func answerCall(crashes: Bool = true) {
        guard let call = callInFlight, !listenerFrozen, var core else { return }
        self.core = nil
        callInFlight = nil
        let answer: SupervisorCallAnswer
        switch call {
        case .processInfo(let process):
            let fails = answersMayFail && Int.random(in: 0..<10, using: &random) == 0
            if let stale = staleAnswer.take(), lastLostSerial <= stale.serial, !buffer.contains(where: { $0.header.serial > stale.serial }) {
                answer = .processInfo(fails ? .unavailable : stale.answer)
            } else {
                answer = .processInfo(fails ? .unavailable : processInfo(process))
            }
        case .start:
            answer = .started(failure: controlAnswer)
        case .stop:
            answer = .stopped(failure: controlAnswer)
        case .shutdown:
            answer = .shutDown(failure: controlAnswer)
        }
        let killed = crashes && Int.random(in: 0..<10, using: &random) == 0
        note("answer to \(call): \(answer)\(killed ? " (killed before writing)" : "")")
        writesLost = killed
        core.answered(call: answer, &self)
        guard !killed else {
            core.finishTurn(&self)
            writesLost = false
            return startListener()
        }
        endTurn(&core)
    }

    /// The rest of a turn, as the loop ends it: the record written, the
    /// question and the start's next call made, the core back in its place.
    mutating func endTurn(_ core: inout ListenerCore) {
        core.finishTurn(&self)
        askEveryProcess(&core)
        beginCall(&core)
        self.core = core
    }

    mutating func crashListener() {
        guard core != nil else { return }
        core = nil
        startListener()
    }

    // MARK: - ListenerPort: what the listener sees

    /// XML-RPC answers are live: supervisord may have moved on since the
    /// event that made the listener ask.
    mutating func moveOnMaybe() {
        guard !settled else { return }
        for _ in 0..<Int.random(in: 0...2, using: &random) where Bool.random(using: &random) { advance() }
    }

    var info: SupervisorProcessInfo {
        SupervisorProcessInfo(state: state, start: laststart, stop: stop, now: clock, pid: pid, exitStatus: exitStatus, spawnError: spawnError)
    }

    var appInfo: SupervisorProcessInfo {
        SupervisorProcessInfo(
            state: appState, start: appStart, stop: appStop, now: clock, pid: appPID, exitStatus: appExitStatus,
            spawnError: appExitStatus == 0 ? "" : "Bad exit code \(appExitStatus)")
    }

    mutating func processInfo(_ process: String) -> SupervisorAnswer {
        guard xmlrpc else { return .unavailable }
        moveOnMaybe()
        // supervisord reads NAME as NAME:NAME.
        let full = process.contains(":") ? process : "\(process):\(process)"
        if full == "app:app" { return .info(appInfo) }
        if full == "web:web", startOrder { return .info(web.info(now: clock)) }
        if full == "svc:svc", notifyService { return .info(svc.info(now: clock)) }
        if full == "chk:chk", checkedService { return .info(chk.info(now: clock)) }
        note("getProcessInfo(\(process)) -> \(startConfigured && full == "\(group):start" ? "\(info)" : "BAD_NAME")")
        return startConfigured && full == "\(group):start" ? .info(info) : .noSuchProgram
    }

    mutating func allProcessInfo() -> [NamedProcessInfo]? {
        guard xmlrpc else { return nil }
        moveOnMaybe()
        var all = [
            NamedProcessInfo(group: "other", name: "other", info: .init(state: .running, start: 5, pid: 7)),
            NamedProcessInfo(group: "app", name: "app", info: appInfo),
        ]
        if startConfigured { all.append(NamedProcessInfo(group: group, name: "start", info: info)) }
        if startOrder { all.append(NamedProcessInfo(group: "web", name: "web", info: web.info(now: clock))) }
        if notifyService { all.append(NamedProcessInfo(group: "svc", name: "svc", info: svc.info(now: clock))) }
        if checkedService { all.append(NamedProcessInfo(group: "chk", name: "chk", info: chk.info(now: clock))) }
        note("getAllProcessInfo -> \(startConfigured ? "\(info)" : "no start")")
        return all
    }

    mutating func programConfigs() -> [ProgramConfig]? { nil }
    mutating func signalSupervisord(pid: Int, startTicks: UInt64?) -> String? { "not modelled" }
    /// /proc as it is now: supervisord (1), the sibling (7), svc's live run and its child.
    mutating func ancestry(of pid: Int) -> [Int] {
        if pid == 1 { return [1] }
        if pid == 7 { return [7, 1] }
        if pid == svc.pid && svc.pid != 0 { return [svc.pid, 1] }
        if pid == svcChild && svc.pid != 0 { return [svcChild, svc.pid, 1] }
        return []
    }
    /// supervisord spawns `web` at once (wait=false) unless it runs already.
    mutating func startProcess(_ process: String) -> String? {
        guard startOrder, process == "web:web" else { return "BAD_NAME: \(process)" }
        note("startProcess(web:web), start is \(state.rawValue)")
        if !startHasExitedExpected, writeFailure == nil {
            writeFailure = "web:web started while start is \(state.rawValue) (latest run exited expected: \(runs.last?.exitedExpected ?? false)) in generation \(generation)"
        }
        webSpawns += 1
        if restartDependents {
            if webStartedAfterRun == runs.count - 1, writeFailure == nil { writeFailure = "startProcess(web:web) asked twice after run \(runs.count - 1) of start" }
        } else if webSpawns > 1, writeFailure == nil {
            writeFailure = "startProcess(web:web) asked \(webSpawns) times in generation \(generation)"
        }
        webStartedAfterRun = runs.count - 1
        guard web.state != .starting && web.state != .running else { return "ALREADY_STARTED: web:web" }
        spawn(\.web)
        enqueue(web.reachRunning())
        return nil
    }
    /// supervisord stops `web` at once (wait=false); stopping one that does
    /// not run is no failure (NOT_RUNNING).
    mutating func stopProcess(_ process: String) -> String? {
        guard restartDependents, process == "web:web" else { return "BAD_NAME: \(process)" }
        note("stopProcess(web:web), start is \(state.rawValue)")
        guard web.state == .starting || web.state == .running else { return nil }
        enqueue(web.stopping())
        clock += 1
        enqueue(web.stop())
        return nil
    }

    /// Through the text format, as the probe reads it.
    mutating func write(_ record: StatusRecord) {
        guard !writesLost else { return }
        file = try! StatusRecord.parse(record.encoded)
        fileTime = now.millisecondsSinceEpoch
        note("write \(record.state.rawValue) pid=\(record.pid ?? 0) run_start=\(record.runStart ?? 0) stopping=\(record.supervisordStopping)")
        // At every write, so also between the sub-steps of a reload, an
        // update or a crash, not only after the step.
        if writeFailure == nil, let failure = check() { writeFailure = "at a write: \(failure)" }
    }

    mutating func retryPendingWrite(_ record: StatusRecord) {}
    mutating func heartbeat(_ record: StatusRecord) {
        guard !writesLost else { return }
        if file == nil { file = try! StatusRecord.parse(record.encoded) }
        fileTime = now.millisecondsSinceEpoch
    }
    mutating func log(_ level: LogLine.Level, _ message: String, _ fields: [(String, String)]) {}
    var now: Timestamp { Timestamp(millisecondsSinceEpoch: Int64(clock) * 1000 + 500) }

    // MARK: - The invariants

    /// The probe's answer now: whether a live listener keeps the file (its
    /// lock, the file's age), then the common check.
    var probeVerdict: Verdict? {
        guard let file, let verdict else { return nil }
        let presence = ListenerPresence(lock: listenerStopped ? .free : .held, fileAgeMilliseconds: now.millisecondsSinceEpoch - fileTime)
        return Verdict.listenerCheck(file, path: "/model", presence: presence) ?? verdict
    }

    mutating func check() -> String? {
        guard let file, let verdict else { return nil }
        // Invariant 7.
        if let answer = probeVerdict, answer.isReady {
            if listenerStopped { return "READY while no listener runs: \(answer.line)" }
            let age = now.millisecondsSinceEpoch - fileTime
            if listenerFrozen && file.heartbeat && age > ListenerPresence.heartbeatLimitMilliseconds {
                return "READY from the file of a listener frozen for \(age) ms since it last refreshed it: \(answer.line)"
            }
        }
        // Invariant 6, for checks: a result is the run's it was begun for.
        // (A run whose end the listener has not heard of yet is checked on
        // its successor's port until its event or a TICK's reconcile comes.)
        if let service = file.services.first(where: { $0.process == "chk:chk" }), service.ready,
            !(service.run.map { chkListenedRuns.contains($0) || chkEndsUnheard.contains($0) } ?? false)
        {
            return "chk:chk recorded ready for run \(service.run.map { "\($0)" } ?? "none"), which never listened on its port"
        }
        // Invariant 6.
        if let service = file.services.first(where: { $0.process == "svc:svc" }), service.ready,
            !(service.run.map { svcReadyRuns.contains($0) } ?? false)
        {
            return "svc:svc recorded ready for run \(service.run.map { "\($0)" } ?? "none"), which never sent READY=1 (main_pid \(service.mainPID.map { "\($0)" } ?? "none"))"
        }
        // Invariant 2, in the probe's answers: once it gave a finished answer
        // (0, 101, 102) for the run supervisord still has as its latest, it
        // does not go back to 100.
        let latest = runs.indices.last.flatMap { runs[$0].generation == generation ? $0 : nil }
        let recordedRun = file.pid.flatMap { pid in runs.firstIndex { $0.pid == pid } } ?? file.runStart.flatMap { start in runs.firstIndex { $0.start == start } }
        if [0, 101, 102].contains(verdict.code.rawValue), let recordedRun, recordedRun == latest { finishedRun = recordedRun }
        // (Without XML-RPC, the first event after an update starts afresh:
        // the allowance `updateUndecided` stands for, until that turn ends.)
        if verdict.code.rawValue == 100, let finishedRun, finishedRun == latest, !updateUndecided {
            return "100 after a finished answer for run \(finishedRun), still supervisord's latest: \(verdict.line)"
        }
        let window = !xmlrpc && !reloadRecorded && !newPoolShown
        // Invariant 4: no false essential failure (a dry run's: /livez would turn on it).
        if let failure = file.essentialFailure, !appFailed, reloadRecorded || newPoolShown, !updateUndecided {
            return "essential failure of \(failure.program) recorded, though app:app did not exit unexpectedly in generation \(generation)"
        }
        if verdict.isReady {
            switch file.state {
            case .absent:
                if startConfigured && !window { return "READY (ABSENT) while generation \(generation) has the start program" }
            case .process(.exited):
                let run = file.pid.flatMap { pid in runs.firstIndex { $0.pid == pid } } ?? file.runStart.flatMap { start in runs.firstIndex { $0.start == start } }
                guard let run else { return "READY for a run that cannot be named: \(file.encodedText)" }
                if !runs[run].exitedExpected { return "READY for run \(run), which did not exit expected" }
                if runs[run].generation != generation && !window { return "READY for run \(run) of generation \(runs[run].generation) in generation \(generation)" }
                // Only the latest run, unless the listener cannot know of a
                // later one yet: its events are still queued, or were lost
                // with no event since to show the gap. A later run that
                // exited expected gets the same answer.
                if xmlrpc, run != runs.count - 1, runs[run].generation == generation, runs.last?.exitedExpected != true, !startLossUnseen,
                    !buffer.contains(where: isStartEvent)
                {
                    return "READY for run \(run), though run \(runs.count - 1) started since and the listener was shown it (an event or a gap)"
                }
            default:
                return "READY in state \(file.state.rawValue)"
            }
        }
        // Invariant 2: recorded states follow supervisord's order. NOT_SEEN
        // forgets (a run the listener cannot confirm): the state after it
        // may be the one it forgot, not an earlier one.
        var fresh = file.history
        if let last = seenHistory.last, let index = fresh.lastIndex(of: last) { fresh.removeFirst(index + 1) }
        seenHistory = file.history
        for transition in fresh {
            guard case .process(let state) = transition.to else {
                if transition.to == .notSeen { forgotten = true }
                continue
            }
            let first = forgotten ? max(matchedTruth, 0) : matchedTruth + 1
            forgotten = false
            guard let index = truth.indices.first(where: { $0 >= first && truth[$0].state == state }) else {
                return "recorded \(transition.from.rawValue)->\(transition.to.rawValue), which supervisord did not go through after truth entry \(matchedTruth) (\(truth.map { "\($0.generation):\($0.state.rawValue)" }))"
            }
            matchedTruth = index
        }
        return nil
    }
}

/// supervisord's truth about one of the model's programs that the listener
/// does not follow (`web`, `svc`, `chk`; group and name alike): its state,
/// its run's start and pid; each step returns the event supervisord emits.
struct ModelProgram {
    let name: String
    var state: ProcessState = .stopped
    var start = 0
    var pid = 0

    func info(now: Int) -> SupervisorProcessInfo { SupervisorProcessInfo(state: state, start: start, now: now, pid: pid) }

    mutating func spawn(pid: Int, at clock: Int) -> ListenerEvent {
        start = clock
        self.pid = pid
        return move(to: .starting, tries: 0)
    }

    mutating func reachRunning() -> ListenerEvent { move(to: .running) }

    /// The run dies: EXITED, unexpectedly.
    mutating func exit() -> ListenerEvent { end(.exited, expected: false) }

    mutating func stopping() -> ListenerEvent { move(to: .stopping) }

    mutating func stop() -> ListenerEvent { end(.stopped, expected: nil) }

    private mutating func end(_ to: ProcessState, expected: Bool?) -> ListenerEvent {
        defer { pid = 0 }
        return move(to: to, expected: expected)
    }

    private mutating func move(to: ProcessState, expected: Bool? = nil, tries: Int? = nil) -> ListenerEvent {
        let from = state
        state = to
        return .processState(
            ProcessStateEvent(serial: 0, state: to, processName: name, groupName: name, fromState: from, expected: expected, pid: to == .starting ? nil : pid, tries: tries))
    }
}
