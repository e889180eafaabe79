import Testing

@testable import ReadinessCore

@Suite struct ReconcileTrackerTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_795_389_208_500)
    let t1 = Timestamp(millisecondsSinceEpoch: 1_795_389_210_500)

    func tracker(previous: StatusRecord? = nil, ticks: UInt64? = 7) -> ProgramTracker {
        ProgramTracker(selector: ProcessPattern(program: "start"), listenerPID: 10, supervisordPID: 1, supervisordStartTicks: ticks, previous: previous, at: t0)
    }

    func found(_ info: SupervisorProcessInfo, _ process: String = "start:start") -> ProgramLookup { .found(process: process, info: info) }

    /// Without XML-RPC there is nothing to reconcile with: the record stays as events left it.
    @Test func unavailableAnswerChangesNothing() {
        var tracker = tracker()
        _ = tracker.apply(change(1, .running, from: .starting, pid: 5), at: t0)
        let before = tracker.record
        #expect(tracker.startUp(with: .unavailable, at: t1) == nil)
        #expect(tracker.tick(with: .unavailable, queuedAt: 2000, at: t1) == nil)
        #expect(tracker.record == before)
    }

    @Test func absentProgram() {
        var tracker = tracker()
        #expect(tracker.startUp(with: .absent, at: t0) == .transition(from: .notSeen, to: .absent, gap: nil))
        #expect(tracker.tick(with: .absent, queuedAt: 1000, at: t0) == nil)
        #expect(Verdict.commonCheck(tracker.record).code == .ready)
    }

    /// Once seen in this generation, "no such program" is a moment of a
    /// `supervisorctl update` that re-adds its group, not ABSENT (READY).
    @Test func aSeenProgramIsNeverTakenForAbsent() {
        var tracker = tracker()
        _ = tracker.apply(change(1, .exited, from: .running, name: "start", group: "init", expected: false, pid: 5), at: t0)
        #expect(tracker.processName == "init:start")
        #expect(tracker.tick(with: .absent, queuedAt: 2000, at: t1) == nil)
        #expect(tracker.tick(with: .absent, queuedAt: 2000, at: t1) == nil)
        #expect(Verdict.commonCheck(tracker.record).code == .startFailed)
    }

    /// At start-up, live state is not applied: queued events would then take the record backwards.
    @Test func startUpLeavesStateToQueuedEvents() {
        var tracker = tracker()
        let live = SupervisorProcessInfo(state: .exited, start: 1_795_389_208, stop: 1_795_389_208, exitStatus: 3, spawnError: "Bad exit code 3")
        #expect(tracker.startUp(with: found(live), at: t0) == nil)
        #expect(tracker.record.state == .notSeen)
    }

    /// A TICK's answer is live, ahead of events queued behind the TICK: a
    /// disagreement is applied only at the next TICK, if no event came
    /// between and supervisord still says the same.
    @Test func aDisagreementIsAppliedAtTheNextQuietTick() {
        var tracker = tracker()
        let live = SupervisorProcessInfo(state: .exited, start: 1_795_389_208, stop: 1_795_389_208, exitStatus: 3, spawnError: "Bad exit code 3")
        #expect(tracker.tick(with: found(live), queuedAt: 1000, at: t0) == nil)
        #expect(tracker.record.state == .notSeen)
        #expect(tracker.tick(with: found(live), queuedAt: 2000, at: t1) == .transition(from: .notSeen, to: .exited, gap: nil))
        #expect(tracker.record.exitStatus == 3)
        #expect(tracker.record.expected == false)
        #expect(tracker.record.runStart == 1_795_389_208)
    }

    /// The case seen on a real supervisord: a TICK answered FATAL while
    /// STARTING→BACKOFF→FATAL were still queued. The events arrive before the
    /// next TICK, so the answer is never applied and the record never goes back.
    @Test func queuedEventsWinOverAnEarlierAnswer() {
        var tracker = tracker()
        _ = tracker.apply(change(1, .starting, from: .stopped), at: t0)
        let fatal = SupervisorProcessInfo(state: .fatal, start: 1_795_389_208, spawnError: "Exited too quickly")
        #expect(tracker.tick(with: found(fatal), queuedAt: 1000, at: t0) == nil)
        _ = tracker.apply(change(2, .backoff, from: .starting), at: t0)
        _ = tracker.apply(change(3, .fatal, from: .backoff), at: t1)
        #expect(tracker.tick(with: found(fatal), queuedAt: 2000, at: t1) == nil)
        #expect(tracker.record.history.map(\.to) == [.starting, .backoff, .fatal])
        // The run is the same once a later quiet tick confirms it: its details are taken then.
        #expect(tracker.record.runStart == nil)
        #expect(tracker.tick(with: found(fatal), queuedAt: 3000, at: t1) == nil)
        #expect(tracker.record.history.map(\.to) == [.starting, .backoff, .fatal])
        #expect(tracker.record.spawnError == "Exited too quickly")
        #expect(tracker.record.runStart == 1_795_389_208)
    }

    /// A TICK queued before the earlier answer was taken (ticks queue up
    /// behind a busy listener) may have events of that moment behind it: the
    /// disagreement waits for a TICK queued after the answer.
    @Test func onlyATickQueuedAfterTheAnswerApplies() {
        var tracker = tracker()
        let live = SupervisorProcessInfo(state: .exited, start: 100, stop: 101, now: 105)
        #expect(tracker.tick(with: found(live), queuedAt: 104, at: t0) == nil)
        #expect(tracker.tick(with: found(live), queuedAt: 105, at: t0) == nil, "queued in the answer's second")
        #expect(tracker.tick(with: found(live), queuedAt: nil, at: t0) == nil, "a tick without when")
        #expect(tracker.tick(with: found(live), queuedAt: 110, at: t1) == .transition(from: .notSeen, to: .exited, gap: nil))
    }

    /// An answer that changed between the two TICKs is not applied: it is
    /// remembered for the next one.
    @Test func aMovingAnswerWaitsForTheNextTick() {
        var tracker = tracker()
        #expect(tracker.tick(with: found(.init(state: .running, start: 100, pid: 5)), queuedAt: 1000, at: t0) == nil)
        #expect(tracker.tick(with: found(.init(state: .exited, start: 100, stop: 101)), queuedAt: 1000, at: t0) == nil)
        #expect(tracker.tick(with: found(.init(state: .exited, start: 100, stop: 101)), queuedAt: 2000, at: t1) == .transition(from: .notSeen, to: .exited, gap: nil))
        #expect(tracker.record.expected == true)
    }

    /// `exitcodes=0,2`: supervisord leaves spawnerr empty for an exit 2, so it is expected.
    @Test func expectedIsSupervisordsWordNotTheStatus() {
        var tracker = tracker()
        let two = SupervisorProcessInfo(state: .exited, start: 100, stop: 101, exitStatus: 2)
        _ = tracker.tick(with: found(two), queuedAt: 1000, at: t0)
        _ = tracker.tick(with: found(two), queuedAt: 2000, at: t1)
        #expect(tracker.record.expected == true)
        #expect(Verdict.commonCheck(tracker.record).line == "ready: 0 READY: program start exited with status 2")
    }

    /// A start.sh inside `[group:init]`: asked for by its real name, found
    /// among every process; the answer's name is what later questions use.
    @Test func aGroupedProgramIsFoundByItsRealName() {
        var tracker = tracker()
        #expect(tracker.startUp(with: found(.init(state: .starting, start: 100), "init:start"), at: t0) == nil)
        #expect(tracker.processName == "init:start")
        #expect(tracker.record.state == .notSeen, "found, but left to its events")
    }

    // MARK: Run identity and generations

    func exitedRecord(runStart: Int? = 100, status: Int = 0) -> StatusRecord {
        var tracker = tracker()
        _ = tracker.apply(change(1, .starting, from: .stopped), poolSerial: 1, at: t0)
        _ = tracker.apply(change(2, .running, from: .starting, pid: 5), poolSerial: 2, at: t0)
        _ = tracker.apply(change(3, .exited, from: .running, expected: status == 0, pid: 5), poolSerial: 3, at: t1)
        if let runStart {
            // As a confirmed TICK answer gives it.
            tracker.learnDetails(from: .init(state: .exited, start: runStart, stop: Int(t1.millisecondsSinceEpoch / 1000), exitStatus: status), eventsDrained: true)
        }
        return tracker.record
    }

    /// A restarted listener keeps a finished run only while supervisord shows that run.
    @Test func aResumedRunIsKeptOnlyWhileSupervisordShowsIt() {
        let record = exitedRecord()
        #expect(record.runStart == 100)
        var same = tracker(previous: record)
        #expect(same.resumption == .resumed)
        #expect(same.startUp(with: found(.init(state: .exited, start: 100, stop: 101, exitStatus: 0)), at: t1) == nil)
        #expect(Verdict.commonCheck(same.record).code == .ready)

        // A reload (or a restart while the listener was down): another run,
        // even one that has exited too.
        for live in [SupervisorProcessInfo(state: .starting, start: 200), .init(state: .exited, start: 200, stop: 201, exitStatus: 0)] {
            var other = tracker(previous: record)
            #expect(other.startUp(with: found(live), at: t1) == .transition(from: .exited, to: .notSeen, gap: nil))
            #expect(Verdict.commonCheck(other.record).code == .startPending)
        }
        // A run it cannot name (its listener died before asking): the same
        // exit, not dated after the listener recorded it, is that run's, and
        // the generation is confirmed. The same exit dated later may be a
        // newer run's, or the wall clock stepped back: the verdict is the
        // same, so it stands, and the first event's poolserial tells the
        // generation. Another status is another run's.
        let unnamedRecord = exitedRecord(runStart: nil)
        let recorded = Int(unnamedRecord.since!.millisecondsSinceEpoch / 1000)
        var unnamed = tracker(previous: unnamedRecord)
        #expect(unnamed.startUp(with: found(.init(state: .exited, start: 100, stop: recorded, now: recorded + 5)), at: t1) == nil)
        #expect(Verdict.commonCheck(unnamed.record).code == .ready)
        #expect(unnamed.generationConfirmed)
        var later = tracker(previous: unnamedRecord)
        #expect(later.startUp(with: found(.init(state: .exited, start: 100, stop: recorded + 1, now: recorded + 5)), at: t1) == nil)
        #expect(Verdict.commonCheck(later.record).code == .ready)
        #expect(!later.generationConfirmed)
        var failed = tracker(previous: unnamedRecord)
        #expect(failed.startUp(with: found(.init(state: .exited, start: 100, stop: recorded, exitStatus: 3, spawnError: "Bad exit code 3")), at: t1) != nil)
        #expect(failed.record.state == .notSeen)
    }

    /// A listener killed after writing EXITED but before answering: its
    /// successor resets a run it cannot confirm, and the event supervisord
    /// delivers again is then applied, not dropped as already seen.
    @Test func theRedeliveredEventIsAppliedAfterAReset() {
        var tracker = tracker(previous: exitedRecord(runStart: nil))
        #expect(tracker.startUp(with: found(.init(state: .running, start: 300, pid: 9)), at: t1) != nil)
        let again = tracker.apply(change(3, .exited, from: .running, expected: true, pid: 5), poolSerial: 3, at: t1)
        #expect(again == .transition(from: .running, to: .exited, gap: nil))
        #expect(tracker.apply(change(3, .exited, from: .running, expected: true, pid: 5), poolSerial: 3, at: t1) == .duplicate)
    }

    /// SUPERVISOR_STATE_CHANGE_STOPPING: not ready from then on; the next
    /// listener starts a new generation, dropping the essential failure too.
    @Test func aReloadAnnouncedByTheStoppingEvent() throws {
        var old = tracker(previous: exitedRecord())
        _ = old.recordEssentialFailure(EssentialFailure(program: "app:app", state: .fatal, shutdown: .dryRun))
        let first = old.supervisordStopping()
        let second = old.supervisordStopping()
        #expect(first && !second)
        #expect(Verdict.commonCheck(old.record).code == .startStopped)
        let written = try StatusRecord.parse(old.record.encoded)
        #expect(written.supervisordStopping)
        let new = tracker(previous: written)
        #expect(new.resumption == .reloaded)
        #expect(new.record.state == .notSeen)
        #expect(new.record.essentialFailure == nil)
        #expect(!new.record.supervisordStopping)
        #expect(Verdict.commonCheck(new.record).code == .startPending)
    }

    /// Without XML-RPC: the first event's poolserial tells a reload (a new
    /// pool counts from the start again) from a listener restart.
    @Test(arguments: [(UInt64(4), UInt64(4), false), (3, 3, false), (1, 5, true), (3, 9, true)])
    func theFirstEventsPoolSerialTellsAReload(poolSerial: UInt64, serial: UInt64, reload: Bool) {
        var tracker = tracker(previous: exitedRecord())
        #expect(tracker.startUp(with: .unavailable, at: t1) == nil)
        let confirmed = tracker.confirmGeneration(by: EventHeader(eventName: "TICK_5", serial: serial, poolSerial: poolSerial), at: t1)
        #expect(confirmed == reload)
        #expect((tracker.record.state == .notSeen) == reload)
        let again = tracker.confirmGeneration(by: EventHeader(eventName: "TICK_5", serial: 1, poolSerial: 0), at: t1)
        #expect(!again, "only the first event")
    }

    /// A new pool after supervisord showed the recorded run by its start:
    /// the listener's own section was updated, nothing was reloaded.
    @Test func aNewPoolIsNoReloadOnceSupervisordShowedTheRecordedRun() {
        var updated = tracker(previous: exitedRecord())
        #expect(!updated.generationConfirmed)
        #expect(updated.startUp(with: found(.init(state: .exited, start: 100, stop: 101, exitStatus: 0)), at: t1) == nil)
        #expect(updated.generationConfirmed)
        let reloaded = updated.confirmGeneration(by: EventHeader(eventName: "TICK_5", serial: 9, poolSerial: 1), at: t1)
        #expect(!reloaded)
        #expect(Verdict.commonCheck(updated.record).code == .ready)
        // An exit it cannot name by its start, dated no later than the
        // record's: a reload would have started another run since.
        var unnamed = tracker(previous: exitedRecord(runStart: nil))
        let recorded = Int(unnamed.record.since!.millisecondsSinceEpoch / 1000)
        #expect(unnamed.startUp(with: found(.init(state: .exited, start: 100, stop: recorded)), at: t1) == nil)
        let unnamedReloaded = unnamed.confirmGeneration(by: EventHeader(eventName: "TICK_5", serial: 9, poolSerial: 1), at: t1)
        #expect(!unnamedReloaded)
        // A run still going, unnamed, proves nothing: after a reload it may be a new one.
        var running = tracker()
        _ = running.apply(change(1, .starting, from: .stopped), poolSerial: 1, at: t0)
        _ = running.apply(change(2, .running, from: .starting, pid: 5), poolSerial: 2, at: t0)
        var resumed = tracker(previous: running.record)
        #expect(resumed.startUp(with: found(.init(state: .running, start: 100, pid: 5)), at: t1) == nil)
        #expect(!resumed.generationConfirmed)
        let runningReloaded = resumed.confirmGeneration(by: EventHeader(eventName: "TICK_5", serial: 9, poolSerial: 1), at: t1)
        #expect(runningReloaded)
    }

    /// The wall clock stepped back between supervisord's exit and the
    /// listener's record of it: supervisord dates the exit after the record,
    /// and after its own `now`. The same exit is not another run for that (a
    /// restarted listener keeps it and takes it for the generation it
    /// recorded, a TICK's reconcile does not record it again), and two
    /// agreeing TICKs name the run.
    @Test func aClockSteppedBackDoesNotMakeTheSameExitAnotherRun() {
        var tracker = tracker()
        _ = tracker.apply(change(1, .starting, from: .stopped), poolSerial: 1, at: t0)
        _ = tracker.apply(change(2, .running, from: .starting, pid: 5), poolSerial: 2, at: t0)
        _ = tracker.apply(change(3, .exited, from: .running, expected: true, pid: 5), poolSerial: 3, at: t0)
        let stepped = SupervisorProcessInfo(state: .exited, start: 1_795_389_215, stop: 1_795_389_220, now: 1_795_389_209, exitStatus: 0)
        tracker.learnDetails(from: stepped)
        #expect(tracker.record.exitStatus == nil, "not taken from one answer: it may be a newer run's")

        var restarted = self.tracker(previous: tracker.record)
        #expect(restarted.startUp(with: found(stepped), at: t0) == nil)
        #expect(Verdict.commonCheck(restarted.record).code == .ready)
        #expect(restarted.generationConfirmed)

        #expect(tracker.tick(with: found(stepped), queuedAt: 1_795_389_210, at: t0) == nil)
        #expect(tracker.tick(with: found(stepped), queuedAt: 1_795_389_215, at: t1) == nil)
        #expect(tracker.record.history.map(\.to) == [.starting, .running, .exited])
        #expect(tracker.record.exitStatus == 0)
        #expect(tracker.record.runStart == 1_795_389_215)
    }

    // MARK: Details

    @Test func exitStatusOfTheSameRun() {
        var tracker = tracker()
        _ = tracker.apply(change(1, .starting, from: .stopped), at: t0)
        _ = tracker.apply(change(2, .running, from: .starting, pid: 5), at: t0)
        _ = tracker.apply(change(3, .exited, from: .running, expected: false, pid: 5), at: t1)
        tracker.learnDetails(from: SupervisorProcessInfo(state: .exited, start: 1_795_389_208, stop: 1_795_389_210, exitStatus: 3))
        #expect(tracker.record.exitStatus == 3)
        #expect(Verdict.commonCheck(tracker.record).message == "program start exited with status 3")
    }

    /// Live values of a newer run (started after the STARTING the listener saw,
    /// or in another state) are not taken for this run's.
    @Test func exitStatusOfANewerRunIsNotRecorded() {
        var tracker = tracker()
        _ = tracker.apply(change(1, .starting, from: .stopped), at: t0)
        _ = tracker.apply(change(3, .exited, from: .running, expected: false, pid: 5), at: t1)
        tracker.learnDetails(from: SupervisorProcessInfo(state: .exited, start: 1_795_389_209, stop: 1_795_389_210, exitStatus: 7))
        #expect(tracker.record.exitStatus == nil)
        #expect(tracker.record.runStart == nil)
        tracker.learnDetails(from: SupervisorProcessInfo(state: .running, start: 1_795_389_210, exitStatus: 0))
        tracker.learnDetails(from: SupervisorProcessInfo(state: .exited, start: 1_795_389_208, stop: 1_795_389_211, exitStatus: 7))
        #expect(tracker.record.exitStatus == nil)
        tracker.learnDetails(from: SupervisorProcessInfo(state: .exited, start: 1_795_389_208, stop: 1_795_389_210, exitStatus: -1))
        #expect(tracker.record.exitStatus == nil, "-1 means a signal, not a status")
    }

    @Test func spawnErrorOfAFatalStart() {
        var tracker = tracker()
        _ = tracker.apply(ProcessStateEvent(serial: 4, state: .fatal, processName: "start", groupName: "start", fromState: .backoff), at: t0)
        tracker.learnDetails(from: SupervisorProcessInfo(state: .fatal, spawnError: "can't find command '/x'"))
        #expect(Verdict.commonCheck(tracker.record).line == "not ready: 102 START_FATAL: supervisord could not start program start (FATAL): can't find command '/x'")
        let reparsed = try? StatusRecord.parse(tracker.record.encoded)
        #expect(reparsed?.spawnError == "can't find command '/x'")
    }
}
