import Testing

@testable import ReadinessCore

/// The listener's logic through a port that records what it was asked to do.
@Suite struct ListenerCoreTests {
    func core(essential: String? = "app", dryRun: Bool = false, previous: StatusRecord? = nil) throws -> ListenerCore {
        let rule = EssentialRule(specs: try essential.map { [try ProcessPattern(parsing: $0)] } ?? [])
        let tracker = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 9, supervisordPID: 1, supervisordStartTicks: 7, previous: previous,
            at: Timestamp(millisecondsSinceEpoch: 0))
        return ListenerCore(
            configuration: ListenerConfiguration(selector: ProcessPattern(program: "start"), statusPath: "/s", essential: rule, essentialDryRun: dryRun),
            tracker: tracker, at: Timestamp(millisecondsSinceEpoch: 0))
    }

    func header(_ serial: UInt64, pool: UInt64?) -> EventHeader { EventHeader(eventName: "X", serial: serial, poolSerial: pool) }

    /// start.sh's event; an EXITED is `expected` as said.
    func start(_ serial: UInt64, _ state: ProcessState, _ from: ProcessState, _ pid: Int, expected: Bool = true) -> ProcessStateEvent {
        ProcessStateEvent(
            serial: serial, state: state, processName: "start", groupName: "start", fromState: from, expected: state == .exited ? expected : nil, pid: pid)
    }

    /// When neither supervisor.shutdown nor SIGTERM works, the shutdown stays
    /// pending and is tried on every TICK, but the error is logged once (and
    /// once more when it finally works), not every five seconds.
    @Test func aFailingShutdownIsLoggedOnce() throws {
        var core = try core()
        var port = RecordingPort()
        core.start(&port)
        let fatal = ProcessStateEvent(serial: 2, state: .fatal, processName: "app", groupName: "app", fromState: .backoff)
        core.turn(header(2, pool: 2), .processState(fatal), &port)
        #expect(core.record.essentialFailure?.shutdown == .pending)
        for tick in 3...12 { core.turn(header(UInt64(tick), pool: UInt64(tick)), .tick(when: tick), &port) }
        #expect(port.shutdownCalls == 11)
        #expect(port.count("cannot shut supervisord down, trying again at every tick") == 1)
        #expect(core.record.essentialFailure?.shutdown == .pending)
        port.shutdownAnswer = nil
        core.turn(header(13, pool: 13), .tick(when: 13), &port)
        #expect(core.record.essentialFailure?.shutdown == .requested)
        #expect(port.count("the shutdown went through after failing") == 1)
        #expect(port.written.last?.essentialFailure?.shutdown == .requested)
    }

    /// getAllProcessInfo for essential programs only when their events may
    /// have been lost: at start-up, and after a gap in the pool's serials.
    @Test func essentialProgramsAreReconciledOnlyAfterAGap() throws {
        var core = try core()
        var port = RecordingPort()
        core.start(&port)
        let afterStart = port.allProcessInfoCalls
        #expect(afterStart >= 1)
        core.turn(header(2, pool: 1), .tick(when: 5), &port)
        core.turn(header(3, pool: 2), .tick(when: 10), &port)
        core.turn(header(4, pool: 3), .tick(when: 15), &port)
        let steady = port.allProcessInfoCalls
        core.turn(header(9, pool: 8), .tick(when: 20), &port)  // five events dropped before this one
        #expect(port.allProcessInfoCalls == steady + 1)
        core.turn(header(10, pool: 9), .tick(when: 25), &port)
        #expect(port.allProcessInfoCalls == steady + 1)
        var noPoolSerials = try self.core()
        var other = RecordingPort()
        noPoolSerials.start(&other)
        let before = other.allProcessInfoCalls
        noPoolSerials.turn(header(2, pool: nil), .tick(when: 5), &other)
        noPoolSerials.turn(header(3, pool: nil), .tick(when: 10), &other)
        #expect(other.allProcessInfoCalls - before >= 2, "without poolserial every TICK asks")
    }

    /// A dry run's failure is cleared when its program runs again, so that
    /// its next end is reported too.
    @Test func aDryRunFailureIsReportedAgainAfterTheProgramRecovers() throws {
        var core = try core(dryRun: true)
        var port = RecordingPort()
        core.start(&port)
        let exited = ProcessStateEvent(serial: 2, state: .exited, processName: "app", groupName: "app", fromState: .running, expected: false, pid: 5)
        core.turn(header(2, pool: 2), .processState(exited), &port)
        #expect(core.record.essentialFailure?.shutdown == .dryRun)
        let running = ProcessStateEvent(serial: 3, state: .running, processName: "app", groupName: "app", fromState: .starting, pid: 6)
        core.turn(header(3, pool: 3), .processState(running), &port)
        #expect(core.record.essentialFailure == nil)
        var again = exited
        again.serial = 4
        core.turn(header(4, pool: 4), .processState(again), &port)
        #expect(port.count("essential program ended; dry run, supervisord is NOT shut down") == 2)
        #expect(port.shutdownCalls == 0)
    }

    /// A dry run's end is marked a dry run as soon as it is recorded: a
    /// TICK that comes while its exit status or spawn error is asked does
    /// not shut supervisord down, and the end is said once, after the answer.
    @Test func aDryRunIsNotShutDownWhileItsDetailsAreAsked() throws {
        var core = try core(dryRun: true)
        var port = RecordingPort()
        port.shutdownAnswer = nil
        core.start(&port)
        let fatal = ProcessStateEvent(serial: 2, state: .fatal, processName: "app", groupName: "app", fromState: .backoff)
        core.handle(header(2, pool: 2), .processState(fatal), &port)
        core.finishTurn(&port)
        #expect(core.record.essentialFailure?.shutdown == .dryRun)
        #expect(core.wantedCall == .processInfo("app:app"))
        core.handle(header(3, pool: 3), .tick(when: 5), &port)
        core.finishTurn(&port)
        #expect(port.count("essential program ended; dry run, supervisord is NOT shut down") == 0)
        core.answerCalls(&port)
        #expect(port.shutdownCalls == 0)
        #expect(port.count("essential program ended; dry run, supervisord is NOT shut down") == 1)
    }

    /// What a previous listener of this supervisord left: start.sh's run (the
    /// one RecordingPort shows, started at 1) exited expected, recorded from
    /// pool serial 3, and app's end recorded with its shutdown not done.
    func leftRecord() -> StatusRecord {
        var tracker = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 8, supervisordPID: 1, supervisordStartTicks: 7, previous: nil,
            at: Timestamp(millisecondsSinceEpoch: 0))
        let exited = ProcessStateEvent(serial: 3, state: .exited, processName: "start", groupName: "start", fromState: .running, expected: true, pid: 5)
        _ = tracker.apply(exited, poolSerial: 3, at: Timestamp(millisecondsSinceEpoch: 2_000))
        tracker.learnDetails(from: .init(state: .exited, start: 1, stop: 2), eventsDrained: true)
        _ = tracker.recordEssentialFailure(EssentialFailure(program: "app:app", state: .fatal))
        return tracker.record
    }

    /// `supervisorctl update` of the listener's section: a new pool, so the
    /// first event's poolserial starts again, but supervisord still shows
    /// start.sh's recorded run. That is no reload: the finished run and the
    /// essential failure stay, and the shutdown is finished at once.
    @Test func aNewPoolWhileSupervisordShowsTheRecordedRunIsNoReload() throws {
        var core = try core(previous: leftRecord())
        var port = RecordingPort()
        core.start(&port)
        core.answerCalls(&port)
        #expect(port.shutdownCalls == 1)
        core.turn(header(40, pool: 1), .tick(when: 5), &port)
        #expect(core.record.state == .process(.exited))
        #expect(core.record.essentialFailure?.program == "app:app")
        #expect(port.count("supervisord was reloaded (the event pool started again): a new generation") == 0)
    }

    /// Without XML-RPC nothing shows the run at start-up: a resumed shutdown
    /// waits for the first event. A new pool then is a reload, whose
    /// generation the failure is not of; a pool that goes on is the same.
    @Test(arguments: [(UInt64(1), true), (4, false)])
    func aResumedShutdownWaitsForTheGeneration(poolSerial: UInt64, reload: Bool) throws {
        var core = try core(previous: leftRecord())
        var port = RecordingPort(programs: nil)
        core.start(&port)
        core.answerCalls(&port)
        #expect(port.shutdownCalls == 0)
        let other = ProcessStateEvent(serial: 40, state: .running, processName: "web", groupName: "web", fromState: .starting, pid: 6)
        core.turn(header(40, pool: poolSerial), .processState(other), &port)
        #expect((core.record.essentialFailure == nil) == reload)
        #expect(port.shutdownCalls == (reload ? 0 : 1))
    }

    /// A failure of a program `--essential` no longer names (its section was
    /// edited and updated) is dropped, not acted on.
    @Test func aFailureOfAProgramNoLongerEssentialIsForgotten() throws {
        var core = try core(essential: "web", previous: leftRecord())
        var port = RecordingPort()
        core.start(&port)
        core.answerCalls(&port)
        #expect(port.shutdownCalls == 0)
        #expect(core.record.essentialFailure == nil)
        #expect(port.written.allSatisfy { $0.essentialFailure == nil })
        #expect(port.count("forgetting a recorded essential program's end: --essential no longer names that program") == 1)
    }

    /// Events lost (a gap in the pool's serials) after READY: supervisord
    /// showing another run of start.sh (its STARTING lost) takes READY away
    /// at once, rather than two TICKs later; the same run keeps it.
    @Test(arguments: [true, false])
    func lostEventsTakeAStaleReadyAway(newRun: Bool) throws {
        var core = try core(essential: nil)
        var port = RecordingPort()
        core.start(&port)
        let start = { (serial: UInt64, state: ProcessState, from: ProcessState) in
            ProcessStateEvent(serial: serial, state: state, processName: "start", groupName: "start", fromState: from, expected: state == .exited ? true : nil, pid: 5)
        }
        core.turn(header(2, pool: 2), .processState(start(2, .starting, .stopped)), &port)
        core.turn(header(3, pool: 3), .processState(start(3, .running, .starting)), &port)
        core.turn(header(4, pool: 4), .processState(start(4, .exited, .running)), &port)
        #expect(Verdict.commonCheck(core.record).isReady)
        if newRun {
            port.programs = [NamedProcessInfo(group: "start", name: "start", info: .init(state: .running, start: 9, pid: 7))]
        }
        let other = ProcessStateEvent(serial: 9, state: .running, processName: "web", groupName: "web", fromState: .starting, pid: 8)
        core.turn(header(9, pool: 9), .processState(other), &port)  // pool serials 5 to 8 lost
        #expect(Verdict.commonCheck(core.record).isReady == !newRun)
        #expect(core.record.state == (newRun ? .notSeen : .process(.exited)))
        #expect(Verdict.commonCheck(port.written.last!).isReady == !newRun)
    }

    /// Found by the model (seed 29974 of 40,000): a restarted listener knows
    /// no poolserial to see a gap by, so its first event is taken as one
    /// after lost events. supervisord showed the recorded run at start-up;
    /// the next run's events were lost before that first event.
    @Test(arguments: [true, false])
    func aRestartedListenersFirstEventChecksAResumedReady(newRun: Bool) throws {
        let finished = SupervisorProcessInfo(state: .exited, start: 1, stop: 2, now: 3)
        var port = RecordingPort()
        port.programs = [NamedProcessInfo(group: "start", name: "start", info: finished)]
        var core = try core(essential: nil, previous: leftRecord())
        core.start(&port)
        #expect(Verdict.commonCheck(core.record).isReady)
        if newRun {
            port.programs = [NamedProcessInfo(group: "start", name: "start", info: .init(state: .running, start: 9, pid: 7))]
        }
        let other = ProcessStateEvent(serial: 9, state: .running, processName: "web", groupName: "web", fromState: .starting, pid: 8)
        core.turn(header(9, pool: 9), .processState(other), &port)
        #expect(core.record.state == (newRun ? .notSeen : .process(.exited)))
        #expect(Verdict.commonCheck(port.written.last!).isReady == !newRun)
    }

    /// One turn, one write: an event after a gap that both takes a stale
    /// READY away (supervisord shows another run) and moves start.sh on
    /// replaces the file once, at the turn's end, with its last state; a
    /// turn that changes nothing replaces nothing.
    @Test func aTurnWritesTheRecordOnceAtItsEnd() throws {
        var core = try core(essential: nil)
        var port = RecordingPort()
        core.start(&port)
        core.turn(header(2, pool: 2), .processState(start(2, .starting, .stopped, 5)), &port)
        core.turn(header(3, pool: 3), .processState(start(3, .running, .starting, 5)), &port)
        core.turn(header(4, pool: 4), .processState(start(4, .exited, .running, 5)), &port)
        port.programs = [NamedProcessInfo(group: "start", name: "start", info: .init(state: .running, start: 9, pid: 7))]
        let writes = port.written.count
        core.handle(header(9, pool: 9), .processState(start(9, .running, .starting, 7)), &port)  // pool serials 5 to 8 lost
        #expect(port.written.count == writes)
        #expect(port.count("reconciled with supervisord") == 1)
        core.finishTurn(&port)
        #expect(port.written.count == writes + 1)
        #expect(port.written.last == core.record)
        #expect(core.record.state == .running && core.record.pid == 7)
        let other = ProcessStateEvent(serial: 10, state: .running, processName: "web", groupName: "web", fromState: .starting, pid: 8)
        core.turn(header(10, pool: 10), .processState(other), &port)
        #expect(port.written.count == writes + 1)
    }

    /// An essential program's end is in the file before supervisord is asked
    /// to shut down, so the probe answers ESSENTIAL_DOWN before any program
    /// stops. The handler asks supervisord nothing: the end's spawn error,
    /// then the shutdown, are the loop's calls, each after a turn's write.
    @Test func anEssentialEndIsWrittenBeforeTheShutdown() throws {
        var core = try core()
        var port = RecordingPort()
        port.shutdownAnswer = nil
        core.start(&port)
        port.programs?.append(NamedProcessInfo(group: "app", name: "app", info: .init(state: .fatal, start: 1, spawnError: "Exited too quickly")))
        port.askedAbout = []
        let fatal = ProcessStateEvent(serial: 2, state: .fatal, processName: "app", groupName: "app", fromState: .backoff)
        core.handle(header(2, pool: 2), .processState(fatal), &port)
        core.finishTurn(&port)
        #expect(port.askedAbout.isEmpty)
        #expect(port.shutdownCalls == 0)
        #expect(port.written.last?.essentialFailure?.shutdown == .pending)
        #expect(core.callingSupervisor() == .processInfo("app:app"))
        core.answered(call: .processInfo(port.processInfo("app:app")), &port)
        core.finishTurn(&port)
        #expect(port.count("essential program ended, shutting supervisord down") == 1)
        #expect(core.callingSupervisor() == .shutdown)
        core.answered(call: .shutDown(failure: port.requestShutdown()), &port)
        core.finishTurn(&port)
        #expect(port.writtenAtShutdown?.essentialFailure?.program == "app:app")
        #expect(port.writtenAtShutdown?.essentialFailure?.spawnError == "Exited too quickly")
        #expect(port.writtenAtShutdown?.essentialFailure?.shutdown == .pending)
        #expect(port.written.last?.essentialFailure?.shutdown == .requested)
        #expect(core.wantedCall == nil)
    }

    /// A turn that changes nothing: after an event, a failed write is tried
    /// again (the port retries only if one failed); after a TICK_5, the
    /// heartbeat; after datagrams, checks or HTTP requests alone, nothing,
    /// so a flood of requests drives no writes. Before a shutdown retried
    /// at a TICK, the write is tried again too.
    @Test func aTurnThatChangesNothing() throws {
        var core = try core()
        var port = RecordingPort()
        core.start(&port)
        for tick in 2...3 { core.turn(header(UInt64(tick), pool: UInt64(tick)), .tick(when: tick * 5), &port) }
        let (writes, beats, retries) = (port.written.count, port.heartbeats.count, port.retries)
        core.finishTurn(&port)
        #expect(port.retries == retries)
        let other = ProcessStateEvent(serial: 4, state: .running, processName: "web", groupName: "web", fromState: .starting, pid: 8)
        core.turn(header(4, pool: 4), .processState(other), &port)
        #expect(port.retries == retries + 1)
        core.turn(header(5, pool: 5), .tick(when: 25), &port)
        #expect(port.heartbeats.count == beats + 1)
        #expect(port.retries == retries + 1)
        #expect(port.written.count == writes)

        let fatal = ProcessStateEvent(serial: 6, state: .fatal, processName: "app", groupName: "app", fromState: .backoff)
        core.turn(header(6, pool: 6), .processState(fatal), &port)
        #expect(core.record.essentialFailure?.shutdown == .pending)
        let before = port.retries
        core.turn(header(7, pool: 7), .tick(when: 35), &port)
        #expect(port.shutdownCalls == 2)
        #expect(port.retriesAtShutdown == before + 1)
    }

    /// The questions about one process that handlers have in steady state
    /// (the followed program's exit status, a TICK's reconcile) are the
    /// loop's: the turn that wants one asks nothing and is written; the
    /// answer comes in a turn of its own. An answer an event on its process
    /// overtook is not taken: that event's own question follows.
    @Test func questionsAboutTheFollowedProgramAreTheLoops() throws {
        var core = try core(essential: nil)
        var port = RecordingPort()
        core.start(&port)
        core.turn(header(2, pool: 2), .processState(start(2, .starting, .stopped, 5)), &port)
        core.turn(header(3, pool: 3), .processState(start(3, .running, .starting, 5)), &port)
        let asked = port.askedAbout.count
        core.handle(header(4, pool: 4), .processState(start(4, .exited, .running, 5, expected: false)), &port)
        core.finishTurn(&port)
        #expect(port.askedAbout.count == asked, "no call inside the event's turn")
        #expect(port.written.last?.state == .process(.exited) && port.written.last?.exitStatus == nil)
        #expect(core.wantedCall == .processInfo("start:start"))
        core.callingSupervisor()
        #expect(core.wantedCall == nil, "one call at a time")
        // Run 6 starts and exits with 5 before the answer (of run 6) comes.
        core.turn(header(5, pool: 5), .processState(start(5, .starting, .exited, 6)), &port)
        core.turn(header(6, pool: 6), .processState(start(6, .running, .starting, 6)), &port)
        core.handle(header(7, pool: 7), .processState(start(7, .exited, .running, 6, expected: false)), &port)
        core.finishTurn(&port)
        let run6 = SupervisorProcessInfo(state: .exited, start: 1_795_387_100, stop: 1_795_387_120, pid: 6, exitStatus: 5)
        core.answered(call: .processInfo(.info(run6)), &port)
        core.finishTurn(&port)
        #expect(core.record.exitStatus == nil, "overtaken by events on start:start")
        #expect(core.wantedCall == .processInfo("start:start"), "the last EXITED's own question")
        core.callingSupervisor()
        core.answered(call: .processInfo(.info(run6)), &port)
        core.finishTurn(&port)
        #expect(core.record.exitStatus == 5 && port.written.last?.exitStatus == 5)
        #expect(port.count("exit status") == 1)
        #expect(core.wantedCall == nil)

        // A TICK's reconcile: asked after the TICK's turn, in the answer's.
        core.handle(EventHeader(eventName: "TICK_5", serial: 8, poolSerial: 8), .tick(when: 40), &port)
        core.finishTurn(&port)
        #expect(port.askedAbout.count == asked)
        #expect(core.wantedCall == .processInfo("start:start"))
        port.programs = [NamedProcessInfo(group: "start", name: "start", info: .init(state: .running, start: 1_795_387_130, pid: 7))]
        for when in [45, 50] {
            core.answerCalls(&port)
            core.turn(EventHeader(eventName: "TICK_5", serial: UInt64(when), poolSerial: 8 + UInt64(when / 5 - 8)), .tick(when: when), &port)
        }
        #expect(core.record.state == .running && core.record.pid == 7, "two TICKs' answers agree: reconciled")
        #expect(port.askedAbout.count == asked + 3)
    }
}
