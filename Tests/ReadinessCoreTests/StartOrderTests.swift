import Testing

@testable import ReadinessCore

/// `--start-after`: its parsing, the cycles refused, and the start order's
/// decisions as plain values.
@Suite struct StartRuleTests {
    @Test func rulesAreParsedWithTheDependencyBeforeTheLastColon() throws {
        let rule = try StartRule(parsing: "app=start:exited,grp:redis:ready,web:*:running")
        #expect(rule.programs == ProcessPattern(program: "app"))
        #expect(rule.dependencies.map { $0.programs.description } == ["start", "grp:redis", "web:*"])
        #expect(rule.dependencies.map(\.condition) == [.exited, .ready, .running])
        #expect(rule.description == "app=start:exited,grp:redis:ready,web:*:running")
        #expect(try StartRule(parsing: "grp:*=start:exited").programs.description == "grp:*")
    }

    @Test(arguments: ["app", "=start:exited", "app=", "app=start", "app=start:done", "app=start:exited,", "app=:ready", "a:b:c=start:exited", "app=x:y:z:ready"])
    func malformedRulesAreRefused(_ text: String) {
        #expect(throws: UsageError.self) { try StartRule(parsing: text) }
    }

    func rules(_ texts: String...) throws -> [StartRule] { try texts.map { try StartRule(parsing: $0) } }

    @Test func twoRulesForOneProgramAreRefused() throws {
        #expect(StartRule.problem(in: try rules("app=redis:ready", "app=start:exited"))
            == "--start-after names app in two rules (app=redis:ready, app=start:exited): give it one rule with every condition")
        #expect(StartRule.problem(in: try rules("web:*=db:running", "web:admin=migrate:exited")) != nil)
        #expect(StartRule.problem(in: try rules("a=b:ready", "b=a:exited")) == "--start-after would wait for ever, cycle: a → b → a")
        #expect(StartRule.problem(in: try rules("app=redis:ready", "redis=start:exited")) == nil)
    }

    @Test func cyclesAreFoundAndNamed() throws {
        #expect(StartRule.cycle(in: try rules("app=redis:ready", "redis=start:exited")) == nil)
        #expect(StartRule.cycle(in: try rules("a=b:ready", "b=a:exited")) == "cycle: a → b → a")
        #expect(StartRule.cycle(in: try rules("x=start:exited", "a=b:ready", "b=c:running", "c=a:exited")) == "cycle: a → b → c → a")
        #expect(StartRule.cycle(in: try rules("a=a:exited")) == "cycle: a → a")
        // A group waiting for one of its own programs waits for itself.
        #expect(StartRule.cycle(in: try rules("grp:*=grp:db:ready")) == "cycle: grp:* → grp:*")
        // One that waits for a cycle is not in it.
        #expect(StartRule.cycle(in: try rules("z=a:ready", "a=b:ready", "b=a:ready")) == "cycle: a → b → a")
    }
}

@Suite struct StartOrderTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_795_387_133_000)

    func program(_ name: String, _ state: ProcessState, start: Int = 0, spawnError: String = "", exitStatus: Int = 0) -> NamedProcessInfo {
        NamedProcessInfo(group: name, name: name, info: .init(state: state, start: start, exitStatus: exitStatus, spawnError: spawnError))
    }

    func event(_ name: String, _ state: ProcessState, expected: Bool? = nil) -> ProcessStateEvent {
        ProcessStateEvent(serial: 1, state: state, processName: name, groupName: name, fromState: .starting, expected: expected)
    }

    func order(_ texts: String...) throws -> StartOrder { StartOrder(rules: try texts.map { try StartRule(parsing: $0) }) }

    @Test func aProgramIsDueOnlyOnceEveryConditionHolds() throws {
        var order = try order("app=start:exited,redis:ready")
        #expect(order.learn([program("start", .running, start: 1), program("redis", .stopped), program("app", .stopped)], at: t0).isEmpty)
        var redis = ServiceState(process: "redis:redis", kind: .notify)
        #expect(order.evaluate(services: [redis], at: t0).due.isEmpty)
        #expect(order.starts[0].detail == "program app is waiting for start:exited (start is RUNNING)")
        #expect(order.starts[0].holds == "0,0")
        _ = order.apply(event("start", .exited, expected: true))
        _ = order.apply(event("redis", .running))
        #expect(order.evaluate(services: [redis], at: t0).due.isEmpty)
        #expect(order.starts[0].detail == "program app is waiting for redis:ready (redis is RUNNING, not ready yet)")
        #expect(order.starts[0].holds == "1,0")
        redis.ready = true
        #expect(order.evaluate(services: [redis], at: t0).due == ["app:app"])
        order.starting("app:app")
        let news = order.asked("app:app", failure: nil)
        #expect(!news)
        // Asked once: not due again while its STARTING event is on its way.
        #expect(order.evaluate(services: [redis], at: t0).due.isEmpty)
        #expect(order.apply(event("app", .starting)).startedElsewhere == nil)
        #expect(order.starts[0].started)
        #expect(order.starts[0].detail.isEmpty)
    }

    @Test func readyOfAProgramThatIsNoServiceIsRunning() throws {
        var order = try order("app=db:ready")
        _ = order.learn([program("db", .starting, start: 1), program("app", .stopped)], at: t0)
        #expect(order.evaluate(services: [], at: t0).due.isEmpty)
        _ = order.apply(event("db", .running))
        #expect(order.evaluate(services: [], at: t0).due == ["app:app"])
    }

    @Test func aFailedDependencyBlocksAndIsSaidOnce() throws {
        var order = try order("app=start:exited")
        _ = order.learn([program("start", .running, start: 1), program("app", .stopped)], at: t0)
        #expect(order.apply(event("start", .exited, expected: false)).failed)
        order.learn(.init(state: .exited, exitStatus: 3, spawnError: "Bad exit code 3"), of: "start:start")
        let first = order.evaluate(services: [], at: t0)
        #expect(first.due.isEmpty)
        #expect(first.problems.map(\.why) == ["program app is waiting for start:exited (start exited unexpectedly, Bad exit code 3)"])
        #expect(order.evaluate(services: [], at: t0).problems.isEmpty)
        // start.sh run again by hand, and this time it succeeds.
        _ = order.apply(event("start", .starting))
        #expect(order.evaluate(services: [], at: t0).due.isEmpty)
        _ = order.apply(event("start", .exited, expected: true))
        #expect(order.evaluate(services: [], at: t0).due == ["app:app"])
    }

    @Test func aFatalDependencyIsNamedWithItsSpawnError() throws {
        var order = try order("app=redis:running")
        _ = order.learn([program("redis", .fatal, start: 1, spawnError: "Exited too quickly (process log may have details)"), program("app", .stopped)], at: t0)
        #expect(order.evaluate(services: [], at: t0).problems.map(\.why) == ["program app is waiting for redis:running (redis is FATAL: Exited too quickly (process log may have details))"])
        #expect(order.starts[0].detail == "program app is waiting for redis:running (redis is FATAL: Exited too quickly (process log may have details))")
    }

    @Test func whatSupervisordStartedIsNeverStartedAgain() throws {
        var order = try order("app=start:exited", "web=start:exited")
        // A restarted listener: app was started (it ran and was stopped since), web never was.
        _ = order.learn([program("start", .exited, start: 1), program("app", .stopped, start: 5), program("web", .stopped)], at: t0)
        #expect(order.starts.map(\.started) == [true, false])
        #expect(order.evaluate(services: [], at: t0).due == ["web:web"])
    }

    @Test func aProgramStartedByAnotherHandIsLeftAloneAndSaid() throws {
        var order = try order("app=start:exited")
        _ = order.learn([program("start", .running, start: 1), program("app", .stopped)], at: t0)
        #expect(order.apply(event("app", .starting)).startedElsewhere == "app:app")
        _ = order.apply(event("start", .exited, expected: true))
        #expect(order.evaluate(services: [], at: t0).due.isEmpty)
    }

    @Test func aFailedStartIsTriedAgainAtTheNextTick() throws {
        var order = try order("app=start:exited")
        _ = order.learn([program("start", .exited, start: 1), program("app", .stopped)], at: t0)
        #expect(order.evaluate(services: [], at: t0).due == ["app:app"])
        var news = order.asked("app:app", failure: "XML-RPC fault 20: NO_FILE: /bin/nope")
        #expect(news)
        #expect(order.evaluate(services: [], at: t0).due.isEmpty)
        order.tick()
        #expect(order.evaluate(services: [], at: t0).due == ["app:app"])
        // The same failure again is no news; another one is.
        news = order.asked("app:app", failure: "XML-RPC fault 20: NO_FILE: /bin/nope")
        #expect(!news)
        order.tick()
        _ = order.evaluate(services: [], at: t0)
        news = order.asked("app:app", failure: "XML-RPC unusable")
        #expect(news)
    }

    func at(_ milliseconds: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: t0.millisecondsSinceEpoch + milliseconds) }

    @Test func aProgramStillWaitingAtTheTimeoutIsGivenUpOnOnce() throws {
        var order = StartOrder(rules: [try StartRule(parsing: "app=start:exited"), try StartRule(parsing: "web=db:running")], timeoutMilliseconds: 60_000)
        _ = order.learn([program("start", .running, start: 1), program("db", .starting, start: 1), program("app", .stopped), program("web", .stopped)], at: t0)
        _ = order.apply(event("db", .running))
        // web's condition held in time: started, not given up on.
        let early = order.evaluate(services: [], at: at(59_999))
        #expect(early.due == ["web:web"])
        #expect(early.problems.isEmpty)
        order.starting("web:web")
        _ = order.asked("web:web", failure: nil)
        let late = order.evaluate(services: [], at: at(60_000))
        #expect(late.problems.map(\.why) == ["program app was given up on (--start-timeout): it waited for start:exited (start is RUNNING)"])
        #expect(late.problems.map(\.gaveUp) == [true])
        // Given up on: not started even once its conditions hold, and said once.
        _ = order.apply(event("start", .exited, expected: true))
        let after = order.evaluate(services: [], at: at(70_000))
        #expect(after.due.isEmpty)
        #expect(after.problems.isEmpty)
        #expect(order.starts[0].detail == "program app was given up on (--start-timeout): it waited for start:exited (start is RUNNING)")
        #expect(!order.starts[0].started)
    }

    /// Found in review: a program given up on while its start's calls were
    /// under way (a service's readiness dropped, which is no event) must not
    /// be started by their answers.
    @Test func aProgramGivenUpOnNoLongerHolds() throws {
        var order = StartOrder(rules: [try StartRule(parsing: "app=redis:ready")], timeoutMilliseconds: 60_000)
        _ = order.learn([program("redis", .running, start: 1), program("app", .stopped)], at: t0)
        var redis = ServiceState(process: "redis:redis", kind: .notify)
        redis.ready = true
        #expect(order.evaluate(services: [redis], at: t0).due == ["app:app"])
        redis.ready = false
        #expect(order.evaluate(services: [redis], at: at(60_000)).problems.map(\.gaveUp) == [true])
        redis.ready = true
        #expect(!order.holds("app:app", services: [redis]))
    }

    @Test func withRestartDependentsAProgramIsStoppedWithItsDependencyAndStartedAgainOnceItHolds() throws {
        var order = StartOrder(rules: [try StartRule(parsing: "app=redis:ready")], restartDependents: true)
        _ = order.learn([program("redis", .running, start: 1), program("app", .stopped)], at: t0)
        #expect(order.evaluate(services: [], at: t0).due == ["app:app"])
        order.starting("app:app")
        _ = order.asked("app:app", failure: nil)
        _ = order.apply(event("app", .starting))
        _ = order.apply(event("app", .running))
        #expect(order.toStop().isEmpty)
        // redis restarts: app is stopped, and waits while it goes down.
        _ = order.apply(event("redis", .stopping))
        #expect(order.toStop().map(\.why) == ["program app waits for redis:ready (redis is STOPPING)"])
        order.stopped("app:app", why: "program app was stopped with its dependency", failure: nil, at: t0)
        #expect(order.toStop().isEmpty)
        #expect(order.starts[0].detail == "program app was stopped with its dependency")
        _ = order.apply(event("app", .stopping))
        _ = order.apply(event("redis", .stopped))
        _ = order.apply(event("redis", .starting))
        _ = order.apply(event("redis", .running))
        #expect(order.evaluate(services: [], at: t0).due.isEmpty, "app is still STOPPING")
        #expect(!order.starts[0].started)
        _ = order.apply(event("app", .stopped))
        #expect(order.evaluate(services: [], at: t0).due == ["app:app"])
    }

    /// The events of a listener that is behind: redis is back before app's
    /// STOPPING comes. app is started again only once it is seen down.
    @Test func aProgramTheListenerStoppedIsNotStartedAgainBeforeItIsDown() throws {
        var order = StartOrder(rules: [try StartRule(parsing: "app=redis:running")], restartDependents: true)
        _ = order.learn([program("redis", .running, start: 1), program("app", .running, start: 2)], at: t0)
        _ = order.apply(event("redis", .stopping))
        #expect(order.toStop().map(\.process) == ["app:app"])
        order.stopped("app:app", why: "stopped", failure: nil, at: t0)
        _ = order.apply(event("redis", .stopped))
        _ = order.apply(event("redis", .starting))
        _ = order.apply(event("redis", .running))
        #expect(order.evaluate(services: [], at: t0).due.isEmpty, "app was last seen RUNNING")
        #expect(!order.holds("app:app", services: []))
        _ = order.apply(event("app", .stopping))
        #expect(order.evaluate(services: [], at: t0).due.isEmpty)
        _ = order.apply(event("app", .stopped))
        #expect(order.evaluate(services: [], at: t0).due == ["app:app"])
        #expect(order.holds("app:app", services: []))
    }

    /// A listener restarted while a program the previous one stopped is
    /// down, after its dependency ran again, reads it from the status file
    /// (`started=restart`) and starts it; a program a person stopped (never
    /// `restarting`) stays stopped, and one that runs again counts as started.
    @Test func aRestartedListenerStartsAgainAProgramThePreviousOneStopped() throws {
        let rules = [try StartRule(parsing: "app=redis:running"), try StartRule(parsing: "web=redis:running")]
        var previous = StartOrder(rules: rules, restartDependents: true)
        _ = previous.learn([program("redis", .running, start: 1), program("app", .running, start: 2), program("web", .running, start: 2)], at: t0)
        _ = previous.apply(event("redis", .stopping))
        #expect(previous.toStop().map(\.process) == ["app:app", "web:web"])
        previous.stopped("app:app", why: "stopped", failure: nil, at: t0)
        var record = StatusRecord(program: "start", state: .process(.exited), listenerPID: 9, supervisordPID: 1, history: [])
        record.expected = true
        record.starts = previous.starts
        let encoded = String(decoding: record.encoded, as: UTF8.self)
        #expect(encoded.contains("start_after=app:app started=restart after=redis:running "))
        #expect(encoded.contains("start_after=web:web started=1 after=redis:running "))
        let resumed = try StatusRecord.parse(record.encoded).starts
        #expect(resumed == previous.starts)

        // redis ran again while no listener ran: nothing left to stop, but app still waits.
        var restarted = StartOrder(rules: rules, restartDependents: true)
        _ = restarted.learn([program("redis", .running, start: 3), program("app", .stopped, start: 2), program("web", .stopped, start: 2)], previous: resumed, at: t0)
        #expect(restarted.starts.map(\.started) == [false, true])
        #expect(restarted.toStop().isEmpty)
        #expect(restarted.evaluate(services: [], at: t0).due == ["app:app"])

        // Replaced while app was still STOPPING (its stopwaitsecs): it waits
        // to be down, then starts.
        var stopping = StartOrder(rules: rules, restartDependents: true)
        _ = stopping.learn([program("redis", .running, start: 3), program("app", .stopping, start: 2), program("web", .stopped, start: 2)], previous: resumed, at: t0)
        #expect(stopping.starts.map(\.started) == [false, true])
        #expect(stopping.evaluate(services: [], at: t0).due.isEmpty, "app is still STOPPING")
        _ = stopping.apply(event("app", .stopped))
        #expect(stopping.evaluate(services: [], at: t0).due == ["app:app"])

        var runsAgain = StartOrder(rules: rules, restartDependents: true)
        _ = runsAgain.learn([program("redis", .running, start: 1), program("app", .running, start: 3), program("web", .running, start: 2)], previous: resumed, at: t0)
        #expect(runsAgain.starts.map(\.started) == [true, true])
        var without = StartOrder(rules: rules)
        _ = without.learn([program("redis", .running, start: 1), program("app", .stopped, start: 2), program("web", .stopped, start: 2)], previous: resumed, at: t0)
        #expect(without.starts.map(\.started) == [true, true], "without --restart-dependents nothing is restarted")
    }

    @Test func aProgramStoppedForARestartWaitsItsTimeoutFromTheStop() throws {
        var order = StartOrder(rules: [try StartRule(parsing: "app=redis:running")], timeoutMilliseconds: 60_000, restartDependents: true)
        _ = order.learn([program("redis", .running, start: 1), program("app", .running, start: 2)], at: t0)
        _ = order.apply(event("redis", .stopping))
        _ = order.toStop()
        order.stopped("app:app", why: "stopped", failure: nil, at: at(3_600_000))
        _ = order.apply(event("app", .stopped))
        #expect(order.evaluate(services: [], at: at(3_600_001)).problems.isEmpty)
        #expect(order.evaluate(services: [], at: at(3_660_000)).problems.map(\.gaveUp) == [true])
    }

    @Test func supervisordsAnswerShowsAStartWhoseEventWasLost() throws {
        var order = try order("app=start:exited")
        _ = order.learn([program("start", .exited, start: 1), program("app", .stopped)], at: t0)
        #expect(order.evaluate(services: [], at: t0).due == ["app:app"])
        order.starting("app:app")
        _ = order.asked("app:app", failure: nil)
        #expect(order.processesToRefresh() == ["app:app", "start:start"])
        order.learn(.init(state: .exited, start: 5), of: "app:app")
        #expect(order.starts[0].started)
        #expect(order.processesToRefresh().isEmpty)
    }

    @Test func withoutRestartDependentsAStartedProgramIsLeftAlone() throws {
        var order = try order("app=redis:running")
        _ = order.learn([program("redis", .running, start: 1), program("app", .running, start: 2)], at: t0)
        _ = order.apply(event("redis", .stopping))
        #expect(order.toStop().isEmpty)
        _ = order.apply(event("app", .stopping))
        _ = order.apply(event("app", .stopped))
        #expect(order.starts[0].started)
    }

    @Test func aRefusedStopIsNotAskedAgainUntilTheDependencyRunsAgain() throws {
        var order = StartOrder(rules: [try StartRule(parsing: "app=start:exited")], restartDependents: true)
        _ = order.learn([program("start", .exited, start: 1), program("app", .running, start: 2)], at: t0)
        _ = order.apply(event("start", .starting))
        #expect(order.toStop().map(\.process) == ["app:app"])
        order.stopped("app:app", why: "stopped", failure: "XML-RPC unusable", at: t0)
        #expect(order.toStop().isEmpty)
        _ = order.apply(event("start", .exited, expected: true))
        #expect(order.toStop().isEmpty)
        _ = order.apply(event("start", .starting))
        #expect(order.toStop().map(\.process) == ["app:app"])
    }

    @Test func everyProcessOfAGroupMustMeetTheCondition() throws {
        var order = try order("app=init:*:exited")
        _ = order.learn([
            NamedProcessInfo(group: "init", name: "a", info: .init(state: .exited, start: 1)),
            NamedProcessInfo(group: "init", name: "b", info: .init(state: .running, start: 1)), program("app", .stopped),
        ], at: t0)
        #expect(order.evaluate(services: [], at: t0).due.isEmpty)
        #expect(order.starts[0].detail == "program app is waiting for init:*:exited (init:b is RUNNING)")
        _ = order.apply(ProcessStateEvent(serial: 2, state: .exited, processName: "b", groupName: "init", fromState: .running, expected: true))
        #expect(order.evaluate(services: [], at: t0).due == ["app:app"])
    }

    /// A program supervisord starts by itself would not wait; a dependent
    /// whose group supervisord stops no sooner than its dependency's would
    /// see it go first. One warning per pair of groups.
    @Test func supervisordsConfigurationIsCheckedForAutostartAndTheShutdownOrder() throws {
        let order = try order("app=redis:ready", "web:*=app:running")
        var configs = [
            ProgramConfig(group: "redis", name: "redis", autostart: true, groupPriority: 10),
            ProgramConfig(group: "app", name: "app", autostart: true, groupPriority: 10),
            ProgramConfig(group: "web", name: "web_0", autostart: false, groupPriority: 999),
            ProgramConfig(group: "web", name: "web_1", autostart: false, groupPriority: 999),
        ]
        var found = order.configurationProblems(configs)
        // redis is only waited for: supervisord may start it.
        #expect(found.autostarted.map(\.process) == ["app:app"])
        #expect(found.autostarted.first?.rule.description == "app=redis:ready")
        // web (999) is stopped before app (10); app (10) not before redis (10).
        #expect(found.stopsLate.map { $0.program.group + "<" + $0.dependency.group } == ["app<redis"])
        configs[2].groupPriority = 5
        configs[3].groupPriority = 5
        configs[1].groupPriority = 11
        found = order.configurationProblems(configs)
        #expect(found.stopsLate.map { $0.program.group + "<" + $0.dependency.group } == ["web<app"])
        #expect(found.stopsLate.map(\.fix) == [12])
    }

    /// In a chain web → app → redis, the fix for web counts app's: raised
    /// above redis, app would otherwise pass web, and the next start would
    /// warn again. A web already above app is warned about when app's fix
    /// takes it past web. Groups that depend on each other both ways have no
    /// order to reach: each pair is said as it stands.
    @Test func theShutdownOrderFixCountsTheGroupsItDependsOnThroughOthers() throws {
        let order = try order("app=redis:ready", "web=app:running")
        func configs(web: Int) -> [ProgramConfig] {
            [
                ProgramConfig(group: "redis", name: "redis", autostart: true, groupPriority: 20),
                ProgramConfig(group: "app", name: "app", autostart: false, groupPriority: 10),
                ProgramConfig(group: "web", name: "web", autostart: false, groupPriority: web),
            ]
        }
        for web in [5, 15] {
            let found = order.configurationProblems(configs(web: web))
            #expect(found.stopsLate.map { $0.program.group + "<" + $0.dependency.group } == ["app<redis", "web<app"])
            #expect(found.stopsLate.map(\.fix) == [21, 22])
        }
        #expect(order.configurationProblems(configs(web: 22)).stopsLate.map(\.fix) == [21])
        let bothWays = try self.order("g:x=h:z:running", "h:z=g:y:running")
        let found = bothWays.configurationProblems([
            ProgramConfig(group: "g", name: "x", autostart: false, groupPriority: 10),
            ProgramConfig(group: "g", name: "y", autostart: true, groupPriority: 10),
            ProgramConfig(group: "h", name: "z", autostart: false, groupPriority: 10),
        ])
        #expect(found.stopsLate.map { $0.program.group + "<" + $0.dependency.group } == ["g<h", "h<g"])
        #expect(found.stopsLate.map(\.fix) == [11, 11])
    }

    /// Most turns change nothing the rules read (an event of another
    /// program, a datagram, a probe): the rules are looked at again only when
    /// something did, or a `--start-timeout` may have passed.
    @Test func theRulesAreLookedAtAgainOnlyWhenSomethingTheyReadChanged() throws {
        var order = StartOrder(rules: [try StartRule(parsing: "app=start:exited")], timeoutMilliseconds: 1000)
        #expect(order.learn([program("start", .running, start: 1), program("app", .stopped), program("other", .running, start: 1)], at: t0).isEmpty)
        #expect(order.needsLook(services: [], at: t0))
        #expect(order.evaluate(services: [], at: t0).due.isEmpty)
        order.looked(services: [])
        #expect(!order.needsLook(services: [], at: t0))
        _ = order.apply(event("other", .exited, expected: true))
        #expect(!order.needsLook(services: [], at: at(999)))
        #expect(order.needsLook(services: [ServiceState(process: "x:x", kind: .notify)], at: t0))
        #expect(order.needsLook(services: [], at: at(1000)))
        // An answer that says what was known already (a start's confirmation) changes nothing.
        order.learn(SupervisorProcessInfo(state: .running, start: 1), of: "start:start")
        #expect(!order.needsLook(services: [], at: t0))
        order.learn(SupervisorProcessInfo(state: .exited, start: 1, stop: 2, exitStatus: 0), of: "start:start")
        #expect(order.needsLook(services: [], at: t0))
        order.looked(services: [])
        _ = order.apply(event("start", .exited, expected: true))
        #expect(order.needsLook(services: [], at: t0))
        #expect(order.evaluate(services: [], at: t0).due == ["app:app"])
    }

    @Test func namesSupervisordDoesNotHaveAreReturned() throws {
        var order = try order("app=redis:ready", "ghost=start:exited")
        #expect(order.learn([program("start", .exited, start: 1), program("app", .stopped)], at: t0) == [
            "supervisord has no program redis (--start-after app=redis:ready)",
            "supervisord has no program ghost (--start-after ghost=start:exited)",
        ])
    }

    @Test func theStatusFileKeepsEachProgramAndTheProbeWaitsForIt() throws {
        var order = try order("app=start:exited")
        _ = order.learn([program("start", .running, start: 1), program("app", .stopped)], at: t0)
        _ = order.evaluate(services: [], at: t0)
        var record = StatusRecord(program: "start", state: .process(.exited), listenerPID: 9, supervisordPID: 1, history: [])
        record.expected = true
        record.starts = order.starts
        let parsed = try StatusRecord.parse(record.encoded)
        #expect(parsed.starts == record.starts)
        #expect(String(decoding: record.encoded, as: UTF8.self).contains("start_after=app:app started=0 after=start:exited holds=0 detail=program app is waiting for start:exited (start is RUNNING)\n"))
        #expect(Verdict.commonCheck(parsed) == Verdict(.waitingToStart, "program app is waiting for start:exited (start is RUNNING)"))
        record.starts[0].started = true
        #expect(Verdict.commonCheck(try StatusRecord.parse(record.encoded)).isReady)
        #expect(throws: StatusParseError.self) {
            try StatusRecord.parse(Array(String(decoding: record.encoded, as: UTF8.self).replacing("started=1", with: "started=yes").utf8))
        }
    }
}

/// The listener core with `--start-after`, over a port that records what
/// it was asked to do.
@Suite struct ListenerStartOrderTests {
    func core(_ rules: String..., services: [String] = [], essential: [String] = [], restartDependents: Bool = false) throws -> ListenerCore {
        let tracker = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 9, supervisordPID: 1, supervisordStartTicks: 7, previous: nil,
            at: Timestamp(millisecondsSinceEpoch: 0))
        return ListenerCore(
            configuration: ListenerConfiguration(
                selector: ProcessPattern(program: "start"), statusPath: "/s", essential: EssentialRule(specs: essential.map { ProcessPattern(program: $0) }),
                services: try services.map { try ServiceSpec(parsing: $0) }, startRules: try rules.map { try StartRule(parsing: $0) },
                restartDependents: restartDependents),
            tracker: tracker, at: Timestamp(millisecondsSinceEpoch: 0))
    }

    func program(_ name: String, _ state: ProcessState, start: Int = 0, pid: Int = 0) -> NamedProcessInfo {
        NamedProcessInfo(group: name, name: name, info: .init(state: state, start: start, pid: pid))
    }

    func header(_ serial: UInt64) -> EventHeader { EventHeader(eventName: "X", serial: serial, poolSerial: serial) }

    func event(_ serial: UInt64, _ name: String, _ state: ProcessState, from: ProcessState, expected: Bool? = nil, pid: Int? = nil) -> ListenerEvent {
        .processState(ProcessStateEvent(serial: serial, state: state, processName: name, groupName: name, fromState: from, expected: expected, pid: pid))
    }

    /// A change of the start order alone is written after the event's
    /// RESULT, in the part of the turn that follows it; start.sh's own
    /// events are written before.
    @Test func anEventThatChangesOnlyTheStartOrderIsAnsweredBeforeItIsWritten() throws {
        var core = try core("app=redis:running")
        var port = RecordingPort()
        port.programs = [program("start", .running, start: 1, pid: 10), program("redis", .starting, start: 1), program("app", .stopped)]
        core.start(&port)
        let writes = port.written.count
        core.handle(header(1), event(1, "app", .starting, from: .stopped), &port)
        core.finishTurn(&port, startingPrograms: false)
        #expect(port.written.count == writes)
        core.finishTurn(&port)
        #expect(port.written.count == writes + 1)
        #expect(port.written.last?.starts.first?.started == true)
        // start.sh's own event is written before its RESULT, the start order with it.
        core.handle(header(2), event(2, "start", .exited, from: .running, expected: true, pid: 10), &port)
        core.finishTurn(&port, startingPrograms: false)
        #expect(port.written.count == writes + 2)
        #expect(port.written.last?.state == .process(.exited))
    }

    @Test func theDependentIsStartedInTheTurnItsDependencyExitsAndTheFileSaysWhyUntilThen() throws {
        var core = try core("app=start:exited")
        var port = RecordingPort()
        port.programs = [program("start", .running, start: 1, pid: 10), program("app", .stopped)]
        core.start(&port)
        #expect(core.refusal == nil)
        #expect(port.started.isEmpty)
        #expect(port.written.last?.starts.first?.detail == "program app is waiting for start:exited (start is RUNNING)")
        port.programs = [program("start", .exited, start: 1, pid: 10), program("app", .stopped)]
        core.turn(header(1), event(1, "start", .exited, from: .running, expected: true, pid: 10), &port)
        #expect(port.started == ["app:app"])
        #expect(port.count("started program: every condition it waits for holds") == 1)
        core.turn(header(2), event(2, "app", .starting, from: .stopped), &port)
        #expect(port.started == ["app:app"])
        #expect(port.written.last?.starts.first?.started == true)
        #expect(port.count("program under --start-after was started by someone else, before its conditions were seen to hold") == 0)
    }

    @Test func aDependencyThatExitsUnexpectedlyStartsNothingAndIsLoggedAsAnError() throws {
        var core = try core("app=start:exited")
        var port = RecordingPort()
        port.programs = [program("start", .running, start: 1, pid: 10), program("app", .stopped)]
        core.start(&port)
        port.programs = [NamedProcessInfo(group: "start", name: "start", info: .init(state: .exited, start: 1, exitStatus: 3, spawnError: "Bad exit code 3")), program("app", .stopped)]
        core.turn(header(1), event(1, "start", .exited, from: .running, expected: false, pid: 10), &port)
        core.turn(header(2), .tick(when: 5), &port)
        #expect(port.started.isEmpty)
        #expect(port.logged.filter { $0.0 == .error && $0.1 == "a dependency failed: the program is not started until it recovers" }.count == 1)
        #expect(Verdict.commonCheck(core.record).code == .startFailed)
    }

    @Test func anEssentialProgramThatCannotStartEndsTheContainer() throws {
        var core = try core("app=redis:running", essential: ["app"])
        var port = RecordingPort()
        port.programs = [program("start", .exited, start: 1), program("redis", .starting, start: 1), program("app", .stopped)]
        core.start(&port)
        #expect(port.shutdownCalls == 0)
        port.programs = [program("start", .exited, start: 1), program("redis", .fatal, start: 1), program("app", .stopped)]
        core.turn(header(1), event(1, "redis", .fatal, from: .backoff), &port)
        #expect(port.shutdownCalls == 1)
        #expect(port.started.isEmpty)
        let failure = try #require(port.writtenAtShutdown?.essentialFailure)
        #expect(failure.summary == "essential program app:app cannot be started: program app is waiting for redis:running (redis is FATAL)")
        #expect(Verdict.commonCheck(core.record).code == .essentialDown)
        // Through the status file, as the probe reads it.
        #expect(try StatusRecord.parse(core.record.encoded).essentialFailure == core.record.essentialFailure)
    }

    /// A dependency's FATAL: its spawn error is asked by the loop's calls,
    /// not in the event's handler, and the failure is said once, with it
    /// (an essential program's end too); with no answer, without it.
    @Test(arguments: [true, false]) func aDependencysFailureIsAskedByTheLoopsCallsAndSaidWithItsDetail(answered: Bool) throws {
        var core = try core("app=redis:running", essential: ["app"])
        var port = RecordingPort()
        port.programs = [program("start", .exited, start: 1), program("redis", .starting, start: 1), program("app", .stopped)]
        core.start(&port)
        port.askedAbout = []
        port.programs = [
            program("start", .exited, start: 1), NamedProcessInfo(group: "redis", name: "redis", info: .init(state: .fatal, start: 1, spawnError: "Exited too quickly")),
            program("app", .stopped),
        ]
        core.handle(header(1), event(1, "redis", .fatal, from: .backoff), &port)
        core.finishTurn(&port, startingPrograms: false)
        #expect(port.askedAbout.isEmpty)
        #expect(core.wantedCall == .processInfo("redis:redis"))
        // The turn after the event's: nothing is said before the answer.
        core.finishTurn(&port)
        #expect(port.count("a dependency failed: the program is not started until it recovers") == 0)
        #expect(port.shutdownCalls == 0)
        #expect(core.callingSupervisor() == .processInfo("redis:redis"))
        core.answered(call: .processInfo(answered ? port.processInfo("redis:redis") : .unavailable), &port)
        core.finishTurn(&port)
        core.answerCalls(&port)
        let why = "program app is waiting for redis:running (redis is FATAL" + (answered ? ": Exited too quickly)" : ")")
        #expect(port.logged.filter { $0.1 == "a dependency failed: the program is not started until it recovers" }.map { $0.2.first { $0.0 == "why" }?.1 } == [why])
        #expect(port.shutdownCalls == 1)
        #expect(port.writtenAtShutdown?.essentialFailure?.summary == "essential program app:app cannot be started: " + why)
        #expect(port.started.isEmpty)
    }

    /// An event queued before the listener asked (a restarted listener,
    /// say) can be older than supervisord's answer: the start is decided on
    /// what supervisord says now.
    @Test func aStaleEventStartsNothingThatSupervisordNoLongerHas() throws {
        var core = try core("app=redis:running")
        var port = RecordingPort()
        port.programs = [program("start", .exited, start: 1), program("redis", .starting, start: 1, pid: 20), program("app", .stopped)]
        core.start(&port)
        // redis went RUNNING and then FATAL; the RUNNING event comes only now.
        port.programs = [
            program("start", .exited, start: 1), NamedProcessInfo(group: "redis", name: "redis", info: .init(state: .fatal, start: 1, spawnError: "Exited too quickly")),
            program("app", .stopped),
        ]
        core.turn(header(1), event(1, "redis", .running, from: .starting, pid: 20), &port)
        #expect(port.started.isEmpty)
        #expect(port.askedAbout.contains("redis:redis"))
        #expect(core.record.starts.first?.detail == "program app is waiting for redis:running (redis is FATAL: Exited too quickly)")
    }

    /// start.sh's EXITED is lost to an overflow (a gap in the pool's
    /// serials): the next TICK asks supervisord, and app is started. The
    /// questions are the loop's calls, one at a time: the TICK's handler
    /// asks nothing itself (50 programs' questions would hold the events
    /// back), and an answer an event on its program overtook is not taken.
    @Test func lostEventsAreRepairedAtTheNextTickByTheLoopsCalls() throws {
        var core = try core("app=start:exited")
        var port = RecordingPort()
        port.programs = [program("start", .running, start: 1, pid: 10), program("app", .stopped)]
        core.start(&port)
        core.turn(header(1), .tick(when: 1), &port)
        port.programs = [program("start", .exited, start: 1, pid: 10), program("app", .stopped)]
        let asked = port.askedAbout.count
        core.handle(header(5), .tick(when: 6), &port)
        core.finishTurn(&port)
        #expect(port.askedAbout.count == asked)
        #expect(core.wantedCall == .processInfo("app:app"))
        core.callingSupervisor()
        core.answered(call: .processInfo(port.processInfo("app:app")), &port)
        core.finishTurn(&port)
        // start.sh's answer, overtaken by its (older) RUNNING event: not taken.
        #expect(core.callingSupervisor() == .processInfo("start:start"))
        let answer = port.processInfo("start:start")
        core.handle(header(6), event(6, "start", .running, from: .starting, pid: 10), &port)
        core.finishTurn(&port)
        core.answered(call: .processInfo(answer), &port)
        core.finishTurn(&port)
        #expect(core.wantedCall == nil)
        #expect(port.started.isEmpty)
        // The next lost events bring the question again, and the start.
        core.turn(header(9), .tick(when: 11), &port)
        #expect(port.started == ["app:app"])
    }

    /// Found by the model: events lost between the start-up answer and the
    /// first event (an overflow while the listener started) left the
    /// dependent waiting for ever. The first TICK asks again.
    @Test func anExitLostBeforeTheFirstEventIsFoundAtTheFirstTick() throws {
        var core = try core("app=start:exited")
        var port = RecordingPort()
        port.programs = [program("start", .running, start: 1, pid: 10), program("app", .stopped)]
        core.start(&port)
        port.programs = [program("start", .exited, start: 1, pid: 10), program("app", .stopped)]
        core.turn(header(7), .tick(when: 5), &port)
        #expect(port.started == ["app:app"])
    }

    @Test func namesSupervisordDoesNotHaveOrNoXMLRPCRefuseTheStart() throws {
        var core = try core("app=redis:ready")
        var port = RecordingPort()
        port.programs = [program("start", .exited, start: 1), program("app", .stopped)]
        core.start(&port)
        #expect(core.refusal == 64)
        #expect(port.count("supervisord has no program redis (--start-after app=redis:ready)") == 1)
        #expect(port.written.isEmpty)
        var blind = try self.core("app=start:exited")
        port.programs = nil
        blind.start(&port)
        #expect(blind.refusal == 78)
    }

    @Test func aProgramSupervisordStartsByItselfIsRefusedAndAnEarlyStopOfADependencyIsWarnedAbout() throws {
        var core = try core("app=redis:running")
        var port = RecordingPort()
        port.programs = [program("start", .exited, start: 1), program("redis", .running, start: 1), program("app", .running, start: 1)]
        port.configs = [
            ProgramConfig(group: "redis", name: "redis", autostart: true, groupPriority: 999),
            ProgramConfig(group: "app", name: "app", autostart: true, groupPriority: 999),
        ]
        core.start(&port)
        #expect(core.refusal == 64)
        #expect(port.count("program under --start-after is autostart=true: supervisord would start it without waiting") == 1)
        let warning = port.logged.first { $0.1 == "at shutdown supervisord stops this group no sooner than its dependency's (groups go by descending priority)" }
        #expect(warning?.0 == .warning)
        #expect(warning?.2.first { $0.0 == "fix" }?.1 == "priority=1000 or more in the group's section")
        #expect(port.written.isEmpty)

        var fine = try self.core("app=redis:running")
        port = RecordingPort()
        port.programs = [program("start", .exited, start: 1), program("redis", .running, start: 1), program("app", .stopped)]
        port.configs = [
            ProgramConfig(group: "redis", name: "redis", autostart: true, groupPriority: 10),
            ProgramConfig(group: "app", name: "app", autostart: false, groupPriority: 20),
        ]
        fine.start(&port)
        fine.answerCalls(&port)
        #expect(fine.refusal == nil)
        #expect(port.logged.filter { $0.0 != .info }.isEmpty)
        #expect(port.started == ["app:app"])
    }

    @Test func aNotifyServiceUnderStartAfterWaitsForItsConditionsNotForTheSocket() throws {
        var core = try core("redis=start:exited", services: ["redis=notify"])
        var port = RecordingPort()
        port.programs = [program("start", .running, start: 1, pid: 10), program("redis", .stopped)]
        core.start(&port)
        #expect(port.started.isEmpty)
        port.programs = [program("start", .exited, start: 1, pid: 10), program("redis", .stopped)]
        core.turn(header(1), event(1, "start", .exited, from: .running, expected: true, pid: 10), &port)
        #expect(port.started == ["redis:redis"])
    }

    /// app waits for start:exited, and start.sh just exited: app's start
    /// begins, its first call not yet made.
    func startExitedWithAppDue() throws -> (ListenerCore, RecordingPort) {
        var core = try core("app=start:exited")
        var port = RecordingPort()
        port.programs = [program("start", .running, start: 1, pid: 10), program("app", .stopped)]
        core.start(&port)
        core.handle(header(1), event(1, "start", .exited, from: .running, expected: true, pid: 10), &port)
        core.finishTurn(&port)
        return (core, port)
    }

    /// A start's calls are the loop's: events are answered, and the record
    /// written, while they are in flight. An event on one of the processes
    /// asked about makes the answers suspect (it may be newer or older than
    /// them): that start is given up and looked at afresh.
    @Test func eventsGoOnWhileAStartIsAskedAndOneOnItsProcessesMakesItLookAgain() throws {
        var (core, port) = try startExitedWithAppDue()
        #expect(core.wantedCall == .processInfo("app:app"))
        core.callingSupervisor()
        #expect(core.wantedCall == nil, "one call at a time")
        // start.sh runs again while app is asked about: the event's turn ends, written.
        let writes = port.written.count
        core.handle(header(2), event(2, "start", .starting, from: .exited), &port)
        core.finishTurn(&port)
        #expect(port.written.count == writes + 1)
        #expect(port.written.last?.state == .process(.starting))
        core.answered(call: .processInfo(.info(.init(state: .stopped))), &port)
        core.finishTurn(&port)
        #expect(core.wantedStartCall == nil)
        #expect(port.started.isEmpty)
        // It exits again: now app is asked about, start too, and started.
        port.programs = [program("start", .exited, start: 2, pid: 11), program("app", .stopped)]
        core.turn(header(3), event(3, "start", .exited, from: .running, expected: true, pid: 11), &port)
        #expect(port.askedAbout.suffix(3) == ["app:app", "start:start", "start:start"], "the start's own questions, then start's exit status")
        #expect(port.started == ["app:app"])
    }

    /// The answers confirmed the start, and an event in the same turn (read
    /// after the answer) says start.sh runs again: startProcess is not made.
    @Test func anEventReadInTheTurnOfTheLastAnswerStopsTheStart() throws {
        var (core, port) = try startExitedWithAppDue()
        for answer in [program("app", .stopped), program("start", .exited, start: 1, pid: 10)] {
            core.callingSupervisor()
            core.answered(call: .processInfo(.info(answer.info)), &port)
        }
        #expect(core.wantedCall == .start("app:app"))
        core.handle(header(2), event(2, "start", .starting, from: .exited), &port)
        core.finishTurn(&port)
        #expect(core.wantedStartCall == nil)
        #expect(core.record.starts.first?.detail == "program app is waiting for start:exited (start is STARTING)")
    }

    /// No answer about a process, or BAD_NAME: the events alone may be
    /// stale, so nothing is started on them; the start is tried again at the next TICK.
    @Test func anUnconfirmedStartIsNotMade() throws {
        var (core, port) = try startExitedWithAppDue()
        core.callingSupervisor()
        core.answered(call: .processInfo(.unavailable), &port)
        core.finishTurn(&port)
        #expect(core.wantedStartCall == nil)
        #expect(port.count("cannot start program, trying again at every tick") == 1)
        port.programs = [program("start", .exited, start: 1, pid: 10), program("app", .stopped)]
        core.turn(header(2), .tick(when: 5), &port)
        #expect(port.started == ["app:app"])
    }

    /// Found in review: events lost while a start asks (a gap in the pool's
    /// serials) may have been on its processes: the start is dropped and
    /// asked again afresh.
    @Test func eventsLostWhileAStartIsAskedDropIt() throws {
        var (core, port) = try startExitedWithAppDue()
        #expect(core.wantedCall == .processInfo("app:app"))
        core.callingSupervisor()
        core.handle(header(5), event(5, "other", .running, from: .starting, pid: 7), &port)
        core.finishTurn(&port)
        core.answered(call: .processInfo(.info(.init(state: .stopped))), &port)
        #expect(core.wantedStartCall == nil)
        core.finishTurn(&port)
        #expect(core.wantedCall == .processInfo("app:app"), "asked again from the beginning")
    }

    /// With `--restart-dependents`, app's STARTING and RUNNING came, and
    /// its dependency stopped, all before startProcess's answer: the stop
    /// waits for that answer (one call at a time), is made after it on what
    /// supervisord says then, and app starts again with its dependency's
    /// new run.
    @Test func aStartAnsweredAfterItsProgramWasStoppedWithItsDependencyStartsAgain() throws {
        var core = try core("app=redis:running", restartDependents: true)
        var port = RecordingPort()
        port.programs = [program("start", .exited, start: 1), program("redis", .running, start: 1, pid: 20), program("app", .stopped)]
        core.start(&port)
        while case .processInfo(let process)? = core.wantedCall {
            core.callingSupervisor()
            core.answered(call: .processInfo(port.processInfo(process)), &port)
            core.finishTurn(&port)
        }
        #expect(core.wantedCall == .start("app:app"))
        core.callingSupervisor()
        core.turn(header(1), event(1, "app", .starting, from: .stopped), &port)
        core.turn(header(2), event(2, "app", .running, from: .starting, pid: 30), &port)
        port.programs = [program("start", .exited, start: 1), program("redis", .stopping, start: 1, pid: 20), program("app", .running, start: 5, pid: 30)]
        core.turn(header(3), event(3, "redis", .stopping, from: .running, pid: 20), &port)
        #expect(port.stopped.isEmpty, "the start's answer has not come")
        core.answered(call: .started(failure: nil), &port)
        core.finishTurn(&port)
        #expect(core.wantedCall == .processInfo("app:app"))
        core.answerCalls(&port)
        #expect(port.stopped == ["app:app"])
        port.programs = [program("start", .exited, start: 1), program("redis", .running, start: 9, pid: 21), program("app", .stopped, start: 5)]
        core.turn(header(4), event(4, "app", .stopped, from: .stopping), &port)
        core.turn(header(5), event(5, "redis", .stopped, from: .stopping), &port)
        core.turn(header(6), event(6, "redis", .starting, from: .stopped), &port)
        core.turn(header(7), event(7, "redis", .running, from: .starting, pid: 21), &port)
        #expect(port.started == ["app:app"])
    }

    /// `--restart-dependents`, app started once redis ran: its STARTING
    /// and RUNNING seen.
    func appStartedAfterRedis() throws -> (ListenerCore, RecordingPort) {
        var core = try core("app=redis:running", restartDependents: true)
        var port = RecordingPort()
        port.programs = [program("start", .exited, start: 1), program("redis", .running, start: 1, pid: 20), program("app", .stopped)]
        core.start(&port)
        core.answerCalls(&port)
        core.turn(header(1), event(1, "app", .starting, from: .stopped), &port)
        core.turn(header(2), event(2, "app", .running, from: .starting, pid: 30), &port)
        return (core, port)
    }

    /// A stop is made by the loop's calls, as a start is: the handler asks
    /// nothing itself; app and redis are asked about, then stopProcess; an
    /// event on them before stopProcess is made sends the stop back to be
    /// asked afresh.
    @Test func aStopIsMadeByTheLoopsCallsNotInTheHandler() throws {
        var (core, port) = try appStartedAfterRedis()
        port.programs = [program("start", .exited, start: 1), program("redis", .stopping, start: 1, pid: 20), program("app", .running, start: 5, pid: 30)]
        port.askedAbout = []
        core.handle(header(3), event(3, "redis", .stopping, from: .running, pid: 20), &port)
        core.finishTurn(&port)
        #expect(port.askedAbout.isEmpty)
        #expect(port.stopped.isEmpty)
        #expect(core.callingSupervisor() == .processInfo("app:app"))
        core.answered(call: .processInfo(port.processInfo("app:app")), &port)
        core.finishTurn(&port)
        #expect(core.callingSupervisor() == .processInfo("redis:redis"))
        // redis's STOPPED overtakes the answer about it.
        port.programs?[1] = program("redis", .stopped, start: 1)
        core.handle(header(4), event(4, "redis", .stopped, from: .stopping), &port)
        core.finishTurn(&port)
        core.answered(call: .processInfo(port.processInfo("redis:redis")), &port)
        core.finishTurn(&port)
        #expect(port.stopped.isEmpty)
        #expect(core.wantedCall == .processInfo("app:app"), "asked again from the beginning")
        core.answerCalls(&port)
        #expect(port.stopped == ["app:app"])
        #expect(port.logged.contains { $0.1.hasPrefix("stopped program: a dependency stopped") })
    }

    /// An event queued before a start the listener confirmed is older than
    /// what it knows: after lost events showed app started, start's stale
    /// RUNNING (its run had exited when supervisord answered) stops
    /// nothing. supervisord is asked before any stop; a real new run of
    /// start stops app.
    @Test func aStaleEventOfADependencyStopsNothing() throws {
        var core = try core("app=start:exited", restartDependents: true)
        var port = RecordingPort()
        port.programs = [program("start", .exited, start: 1), program("app", .stopped)]
        core.start(&port)
        core.answerCalls(&port)
        #expect(port.started == ["app:app"])
        port.programs = [program("start", .exited, start: 1), program("app", .running, start: 5, pid: 30)]
        core.turn(header(1), event(1, "other", .running, from: .starting, pid: 7), &port)
        // Event 2 lost (app's STARTING among them, for all the listener
        // knows): the TICK after asks, and app runs.
        core.turn(header(3), event(3, "other", .running, from: .starting, pid: 8), &port)
        core.turn(header(4), .tick(when: 100), &port)
        #expect(core.record.starts.map(\.started) == [true])
        // start's RUNNING, older than the EXITED supervisord answered.
        port.askedAbout = []
        core.turn(header(5), event(5, "start", .running, from: .starting, pid: 10), &port)
        #expect(port.askedAbout == ["app:app", "start:start"])
        #expect(port.stopped.isEmpty)
        port.programs = [program("start", .starting, start: 7), program("app", .running, start: 5, pid: 30)]
        core.turn(header(6), event(6, "start", .starting, from: .exited), &port)
        #expect(port.stopped == ["app:app"])
    }

    /// A dependency that stopped and ran again before the listener got to
    /// its STOPPING event (a backlog): supervisord's answer shows another
    /// run than the one app was started after, so app is stopped all the
    /// same, and started again on the new run.
    @Test func aDependencyThatRanAgainBeforeTheListenerAskedStopsItsDependents() throws {
        var (core, port) = try appStartedAfterRedis()
        port.programs = [program("start", .exited, start: 1), program("redis", .running, start: 9, pid: 21), program("app", .running, start: 5, pid: 30)]
        core.turn(header(3), event(3, "redis", .stopping, from: .running, pid: 20), &port)
        #expect(port.stopped == ["app:app"])
        #expect(port.logged.contains { $0.2.contains { $0 == ("why", "program app waits for redis:running (redis ran again)") } }, "\(port.logged)")
        port.programs = [program("start", .exited, start: 1), program("redis", .running, start: 9, pid: 21), program("app", .stopped, start: 5)]
        core.turn(header(4), event(4, "app", .stopped, from: .stopping), &port)
        core.turn(header(5), event(5, "redis", .stopped, from: .stopping), &port)
        core.turn(header(6), event(6, "redis", .starting, from: .stopped), &port)
        core.turn(header(7), event(7, "redis", .running, from: .starting, pid: 21), &port)
        #expect(port.started == ["app:app", "app:app"])
    }

    /// With `--restart-dependents`, lost events are repaired for started
    /// programs too: start.sh's new run, whose every event was lost, is
    /// found at the TICK after, and app is stopped (its run began before).
    @Test func aDependencysRunWhoseEventsWereLostStillStopsItsDependents() throws {
        var core = try core("app=start:exited", restartDependents: true)
        var port = RecordingPort()
        port.programs = [program("start", .exited, start: 1), program("app", .stopped)]
        core.start(&port)
        core.answerCalls(&port)
        core.turn(header(1), event(1, "app", .starting, from: .stopped), &port)
        core.turn(header(2), event(2, "app", .running, from: .starting, pid: 30), &port)
        #expect(core.record.starts.map(\.started) == [true])
        // start.sh ran again and exited; events 3 to 5 lost.
        port.programs = [program("start", .exited, start: 8), program("app", .running, start: 5, pid: 30)]
        core.turn(header(6), event(6, "other", .running, from: .starting, pid: 7), &port)
        #expect(port.stopped.isEmpty)
        core.turn(header(7), .tick(when: 100), &port)
        #expect(port.stopped == ["app:app"])
        #expect(port.logged.contains { $0.2.contains { $0 == ("why", "program app waits for start:exited (start ran again)") } }, "\(port.logged)")
    }

    @Test func nothingIsStartedWhileSupervisordStops() throws {
        var core = try core("app=start:exited")
        var port = RecordingPort()
        port.programs = [program("start", .running, start: 1, pid: 10), program("app", .stopped)]
        core.start(&port)
        core.turn(header(1), .supervisorStopping, &port)
        core.turn(header(2), event(2, "start", .exited, from: .running, expected: true, pid: 10), &port)
        #expect(port.started.isEmpty)
    }
}
