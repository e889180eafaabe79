/// The listener's logic for `--start-after`: learning the programs at
/// start-up, following their events, and starting each once every
/// condition it waits for holds.
extension ListenerCore {
    /// At start-up, supervisord's answer: the programs to start and what
    /// they wait for, checked against supervisord's configuration. The exit
    /// status when the listener must not run: no answer to start programs by
    /// (78), a name supervisord does not have or a program supervisord starts
    /// by itself (64).
    mutating func learnStartOrder<Port: ListenerPort & ~Copyable>(_ everyProcess: [NamedProcessInfo]?, _ port: inout Port) -> Int32? {
        guard let programs = everyProcess else {
            port.log(.error, "--start-after needs supervisord's XML-RPC interface, to see the programs and start them", [
                ("fix", "add a [unix_http_server] section (file=/run/supervisor.sock) and [rpcinterface:supervisor] to supervisord.conf"),
            ])
            return 78
        }
        let previous = tracker.resumption == .resumed ? tracker.record.starts : []
        let refusals = startOrder.learn(programs, previous: previous, at: port.now)
        for refusal in refusals { port.log(.error, refusal, []) }
        guard let configs = port.programConfigs() else {
            port.log(.warning, "cannot read supervisord's configuration (getAllConfigInfo): autostart and the shutdown order are not checked", [])
            return refusals.isEmpty ? nil : 64
        }
        let (autostarted, stopsLate) = startOrder.configurationProblems(configs)
        for (process, rule) in autostarted {
            port.log(.error, "program under --start-after is autostart=true: supervisord would start it without waiting", [
                ("program", process), ("start_after", rule.description), ("fix", "autostart=false in its section"),
            ])
        }
        for late in stopsLate {
            let now = late.program.groupPriority <= late.dependency.groupPriority
            port.log(.warning, now
                ? "at shutdown supervisord stops this group no sooner than its dependency's (groups go by descending priority)"
                : "at shutdown supervisord would stop this group no sooner than its dependency's once that group's priority is fixed as said", [
                ("group", late.program.group), ("priority", String(late.program.groupPriority)), ("dependency_group", late.dependency.group),
                ("dependency_priority", String(late.dependency.groupPriority)), ("fix", "priority=\(late.fix) or more in the group's section"),
            ])
        }
        return refusals.isEmpty && autostarted.isEmpty ? nil : 64
    }

    /// A PROCESS_STATE event, for the start order: a program started by
    /// another hand is said so (and left alone); a dependency's failure is
    /// asked about, by the loop's calls, for its exit status or spawn error.
    mutating func applyToStartOrder<Port: ListenerPort & ~Copyable>(_ event: ProcessStateEvent, _ port: inout Port) {
        guard !startOrder.isEmpty else { return }
        let (startedElsewhere, failed) = startOrder.apply(event)
        let process = "\(event.groupName):\(event.processName)"
        programCalls?.noteEvent(on: process)
        if let startedElsewhere {
            port.log(.info, "program under --start-after was started by someone else, before its conditions were seen to hold", [
                ("program", startedElsewhere),
            ])
        }
        if failed { processQuestions.want(process, for: .dependencyFailure) }
    }

    /// After lost events: supervisord is asked again, by the loop's calls,
    /// about each program still waiting (with `--restart-dependents`, each
    /// program) and what it waits for (no event may come for them). A start
    /// or a stop confirms its own answers before it is made.
    mutating func refreshStartOrder() {
        for process in startOrder.processesToRefresh() { processQuestions.want(process, for: .startOrder) }
    }

    /// A refresh's or a failure's answer about `process`, unless an event on
    /// it came since (it is newer); without an answer, the next TICK asks
    /// again, and a failure is said without its detail.
    mutating func learnForStartOrder(_ answer: SupervisorAnswer, of process: String, eventSince: Bool) {
        switch answer {
        case .info(let info) where !eventSince: return startOrder.learn(info, of: process)
        case .unavailable: startOrderEventsMayBeLost = true
        case .info, .noSuchProgram: break
        }
        startOrder.detailUnanswered(of: process)
    }

    /// With `--restart-dependents`, stops each started program a dependency
    /// of which stopped; says so of each program a failed dependency
    /// blocks; and begins the start of the first program whose conditions
    /// all hold, a stop first (`ProgramCalls`), unless one is under way.
    /// Nothing starts or stops while the container is ending.
    mutating func startDuePrograms<Port: ListenerPort & ~Copyable>(_ port: inout Port) {
        guard !startOrder.isEmpty else { return }
        // A start or stop not yet made is made only on answers no event
        // overtook, and while it is still due: this turn may have changed either.
        if let calls = programCalls, !calls.inFlight, calls.eventSinceAsking || isEnding || (calls.isConfirmed && !isStillDue(calls)) {
            programCalls = nil
            startOrder.lookAgain()
        }
        guard !isEnding else { return }
        guard startOrder.needsLook(services: services.services, at: port.now) else { return }
        // An event can be older than what supervisord has now (one queued
        // before a start the listener confirmed): a stop is made on what
        // supervisord says now of the program and its dependencies.
        let stops = startOrder.toStop()
        let (due, problems) = startOrder.evaluate(services: services.services, at: port.now)
        // What the calls below learn is looked at in the next turn.
        startOrder.looked(services: services.services)
        for problem in problems {
            port.log(.error, problem.gaveUp
                ? "gave up on a program whose conditions did not hold within --start-timeout: it is not started"
                : "a dependency failed: the program is not started until it recovers", [("program", problem.process), ("why", problem.why)])
            essentialCannotStart(problem.process, why: problem.why, &port)
        }
        // One start or stop at a time; the others are due again once it ends.
        if programCalls == nil, let stop = stops.first {
            programCalls = ProgramCalls(program: stop.process, dependencies: startOrder.dependencies(of: stop.process), stopping: stop.why)
        } else if programCalls == nil, let program = due.first {
            programCalls = ProgramCalls(program: program, dependencies: startOrder.dependencies(of: program))
        }
    }

    /// Whether the confirmed calls' start or stop is still due, on what
    /// supervisord answered: every condition holds, or a dependency still
    /// stopped (the stop's reason taken anew).
    private mutating func isStillDue(_ calls: ProgramCalls) -> Bool {
        guard calls.stopping != nil else { return startOrder.holds(calls.program, services: services.services) }
        guard let stop = startOrder.toStop().first(where: { $0.process == calls.program }) else { return false }
        programCalls?.stopping = stop.why
        return true
    }

    /// Whether the container is ending: nothing is started or stopped then.
    /// The tracker's record, not `record`: this is asked at the end of every turn.
    private var isEnding: Bool {
        if tracker.record.supervisordStopping { return true }
        if let failure = tracker.record.essentialFailure, failure.shutdown != .dryRun { return true }
        return false
    }

    /// The start's or stop's next call, made now: in flight from here.
    mutating func callingForProgram() -> SupervisorCall? {
        guard let call = programCalls?.next else { return nil }
        if case .start(let program) = call { startOrder.starting(program) }
        programCalls?.inFlight = true
        return call
    }

    /// The answer to the start's or stop's call in flight. The processes'
    /// answers are learnt unless an event on one of them came meanwhile
    /// (the program is then looked at afresh); once all are in, the start or
    /// stop is made only if it is still due, and not while the container ends.
    mutating func answered<Port: ListenerPort & ~Copyable>(programCall answer: SupervisorCallAnswer, _ port: inout Port) {
        guard var calls = programCalls, calls.inFlight else { return }
        calls.inFlight = false
        programCalls = nil
        switch answer {
        case .processInfo(let answer):
            guard !calls.eventSinceAsking else { return startOrder.lookAgain() }
            let process = calls.asked()
            guard case .info(let info) = answer else {
                guard calls.stopping == nil else {
                    // Unconfirmed, the events decide: the stop is made on them.
                    calls.skipToTheCall()
                    return programCalls = calls
                }
                // Unconfirmed, the events may be stale: no start on them.
                let failure = answer == .noSuchProgram ? "supervisord has no program \(process) (BAD_NAME)" : "no answer from supervisord about \(process)"
                return finishStart(calls.program, failure: failure, &port)
            }
            startOrder.learn(info, of: process)
            programCalls = calls
            guard !calls.isConfirmed || isStillDue(calls) else {
                programCalls = nil
                return startOrder.lookAgain()
            }
        case .started(let failure):
            finishStart(calls.program, failure: failure, &port)
        case .stopped(let failure):
            finishStop(calls.program, why: calls.stopping ?? "", failure: failure, &port)
        case .shutDown:
            break  // Not a start's or a stop's: `answered(call:)` takes it.
        }
    }

    /// stopProcess's answer: the program waits for its conditions again, or
    /// (it failed) is not stopped again until its dependencies run again.
    private mutating func finishStop<Port: ListenerPort & ~Copyable>(_ process: String, why: String, failure: String?, _ port: inout Port) {
        startOrder.stopped(process, why: "program " + ServiceState.shortName(process) + " was stopped with its dependency: " + why, failure: failure, at: port.now)
        if let failure {
            port.log(.error, "cannot stop a program whose dependency stopped (--restart-dependents)", [("program", process), ("error", failure)])
        } else {
            port.log(.info, "stopped program: a dependency stopped; it starts again once its conditions hold (--restart-dependents)", [
                ("program", process), ("why", why),
            ])
        }
    }

    /// startProcess's answer, or a start given up on (`failure`) before it.
    private mutating func finishStart<Port: ListenerPort & ~Copyable>(_ program: String, failure: String?, _ port: inout Port) {
        let news = startOrder.asked(program, failure: failure)
        if let failure {
            if news { port.log(.error, "cannot start program, trying again at every tick", [("program", program), ("error", failure)]) }
        } else {
            port.log(.info, "started program: every condition it waits for holds", [("program", program)])
        }
    }
}
