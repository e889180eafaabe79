import Foundation
import ReadinessCore
import Testing

/// The probe binary against status files and hooks made by the test.
@Suite struct ProbeTests {
    final class Fixture {
        let scratch = ScratchDirectory()
        var statusFile: String { "\(scratch.path)/status" }
        var hook: String { "\(scratch.path)/hook" }

        /// Written as the listener would under this test process as its
        /// supervisord, start time included (without one the probe cannot
        /// tell the process is the same, and answers STALE_STATUS).
        init(_ state: RecordedState? = .process(.exited), expected: Bool? = true, supervisordPID: Int = Int(getpid()),
             supervisordStartTicks: UInt64? = startTicks(of: getpid())) {
            if let state { Self.write(state, expected: expected, supervisordPID: supervisordPID, supervisordStartTicks: supervisordStartTicks, to: self) }
        }

        /// Writes a status file the way the listener does (atomically).
        @discardableResult
        static func write(
            _ state: RecordedState, expected: Bool?, supervisordPID: Int = Int(getpid()), supervisordStartTicks: UInt64? = startTicks(of: getpid()),
            to fixture: Fixture
        ) -> String {
            var record = StatusRecord(
                program: "start", state: state, previousState: .process(.running), expected: expected, pid: 42, serial: 7,
                since: Timestamp(millisecondsSinceEpoch: 1_795_387_133_000), listenerPID: 41, supervisordPID: supervisordPID)
            record.supervisordStartTicks = supervisordStartTicks
            let temporary = fixture.scratch.write(".status.tmp", String(decoding: record.encoded, as: UTF8.self))
            rename(temporary, fixture.statusFile)
            return fixture.statusFile
        }

        func hook(_ body: String, mode: Int = 0o755) { scratch.script("hook", "#!/bin/sh\n\(body)\n", mode: mode) }

        func probe(_ arguments: [String] = [], environment: [String: String]? = nil) throws -> Completed {
            try run(Paths.probe, ["--status-file", statusFile, "--hook", hook] + arguments, environment: environment)
        }
    }

    // MARK: The common check

    @Test(arguments: [
        (RecordedState.process(.exited), true as Bool?, Int32(0), "ready: 0 READY: program start exited with an expected status; no hook"),
        (.process(.exited), false, 101, "not ready: 101 START_FAILED: program start exited unexpectedly (status not in exitcodes, or killed by a signal)"),
        (.notSeen, nil, 100, "not ready: 100 START_PENDING: program start has not been seen yet"),
        (.process(.starting), nil, 100, "not ready: 100 START_PENDING: program start is STARTING, not finished yet"),
        (.process(.running), nil, 100, "not ready: 100 START_PENDING: program start is RUNNING, not finished yet"),
        (.process(.backoff), nil, 100, "not ready: 100 START_PENDING: program start is BACKOFF, not finished yet"),
        (.process(.fatal), nil, 102, "not ready: 102 START_FATAL: supervisord could not start program start (FATAL)"),
        (.process(.stopping), nil, 103, "not ready: 103 START_STOPPED: program start was stopped (STOPPING)"),
        (.process(.stopped), nil, 103, "not ready: 103 START_STOPPED: program start was stopped (STOPPED)"),
        (.process(.unknown), nil, 103, "not ready: 103 START_STOPPED: program start is in supervisord's UNKNOWN state"),
    ])
    func everyStartStateHasItsCodeAndOneLine(state: RecordedState, expected: Bool?, code: Int32, line: String) throws {
        let fixture = Fixture(state, expected: expected)
        fixture.hook("echo must not run; exit 9")
        let result = try fixture.probe()
        #expect(result.status == (code == 0 ? 9 : code), "the hook runs only after the common check passed")
        if code != 0 {
            #expect(result.stderr == line + "\n")
            #expect(result.stdout.isEmpty)
        }
        try FileManager.default.removeItem(atPath: fixture.hook)
        let withoutHook = try fixture.probe()
        #expect(withoutHook.status == code)
        #expect((code == 0 ? withoutHook.stdout : withoutHook.stderr) == line + "\n")
        #expect((code == 0 ? withoutHook.stderr : withoutHook.stdout).isEmpty)
    }

    @Test func noStatusFile() throws {
        let fixture = Fixture(nil)
        let result = try fixture.probe()
        #expect(result.status == 104)
        #expect(result.stderr == "not ready: 104 NO_STATUS: no status file at \(fixture.statusFile): the listener never ran\n")
    }

    @Test func staleStatusFromADeadSupervisord() throws {
        let dead = try Child("/bin/true", [], stdout: "/dev/null", stderr: "/dev/null")
        dead.wait()
        let fixture = Fixture(.process(.exited), expected: true, supervisordPID: Int(dead.pid))
        let result = try fixture.probe()
        #expect(result.status == 106)
        #expect(result.stderr.hasPrefix("not ready: 106 STALE_STATUS: status file"))
    }

    /// The recorded pid runs, but it is another process than the one that
    /// wrote the file (every container restart's supervisord is PID 1 again).
    @Test func staleStatusFromAnEarlierProcessWithTheSamePid() throws {
        let ticks = try #require(startTicks(of: getpid()))
        let earlier = Fixture(.process(.exited), expected: true, supervisordStartTicks: ticks - 1)
        let result = try earlier.probe()
        #expect(result.status == 106)
        #expect(result.stderr.contains("was written under an earlier process with supervisord's pid \(getpid())"))
        let same = Fixture(.process(.exited), expected: true, supervisordStartTicks: ticks)
        #expect(try same.probe().status == 0)
    }

    /// A record without supervisord's start time (written where /proc could
    /// not tell it): the running pid may be a later process, so it is not
    /// taken for the same one. It was READY before.
    @Test func unknownIdentityIsNotTheSameSupervisord() throws {
        let fixture = Fixture(.process(.exited), expected: true, supervisordStartTicks: nil)
        let result = try fixture.probe()
        #expect(result.status == 106)
        #expect(result.stderr == "not ready: 106 STALE_STATUS: cannot tell whether supervisord pid \(getpid()) is the one that wrote \(fixture.statusFile) (no start time to compare: is /proc mounted?)\n")
    }

    // MARK: Bad status files

    @Test func tenMebibyteStatusFile() throws {
        let fixture = Fixture(nil)
        _ = FileManager.default.createFile(atPath: fixture.statusFile, contents: Data(count: 10 << 20))
        let result = try fixture.probe()
        #expect(result.status == 105)
        #expect(result.stderr.contains("is 10485760 bytes"))
    }

    @Test func statusFileWithNUL() throws {
        let fixture = Fixture()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: fixture.statusFile))
        bytes[30] = 0
        try bytes.write(to: URL(fileURLWithPath: fixture.statusFile))
        let result = try fixture.probe()
        #expect(result.status == 105)
        #expect(result.stderr.contains("contains a NUL byte"))
    }

    @Test func statusFileBehindASymlinkIsNotFollowed() throws {
        let fixture = Fixture()
        try FileManager.default.moveItem(atPath: fixture.statusFile, toPath: "\(fixture.scratch.path)/real")
        try FileManager.default.createSymbolicLink(atPath: fixture.statusFile, withDestinationPath: "\(fixture.scratch.path)/real")
        let result = try fixture.probe()
        #expect(result.status == 105)
        #expect(result.stderr.contains("symbolic links are not followed"))
    }

    @Test func truncatedStatusFile() throws {
        let fixture = Fixture()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture.statusFile))
        for length in [0, 10, bytes.count / 2, bytes.count - 2] {
            try bytes.prefix(length).write(to: URL(fileURLWithPath: fixture.statusFile))
            let result = try fixture.probe()
            #expect(result.status == 105, "length \(length)")
        }
    }

    @Test func unknownFormatVersionAndDirectory() throws {
        let fixture = Fixture()
        let text = try String(contentsOfFile: fixture.statusFile, encoding: .utf8)
        try text.replacingOccurrences(of: "format=1\n", with: "format=9\n").write(toFile: fixture.statusFile, atomically: false, encoding: .utf8)
        let result = try fixture.probe()
        #expect(result.status == 105)
        #expect(result.stderr.contains("format 9 is not supported"))
        try FileManager.default.removeItem(atPath: fixture.statusFile)
        try FileManager.default.createDirectory(atPath: fixture.statusFile, withIntermediateDirectories: false)
        #expect(try fixture.probe().status == 105)
    }

    // MARK: Hooks

    @Test func hookPassing() throws {
        let fixture = Fixture()
        fixture.hook("echo all good")
        let result = try fixture.probe()
        #expect(result.status == 0)
        #expect(result.stdout == "ready: 0 READY: program start exited with an expected status; hook passed\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func hookExitCodeIsPassedThrough() throws {
        let fixture = Fixture()
        fixture.hook("echo checking; echo 'cache not warm: 3/10 shards' >&2; exit 7")
        let result = try fixture.probe()
        #expect(result.status == 7)
        #expect(result.stderr == "not ready: 7 HOOK_FAILED: hook \(fixture.hook) exited with status 7: cache not warm: 3/10 shards\n")
    }

    /// The hook's line is cut by Unicode scalars, the same in the release
    /// binary (no grapheme tables) as in the core's unit tests.
    @Test func hookLineOfCombiningMarksIsCutByScalars() throws {
        let fixture = Fixture()
        fixture.hook("i=0; while [ $i -lt 150 ]; do printf 'e\\314\\201'; i=$((i+1)); done; exit 3")
        let result = try fixture.probe()
        #expect(result.status == 3)
        let expected = "not ready: 3 HOOK_FAILED: hook \(fixture.hook) exited with status 3: " + String(repeating: "e\u{301}", count: 100) + "…\n"
        #expect(Array(result.stderr.utf8) == Array(expected.utf8))
    }

    @Test func hookExitCodeOutOfRange() throws {
        let fixture = Fixture()
        fixture.hook("exit 150")
        let result = try fixture.probe()
        #expect(result.status == 112)
        #expect(result.stderr.contains("exited with status 150"))
    }

    @Test func hookKilledBySegfault() throws {
        let fixture = Fixture()
        fixture.hook("kill -SEGV $$")
        let result = try fixture.probe()
        #expect(result.status == 111)
        #expect(result.stderr.contains("killed by signal 11 (SIGSEGV)"))
    }

    @Test(arguments: [
        (0o777, "writable by group or others (mode 777)"),
        (0o644, "is not executable"),
        (0o775, "writable by group or others (mode 775)"),
    ])
    func hookWithBadMode(mode: Int, reason: String) throws {
        let fixture = Fixture()
        fixture.hook("exit 0", mode: mode)
        let result = try fixture.probe()
        #expect(result.status == 113)
        #expect(result.stderr.contains(reason))
    }

    @Test func hookThatIsADirectoryOrForeignOwnedOrNotAProgram() throws {
        let fixture = Fixture()
        try FileManager.default.createDirectory(atPath: fixture.hook, withIntermediateDirectories: false)
        var result = try fixture.probe()
        #expect(result.status == 113)
        #expect(result.stderr.contains("is not a regular file"))
        try FileManager.default.removeItem(atPath: fixture.hook)

        fixture.hook("exit 0")
        chown(fixture.hook, 4242, 4242)
        result = try fixture.probe()
        #expect(result.status == 113)
        #expect(result.stderr.contains("owned by uid 4242"))

        fixture.scratch.script("hook", "exit 0\n")  // no #! line: exec fails
        chown(fixture.hook, 0, 0)
        result = try fixture.probe()
        #expect(result.status == 113)
        #expect(result.stderr.contains("cannot run hook \(fixture.hook): Exec format error (ENOEXEC)"))
    }

    /// A hook held open for writing (being replaced in place) cannot be run:
    /// after a few short retries, HOOK_UNUSABLE says why.
    @Test func hookBeingWrittenIsUnusable() throws {
        let fixture = Fixture()
        fixture.hook("exit 0")
        let writer = open(fixture.hook, O_WRONLY | O_CLOEXEC)
        #expect(writer >= 0)
        defer { close(writer) }
        let result = try fixture.probe()
        #expect(result.status == 113)
        #expect(result.stderr == "not ready: 113 HOOK_UNUSABLE: cannot run hook \(fixture.hook): Text file busy (ETXTBSY)\n")
    }

    @Test func hookGetsTheStartStateInItsEnvironment() throws {
        let fixture = Fixture()
        fixture.hook("echo \"$READINESS_PROGRAM $READINESS_START_STATE $READINESS_START_EXPECTED [$READINESS_START_EXIT_STATUS] $READINESS_STATUS_FILE\"; exit 5")
        let result = try fixture.probe()
        #expect(result.status == 5)
        #expect(result.stderr.hasSuffix(": start EXITED 1 [] \(fixture.statusFile)\n"))
    }

    /// The probe's own READINESS_* variables give way to the current ones:
    /// one of each name reaches the hook, everything else is inherited.
    @Test func hookEnvironmentReplacesInheritedReadinessVariables() throws {
        let fixture = Fixture()
        fixture.hook("echo \"$(env | grep -c '^READINESS_PROGRAM=') $READINESS_PROGRAM $(env | grep -c '^READINESS_STATUS_FILE=') $KEEP_ME\"; exit 5")
        var environment = ProcessInfo.processInfo.environment
        environment["READINESS_PROGRAM"] = "stale"
        environment["READINESS_STATUS_FILE"] = "/stale"
        environment["KEEP_ME"] = "kept"
        let result = try fixture.probe(environment: environment)
        #expect(result.status == 5)
        #expect(result.stderr.hasSuffix(": 1 start 1 kept\n"))
    }

    @Test func hookFloodingBothStreams() throws {
        let fixture = Fixture()
        fixture.hook("head -c 1048576 /dev/zero | tr '\\0' x; head -c 1048576 /dev/zero | tr '\\0' y >&2; echo; echo done")
        let result = try fixture.probe(["--json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let hook = try #require(object["hook"] as? [String: Any])
        #expect(hook["output_bytes"] as? Int == 2 * 1_048_576 + 6)
        #expect((hook["output_tail"] as? String)?.hasSuffix("yyyy\ndone\n") == true)
        #expect(object["ready"] as? Bool == true)
        #expect(object["name"] as? String == "READY")
    }

    @Test func outOfDescriptorsIsInternal() throws {
        let fixture = Fixture()
        fixture.hook("exit 0")
        let result = try run("/bin/sh", ["-c", "ulimit -n 4; exec \"$0\" \"$@\""] + Paths.command(Paths.probe) + ["--status-file", fixture.statusFile, "--hook", fixture.hook])
        #expect(result.status == 125)
        #expect(result.stderr.hasPrefix("not ready: 125 INTERNAL: cannot set up hook"))
    }

    // MARK: Options and output forms

    @Test func usageErrors() throws {
        for arguments in [["--bogus"], ["--hook-timeout", "soon"], ["--status-file"], ["extra"]] {
            let result = try run(Paths.probe, arguments)
            #expect(result.status == 120, "\(arguments)")
            #expect(result.stderr.hasPrefix("not ready: 120 USAGE: "))
        }
    }

    @Test func verboseAndExplain() throws {
        let fixture = Fixture(.process(.exited), expected: false)
        let verbose = try fixture.probe(["--verbose"])
        #expect(verbose.status == 101)
        let lines = verbose.stderr.split(separator: "\n")
        #expect(lines.first?.hasPrefix("not ready: 101 START_FAILED") == true)
        #expect(lines.contains("state: EXITED (from RUNNING) since 2026-11-22T22:38:53.000Z"))
        let explain = try fixture.probe(["--explain"])
        #expect(explain.stderr.contains("next: read start.sh's log"))
    }

    @Test func waitTurnsReadyMidWait() throws {
        let fixture = Fixture(.process(.running), expected: nil)
        let probe = try Child(Paths.probe, ["--status-file", fixture.statusFile, "--hook", fixture.hook, "--wait", "--timeout", "30", "--interval", "0.1"],
                              stdout: "\(fixture.scratch.path)/out", stderr: "\(fixture.scratch.path)/err")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(probe.isRunning, "still waiting while start.sh runs")
        _ = Fixture.write(.process(.exited), expected: true, to: fixture)
        #expect(probe.wait(seconds: 20) == 0)
        #expect(try String(contentsOfFile: "\(fixture.scratch.path)/out", encoding: .utf8).hasPrefix("ready: 0 READY"))
    }

    @Test func waitTimesOutWithTheLastCode() throws {
        let fixture = Fixture(.process(.running), expected: nil)
        let result = try fixture.probe(["--wait", "--timeout", "0.5", "--interval", "0.1"])
        #expect(result.status == 100)
        #expect(result.stderr == "not ready: 100 START_PENDING: program start is RUNNING, not finished yet\n")
    }

    @Test func versionAndHelp() throws {
        #expect(try run(Paths.probe, ["--version"]).stdout == "readiness_probe \(ReadinessVersion.current)\n")
        #expect(try run(Paths.probe, ["--help"]).stdout.hasPrefix("usage: readiness_probe"))
    }

    /// README.md carries a copy of the table `--codes` prints.
    @Test func readmeListsTheSameCodes() throws {
        let table = try run(Paths.probe, ["--codes"]).stdout
        #expect(table == ProbeCode.table)
        let readme = try String(contentsOfFile: "\(Paths.repository)/README.md", encoding: .utf8)
        #expect(readme.contains(table))
    }
}
