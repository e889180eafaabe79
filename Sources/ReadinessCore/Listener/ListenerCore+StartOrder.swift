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
        let refusals = startOrder.learn(programs, at: port.now)
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
        for (program, dependency) in stopsLate {
            port.log(.warning, "at shutdown supervisord stops this group no sooner than its dependency's (groups go by descending priority)", [
                ("group", program.group), ("priority", String(program.groupPriority)), ("dependency_group", dependency.group),
                ("dependency_priority", String(dependency.groupPriority)), ("fix", "priority=\(dependency.groupPriority + 1) or more in the group's section"),
            ])
        }
        return refusals.isEmpty && autostarted.isEmpty ? nil : 64
    }

    /// A PROCESS_STATE event, for the start order: a program started by
    /// another hand is said so (and left alone); a dependency's failure is
    /// looked up for its exit status or spawn error.
    mutating func applyToStartOrder<Port: ListenerPort & ~Copyable>(_ event: ProcessStateEvent, _ port: inout Port) {
        guard !startOrder.isEmpty else { return }
        let (startedElsewhere, failed) = startOrder.apply(event)
        let process = "\(event.groupName):\(event.processName)"
        if let startedElsewhere {
            port.log(.info, "program under --start-after was started by someone else, before its conditions were seen to hold", [
                ("program", startedElsewhere),
            ])
        }
        if failed, case .info(let info) = processInfo(process, &port) { startOrder.learn(info, of: process) }
    }

    /// After lost events: supervisord is asked again about each program
    /// still waiting and what it waits for (no event may come for them).
    mutating func refreshStartOrder<Port: ListenerPort & ~Copyable>(_ port: inout Port) {
        for process in startOrder.waitingProcesses() {
            if case .info(let info) = processInfo(process, &port) { startOrder.learn(info, of: process) }
        }
    }

    /// With `--restart-dependents`, stops each started program a dependency
    /// of which stopped; then starts each program whose conditions all hold
    /// (`startProcess` with wait=false: supervisord spawns it and answers at
    /// once), and says so of each one a failed dependency blocks. Nothing
    /// starts or stops while the container is ending.
    mutating func startDuePrograms<Port: ListenerPort & ~Copyable>(_ port: inout Port) {
        // The tracker's record, not `record`: this runs at the end of every turn.
        guard !startOrder.isEmpty, !tracker.record.supervisordStopping else { return }
        if let failure = tracker.record.essentialFailure, failure.shutdown != .dryRun { return }
        guard startOrder.needsLook(services: services.services, at: port.now) else { return }
        for (process, why) in startOrder.toStop() {
            let failure = port.stopProcess(process)
            startOrder.stopped(process, why: "program " + ServiceState.shortName(process) + " was stopped with its dependency: " + why, failure: failure, at: port.now)
            if let failure {
                port.log(.error, "cannot stop a program whose dependency stopped (--restart-dependents)", [("program", process), ("error", failure)])
            } else {
                port.log(.info, "stopped program: a dependency stopped; it starts again once its conditions hold (--restart-dependents)", [
                    ("program", process), ("why", why),
                ])
            }
        }
        let (due, found) = startOrder.evaluate(services: services.services, at: port.now)
        // What the checks below learn is looked at in the next turn.
        startOrder.looked(services: services.services)
        // The events may be older than what supervisord has now (queued
        // before a restarted listener asked, say): each due program's
        // dependencies are asked again, and only conditions that still hold
        // start it; the others are looked at again with the news.
        var confirmed: [String] = []
        for process in due {
            // The program itself too: it must be down (a program the listener
            // stopped may still be STOPPING), and not started meanwhile.
            for dependency in [process] + startOrder.dependencies(of: process) {
                if case .info(let info) = processInfo(dependency, &port) { startOrder.learn(info, of: dependency) }
            }
            if startOrder.holds(process, services: services.services) { confirmed.append(process) }
        }
        var problems = found
        if confirmed.count < due.count { problems += startOrder.evaluate(services: services.services, at: port.now).problems }
        for problem in problems {
            port.log(.error, problem.gaveUp
                ? "gave up on a program whose conditions did not hold within --start-timeout: it is not started"
                : "a dependency failed: the program is not started until it recovers", [("program", problem.process), ("why", problem.why)])
            essentialCannotStart(problem.process, why: problem.why, &port)
        }
        for process in confirmed {
            let failure = port.startProcess(process)
            let news = startOrder.asked(process, failure: failure)
            if let failure {
                if news { port.log(.error, "cannot start program, trying again at every tick", [("program", process), ("error", failure)]) }
            } else {
                port.log(.info, "started program: every condition it waits for holds", [("program", process)])
            }
        }
    }
}
