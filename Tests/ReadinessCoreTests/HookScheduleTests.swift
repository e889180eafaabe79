import Testing

@testable import ReadinessCore

/// `--hook-interval`'s timer: when the hook runs, and when the listener's
/// loop wakes for it. A wake-up time already past for a run that does not
/// start makes the loop poll with a zero timeout, for ever (issue 23).
@Suite struct HookScheduleTests {
    /// start.sh still runs (or a service is not ready, or no hook is
    /// installed): nothing starts, and the loop sleeps an interval.
    @Test func whenNoRunCanStartTheLoopSleepsAnInterval() {
        var schedule = HookSchedule(intervalMilliseconds: 2000)
        for now: Int64 in [0, 5, 1000, 1_000_000] {
            do {
                let started = schedule.startsRun(now: now, canRun: false)
                #expect(!started)
            }
            #expect(schedule.wakeAt(now: now, runningUntil: nil, canRun: false) == now + 2000)
        }
        // After runs, too: the common check stopped passing, the hook was removed.
        do {
            let started = schedule.startsRun(now: 10_000, canRun: true)
            #expect(started)
        }
        do {
            let started = schedule.startsRun(now: 20_000, canRun: false)
            #expect(!started)
        }
        #expect(schedule.wakeAt(now: 20_000, runningUntil: nil, canRun: false) == 22_000)
    }

    @Test func runsEveryIntervalAndAtOnceWhenTheCommonCheckStartsToPass() {
        var schedule = HookSchedule(intervalMilliseconds: 2000)
        do {
            let started = schedule.startsRun(now: 1000, canRun: true)
            #expect(started)
        }
        // While it runs, the loop wakes at its limit.
        #expect(schedule.wakeAt(now: 1200, runningUntil: 4500, canRun: true) == 4500)
        // Ended: the next run, an interval after the last started.
        do {
            let started = schedule.startsRun(now: 1500, canRun: true)
            #expect(!started)
        }
        #expect(schedule.wakeAt(now: 1500, runningUntil: nil, canRun: true) == 3000)
        do {
            let started = schedule.startsRun(now: 2999, canRun: true)
            #expect(!started)
        }
        do {
            let started = schedule.startsRun(now: 3000, canRun: true)
            #expect(started)
        }
        #expect(schedule.nextRun == 5000)
        // The common check passes anew: at once.
        schedule.runAtOnce()
        do {
            let started = schedule.startsRun(now: 3100, canRun: true)
            #expect(started)
        }
        #expect(schedule.wakeAt(now: 3100, runningUntil: nil, canRun: true) == 5100)
    }

    /// Whatever the turns, their times and what can run: once `startsRun`
    /// was asked, the wake-up time for a schedule with nothing running is
    /// later than now.
    @Test func theWakeUpIsNeverPastWhenNothingRuns() {
        var generator = SystemRandomNumberGenerator()
        for interval: Int64 in [1, 1000, 2000, 30_000] {
            var schedule = HookSchedule(intervalMilliseconds: interval)
            var now: Int64 = Int64.random(in: 0...100_000, using: &generator)
            for _ in 0..<2000 {
                if Int.random(in: 0..<10, using: &generator) == 0 { schedule.runAtOnce() }
                let canRun = Bool.random(using: &generator)
                _ = schedule.startsRun(now: now, canRun: canRun)
                let wake = schedule.wakeAt(now: now, runningUntil: nil, canRun: canRun)
                #expect(wake > now, "interval \(interval), now \(now), \(schedule)")
                // The loop sleeps at most until then, and may wake earlier for another source.
                now += Int64.random(in: 0...max(0, wake - now), using: &generator)
            }
        }
    }

    /// A hook verdict counts for the state it was taken for: a new run that
    /// exited 0 too (its STARTING and RUNNING lost to an overflow) is
    /// another state, so /readyz does not answer with the old verdict.
    @Test func aNewRunThatPassesTooIsAnotherPassingState() {
        var tracker = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 9, supervisordPID: 1, supervisordStartTicks: 7, previous: nil,
            at: Timestamp(millisecondsSinceEpoch: 0))
        let exited = { (serial: UInt64, pid: Int) in
            ProcessStateEvent(serial: serial, state: .exited, processName: "start", groupName: "start", fromState: .running, expected: true, pid: pid)
        }
        #expect(PassingState(tracker.record) == nil, "NOT_SEEN fails the common check")
        _ = tracker.apply(exited(3, 5), at: Timestamp(millisecondsSinceEpoch: 1_000))
        let first = PassingState(tracker.record)
        #expect(first != nil)
        tracker.learnDetails(from: .init(state: .exited, start: 0, stop: 1), eventsDrained: true)
        #expect(PassingState(tracker.record) == first, "what supervisord adds to the same run is the same state")
        _ = tracker.apply(exited(9, 6), at: Timestamp(millisecondsSinceEpoch: 8_000))
        #expect(PassingState(tracker.record) != nil)
        #expect(PassingState(tracker.record) != first)
    }
}
