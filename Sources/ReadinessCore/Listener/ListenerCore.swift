/// Everything the listener's logic needs from the outside world: supervisord's
/// XML-RPC interface, a signal to supervisord, the status file, the log and
/// the clock. The executable implements it over real I/O; the tests' model of
/// supervisord implements it over a simulated one.
package protocol ListenerPort: ~Copyable {
    /// `supervisor.getProcessInfo(GROUP:NAME)`, waited for: only where a
    /// handler needs the answer before it acts (at start-up, and after
    /// lost events while the record says READY); the others are the
    /// loop's (`SupervisorCall`). `.unavailable` without XML-RPC.
    mutating func processInfo(_ process: String) -> SupervisorAnswer
    /// `supervisor.getAllProcessInfo()`, at start-up only (before the first
    /// READY); nil without XML-RPC. In the loop it is asked by the loop
    /// (`ListenerCore.askingEveryProcess`) and never waited for.
    mutating func allProcessInfo() -> [NamedProcessInfo]?
    /// `supervisor.getAllConfigInfo()`, at start-up with `--start-after`
    /// only; nil without a usable answer.
    mutating func programConfigs() -> [ProgramConfig]?
    /// `supervisor.startProcess(GROUP:NAME, wait=false)`: nil once accepted
    /// (or already started), else why not.
    mutating func startProcess(_ process: String) -> String?
    /// SIGTERM to supervisord, once sure it is the one of the record: nil once sent, else why not.
    mutating func signalSupervisord(pid: Int, startTicks: UInt64?) -> String?
    /// `pid`, its parent and so on, as /proc shows them now (`Ancestry.walk`);
    /// empty when `pid` cannot be read.
    mutating func ancestry(of pid: Int) -> [Int]
    /// Replaces the status file; a failure is the port's to log and remember.
    mutating func write(_ record: StatusRecord)
    /// Writes the record again only if the last write failed.
    mutating func retryPendingWrite(_ record: StatusRecord)
    /// On every TICK_5 when the record did not change: writes `record` again
    /// if the last write failed, else refreshes the file's modification time
    /// (the heartbeat a reader checks, `ListenerPresence`), writing the file
    /// anew when that fails (it was removed, say).
    mutating func heartbeat(_ record: StatusRecord)
    mutating func log(_ level: LogLine.Level, _ message: String, _ fields: [(String, String)])
    var now: Timestamp { get }
}

/// How the listener was configured (its command line).
package struct ListenerConfiguration: Sendable {
    package var selector: ProcessPattern
    package var statusPath: String
    package var essential: EssentialRule
    package var essentialDryRun: Bool
    package var verbose: Bool
    package var services: [ServiceSpec]
    package var checkTiming: CheckTiming
    /// `/metrics` is served (`--http`): supervisord is asked for every
    /// program at start-up and, at a TICK, for the programs that exited
    /// (exit statuses are in no event).
    package var metrics: Bool
    /// `--start-after`: the programs the listener starts, in order.
    package var startRules: [StartRule]
    /// `--start-timeout`: nil to wait for ever.
    package var startTimeoutMilliseconds: Int64?
    /// `--restart-dependents`.
    package var restartDependents: Bool

    package init(
        selector: ProcessPattern, statusPath: String, essential: EssentialRule = EssentialRule(specs: []), essentialDryRun: Bool = false,
        verbose: Bool = false, services: [ServiceSpec] = [], checkTiming: CheckTiming = CheckTiming(), metrics: Bool = false,
        startRules: [StartRule] = [], startTimeoutMilliseconds: Int64? = nil, restartDependents: Bool = false
    ) {
        self.selector = selector
        self.statusPath = statusPath
        self.essential = essential
        self.essentialDryRun = essentialDryRun
        self.verbose = verbose
        self.services = services
        self.checkTiming = checkTiming
        self.metrics = metrics
        self.startRules = startRules
        self.startTimeoutMilliseconds = startTimeoutMilliseconds
        self.restartDependents = restartDependents
    }
}

/// The listener's logic, from start-up through every event: what to record,
/// what to ask supervisord, when to shut it down. No I/O of its own (all goes
/// through a `ListenerPort`), so unit tests and the model of supervisord drive
/// exactly what the executable runs.
package struct ListenerCore: Sendable {
    package let configuration: ListenerConfiguration
    package private(set) var tracker: ProgramTracker
    package internal(set) var services: ServiceTracker
    /// `--start-after`'s programs: what each waits for, which are due.
    package internal(set) var startOrder: StartOrder
    /// Set by `start` when the listener cannot run as configured: the exit
    /// status (64: `--start-after` names what supervisord does not have; 78:
    /// no XML-RPC to start programs with). Said in the log.
    package internal(set) var refusal: Int32?
    /// What `/metrics` reports, counted here from what the listener sees;
    /// nil when nothing serves it, so no event pays for counting.
    package internal(set) var metrics: ListenerMetrics?
    /// How often supervisord may be asked for every process to attribute a
    /// datagram, so a flood of forged datagrams costs supervisord little.
    var refreshBudget = QueryBudget()
    /// Dropped datagrams are logged once, then counted (a flood must not flood the log).
    var drops = LogThrottle()
    /// The last reason a shutdown could not be carried out, so that retrying
    /// on every TICK logs it once, not every five seconds.
    private var shutdownFailure: String?
    /// supervisor.shutdown, asked for by the loop (`callingSupervisor`):
    /// wanted, or in flight.
    enum ShutdownCall { case wanted, inFlight }
    var shutdownCall: ShutdownCall?
    /// An essential program's end waiting for its details (`.essentialDetails`)
    /// before it is said: what told of it (an event, a reconcile).
    private var essentialEndLearntFrom: String?
    /// The last event's `poolserial`: the pool numbers the events it accepts
    /// one by one, so a jump means the buffer overflowed and dropped some.
    private var lastPoolSerial: UInt64?
    /// Whether essential programs' events may have been lost since they were
    /// last reconciled: at start-up, after a gap, and always when headers
    /// carry no poolserial. getAllProcessInfo costs supervisord about a
    /// second of CPU with 1,000 processes, so it is not asked on every TICK.
    private var essentialEventsMayBeLost = true
    /// The same for the services' events, reconciled on their own.
    var serviceEventsMayBeLost = true
    /// The same for the start order's programs: asked again at the next
    /// TICK. At start-up too: events can be lost between the start-up answer
    /// and the first event (a dependency's exit, and its dependent would
    /// wait for ever).
    var startOrderEventsMayBeLost = true
    /// Whether the record promises a heartbeat on every TICK_5: once one
    /// arrived, or resumed from the previous listener of this supervisord
    /// that had promised it (a restart keeps supervisord's configuration).
    private var heartbeat: Bool
    /// A resumed essential failure whose shutdown waits for the first event
    /// to confirm the generation: after a reload it is not this one's.
    private var shutdownAwaitsGeneration = false
    /// The record as last handed to the port: handlers only change the
    /// record, and `finishTurn` writes it when it differs from this.
    private var written: StatusRecord?
    /// What the next getAllProcessInfo is wanted for; the loop asks it
    /// (`askingEveryProcess`) once none is in flight.
    package internal(set) var wantedEveryProcess: EveryProcessQuestion = []
    /// The question in flight, if any, with the `when` of the TICK that
    /// wanted the followed program found among every process (its real name
    /// unknown, or gone): the answer is that TICK's reconcile.
    private var askedEveryProcess: (question: EveryProcessQuestion, tick: Int?)?
    /// The `when` of the last TICK that wanted the followed program, until asked.
    var followedProgramTick: Int?
    /// What handlers want to know of single processes (`getProcessInfo`),
    /// asked by the loop (`callingSupervisor`).
    var processQuestions = ProcessQuestions()
    /// The start or stop under way (`--start-after`), one call at a time: the loop
    /// makes the call `callingSupervisor()` hands it and hands its answer to
    /// `answered(call:)`.
    var programCalls: ProgramCalls?
    /// A gap in the pool's serials came while the question was in flight:
    /// the answer may be older than the events lost.
    private var eventsLostSinceAsked = false
    /// The processes an event was applied for since the question was asked:
    /// the answer's word on them may be older than the event, and is left out.
    private var eventSinceAsked: Set<String> = []
    /// A TICK_5 came in this turn: the heartbeat is due even if nothing changed.
    private var tickThisTurn = false
    /// An event came in this turn: a failed write is tried again then (not
    /// on every HTTP request or check, which a flood could drive).
    private var eventThisTurn = false

    package init(configuration: ListenerConfiguration, tracker: ProgramTracker, at time: Timestamp) {
        self.configuration = configuration
        self.tracker = tracker
        metrics = configuration.metrics ? ListenerMetrics() : nil
        heartbeat = tracker.resumption == .resumed && tracker.record.heartbeat
        // Only a restarted listener's services are still the same runs; a
        // reload started every program again.
        services = ServiceTracker(
            specs: configuration.services, timing: configuration.checkTiming,
            previous: tracker.resumption == .resumed ? tracker.record.services : [], at: time)
        startOrder = StartOrder(
            rules: configuration.startRules, timeoutMilliseconds: configuration.startTimeoutMilliseconds,
            restartDependents: configuration.restartDependents)
    }

    /// The followed program's record, with the services and the start order.
    package var record: StatusRecord {
        var record = tracker.record
        record.services = services.services
        record.starts = startOrder.starts
        record.listenerLock = true
        record.heartbeat = heartbeat
        return record
    }

    /// Before the first READY: resumes or starts the record, brings it in
    /// line with what no queued event can contradict, writes it (so that "no
    /// file" means "the listener never ran"), and finishes a shutdown a
    /// previous listener of this generation recorded but did not complete.
    /// A turn of its own: it ends with `finishTurn`.
    package mutating func start<Port: ListenerPort & ~Copyable>(_ port: inout Port) {
        switch tracker.resumption {
        case .fresh, .resumed:
            break
        case .otherSupervisord:
            port.log(.info, "previous status file is of another supervisord (or its identity cannot be told), starting afresh", [])
        case .reloaded:
            port.log(.info, "supervisord was reloaded: a new generation, nothing of the previous runs counts", [])
        }
        port.log(.info, "listener started", [
            ("program", configuration.selector.description), ("status_file", configuration.statusPath), ("state", record.state.rawValue),
            ("supervisord_pid", "\(record.supervisordPID)"), ("version", ReadinessVersion.current),
            ("essential", configuration.essential.specs.map { $0.description }.joined(separator: ",")),
        ])
        // Before READY no event waits: every process is asked once, for
        // every part of the listener that needs it (none when the followed
        // program is known by name and nothing else is followed).
        let needsEveryProcess =
            tracker.processName == nil || !configuration.services.isEmpty || !configuration.essential.isEmpty || metrics != nil
            || !startOrder.isEmpty
        let everyProcess = needsEveryProcess ? allProcessInfo(&port) : nil
        if !startOrder.isEmpty, let refusal = learnStartOrder(everyProcess, &port) {
            self.refusal = refusal
            return
        }
        let lookup = lookUpProgram(&port, everyProcess: needsEveryProcess ? .answered(everyProcess) : .askNow)
        if lookup == .absent {
            port.log(.warning, "supervisord has no such program: the common check passes (ABSENT); is --program spelled as in supervisord.conf?", [
                ("program", configuration.selector.description),
            ])
        }
        if let transition = tracker.startUp(with: lookup, at: port.now) {
            logReconcile(transition, reason: "start-up", &port)
        }
        startServices(everyProcess, &port)
        if let failure = record.essentialFailure, !configuration.essential.isEssential(failure.program) {
            port.log(.warning, "forgetting a recorded essential program's end: --essential no longer names that program", [("program", failure.program)])
            tracker.forgetEssentialFailure()
        }
        // A supervisord that is shutting down restarts no listener: a resumed
        // failure of this generation is a shutdown not completed. Whether the
        // generation is this one, supervisord showing the recorded run says
        // now, or else the first event's poolserial.
        if let failure = record.essentialFailure, failure.shutdown != .dryRun {
            if tracker.generationConfirmed {
                resumeShutdown(&port)
            } else {
                shutdownAwaitsGeneration = true
            }
        }
        if let everyProcess, essentialEventsMayBeLost {
            essentialEventsMayBeLost = false
            reconcileEssential(everyProcess, reason: "start-up", &port)
        }
        finishTurn(&port)
    }

    /// Ends a loop turn, after every handler of it and before any probe of
    /// it is answered, so the file and `/readyz` say the same: programs
    /// whose conditions now hold started (`--start-after`), then the record
    /// written if it changed, else the heartbeat after a TICK_5, else (after
    /// an event, or before supervisord is asked to shut down) a failed
    /// write tried again. Handlers only change the record, so a turn
    /// replaces the file once at most, and the loop's calls come after it:
    /// the probe answers ESSENTIAL_DOWN before supervisor.shutdown. A turn
    /// handles one event at most: supervisord sends the next only after the
    /// RESULT. An event's turn ends without `startingPrograms`: the stops
    /// (`--restart-dependents`, XML-RPC calls) come after its RESULT, in a
    /// turn of their own, and the starts in the turns of their calls. A
    /// change of the start order alone is written in that turn too, after
    /// the RESULT: supervisord tells a listener restarted in between what
    /// was started, and the event is not held back by the start order.
    /// One copy, not one inlined at each of the loop's three calls (14 KB).
    @inline(never) package mutating func finishTurn<Port: ListenerPort & ~Copyable>(_ port: inout Port, startingPrograms: Bool = true) {
        if startingPrograms { startDuePrograms(&port) }
        // Built once: the record is 50 lines with a large start order.
        let current = record
        if !startingPrograms, differsInStartOrderAlone(current) { return }
        if !writeIfChanged(current, &port) {
            if tickThisTurn {
                port.heartbeat(current)
            } else if eventThisTurn {
                port.retryPendingWrite(current)
            }
            if shutdownCall == .wanted { port.retryPendingWrite(current) }
        }
        tickThisTurn = false
        eventThisTurn = false
    }

    /// Whether `current` differs from the record last written in its start order alone.
    private func differsInStartOrderAlone(_ current: StatusRecord) -> Bool {
        guard !startOrder.isEmpty, let written, current.starts != written.starts else { return false }
        var current = current
        current.starts = written.starts
        return current == written
    }

    /// Writes `current` if it differs from the record last written; whether it did.
    private mutating func writeIfChanged<Port: ListenerPort & ~Copyable>(_ current: StatusRecord, _ port: inout Port) -> Bool {
        guard current != written else { return false }
        port.write(current)
        written = current
        return true
    }

    private mutating func resumeShutdown<Port: ListenerPort & ~Copyable>(_ port: inout Port) {
        guard let failure = record.essentialFailure, failure.shutdown != .dryRun else { return }
        port.log(.warning, "resuming the shutdown for an essential program's end recorded before a restart", [("program", failure.program)])
        wantShutdown()
    }

    /// A frame that could not be parsed: logged, acknowledged, nothing changes.
    package mutating func unparseable<Port: ListenerPort & ~Copyable>(_ error: EventError, _ port: inout Port) {
        port.log(.error, "ignored an event that cannot be parsed", [("error", error.description)])
        eventThisTurn = true
    }

    package mutating func handle<Port: ListenerPort & ~Copyable>(_ header: EventHeader, _ event: ListenerEvent, _ port: inout Port) {
        eventThisTurn = true
        var eventsMayBeLost = false
        if let current = header.poolSerial, let last = lastPoolSerial, current > last {
            metrics?.countEvent(lost: current - last - 1)
            if current - last > 1 {
                eventsMayBeLost = true
                if askedEveryProcess != nil { eventsLostSinceAsked = true }
                essentialEventsMayBeLost = true
                serviceEventsMayBeLost = true
                startOrderEventsMayBeLost = true
                // Events on the processes a start asks about may be among them.
                programCalls?.noteEventsLost()
                processQuestions.noteEventsLost()
            }
        } else {
            // The first event since start-up, or of a new pool: events may
            // have been lost since supervisord was last asked.
            eventsMayBeLost = header.poolSerial != nil
            metrics?.countEvent(lost: 0)
            essentialEventsMayBeLost = true
            serviceEventsMayBeLost = true
            startOrderEventsMayBeLost = true
        }
        lastPoolSerial = header.poolSerial
        if tracker.confirmGeneration(by: header, at: port.now) {
            port.log(.info, "supervisord was reloaded (the event pool started again): a new generation", [
                ("poolserial", header.poolSerial.map { "\($0)" } ?? "unknown"),
            ])
        }
        if eventsMayBeLost, tracker.readyMayBeStale, let transition = tracker.afterLostEvents(with: lookUpProgram(&port, everyProcess: .askLater), at: port.now) {
            logReconcile(transition, reason: "events lost", &port)
        }
        if shutdownAwaitsGeneration {
            shutdownAwaitsGeneration = false
            resumeShutdown(&port)
        }
        switch event {
        case .tick(let when):
            if serviceEventsMayBeLost, !configuration.services.isEmpty { wantedEveryProcess.insert(.services) }
            redeliverHeld(&port)
            startOrder.tick()
            if startOrderEventsMayBeLost {
                startOrderEventsMayBeLost = false
                refreshStartOrder()
            }
            if let process = tracker.processName {
                // The reconcile comes with the answer (`answered(call:)`).
                processQuestions.want(process, for: .tick, tick: when)
            } else {
                followedProgramTick = when
                wantedEveryProcess.insert(.followedProgram)
            }
            heartbeat = true
            tickThisTurn = true
            if record.essentialFailure?.shutdown == .pending {
                wantShutdown()
            } else if !configuration.essential.isEmpty, record.essentialFailure == nil, essentialEventsMayBeLost {
                wantedEveryProcess.insert(.essential)
            }
            learnProgramsForMetrics()
        case .supervisorStopping:
            if tracker.supervisordStopping() {
                port.log(.info, "supervisord is stopping (shutdown or reload): the current run no longer counts", [("serial", "\(header.serial)")])
            }
        case .other(let name):
            port.log(.warning, "ignored an event of a type the listener does not follow", [("event", name), ("serial", "\(header.serial)")])
        case .processState(let change):
            if askedEveryProcess != nil { eventSinceAsked.insert("\(change.groupName):\(change.processName)") }
            processQuestions.noteEvent(on: "\(change.groupName):\(change.processName)")
            metrics?.count(change, at: port.now)
            apply(change, poolSerial: header.poolSerial, &port)
            if tracker.applyEssential(change, rule: configuration.essential, at: port.now) { essentialEnded(reason: "event", &port) }
            applyToServices(change, &port)
            applyToStartOrder(change, &port)
        }
    }

    private mutating func apply<Port: ListenerPort & ~Copyable>(_ change: ProcessStateEvent, poolSerial: UInt64?, _ port: inout Port) {
        let outcome = tracker.apply(change, poolSerial: poolSerial, at: port.now)
        switch outcome {
        case .otherProgram:
            if configuration.verbose {
                port.log(.debug, "event of another program", [
                    ("program", "\(change.groupName):\(change.processName)"), ("to", change.state.rawValue), ("serial", "\(change.serial)"),
                ])
            }
        case .duplicate:
            port.log(.info, "event already applied, ignored", [("program", configuration.selector.description), ("serial", "\(change.serial)")])
        case .transition(let from, let to, let gap):
            if let gap {
                port.log(.warning, "events were lost; the next ticks reconcile with supervisord", [
                    ("program", configuration.selector.description), ("recorded", gap.rawValue), ("from", from.rawValue),
                ])
            }
            var fields = [("program", record.program), ("from", from.rawValue), ("to", to.rawValue)]
            if let expected = record.expected { fields.append(("expected", expected ? "1" : "0")) }
            if let pid = record.pid { fields.append(("pid", "\(pid)")) }
            if let tries = change.tries { fields.append(("tries", "\(tries)")) }
            fields.append(("serial", "\(change.serial)"))
            port.log(.info, "transition", fields)
        }
        if outcome.needsDetails, let process = tracker.processName { processQuestions.want(process, for: .details) }
    }

    /// A TICK's reconcile, on supervisord's answer about the followed program
    /// by its name (asked after the TICK). No event can make the answer
    /// older than the reconcile's two phases allow for: an event since
    /// resets the first. A name supervisord no longer has is looked for
    /// among every process, as that TICK's reconcile.
    mutating func reconcileAtTick<Port: ListenerPort & ~Copyable>(_ answer: SupervisorAnswer, of process: String, queuedAt tick: Int?, _ port: inout Port) {
        let lookup: ProgramLookup
        switch answer {
        case .info(let info): lookup = .found(process: process, info: info)
        case .unavailable: lookup = .unavailable
        case .noSuchProgram:
            followedProgramTick = tick
            wantedEveryProcess.insert(.followedProgram)
            return
        }
        if let transition = tracker.tick(with: lookup, queuedAt: tick, at: port.now) { logReconcile(transition, reason: "tick", &port) }
    }

    /// Where the followed program is looked for when it is not known by name.
    private enum EveryProcess {
        /// Already asked (at start-up): the answer, nil when there is none.
        case answered([NamedProcessInfo]?)
        /// Asked now and waited for: only before the first READY.
        case askNow
        /// Wanted from the loop: no answer now.
        case askLater
    }

    /// The followed program as supervisord knows it, by its real GROUP:NAME:
    /// asked directly once known; else (or when that name is gone) found
    /// among every process, where "none of that name" means absent.
    @inline(never) private mutating func lookUpProgram<Port: ListenerPort & ~Copyable>(_ port: inout Port, everyProcess: EveryProcess) -> ProgramLookup {
        if let process = tracker.processName {
            switch processInfo(process, &port) {
            case .unavailable: return .unavailable
            case .info(let info): return .found(process: process, info: info)
            case .noSuchProgram: break
            }
        }
        let programs: [NamedProcessInfo]?
        switch everyProcess {
        case .answered(let answer): programs = answer
        case .askNow: programs = allProcessInfo(&port)
        case .askLater:
            wantedEveryProcess.insert(.followedProgram)
            return .unavailable
        }
        // Not `programs.map(find)`: a method reference copies the whole core.
        guard let programs else { return .unavailable }
        return find(among: programs)
    }

    private func find(among programs: [NamedProcessInfo]) -> ProgramLookup {
        let selector = configuration.selector
        guard let match = programs.first(where: { selector.matches(processName: $0.name, groupName: $0.group) }) else { return .absent }
        return .found(process: "\(match.group):\(match.name)", info: match.info)
    }

    /// Whether a question is in flight: the loop asks one at a time.
    package var isAskingEveryProcess: Bool { askedEveryProcess != nil }

    /// The loop sends the wanted question now: what it is for. Until its
    /// answer, each process an event is applied for is noted, and the
    /// reasons to ask it count as taken care of.
    package mutating func askingEveryProcess() -> EveryProcessQuestion {
        let question = wantedEveryProcess
        wantedEveryProcess = []
        askedEveryProcess = (question, question.contains(.followedProgram) ? followedProgramTick : nil)
        followedProgramTick = nil
        eventSinceAsked = []
        eventsLostSinceAsked = false
        if question.contains(.essential) { essentialEventsMayBeLost = false }
        if question.contains(.services) { serviceEventsMayBeLost = false }
        if question.contains(.datagrams) { services.markHeldAsked() }
        return question
    }

    /// The answer to the question in flight, in a turn of its own; nil when
    /// there is none (no server, a fault, a timeout): the reasons that
    /// last are asked again at the next TICK. The word on a process an
    /// event came for since the question was asked is left out: the event
    /// may be newer, and a lost one brings another question.
    package mutating func answered<Port: ListenerPort & ~Copyable>(everyProcess answer: [NamedProcessInfo]?, _ port: inout Port) {
        guard let (question, tick) = askedEveryProcess else { return }
        askedEveryProcess = nil
        defer { eventSinceAsked = [] }
        guard let answer else {
            if question.contains(.essential) { essentialEventsMayBeLost = true }
            if question.contains(.services) { serviceEventsMayBeLost = true }
            if question.contains(.datagrams) { services.markHeldAsked(false) }
            return
        }
        metrics?.learn(answer, except: eventSinceAsked, at: port.now)
        if eventsLostSinceAsked { metrics?.wantProgramList() }
        let programs = eventSinceAsked.isEmpty ? answer : answer.filter { !eventSinceAsked.contains("\($0.group):\($0.name)") }
        if question.contains(.followedProgram) {
            // The TICK's reconcile, as if it had waited for the answer: its
            // two phases already keep an answer older than an event from
            // counting (an event since resets the first).
            if let transition = tracker.tick(with: find(among: answer), queuedAt: tick, at: port.now) { logReconcile(transition, reason: "tick", &port) }
        }
        if question.contains(.services) || question.contains(.datagrams) {
            // A service an event came for since may be the run a held
            // datagram's sender is (STARTING carries no pid): none is
            // dropped on this answer's word then.
            let servicesMovedOn = answer.contains { eventSinceAsked.contains("\($0.group):\($0.name)") && services.check(forProcess: "\($0.group):\($0.name)") != nil }
            learnServices(programs, reason: question.contains(.services) ? "reconcile" : "notify", dropUnplaced: !servicesMovedOn, &port)
        }
        if question.contains(.essential), record.essentialFailure == nil {
            reconcileEssential(programs, reason: "tick", &port)
        }
    }

    /// Every question about processes goes through these two (or, for the
    /// loop's question, `answered`), so that each answer also brings the
    /// metrics up to date.
    mutating func allProcessInfo<Port: ListenerPort & ~Copyable>(_ port: inout Port) -> [NamedProcessInfo]? {
        let programs = port.allProcessInfo()
        if let programs { metrics?.learn(programs, at: port.now) }
        return programs
    }

    @inline(never) mutating func processInfo<Port: ListenerPort & ~Copyable>(_ process: String, _ port: inout Port) -> SupervisorAnswer {
        let answer = port.processInfo(process)
        if case .info(let info) = answer { learnForMetrics(info, of: process, at: port.now) }
        return answer
    }

    mutating func learnForMetrics(_ info: SupervisorProcessInfo, of process: String, at time: Timestamp) {
        let names = process.split(separator: ":", maxSplits: 1)
        if metrics != nil, names.count == 2 { metrics?.learn(info, group: String(names[0]), name: String(names[1]), at: time) }
    }

    /// With `/metrics`: every program at start-up; then those that exited,
    /// one by one (a crash loop must not cost supervisord a getAllProcessInfo
    /// of 1,000 processes every TICK), or all at once when many did.
    private mutating func learnProgramsForMetrics() {
        guard let metrics else { return }
        let exited = metrics.exitsWithoutStatus
        if metrics.wantsProgramList || exited.count > Self.exitStatusQueriesPerTick {
            wantedEveryProcess.insert(.metrics)
        } else {
            for process in exited { processQuestions.want(process, for: .metrics) }
        }
    }

    /// More exits than this in one TICK's time are learnt with one getAllProcessInfo.
    static let exitStatusQueriesPerTick = 8

    /// An HTTP request answered: `path` is `/readyz`, `/livez`, `/metrics` or `other`.
    package mutating func countRequest(path: String, status: Int) { metrics?.countRequest(path: path, status: status) }

    func logReconcile<Port: ListenerPort & ~Copyable>(_ outcome: ProgramTracker.Outcome, reason: String, _ port: inout Port) {
        guard case .transition(let from, let to, _) = outcome else { return }
        port.log(.info, "reconciled with supervisord", [
            ("program", configuration.selector.description), ("from", from.rawValue), ("to", to.rawValue), ("reason", reason),
            ("exit_status", record.exitStatus.map { "\($0)" } ?? "unknown"),
        ])
    }

    /// After EXITED, FATAL or BACKOFF: the exit status or spawn error, which
    /// no event carries (`ProcessQuestion.details`); the tracker takes them
    /// only for the run it records.
    mutating func learnDetails<Port: ListenerPort & ~Copyable>(_ info: SupervisorProcessInfo, _ port: inout Port) {
        let before = (record.exitStatus, record.spawnError)
        tracker.learnDetails(from: info)
        guard before != (record.exitStatus, record.spawnError) else { return }
        if let status = record.exitStatus {
            port.log(.info, "exit status", [("program", configuration.selector.description), ("exit_status", "\(status)")])
        }
        if let error = record.spawnError {
            port.log(.info, "spawn error", [("program", configuration.selector.description), ("spawn_error", error)])
        }
    }

    /// What supervisord says of every program, for essential programs'
    /// events lost to an overflow (or before the listener ran).
    private mutating func reconcileEssential<Port: ListenerPort & ~Copyable>(_ programs: [NamedProcessInfo], reason: String, _ port: inout Port) {
        guard !configuration.essential.isEmpty, record.essentialFailure == nil else { return }
        if tracker.recordEssentialFailure(configuration.essential.failure(among: programs, at: port.now)) { essentialEnded(reason: reason, &port) }
    }

    /// A program under `--start-after` that cannot be started (a dependency
    /// failed, or `--start-timeout` passed): if it is essential, that is its
    /// end as far as the container goes.
    mutating func essentialCannotStart<Port: ListenerPort & ~Copyable>(_ process: String, why: String, _ port: inout Port) {
        guard configuration.essential.isEssential(process),
            tracker.recordEssentialFailure(EssentialFailure(program: process, state: .stopped, spawnError: why, since: port.now))
        else { return }
        essentialEnded(reason: "start order", &port)
    }

    /// The first essential program's end, just recorded in the tracker: in
    /// a dry run, marked so at once (no TICK may act on it); said once its
    /// exit status or spawn error (in no event) is in, asked by the loop's
    /// calls; then supervisord is asked to shut down.
    private mutating func essentialEnded<Port: ListenerPort & ~Copyable>(reason: String, _ port: inout Port) {
        guard let recorded = record.essentialFailure else { return }
        if configuration.essentialDryRun { tracker.markEssentialShutdown(.dryRun) }
        guard recorded.state == .exited || recorded.state == .fatal else { return sayEssentialEnded(learntFrom: reason, &port) }
        essentialEndLearntFrom = reason
        processQuestions.want(recorded.program, for: .essentialDetails)
    }

    /// The answer about the essential program whose end waits to be said,
    /// taken when it shows the state recorded (`EssentialFailure.learnDetails`),
    /// as when the handler asked at once: events lost meanwhile, which
    /// come in bursts as a container ends, do not make it less the end's.
    mutating func learnEssentialDetails<Port: ListenerPort & ~Copyable>(_ answer: SupervisorAnswer, _ port: inout Port) {
        guard let reason = essentialEndLearntFrom.take() else { return }
        if case .info(let info) = answer { tracker.learnEssentialDetails(from: info) }
        sayEssentialEnded(learntFrom: reason, &port)
    }

    /// Says the essential end, and (unless a dry run) asks for the shutdown.
    private mutating func sayEssentialEnded<Port: ListenerPort & ~Copyable>(learntFrom reason: String, _ port: inout Port) {
        guard let failure = record.essentialFailure else { return }
        let dryRun = failure.shutdown == .dryRun
        port.log(.error, dryRun ? "essential program ended; dry run, supervisord is NOT shut down" : "essential program ended, shutting supervisord down", [
            ("program", failure.program), ("state", failure.state.rawValue),
            ("expected", failure.expected.map { $0 ? "1" : "0" } ?? "unknown"),
            ("exit_status", failure.exitStatus.map { "\($0)" } ?? "unknown"), ("spawn_error", failure.spawnError ?? ""),
            ("what", failure.summary), ("learnt_from", reason),
        ])
        if !dryRun { wantShutdown() }
    }

    /// supervisor.shutdown is to be asked by the loop, after this turn's
    /// write; not while one is in flight, nor before the end is said.
    private mutating func wantShutdown() {
        guard shutdownCall == nil, essentialEndLearntFrom == nil else { return }
        shutdownCall = .wanted
    }

    /// The shutdown's steps: `supervisor.shutdown` over XML-RPC (→ requested);
    /// when that is not possible, SIGTERM to supervisord (→ signaled). Either
    /// is graceful: every program gets its stopsignal and stopwaitsecs. When
    /// both fail it stays pending and the next TICK tries again; the reason is
    /// logged when it first fails or changes, and once more when it works.
    mutating func answeredShutdown<Port: ListenerPort & ~Copyable>(failure rpcFailure: String?, _ port: inout Port) {
        guard shutdownCall == .inFlight else { return }
        shutdownCall = nil
        guard let rpcFailure else {
            port.log(.info, "asked supervisord to shut down (supervisor.shutdown)", [])
            finishShutdown(.requested, &port)
            return
        }
        let signalFailure = port.signalSupervisord(pid: record.supervisordPID, startTicks: record.supervisordStartTicks)
        let reason = "supervisor.shutdown: \(rpcFailure); SIGTERM: \(signalFailure ?? "sent")"
        if shutdownFailure == nil || signalFailure == nil {
            port.log(.warning, "supervisor.shutdown failed, sending SIGTERM to supervisord instead", [("error", rpcFailure)])
        }
        guard let signalFailure else {
            port.log(.info, "sent SIGTERM to supervisord", [("supervisord_pid", "\(record.supervisordPID)")])
            finishShutdown(.signaled, &port)
            return
        }
        if reason != shutdownFailure {
            port.log(.error, "cannot shut supervisord down, trying again at every tick", [("error", signalFailure)])
        }
        shutdownFailure = reason
    }

    private mutating func finishShutdown<Port: ListenerPort & ~Copyable>(_ step: EssentialFailure.Shutdown, _ port: inout Port) {
        if shutdownFailure != nil { port.log(.info, "the shutdown went through after failing", [("step", step.rawValue)]) }
        shutdownFailure = nil
        tracker.markEssentialShutdown(step)
    }
}
