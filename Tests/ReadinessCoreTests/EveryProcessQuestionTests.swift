import Testing

@testable import ReadinessCore

/// getAllProcessInfo in the loop: handlers only say what they want it for,
/// the loop asks, and the answer comes in a later turn, with events between.
@Suite struct EveryProcessQuestionTests {
    static let time = Timestamp(millisecondsSinceEpoch: 1_795_387_133_000)

    func core(services: [String] = ["redis=notify"], essential: String? = nil, metrics: Bool = true) throws -> ListenerCore {
        let tracker = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 9, supervisordPID: 1, supervisordStartTicks: 7, previous: nil, at: Self.time)
        return ListenerCore(
            configuration: ListenerConfiguration(
                selector: ProcessPattern(program: "start"), statusPath: "/s", essential: EssentialRule(specs: try essential.map { [try ProcessPattern(parsing: $0)] } ?? []),
                services: try services.map { try ServiceSpec(parsing: $0) }, metrics: metrics),
            tracker: tracker, at: Self.time)
    }

    /// Started with redis (notify) STOPPED; then pid 70, a child of
    /// supervisord's, sends READY=1.
    func readyFromAnUnknownSender(_ port: inout RecordingPort) throws -> ListenerCore {
        var core = try core(metrics: false)
        port.programs = [Self.program("start", .exited), Self.program("redis", .stopped)]
        core.start(&port)
        core.receive(datagram: Array("READY=1".utf8), length: 7, sender: 70, ancestry: [70, 1], passedDescriptors: 0, &port)
        return core
    }

    func header(_ serial: UInt64) -> EventHeader { EventHeader(eventName: "X", serial: serial, poolSerial: serial) }

    func event(_ name: String, _ state: ProcessState, pid: Int? = nil, expected: Bool? = nil) -> ProcessStateEvent {
        ProcessStateEvent(serial: 1, state: state, processName: name, groupName: name, fromState: .starting, expected: expected, pid: pid)
    }

    static func program(_ name: String, _ state: ProcessState, pid: Int = 0, exitStatus: Int = 0) -> NamedProcessInfo {
        NamedProcessInfo(group: name, name: name, info: .init(state: state, start: 10, stop: 20, pid: pid, exitStatus: exitStatus))
    }

    /// A TICK after lost events wants every process for essential programs,
    /// services and metrics, and the handler asks nothing itself: no event
    /// waits for an answer that grows with the number of processes.
    @Test func handlersNeverAskForEveryProcess() throws {
        var core = try core(essential: "app")
        var port = RecordingPort()
        core.start(&port)
        #expect(port.allProcessInfoCalls == 1, "one question at start-up, for every part that needs it")
        core.handle(header(1), .tick(when: 5), &port)
        core.handle(header(5), .tick(when: 10), &port)  // three events lost before this one
        core.finishTurn(&port)
        #expect(port.allProcessInfoCalls == 1)
        #expect(core.wantedEveryProcess == [.essential, .services, .metrics])
        #expect(core.askingEveryProcess() == [.essential, .services, .metrics])
        #expect(core.wantedEveryProcess.isEmpty)
    }

    /// The word of the answer on a process an event came for after the
    /// question was asked may be older than the event: it is left out, and
    /// the rest is taken.
    @Test func anAnswerNeverOverridesAnEventThatCameAfterTheQuestion() throws {
        var core = try core(services: ["redis=tcp:127.0.0.1:6379", "web=tcp:127.0.0.1:80"], essential: "app")
        var port = RecordingPort()
        port.programs = [Self.program("start", .exited, exitStatus: 0), Self.program("app", .running, pid: 30)]
        core.start(&port)
        core.turn(header(1), .tick(when: 5), &port)
        core.handle(header(4), .tick(when: 10), &port)  // events lost: the next turn asks
        core.finishTurn(&port)
        // Asked; before the answer, redis and app start and run again...
        #expect(core.askingEveryProcess().contains(.services))
        core.turn(header(5), .processState(event("redis", .running, pid: 41)), &port)
        core.turn(header(6), .processState(event("app", .running, pid: 31)), &port)
        // ...and the answer, taken before those events, says they are down.
        let answer = [
            Self.program("start", .exited, exitStatus: 0), Self.program("redis", .exited, exitStatus: 1),
            Self.program("app", .fatal), Self.program("web", .running, pid: 50),
        ]
        core.answered(everyProcess: answer, &port)
        core.finishTurn(&port)
        #expect(core.services.services.first { $0.process == "redis:redis" }?.state == .running, "the event is newer")
        #expect(core.services.services.first { $0.process == "redis:redis" }?.run == 41)
        #expect(core.services.services.first { $0.process == "web:web" }?.run == 50, "the rest of the answer is taken")
        #expect(core.record.essentialFailure == nil, "app's FATAL in the answer is older than its RUNNING")
        #expect(core.metrics?.program("app", "app")?.state == .running)
        #expect(core.metrics?.program("web", "web")?.state == .running)
    }

    /// An answer with no event between is taken whole: app's end is an
    /// essential failure learnt from it.
    @Test func anAnswerWithNoEventBetweenIsTakenWhole() throws {
        var core = try core(services: [], essential: "app")
        var port = RecordingPort()
        port.programs = [Self.program("start", .exited), Self.program("app", .running, pid: 30)]
        core.start(&port)
        core.turn(header(1), .tick(when: 5), &port)
        port.programs = [Self.program("start", .exited), Self.program("app", .fatal)]
        core.turn(header(4), .tick(when: 10), &port)
        #expect(core.record.essentialFailure?.program == "app:app")
    }

    /// No answer (a timeout, a fault): what was asked for is wanted again at
    /// the next TICK, and nothing else changes.
    @Test func noAnswerIsAskedAgainAtTheNextTick() throws {
        var core = try core(essential: "app", metrics: false)
        var port = RecordingPort()
        core.start(&port)
        core.turn(header(1), .tick(when: 5), &port)
        core.handle(header(4), .tick(when: 10), &port)
        core.finishTurn(&port)
        let question = core.askingEveryProcess()
        #expect(question == [.essential, .services])
        let record = core.record
        core.answered(everyProcess: nil, &port)
        #expect(core.record == record)
        core.handle(header(5), .tick(when: 15), &port)
        #expect(core.wantedEveryProcess == question)
    }

    /// A datagram from a process of supervisord's that no known run sent is
    /// held, and supervisord asked (within the budget): the answer places it
    /// when its sender is a run supervisord started after the last event,
    /// and drops it, said why, when not.
    @Test func heldDatagramsWaitForTheAnswer() throws {
        var port = RecordingPort()
        var core = try readyFromAnUnknownSender(&port)
        core.finishTurn(&port)
        #expect(core.services.held.count == 1 && core.wantedEveryProcess == [.datagrams])
        _ = core.askingEveryProcess()
        core.answered(everyProcess: [Self.program("start", .exited), Self.program("redis", .starting, pid: 70)], &port)
        #expect(core.services.held.isEmpty && core.services.services.first?.signal == .ready, "its run is in the answer")
        #expect(port.logged.contains { $0.0 == .info && $0.1 == "sd_notify message" && $0.2.contains { $0 == ("sent", "READY=1") } },
                "a held datagram is logged once it is placed, as one placed at once is")

        core.receive(datagram: Array("READY=1".utf8), length: 7, sender: 80, ancestry: [80, 1], passedDescriptors: 0, &port)
        _ = core.askingEveryProcess()
        core.answered(everyProcess: [Self.program("start", .exited), Self.program("redis", .starting, pid: 70)], &port)
        #expect(core.services.held.isEmpty)
        #expect(port.logged.contains { $0.1 == "dropped a notify message" && $0.2.contains { $0 == ("sender_pid", "80") } })
    }
}

/// The review's interleavings: events between the question and its answer.
extension EveryProcessQuestionTests {
    /// A notify service's STARTING (no pid) comes between the question and
    /// the answer: the answer's word on it is left out, so the held READY=1
    /// of its new run is not dropped on that word; RUNNING (with the pid)
    /// places it.
    @Test func aHeldDatagramOutlivesAnAnswerOlderThanItsServicesEvent() throws {
        var port = RecordingPort()
        var core = try readyFromAnUnknownSender(&port)
        _ = core.askingEveryProcess()
        core.turn(header(1), .processState(event("redis", .starting)), &port)
        core.answered(everyProcess: [Self.program("start", .exited), Self.program("redis", .starting, pid: 70)], &port)
        #expect(core.services.held.count == 1, "not dropped: redis moved on since the question")
        #expect(!port.logged.contains { $0.1 == "dropped a notify message" })
        #expect(!port.logged.contains { $0.1 == "sd_notify message" })
        core.turn(header(2), .processState(event("redis", .running, pid: 70)), &port)
        #expect(core.services.held.isEmpty && core.services.services.first?.ready == true)
        #expect(port.logged.contains { $0.1 == "sd_notify message" && $0.2.contains { $0 == ("sender_pid", "70") } })
    }

    /// Events lost while the question is in flight: the answer may be older
    /// than them, so /metrics asks for every program again.
    @Test func eventsLostDuringTheQuestionAreAskedForAgain() throws {
        var core = try core(services: [])
        var port = RecordingPort()
        core.start(&port)
        core.turn(header(1), .tick(when: 5), &port)
        #expect(core.metrics?.wantsProgramList == false)
        core.handle(header(4), .processState(event("web", .running, pid: 5)), &port)  // two lost
        core.handle(header(5), .tick(when: 10), &port)
        #expect(core.askingEveryProcess().contains(.metrics))
        core.handle(header(8), .processState(event("web", .exited, expected: false)), &port)  // two more lost, in flight
        core.answered(everyProcess: port.programs, &port)
        #expect(core.metrics?.wantsProgramList == true)
    }

    /// Datagrams that find a question already wanted spend no budget.
    @Test func oneQuestionSpendsOneToken() throws {
        var core = try core(metrics: false)
        var port = RecordingPort()
        core.start(&port)
        for sender in 70..<75 {
            core.receive(datagram: Array("READY=1".utf8), length: 7, sender: sender, ancestry: [sender, 1], passedDescriptors: 0, &port)
        }
        #expect(core.wantedEveryProcess == [.datagrams])
        #expect(core.refreshBudget.take(at: Self.time) && core.refreshBudget.take(at: Self.time), "two of three tokens left")
    }
}
