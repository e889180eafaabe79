import Testing

@testable import ReadinessCore

@Suite struct ReconcileTrackerTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_795_389_208_500)
    let t1 = Timestamp(millisecondsSinceEpoch: 1_795_389_210_500)

    func tracker() -> ProgramTracker {
        ProgramTracker(selector: ProgramSelector("start"), listenerPID: 10, supervisordPID: 1, previous: nil)
    }

    /// Without XML-RPC there is nothing to reconcile with: the record stays as events left it.
    @Test func unavailableAnswerChangesNothing() {
        var tracker = tracker()
        _ = tracker.apply(change(1, .running, from: .starting, pid: 5), at: t0)
        let before = tracker.record
        #expect(tracker.reconcile(with: .unavailable, eventsMayBeQueued: false, at: t1) == nil)
        #expect(tracker.reconcile(with: .unavailable, eventsMayBeQueued: true, at: t1) == nil)
        #expect(tracker.record == before)
    }

    @Test func absentProgram() {
        var tracker = tracker()
        #expect(tracker.reconcile(with: .noSuchProgram, eventsMayBeQueued: true, at: t0) == .transition(from: .notSeen, to: .absent, gap: nil))
        #expect(tracker.reconcile(with: .noSuchProgram, eventsMayBeQueued: false, at: t0) == nil)
        #expect(Verdict.commonCheck(tracker.record).code == .ready)
    }

    /// At start-up, live state is not applied: queued events would then take the record backwards.
    @Test func startUpLeavesStateToQueuedEvents() {
        var tracker = tracker()
        let live = SupervisorProcessInfo(state: .exited, start: 1_795_389_208, stop: 1_795_389_208, exitStatus: 3)
        #expect(tracker.reconcile(with: .info(live), eventsMayBeQueued: true, at: t0) == nil)
        #expect(tracker.record.state == .notSeen)
        #expect(tracker.reconcile(with: .info(live), eventsMayBeQueued: false, at: t1) == .transition(from: .notSeen, to: .exited, gap: nil))
        #expect(tracker.record.exitStatus == 3)
        #expect(tracker.record.expected == false)
    }

    /// A resumed record of an earlier run is reset when supervisord has not
    /// spawned the program since it (re)started (a reload).
    @Test func reloadResetsAResumedRecord() {
        var tracker = tracker()
        _ = tracker.apply(change(1, .exited, from: .running, expected: true, pid: 5), at: t0)
        let reloaded = SupervisorProcessInfo(state: .stopped, start: 0)
        #expect(tracker.reconcile(with: .info(reloaded), eventsMayBeQueued: true, at: t1) == .transition(from: .exited, to: .notSeen, gap: nil))
        #expect(Verdict.commonCheck(tracker.record).code == .startPending)
    }

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
