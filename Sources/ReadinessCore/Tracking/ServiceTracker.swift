/// Follows the `--service` programs: supervisord's events and answers say
/// which run each is in, sd_notify messages and check results say whether
/// that run is ready. No I/O: the listener hands it what arrived and carries
/// out what it returns.
package struct ServiceTracker: Sendable {
    package let specs: [ServiceSpec]
    package let timing: CheckTiming
    package private(set) var services: [ServiceState] = []
    /// Grows with every event or answer of supervisord's about a service:
    /// the loop rebuilds the list of runs to check only then, not at every turn.
    package private(set) var runsChanged = 0

    /// A datagram that could not be attributed yet: its sender may be a run
    /// the listener has not heard of (STARTING carries no pid, and the events
    /// may be queued behind it).
    package struct HeldMessage: Equatable, Sendable {
        package var message: NotifyMessage
        package var sender: Int
        package var ancestry: [Int]
        /// The ancestry of the pid its `MAINPID=` names, read at reception.
        package var mainPIDAncestry: [Int] = []
        package var received: Timestamp
        /// supervisord was asked for every process after it was held.
        package var askedAbout = false
    }

    /// At most this many held, each at most `holdMilliseconds`.
    package static let holdLimit = 16
    package static let holdMilliseconds: Int64 = 10_000
    package private(set) var held: [HeldMessage] = []

    /// Specs are matched in order: a process belongs to the first that names it.
    package init(specs: [ServiceSpec], timing: CheckTiming = CheckTiming(), previous: [ServiceState] = [], at time: Timestamp) {
        self.specs = specs
        self.timing = timing
        for (index, spec) in specs.enumerated() {
            let resumed = previous.filter { state in
                state.kind == spec.check.kind && self.spec(forProcess: state.process)?.offset == index
            }
            if resumed.isEmpty {
                var placeholder = ServiceState(process: spec.programs.description, kind: spec.check.kind)
                placeholder.since = time
                services.append(placeholder)
            } else {
                services += resumed
            }
        }
    }

    package var hasNotifyServices: Bool { specs.contains { $0.check == .notify } }

    /// The spec a `GROUP:NAME` falls under, with its index.
    private func spec(forProcess process: String) -> (offset: Int, element: ServiceSpec)? {
        specs.enumerated().first { $0.element.programs.matches(process: process) }
    }

    /// How the service of `process` is checked.
    package func check(forProcess process: String) -> ServiceCheck? { spec(forProcess: process)?.element.check }

    /// The entry for `GROUP:NAME`, made (in place of its spec's placeholder,
    /// if that is still there) when it is first seen; nil when no spec names it.
    private mutating func index(forGroup group: String, name: String, at time: Timestamp) -> Int? {
        let process = "\(group):\(name)"
        if let index = services.firstIndex(where: { $0.process == process }) { return index }
        guard let (_, spec) = spec(forProcess: process) else { return nil }
        var state = ServiceState(process: process, kind: spec.check.kind)
        state.since = time
        if let placeholder = services.firstIndex(where: { $0.process == spec.programs.description && ($0.state == nil || $0.absent) }) {
            services[placeholder] = state
            return placeholder
        }
        let last = services.lastIndex { self.spec(forProcess: $0.process)?.element == spec || $0.process == spec.programs.description }
        let position = last.map { $0 + 1 } ?? services.endIndex
        services.insert(state, at: position)
        return position
    }

    /// What changed for a service: said in the log when readiness moved.
    package struct Change: Equatable, Sendable {
        package var service: ServiceState
        package var becameReady: Bool?
    }

    /// Recomputes readiness of `index`; the change if it moved.
    private mutating func settle(_ index: Int, at time: Timestamp) -> Change? {
        let ready = services[index].isReadyNow
        guard ready != services[index].ready else { return nil }
        services[index].ready = ready
        services[index].since = time
        return Change(service: services[index], becameReady: ready)
    }

    /// Makes `pid` the run readiness is about; what the previous run said goes.
    private mutating func enterRun(_ index: Int, pid: Int) {
        guard services[index].run != pid else { return }
        services[index].run = pid
        services[index].signal = nil
        services[index].mainPID = nil
        services[index].detail = nil
        services[index].passes = 0
        services[index].failures = 0
        services[index].passing = false
    }

    // MARK: - supervisord

    /// A PROCESS_STATE event; nil when it is not a service's or readiness did not move.
    package mutating func apply(_ event: ProcessStateEvent, at time: Timestamp) -> Change? {
        guard let index = index(forGroup: event.groupName, name: event.processName, at: time) else { return nil }
        runsChanged += 1
        services[index].state = event.state
        services[index].absent = false
        let pid = event.pid.flatMap { $0 > 0 ? $0 : nil }
        switch event.state {
        case .running:
            if let pid { enterRun(index, pid: pid) }
        case .exited, .stopped:
            // The run is over: its pid may be reused, its word may not.
            if let pid, services[index].run == pid {
                services[index].signal = nil
                services[index].passing = false
            }
        default:
            break
        }
        return settle(index, at: time)
    }

    /// What supervisord says of every process (start-up, or after events
    /// were lost): each service's state and, while it has a process, its
    /// pid. Changes of readiness are returned.
    package mutating func learn(_ programs: [NamedProcessInfo], at time: Timestamp) -> [Change] {
        var changes: [Change] = []
        runsChanged += 1
        for program in programs {
            guard let index = index(forGroup: program.group, name: program.name, at: time) else { continue }
            services[index].state = program.info.state
            services[index].absent = false
            if program.info.pid > 0, [.starting, .running].contains(program.info.state) { enterRun(index, pid: program.info.pid) }
            if let change = settle(index, at: time) { changes.append(change) }
        }
        // Specs that name no process of supervisord's.
        for index in services.indices where services[index].state == nil && !services[index].absent {
            if specs.contains(where: { $0.programs.description == services[index].process }) {
                services[index].absent = true
            }
        }
        return changes
    }

    /// The notify services supervisord has never started in this generation
    /// (`autostart=false`, as they must be): the listener starts them once its socket is bound.
    package func notifyServicesToStart(among programs: [NamedProcessInfo]) -> [String] {
        programs.compactMap { program in
            let process = "\(program.group):\(program.name)"
            guard check(forProcess: process) == .notify, program.info.state == .stopped, program.info.start == 0 else { return nil }
            return process
        }
    }

    /// Notify services already started when the socket was bound, whose
    /// READY=1 may have been sent to nobody: not the ones a resumed record
    /// already has ready for the same run.
    package func notifyServicesStartedEarly(among programs: [NamedProcessInfo]) -> [String] {
        programs.compactMap { program in
            let process = "\(program.group):\(program.name)"
            guard check(forProcess: process) == .notify, program.info.state.isUnderWay else { return nil }
            if let known = services.first(where: { $0.process == process }), known.ready, known.run == program.info.pid { return nil }
            return process
        }
    }

    // MARK: - sd_notify

    /// What became of a datagram.
    package enum Delivery: Equatable, Sendable {
        /// Applied to this service (readiness may or may not have moved);
        /// `news` when it said something new (another signal, a MAINPID):
        /// worth a log line, unlike a READY=1 repeated every 10 s.
        /// `refusedMainPID`: the `MAINPID=` it named, not taken (the rest was).
        case applied(service: String, change: Change?, news: Bool, refusedMainPID: Int? = nil)
        /// No service's run sent it: neither its pid, a descendant, nor its MAINPID.
        case unattributed
    }

    /// Attributes a message to the notify service whose current run sent it:
    /// the sender is that run's pid, its `MAINPID=`, or a descendant of
    /// either (`ancestry` lists the sender, its parent and so on, as far as
    /// /proc could tell). Only an attributed message may set `MAINPID`, and
    /// only to the run itself or a descendant of it (`mainPIDAncestry`: the
    /// named pid's ancestry as /proc showed it at reception; empty, it must
    /// be the run's pid), as systemd takes one only inside the service's
    /// cgroup: a MAINPID naming supervisord or a sibling would let any
    /// process under it speak for the service. A refused MAINPID is said so;
    /// the rest of the message counts.
    package mutating func deliver(
        _ message: NotifyMessage, from sender: Int, ancestry: [Int], mainPIDAncestry: [Int] = [], at time: Timestamp
    ) -> Delivery {
        let lineage = ancestry.isEmpty ? [sender] : ancestry
        guard
            let index = services.firstIndex(where: { service in
                guard service.kind == .notify, let run = service.run else { return false }
                return lineage.contains(run) || service.mainPID.map { lineage.contains($0) } == true
            })
        else { return .unattributed }
        var mainPID = message.mainPID
        var refused: Int?
        if let named = mainPID, let run = services[index].run, !(mainPIDAncestry.isEmpty ? [named] : mainPIDAncestry).contains(run) {
            refused = named
            mainPID = nil
        }
        let news = (message.signal != nil && message.signal != services[index].signal) || (mainPID != nil && mainPID != services[index].mainPID)
        if let signal = message.signal { services[index].signal = signal }
        if let status = message.status { services[index].detail = status }
        if let mainPID { services[index].mainPID = mainPID }
        return .applied(service: services[index].name, change: settle(index, at: time), news: news, refusedMainPID: refused)
    }

    /// Keeps a message for when its run is known; the oldest goes past the limit.
    package mutating func hold(
        _ message: NotifyMessage, from sender: Int, ancestry: [Int], mainPIDAncestry: [Int] = [], at time: Timestamp
    ) -> HeldMessage? {
        held.append(HeldMessage(message: message, sender: sender, ancestry: ancestry, mainPIDAncestry: mainPIDAncestry, received: time))
        return held.count > Self.holdLimit ? held.removeFirst() : nil
    }

    /// Notes that supervisord is being asked for every process (`asked`),
    /// or that the question got no answer, for each message held now.
    package mutating func markHeldAsked(_ asked: Bool = true) {
        for index in held.indices { held[index].askedAbout = asked }
    }

    /// After an answer and `redeliverHeld`: takes out (and returns) the held
    /// messages it was asked for whose sender /proc showed, since its run
    /// would be in the answer. One whose sender was gone before /proc could
    /// tell its parent may be a descendant's, and waits on.
    package mutating func dropAskedAbout() -> [HeldMessage] {
        let dropped = held.filter { $0.askedAbout && !$0.ancestry.isEmpty }
        held.removeAll { $0.askedAbout && !$0.ancestry.isEmpty }
        return dropped
    }

    /// Tries the held messages again, after a run became known; returns the
    /// deliveries made, and drops (returning them) those held too long.
    package mutating func redeliverHeld(at time: Timestamp) -> (delivered: [(message: HeldMessage, delivery: Delivery)], expired: [HeldMessage]) {
        var delivered: [(message: HeldMessage, delivery: Delivery)] = []
        var expired: [HeldMessage] = []
        var kept: [HeldMessage] = []
        for message in held {
            let delivery = deliver(message.message, from: message.sender, ancestry: message.ancestry, mainPIDAncestry: message.mainPIDAncestry, at: time)
            if delivery != .unattributed {
                delivered.append((message, delivery))
            } else if time.millisecondsSinceEpoch - message.received.millisecondsSinceEpoch >= Self.holdMilliseconds {
                expired.append(message)
            } else {
                kept.append(message)
            }
        }
        held = kept
        return (delivered, expired)
    }

    // MARK: - Checks

    /// The runs to check: `tcp:` and `exec:` services RUNNING with a known pid, and how.
    package var checkable: [(process: String, pid: Int, check: ServiceCheck)] {
        services.compactMap { service in
            guard service.kind == .tcp || service.kind == .exec, service.state == .running, let run = service.run,
                let check = check(forProcess: service.process)
            else { return nil }
            return (process: service.process, pid: run, check: check)
        }
    }

    /// A check's result for the run `pid` of `process`; ignored when that run is no longer current.
    package mutating func checked(_ process: String, pid: Int, passed: Bool, detail: String, at time: Timestamp) -> Change? {
        guard let index = services.firstIndex(where: { $0.process == process }), services[index].run == pid,
            services[index].state == .running
        else { return nil }
        // Counted up to the thresholds only: a check that keeps passing (or
        // failing) the same way changes nothing, so the file is not rewritten
        // at every check.
        services[index].detail = detail
        if passed {
            services[index].passes = min(services[index].passes + 1, timing.successThreshold)
            services[index].failures = 0
            if services[index].passes >= timing.successThreshold { services[index].passing = true }
        } else {
            services[index].failures = min(services[index].failures + 1, timing.failureThreshold)
            services[index].passes = 0
            if services[index].failures >= timing.failureThreshold || !services[index].passing { services[index].passing = false }
        }
        return settle(index, at: time)
    }
}
