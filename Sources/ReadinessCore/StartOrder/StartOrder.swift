/// The start order (`--start-after`): which programs the listener starts,
/// what each waits for, and which are due. A plain value: the core feeds it
/// what supervisord says (its answer at start-up, then events) and the
/// services' readiness, and starts what it says is due.
///
/// **Started is what supervisord says.** A program waits while supervisord
/// has never started it in this generation (STOPPED, `start` 0); any other
/// state means someone started it (this listener, a previous one killed
/// mid-start-up, or a person), so no program is started twice and a
/// restarted listener forgets none.
package struct StartOrder: Sendable {
    package let rules: [StartRule]
    /// `--start-timeout`: how long a program may wait before the listener
    /// gives up on it; nil to wait for ever.
    package let timeoutMilliseconds: Int64?
    /// `--restart-dependents`: a started program is stopped when a
    /// dependency stops running (or, for `exited`, runs again), and started
    /// again once its conditions hold again.
    package let restartDependents: Bool
    /// Every pattern a rule names, a program to start or a dependency
    /// (`StartRule.patterns` builds its array anew at each call).
    private let patterns: [ProcessPattern]
    /// What supervisord last said of each process a rule names, in its order.
    private var seen: [Seen] = []
    /// Each program a rule starts, with what it waits for, for the status
    /// file; `entries` holds each one's bookkeeping, at the same index. A
    /// stored array, changed only where a start changes: the core compares
    /// it with the record last written at every turn, and an array left
    /// alone compares by its storage.
    package private(set) var starts: [ProgramStart] = []
    private var entries: [Entry] = []
    /// Something `toStop` and `evaluate` read changed since they last
    /// looked: most turns (an event of another program, a datagram, a
    /// probe) change nothing, and looking costs a pass over every rule.
    private var changed = true
    /// The services as last looked at: their readiness is a condition.
    private var lookedServices: [ServiceState] = []
    /// When the first program still waiting reaches `--start-timeout`.
    private var nextTimeout: Int64?

    private struct Seen: Sendable {
        /// `GROUP:NAME`.
        var process: String
        /// Its two parts, matched without splitting `process` at each look.
        var group: String
        var name: String
        var state: ProcessState
        /// EXITED: whether the status was in `exitcodes`.
        var expected: Bool?
        /// The run's pid, when the event or answer gave one.
        var pid: Int?
        /// The run's start time, when an answer gave one (events do not).
        var start: Int?
        /// From supervisord's answer: a failure's spawn error or exit status.
        var detail: String?
        /// A failure an event brought, whose detail supervisord is asked
        /// for: it is said (logged, and an essential program's end) with
        /// its detail, once the answer is in.
        var detailAsked = false

        init(group: String, name: String, state: ProcessState, expected: Bool?, pid: Int?) {
            process = group + ":" + name
            self.group = group
            self.name = name
            self.state = state
            self.expected = expected
            self.pid = pid
        }

        /// What supervisord's answer says of it.
        init(group: String, name: String, info: SupervisorProcessInfo) {
            self.init(group: group, name: name, state: info.state, expected: info.state == .exited ? info.exitWasExpected : nil, pid: info.pid == 0 ? nil : info.pid)
            start = info.start == 0 ? nil : info.start
            // FATAL: the spawn error, if any; EXITED: "Bad exit code N", or the status.
            if failure != nil { detail = !info.spawnError.isEmpty ? info.spawnError : state == .exited ? "status \(info.exitStatus)" : nil }
        }

        func isNamed(by pattern: ProcessPattern) -> Bool {
            pattern.matches(processName: name, groupName: group)
        }

        /// Whether `other` says something `evaluate` reads (or, with
        /// `--restart-dependents`, `toStop`: the start time) that this does not.
        func differs(from other: Seen, startTimesCount: Bool) -> Bool {
            state != other.state || expected != other.expected || pid != other.pid || detail != other.detail
                || (startTimesCount && start != other.start)
        }

        /// Why it failed, once it did: no condition can hold until it runs again.
        var failure: String? {
            if state == .fatal { return "is FATAL\(detail.map { ": \($0)" } ?? "")" }
            if state == .exited, expected == false { return "exited unexpectedly\(detail.map { ", \($0)" } ?? "")" }
            return nil
        }
    }

    private struct Entry: Sendable {
        /// Its rule's index.
        var rule: Int
        /// startProcess was asked for, or accepted; its STARTING event has not come yet.
        var asked = false
        /// startProcess failed: not tried again before the next TICK.
        var startFailed = false
        /// Why it last failed, so that a failure repeated at every TICK is logged once.
        var startError: String?
        /// `--start-timeout` passed before its conditions held: never started.
        var gaveUp = false
        /// stopProcess failed: not asked again until its dependencies run again.
        var stopRefused = false
        /// The failure last logged, so each is logged once.
        var loggedFailure: String?
        /// When its wait began, for `--start-timeout`: the listener's
        /// start-up (a restarted listener waits anew), or its stop by
        /// `--restart-dependents`.
        var waitingSince: Timestamp
    }

    package init(rules: [StartRule], timeoutMilliseconds: Int64? = nil, restartDependents: Bool = false) {
        self.rules = rules
        self.timeoutMilliseconds = timeoutMilliseconds
        self.restartDependents = restartDependents
        patterns = rules.flatMap { $0.patterns }
    }

    package var isEmpty: Bool { rules.isEmpty }

    /// Whether a rule starts `process` (`GROUP:NAME`): not the notify services' start-up.
    package func starts(process: String) -> Bool { rules.contains { $0.programs.matches(process: process) } }

    /// Whether a rule names the process, as a program to start or a dependency.
    private func names(group: String, name: String) -> Bool {
        patterns.contains { $0.matches(processName: name, groupName: group) }
    }

    /// At start-up, supervisord's answer: the programs to start and their
    /// state. A name no process has is returned, one line each, and the
    /// listener refuses to run (a typo would wait for ever). `previous`: the
    /// starts a previous listener of this generation recorded; a program it
    /// stopped for a dependency, still down, waits to start again.
    package mutating func learn(_ programs: [NamedProcessInfo], previous: [ProgramStart] = [], at time: Timestamp) -> [String] {
        for program in programs {
            guard names(group: program.group, name: program.name) else { continue }
            let process = "\(program.group):\(program.name)"
            let info = program.info
            seen.append(Seen(group: program.group, name: program.name, info: info))
            if let rule = rules.firstIndex(where: { $0.programs.matches(process: process) }) {
                // Still STOPPING counts: `evaluate` waits for it to be down.
                let restarting = restartDependents && !info.state.isUnderWay && previous.contains { $0.process == process && $0.restarting }
                var start = ProgramStart(process: process, after: rules[rule].after, started: !restarting && (info.state != .stopped || info.start != 0))
                start.restarting = restarting
                starts.append(start)
                entries.append(Entry(rule: rule, waitingSince: time))
            }
        }
        var missing: [String] = []
        for rule in rules {
            for pattern in rule.patterns where !seen.contains(where: { $0.isNamed(by: pattern) }) {
                missing.append("supervisord has no program " + pattern.description + " (--start-after " + rule.description + ")")
            }
        }
        return missing
    }

    /// A dependent in another group than its dependency, which supervisord
    /// would stop no sooner than it at shutdown (groups go by descending
    /// priority): now, or once the dependency's own group is raised.
    package struct StopsLate: Sendable {
        /// The dependent (its group is the one to raise).
        package var program: ProgramConfig
        package var dependency: ProgramConfig
        /// The lowest priority that stops the group before its dependency's,
        /// with every group it depends on through others raised as well.
        package var fix: Int
    }

    /// What supervisord's configuration says against the rules, at
    /// start-up: the programs it starts by itself (`autostart=true`), which
    /// would not wait, with their rule; and the pairs of groups stopped in
    /// the wrong order (`StopsLate`), once per pair.
    package func configurationProblems(_ configs: [ProgramConfig]) -> (autostarted: [(process: String, rule: StartRule)], stopsLate: [StopsLate]) {
        var autostarted: [(process: String, rule: StartRule)] = []
        var pairs: [(program: ProgramConfig, dependency: ProgramConfig)] = []
        for config in configs {
            guard let rule = rules.first(where: { $0.programs.matches(process: config.process) }) else { continue }
            if config.autostart { autostarted.append((config.process, rule)) }
            for dependency in rule.dependencies {
                for other in configs where other.group != config.group && dependency.programs.matches(process: other.process)
                    && !pairs.contains(where: { $0.program.group == config.group && $0.dependency.group == other.group })
                {
                    pairs.append((config, other))
                }
            }
        }
        // Each group's priority once every group it depends on is above
        // its own dependencies: in a chain c → b → a, raising b above a can
        // take it past c. Groups that depend on each other both ways never
        // settle: no priority orders them, and each pair is said as it is.
        var needed: [String: Int] = [:]
        for config in configs { needed[config.group] = config.groupPriority }
        var settled = false
        for _ in 0...pairs.count where !settled {
            settled = true
            for pair in pairs where needed[pair.program.group, default: 0] <= needed[pair.dependency.group, default: 0] {
                needed[pair.program.group] = needed[pair.dependency.group, default: 0] + 1
                settled = false
            }
        }
        var stopsLate: [StopsLate] = []
        for pair in pairs {
            let dependencyNeeds = settled ? needed[pair.dependency.group, default: 0] : pair.dependency.groupPriority
            guard pair.program.groupPriority <= dependencyNeeds else { continue }
            let fix = settled ? needed[pair.program.group, default: 0] : pair.dependency.groupPriority + 1
            stopsLate.append(StopsLate(program: pair.program, dependency: pair.dependency, fix: fix))
        }
        return (autostarted, stopsLate)
    }

    /// What an event brings: its process's state; for a program still
    /// waiting that another hand started, that program (to be said); and
    /// whether a dependency failed (its spawn error or status is worth asking).
    package mutating func apply(_ event: ProcessStateEvent) -> (startedElsewhere: String?, failed: Bool) {
        guard names(group: event.groupName, name: event.processName) else { return (nil, false) }
        changed = true
        let process = "\(event.groupName):\(event.processName)"
        var now = Seen(group: event.groupName, name: event.processName, state: event.state, expected: event.expected, pid: event.pid)
        now.detailAsked = now.failure != nil
        if let index = seen.firstIndex(where: { $0.process == process }) { seen[index] = now } else { seen.append(now) }
        var startedElsewhere: String?
        // A run begins with STARTING (BACKOFF and RUNNING follow it); stopping
        // or ending is no start, and a program the listener stopped stays down.
        if event.state.isUnderWay,
            let index = position(of: process), !starts[index].started
        {
            if !entries[index].asked { startedElsewhere = process }
            markStarted(index)
        }
        return (startedElsewhere, now.failure != nil)
    }

    /// Where `process` is in `starts` (and `entries`), if a rule starts it.
    private func position(of process: String) -> Int? { starts.firstIndex { $0.process == process } }

    private mutating func markStarted(_ index: Int) {
        starts[index].started = true
        starts[index].restarting = false
        starts[index].holds = ""
        starts[index].detail = ""
    }

    /// Whether supervisord has `process` down (STOPPED, EXITED, FATAL), as
    /// last seen: only then may it be started (again).
    private func isDown(_ process: String) -> Bool {
        guard let state = seen.first(where: { $0.process == process })?.state else { return true }
        return state == .stopped || state == .exited || state == .fatal
    }

    /// supervisord's answer on `process`, newer than any event still queued:
    /// asked for a failed dependency's spawn error or exit status, for a
    /// program and its dependencies just before it is started, and after
    /// lost events. A program it shows started (a lost STARTING event, or
    /// another hand) counts as started.
    package mutating func learn(_ info: SupervisorProcessInfo, of process: String) {
        guard let index = seen.firstIndex(where: { $0.process == process }) else { return }
        // Most answers confirm what the events said: nothing to look at again.
        let now = Seen(group: seen[index].group, name: seen[index].name, info: info)
        if seen[index].detailAsked || now.differs(from: seen[index], startTimesCount: restartDependents) { changed = true }
        seen[index] = now
        guard let index = position(of: process), !starts[index].started else { return }
        if info.state.isUnderWay || (!starts[index].restarting && !(info.state == .stopped && info.start == 0)) {
            markStarted(index)
            changed = true
        }
    }

    /// No answer came to the question about a failure's detail, or an event
    /// overtook it: the failure is said as its event gave it.
    package mutating func detailUnanswered(of process: String) {
        guard let index = seen.firstIndex(where: { $0.process == process }), seen[index].detailAsked else { return }
        seen[index].detailAsked = false
        changed = true
    }

    /// The processes to ask supervisord about when events may have been
    /// lost: each program still waiting (with `--restart-dependents`, each
    /// program: a dependency's lost run must still stop it), and what it
    /// waits for, each once.
    package func processesToRefresh() -> [String] {
        var processes: [String] = []
        for (start, entry) in zip(starts, entries) where (!start.started || restartDependents) && !entry.gaveUp {
            for process in [start.process] + dependencies(of: start.process) where !processes.contains(process) {
                processes.append(process)
            }
        }
        return processes
    }

    /// The processes `process` waits for, to be asked about again before it
    /// is started: an event can be older than what supervisord has now.
    package func dependencies(of process: String) -> [String] {
        guard let index = position(of: process) else { return [] }
        let entry = entries[index]
        var processes: [String] = []
        for index in seen.indices where rules[entry.rule].dependencies.contains(where: { seen[index].isNamed(by: $0.programs) }) {
            processes.append(seen[index].process)
        }
        return processes
    }

    /// Whether `process` is down, not given up on, and every condition of it
    /// holds, as last seen.
    package func holds(_ process: String, services: [ServiceState]) -> Bool {
        guard let index = position(of: process), !starts[index].started, !entries[index].gaveUp, isDown(process) else { return false }
        return rules[entries[index].rule].dependencies.allSatisfy { why($0, services: services) == nil }
    }

    /// Whether `toStop` and `evaluate` have anything new to look at: what
    /// supervisord said, a start asked or failed, the services, or a
    /// `--start-timeout` that may have passed.
    package func needsLook(services: [ServiceState], at time: Timestamp) -> Bool {
        changed || services != lookedServices || nextTimeout.map { time.millisecondsSinceEpoch >= $0 } == true
    }

    /// `toStop` and `evaluate` looked at all there was (anything learnt
    /// after this is looked at in the next turn).
    package mutating func looked(services: [ServiceState]) {
        changed = false
        lookedServices = services
    }

    /// What `evaluate` found to say of a program: a dependency failed, or it
    /// was given up on (`--start-timeout`); `why` is its one line.
    package struct Problem: Sendable {
        package var process: String
        package var why: String
        package var gaveUp: Bool
    }

    /// Each program still waiting, its conditions looked at again: those due
    /// now (every condition holds), and the problems not said yet.
    package mutating func evaluate(services: [ServiceState], at time: Timestamp) -> (due: [String], problems: [Problem]) {
        var due: [String] = []
        var problems: [Problem] = []
        nextTimeout = nil
        for index in entries.indices {
            var entry = entries[index]
            let process = starts[index].process
            guard !starts[index].started, !entry.asked, !entry.gaveUp else { continue }
            // Stopped by the listener: not started again before it is down.
            if starts[index].restarting, !isDown(process) { continue }
            let timedOut = timeoutMilliseconds.map { time.millisecondsSinceEpoch - entry.waitingSince.millisecondsSinceEpoch >= $0 } ?? false
            var holds: [String] = []
            // The first failure, else the first condition unmet.
            var unmet: (why: String, failed: Bool, detailAsked: Bool)?
            for dependency in rules[entry.rule].dependencies {
                let why = self.why(dependency, services: services)
                holds.append(why == nil ? "1" : "0")
                if let why, unmet == nil || (why.failed && unmet?.failed == false) { unmet = why }
            }
            // Set only when it changes: `starts` left alone compares by its storage.
            let joined = holds.joined(separator: ",")
            if starts[index].holds != joined { starts[index].holds = joined }
            let phrase: String
            if unmet == nil {
                phrase = " is being started"
                if !entry.startFailed { due.append(process) }
            } else if timedOut {
                phrase = " was given up on (--start-timeout): it waited for "
                entry.gaveUp = true
            } else {
                phrase = " is waiting for "
                if let timeout = timeoutMilliseconds {
                    let at = entry.waitingSince.millisecondsSinceEpoch + timeout
                    nextTimeout = min(nextTimeout ?? at, at)
                }
            }
            let detail = "program " + ServiceState.shortName(process) + phrase + (unmet?.why ?? "")
            if starts[index].detail != detail { starts[index].detail = detail }
            let failed = unmet?.failed == true && !entry.gaveUp
            // A failure is said once its detail is in.
            let detailAsked = failed && unmet?.detailAsked == true
            if entry.gaveUp || (failed && !detailAsked && entry.loggedFailure != detail) {
                problems.append(Problem(process: process, why: detail, gaveUp: entry.gaveUp))
            }
            if !detailAsked { entry.loggedFailure = failed ? detail : nil }
            entries[index] = entry
        }
        return (due, problems)
    }

    /// Why `dependency` does not hold (`redis:ready (redis is FATAL)`),
    /// whether it failed and its detail is still asked for; nil when it
    /// holds: every process it names must meet the condition.
    private func why(_ dependency: StartRule.Dependency, services: [ServiceState]) -> (why: String, failed: Bool, detailAsked: Bool)? {
        var state: String?
        var failed = false
        var detailAsked = false
        // By index: most processes are not named, and a copy of each costs more than the look.
        for index in seen.indices where seen[index].isNamed(by: dependency.programs) {
            let seen = seen[index]
            let wanted: ProcessState = dependency.condition == .exited ? .exited : .running
            if let failure = seen.failure {
                state = ServiceState.shortName(seen.process) + " " + failure
                failed = true
                detailAsked = seen.detailAsked
                break
            } else if seen.state != wanted {
                state = ServiceState.shortName(seen.process) + " is " + seen.state.rawValue
                break
            } else if dependency.condition == .ready,
                // Ready for the run supervisord has: a service's readiness is its run's (pid).
                services.contains(where: { $0.process == seen.process && (!$0.ready || (seen.pid != nil && $0.run != seen.pid)) })
            {
                state = ServiceState.shortName(seen.process) + " is RUNNING, not ready yet"
                break
            }
            state = state ?? ""
        }
        guard state != "" else { return nil }
        return (dependency.programs.description + ":" + dependency.condition.rawValue + " (" + (state ?? "not seen yet") + ")", failed, detailAsked)
    }

    /// With `--restart-dependents`: the started programs a dependency of
    /// which stopped running (or, for `exited`, runs again), each with why.
    /// Readiness alone does not count: a service whose check fails a while
    /// has not stopped.
    package mutating func toStop() -> [(process: String, why: String)] {
        guard restartDependents else { return [] }
        var stops: [(process: String, why: String)] = []
        for index in entries.indices where starts[index].started {
            let entry = entries[index]
            let process = starts[index].process
            // A run older than a dependency's; one that ended (a person
            // stopped it, or it exited) is left as it is.
            let started = isDown(process) ? nil : seen.first { $0.process == process }?.start
            var stopped: String?
            for dependency in rules[entry.rule].dependencies where stopped == nil {
                stopped = stopReason(dependency, startedAt: started)
            }
            guard let stopped else {
                entries[index].stopRefused = false
                continue
            }
            if !entry.stopRefused {
                stops.append((process, "program " + ServiceState.shortName(process) + " waits for " + stopped))
            }
        }
        return stops
    }

    /// Why `dependency` counts as stopped for a program whose run began at
    /// `startedAt` (supervisord's start time, when an answer gave it): it
    /// left its condition's state, failed, or (by supervisord's answers) its
    /// run began after the program's, so it ran again since.
    private func stopReason(_ dependency: StartRule.Dependency, startedAt programStart: Int?) -> String? {
        let wanted: ProcessState = dependency.condition == .exited ? .exited : .running
        for index in seen.indices where seen[index].isNamed(by: dependency.programs) {
            let seen = seen[index]
            if seen.state != wanted || seen.failure != nil { return why(dependency, services: [])?.why }
            if let start = seen.start, let programStart, start > programStart {
                return dependency.programs.description + ":" + dependency.condition.rawValue + " (" + ServiceState.shortName(seen.process) + " ran again)"
            }
        }
        return nil
    }

    /// stopProcess was accepted for `process` (`failure` nil): it waits
    /// again, from `time`, saying `why` until the next look; or it failed:
    /// not asked again until its dependencies run again.
    package mutating func stopped(_ process: String, why: String, failure: String?, at time: Timestamp) {
        guard let index = position(of: process) else { return }
        changed = true
        guard failure == nil else { return entries[index].stopRefused = true }
        starts[index].started = false
        entries[index].asked = false
        starts[index].restarting = true
        entries[index].waitingSince = time
        starts[index].detail = why
    }

    /// startProcess is being asked for `process`: its STARTING event is
    /// this listener's doing, and it is not due again.
    package mutating func starting(_ process: String) {
        guard let index = position(of: process) else { return }
        entries[index].asked = true
    }

    /// startProcess was accepted for `process` (`failure` nil), or failed
    /// (tried again at the next TICK); whether the failure is news to log.
    package mutating func asked(_ process: String, failure: String?) -> Bool {
        guard let index = position(of: process) else { return false }
        changed = true
        let news = failure != entries[index].startError
        entries[index].startError = failure
        // On success `asked` stays as `starting` left it: `stopped` may have
        // cleared it since (the program started, then its dependency stopped).
        if failure != nil {
            entries[index].asked = false
            entries[index].startFailed = true
        }
        return news
    }

    /// A start was given up before startProcess (its answers suspect, or a
    /// condition no longer holds): the programs are looked at again.
    package mutating func lookAgain() { changed = true }

    /// At a TICK: failed starts may be tried again.
    package mutating func tick() {
        changed = true
        for index in entries.indices { entries[index].startFailed = false }
    }
}
