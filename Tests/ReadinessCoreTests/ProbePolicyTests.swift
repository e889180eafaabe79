import Testing

@testable import ReadinessCore

@Suite struct ProbePolicyTests {
    func record(_ state: RecordedState, expected: Bool? = nil, exitStatus: Int? = nil) -> StatusRecord {
        StatusRecord(program: "start", state: state, expected: expected, exitStatus: exitStatus, listenerPID: 2, supervisordPID: 1)
    }

    @Test(arguments: [
        (RecordedState.exited, true as Bool?, ProbeCode.ready),
        (.exited, false, .startFailed),
        (.notSeen, nil, .startPending),
        (.starting, nil, .startPending),
        (.running, nil, .startPending),
        (.backoff, nil, .startPending),
        (.fatal, nil, .startFatal),
        (.stopping, nil, .startStopped),
        (.stopped, nil, .startStopped),
        (.unknown, nil, .startStopped),
    ])
    func commonCheckMapsEveryState(state: RecordedState, expected: Bool?, code: ProbeCode) {
        #expect(Verdict.commonCheck(record(state, expected: expected)).code == code)
    }

    @Test func messagesAreOneDeterministicLine() {
        #expect(Verdict.commonCheck(record(.exited, expected: false)).line
            == "not ready: 101 START_FAILED: program start exited unexpectedly (status not in exitcodes, or killed by a signal)")
        #expect(Verdict.commonCheck(record(.exited, expected: false, exitStatus: 3)).line == "not ready: 101 START_FAILED: program start exited with status 3")
        #expect(Verdict.commonCheck(record(.exited, expected: true)).line == "ready: 0 READY: program start exited with an expected status")
        #expect(Verdict.commonCheck(record(.running)).line == "not ready: 100 START_PENDING: program start is RUNNING, not finished yet")
    }

    @Test func hookExitCodes() {
        #expect(ProbeCode.forHookExit(0) == .ready)
        #expect(ProbeCode.forHookExit(7).rawValue == 7)
        #expect(ProbeCode.forHookExit(99).rawValue == 99)
        #expect(ProbeCode.forHookExit(100) == .hookOutOfRange)
        #expect(ProbeCode.forHookExit(255) == .hookOutOfRange)
    }

    @Test func hookVerdicts() {
        let start = Verdict.commonCheck(record(.exited, expected: true))
        let output = Array("starting\nwarming cache\n  db not reachable: connection refused \n\n".utf8)
        func verdict(_ termination: HookTermination) -> Verdict {
            Verdict.afterHook(start, path: "/hook", termination: termination, output: output, timeoutMilliseconds: 700)
        }
        #expect(verdict(.exited(0)).line == "ready: 0 READY: program start exited with an expected status; hook passed")
        #expect(verdict(.exited(7)).line == "not ready: 7 HOOK_FAILED: hook /hook exited with status 7: db not reachable: connection refused")
        #expect(verdict(.exited(150)).code == .hookOutOfRange)
        #expect(verdict(.exited(150)).message.contains("status 150"))
        #expect(verdict(.signaled(11)).line.hasPrefix("not ready: 111 HOOK_SIGNALED: hook /hook was killed by signal 11 (SIGSEGV)"))
        #expect(verdict(.timedOut).line.hasPrefix("not ready: 110 HOOK_TIMEOUT: hook /hook did not finish within 0.7 s"))
        #expect(verdict(.interrupted(15)).code == .interrupted)
        #expect(verdict(.probeFailed("pipe: Too many open files")).code == .internalError)
        #expect(verdict(.spawnFailed("Exec format error")).line == "not ready: 113 HOOK_UNUSABLE: cannot run hook /hook: Exec format error")
    }

    @Test func hookOutputLineIsCleanedAndBounded() {
        #expect(HookOutput.lastLine(of: []) == nil)
        #expect(HookOutput.lastLine(of: Array(" \n\t\n".utf8)) == nil)
        #expect(HookOutput.lastLine(of: Array("a\u{1B}[31mred\u{1B}[0m".utf8)) == "a [31mred [0m")
        let long = HookOutput.lastLine(of: [UInt8](repeating: 0x41, count: 1000))
        #expect(long?.count == HookOutput.lineLimit + 1)
        #expect(long?.hasSuffix("…") == true)
        #expect(HookOutput.lastLine(of: [0x41, 0xFF, 0x42]) == "A\u{FFFD}B")
        #expect(HookOutput.lastLine(of: Array("checking\r\ncache cold\r\n \r\n".utf8)) == "cache cold", "CRLF line ends")
        let exact = [UInt8](repeating: 0x41, count: HookOutput.lineLimit)
        #expect(HookOutput.lastLine(of: exact) == String(decoding: exact, as: UTF8.self), "at the limit, not cut")
        // Cut by scalars: 100 of e + U+0301 are 200 scalars, 100 Characters.
        let combining = HookOutput.lastLine(of: Array(String(repeating: "e\u{301}", count: 150).utf8))
        #expect(combining.map { Array($0.utf8) } == Array((String(repeating: "e\u{301}", count: 100) + "…").utf8))
    }

    @Test func codesAreDistinctAndBelowTheShellsReservedRange() {
        let values = ProbeCode.all.map(\.rawValue)
        #expect(Set(values).count == values.count)
        #expect(values.allSatisfy { $0 < 126 })
        #expect(ProbeCode.all.filter { $0 != .ready && $0 != .hookFailed }.allSatisfy { $0.rawValue >= 100 })
        #expect(ProbeCode.table.split(separator: "\n").count == ProbeCode.all.count + 2)
    }

    /// `--wait` checks again after any verdict but ready and interrupted.
    @Test func waitEndsOnlyWhenReadyOrInterrupted() {
        let ending = ProbeCode.all.filter { Verdict($0, "x").endsWait }
        #expect(ending == [.ready, .interrupted])
        #expect(!Verdict(ProbeCode.forHookExit(7), "x").endsWait)
    }

    @Test func interruptedBetweenChecksNamesTheSignalAndTheLastCheck() {
        let last = Verdict.commonCheck(record(.running))
        #expect(Verdict.interruptedWhileWaiting(by: 2, last: last).line
            == "not ready: 114 INTERRUPTED: probe got signal 2 (SIGINT) while waiting to check again; last check: 100 START_PENDING")
    }
}
