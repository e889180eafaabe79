import Testing

@testable import ReadinessCore

func change(_ serial: UInt64, _ state: ProcessState, from: ProcessState, name: String = "start", group: String = "start", expected: Bool? = nil, pid: Int? = nil) -> ProcessStateEvent {
    ProcessStateEvent(serial: serial, state: state, processName: name, groupName: group, fromState: from, expected: expected, pid: pid)
}

let time = Timestamp(millisecondsSinceEpoch: 1_795_387_133_000)

@Suite struct ProgramTrackerTests {
    func fresh(_ program: String = "start") -> ProgramTracker {
        ProgramTracker(selector: ProcessPattern(program: program), listenerPID: 10, supervisordPID: 1, supervisordStartTicks: 500, previous: nil, at: time)
    }

    @Test func followsAOneshotToExited() {
        var tracker = fresh()
        #expect(tracker.record.state == .notSeen)
        #expect(tracker.apply(change(1, .starting, from: .stopped), at: time) == .transition(from: .stopped, to: .starting, gap: nil))
        #expect(tracker.apply(change(2, .running, from: .starting, pid: 5), at: time) == .transition(from: .starting, to: .running, gap: nil))
        #expect(tracker.record.pid == 5)
        #expect(tracker.apply(change(3, .exited, from: .running, expected: false, pid: 5), at: time) == .transition(from: .running, to: .exited, gap: nil))
        #expect(tracker.record.state == .exited)
        #expect(tracker.record.previousState == .running)
        #expect(tracker.record.expected == false)
        #expect(tracker.record.serial == 3)
        #expect(tracker.record.history.map(\.to) == [.starting, .running, .exited])
    }

    @Test func ignoresOtherProgramsAndItself() {
        var tracker = fresh()
        #expect(tracker.apply(change(1, .running, from: .starting, name: "readiness_listener", group: "readiness_listener"), at: time) == .otherProgram)
        #expect(tracker.apply(change(2, .running, from: .starting, name: "starter"), at: time) == .otherProgram)
        #expect(tracker.record.state == .notSeen)
    }

    @Test func groupSelectorMatchesOnlyThatGroup() {
        var tracker = fresh("init:start")
        #expect(tracker.apply(change(1, .running, from: .starting, group: "start"), at: time) == .otherProgram)
        #expect(tracker.apply(change(2, .running, from: .starting, group: "init"), at: time) == .transition(from: .starting, to: .running, gap: nil))
        #expect(tracker.record.program == "init:start")
        var anyGroup = fresh("start")
        #expect(anyGroup.apply(change(3, .running, from: .starting, group: "init"), at: time) != .otherProgram)
    }

    @Test func redeliveredEventIsNotAppliedTwice() {
        var tracker = fresh()
        _ = tracker.apply(change(7, .starting, from: .stopped), at: time)
        let before = tracker.record
        #expect(tracker.apply(change(7, .starting, from: .stopped), at: time) == .duplicate)
        #expect(tracker.apply(change(6, .stopped, from: .stopping), at: time) == .duplicate)
        #expect(tracker.record == before)
    }

    @Test func reportsGapsWhenEventsWereLost() {
        var tracker = fresh()
        _ = tracker.apply(change(1, .starting, from: .stopped), at: time)
        #expect(tracker.apply(change(5, .exited, from: .running, expected: true, pid: 3), at: time) == .transition(from: .running, to: .exited, gap: .starting))
    }

    @Test func historyIsBounded() {
        var tracker = fresh()
        for serial in 1...30 {
            _ = tracker.apply(change(UInt64(serial), serial % 2 == 0 ? .running : .starting, from: serial % 2 == 0 ? .starting : .running), at: time)
        }
        #expect(tracker.record.history.count == StatusRecord.historyLimit)
        #expect(tracker.record.history.last?.serial == 30)
    }

    /// A restarted listener resumes from the file its predecessor wrote under
    /// the same supervisord, so a redelivered event is still recognised.
    @Test func resumesFromTheSameSupervisordsRecord() {
        var first = fresh()
        _ = first.apply(change(4, .running, from: .starting, pid: 9), at: time)
        var resumed = ProgramTracker(selector: ProcessPattern(program: "start"), listenerPID: 11, supervisordPID: 1, supervisordStartTicks: 500, previous: first.record, at: time)
        #expect(resumed.record.state == .running)
        #expect(resumed.record.listenerPID == 11)
        #expect(resumed.apply(change(4, .running, from: .starting, pid: 9), at: time) == .duplicate)

        // A container restart: supervisord is PID 1 again, but a new process.
        var started = ProgramTracker(selector: ProcessPattern(program: "start"), listenerPID: 10, supervisordPID: 1, supervisordStartTicks: 500, previous: nil, at: time)
        _ = started.apply(change(4, .exited, from: .running, expected: true, pid: 9), at: time)
        let restartedContainer = ProgramTracker(selector: ProcessPattern(program: "start"), listenerPID: 11, supervisordPID: 1, supervisordStartTicks: 900, previous: started.record, at: time)
        #expect(restartedContainer.record.state == .notSeen)
        #expect(restartedContainer.record.supervisordStartTicks == 900)
        let sameSupervisord = ProgramTracker(selector: ProcessPattern(program: "start"), listenerPID: 11, supervisordPID: 1, supervisordStartTicks: 500, previous: started.record, at: time)
        #expect(sameSupervisord.record.state == .exited)
        // Where supervisord's start time cannot be read (no /proc), a pid alone is not the same supervisord.
        let unknownStart = ProgramTracker(selector: ProcessPattern(program: "start"), listenerPID: 11, supervisordPID: 1, supervisordStartTicks: nil, previous: started.record, at: time)
        #expect(unknownStart.record.state == .notSeen)
        #expect(unknownStart.resumption == .otherSupervisord)

        let otherSupervisord = ProgramTracker(selector: ProcessPattern(program: "start"), listenerPID: 11, supervisordPID: 2, supervisordStartTicks: 500, previous: first.record, at: time)
        #expect(otherSupervisord.record.state == .notSeen)
        let otherProgram = ProgramTracker(selector: ProcessPattern(program: "init"), listenerPID: 11, supervisordPID: 1, supervisordStartTicks: 500, previous: first.record, at: time)
        #expect(otherProgram.record.state == .notSeen)
    }

    @Test func pidZeroIsUnknown() {
        var tracker = fresh()
        _ = tracker.apply(change(1, .stopped, from: .backoff, pid: 0), at: time)
        #expect(tracker.record.pid == nil)
    }

    /// Only the states whose details no event carries ask supervisord for them.
    @Test(arguments: ProcessState.allCases)
    func detailsAfterATransition(to state: ProcessState) {
        let expected = [.exited, .fatal, .backoff].contains(state)
        #expect(ProgramTracker.Outcome.transition(from: .running, to: .process(state), gap: nil).needsDetails == expected)
        #expect(ProgramTracker.Outcome.transition(from: .starting, to: .process(state), gap: .stopped).needsDetails == expected)
    }

    @Test func eventsThatChangeNothingAskNothing() {
        #expect(!ProgramTracker.Outcome.otherProgram.needsDetails)
        #expect(!ProgramTracker.Outcome.duplicate.needsDetails)
    }
}
