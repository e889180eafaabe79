import Foundation
import Testing

/// The listener binary fed recorded and malformed bytes on stdin, as supervisord
/// would write them; stdout must carry the protocol and nothing else.
@Suite struct ListenerProtocolTests {
    struct Session {
        var completed: Completed
        var status: StatusFile?
    }

    func feed(_ bytes: [UInt8], arguments: [String] = []) throws -> Session {
        let scratch = ScratchDirectory()
        let input = "\(scratch.path)/stdin"
        _ = FileManager.default.createFile(atPath: input, contents: Data(bytes))
        let statusFile = "\(scratch.path)/run/status"
        let completed = try run(Paths.listener, ["--status-file", statusFile] + arguments, stdin: input)
        return Session(completed: completed, status: StatusFile(path: statusFile))
    }

    static func event(_ serial: Int, _ name: String, _ payload: String) -> String {
        "ver:3.0 server:supervisor serial:\(serial) pool:readiness_listener poolserial:\(serial) eventname:\(name) len:\(payload.count)\n\(payload)"
    }

    static let oneshot = [
        event(1, "PROCESS_STATE_STARTING", "processname:start groupname:start from_state:STOPPED tries:0"),
        event(2, "PROCESS_STATE_RUNNING", "processname:readiness_listener groupname:readiness_listener from_state:STARTING pid:8"),
        event(3, "PROCESS_STATE_RUNNING", "processname:start groupname:start from_state:STARTING pid:9"),
        event(4, "TICK_5", "when:1795387133"),
        event(5, "PROCESS_STATE_EXITED", "processname:start groupname:start from_state:RUNNING expected:1 pid:9"),
    ].joined()

    @Test func answersEveryEventAndRecordsTheState() throws {
        let session = try feed(Array(Self.oneshot.utf8))
        #expect(session.completed.status == 0)
        #expect(session.completed.stdout == "READY\n" + String(repeating: "RESULT 2\nOKREADY\n", count: 5))
        #expect(session.status?["state"] == "EXITED")
        #expect(session.status?["serial"] == "5")
        #expect(session.completed.stderr.contains("msg=\"end of input, exiting\""))
        #expect(!session.completed.stderr.contains("readiness_listener from"))
    }

    /// SIGTERM (supervisord stopping the listener) in the middle of a status
    /// write waits for the write: exit 0, the file complete, no temporary file
    /// left. Every event here changes the followed program's state, so the
    /// listener spends most of its time writing, and a signal at a random
    /// moment lands inside a write in most rounds.
    @Test func terminationWaitsForTheStatusWrite() throws {
        let scratch = ScratchDirectory()
        let events = (1...20_000).map { serial in
            serial % 2 == 0
                ? Self.event(serial, "PROCESS_STATE_EXITED", "processname:start groupname:start from_state:RUNNING expected:1 pid:\(serial)")
                : Self.event(serial, "PROCESS_STATE_RUNNING", "processname:start groupname:start from_state:STARTING pid:\(serial)")
        }
        let input = scratch.write("stdin", events.joined())
        for round in 1...20 {
            let statusFile = "\(scratch.path)/run\(round)/status"
            let listener = try Child(
                Paths.listener, ["--status-file", statusFile], stdout: "\(scratch.path)/out\(round)", stderr: "\(scratch.path)/err\(round)", stdin: input)
            #expect(eventually { StatusFile(path: statusFile)?["serial"].flatMap(Int.init) ?? 0 > 1 })
            Thread.sleep(forTimeInterval: Double.random(in: 0...0.05))
            try #require(listener.isRunning, "the listener got through all events before the signal: round \(round)")
            listener.signal(SIGTERM)
            #expect(listener.wait() == 0, "round \(round)")
            #expect(!FileManager.default.fileExists(atPath: "\(scratch.path)/run\(round)/.status.tmp"), "round \(round)")
            #expect(StatusFile(path: statusFile) != nil, "round \(round)")
        }
    }

    @Test func verboseLogsOtherPrograms() throws {
        let session = try feed(Array(Self.oneshot.utf8), arguments: ["--verbose"])
        #expect(session.completed.stderr.contains("level=debug msg=\"event of another program\" program=readiness_listener:readiness_listener"))
    }

    @Test func followsAGroupMember() throws {
        let stream = Self.event(1, "PROCESS_STATE_EXITED", "processname:start groupname:init from_state:RUNNING expected:0 pid:9")
            + Self.event(2, "PROCESS_STATE_EXITED", "processname:start groupname:start from_state:RUNNING expected:1 pid:10")
        let session = try feed(Array(stream.utf8), arguments: ["--program", "init:start"])
        #expect(session.status?["program"] == "init:start")
        #expect(session.status?["expected"] == "0")
        #expect(session.status?["serial"] == "1")
    }

    @Test func nonASCIIProgramNameFrames() throws {
        let stream = Self.event(1, "PROCESS_STATE_RUNNING", "processname:démarrage groupname:démarrage from_state:STARTING pid:9")
            + Self.event(2, "PROCESS_STATE_EXITED", "processname:démarrage groupname:démarrage from_state:RUNNING expected:1 pid:9")
        let session = try feed(Array(stream.utf8), arguments: ["--program", "démarrage"])
        #expect(session.completed.stdout == "READY\n" + String(repeating: "RESULT 2\nOKREADY\n", count: 2))
        #expect(session.status?["state"] == "EXITED")
    }

    /// A name is its Unicode scalars, as supervisord (Python) compares them:
    /// "de\u{301}marrage" is canonically equivalent to "démarrage" but names
    /// another program (supervisord would answer BAD_NAME for it).
    @Test func aNameSpeltWithOtherScalarsIsAnotherProgram() throws {
        let stream = Self.event(1, "PROCESS_STATE_RUNNING", "processname:d\u{E9}marrage groupname:d\u{E9}marrage from_state:STARTING pid:9")
            + Self.event(2, "PROCESS_STATE_EXITED", "processname:d\u{E9}marrage groupname:d\u{E9}marrage from_state:RUNNING expected:1 pid:9")
        let session = try feed(Array(stream.utf8), arguments: ["--program", "de\u{301}marrage", "--verbose"])
        #expect(session.status?["state"] == "NOT_SEEN")
        #expect(session.completed.stderr.contains("msg=\"event of another program\" program=d\u{E9}marrage:d\u{E9}marrage"))
    }

    /// Payloads that cannot be understood are acknowledged (never FAIL: that
    /// would be redelivered forever), logged, and change nothing.
    @Test(arguments: [
        ("PROCESS_STATE_EXITED", "processname:start groupname:start from_state:RUNNING pid:9", "payload has no expected"),
        ("PROCESS_STATE_RUNNING", "processname:start groupname:start from_state:NOWHERE pid:9", "from_state has an invalid value"),
        ("PROCESS_STATE_SLEEPING", "processname:start groupname:start from_state:RUNNING", "event=PROCESS_STATE_SLEEPING"),
    ])
    func malformedPayloadIsAcknowledgedAndLogged(name: String, payload: String, logged: String) throws {
        let stream = Self.event(1, "PROCESS_STATE_STARTING", "processname:start groupname:start from_state:STOPPED tries:0")
            + Self.event(2, name, payload)
            + Self.event(3, "TICK_5", "when:1")
        let session = try feed(Array(stream.utf8))
        #expect(session.completed.status == 0)
        #expect(session.completed.stdout == "READY\n" + String(repeating: "RESULT 2\nOKREADY\n", count: 3))
        #expect(session.completed.stderr.contains(logged))
        #expect(session.status?["state"] == "STARTING")
    }

    @Test func invalidUTF8PayloadIsAcknowledgedAndLogged() throws {
        var bytes = Array("ver:3.0 serial:1 pool:p poolserial:1 eventname:PROCESS_STATE_RUNNING len:3\n".utf8)
        bytes += [0x61, 0xFF, 0x62]
        let session = try feed(bytes)
        #expect(session.completed.status == 0)
        #expect(session.completed.stdout == "READY\nRESULT 2\nOKREADY\n")
        #expect(session.completed.stderr.contains("error=\"event payload is not valid UTF-8\""))
        #expect(session.status?["state"] == "NOT_SEEN")
    }

    /// A header whose length cannot be trusted leaves no way to find the next
    /// event: the listener exits 2 so that supervisord restarts it.
    @Test(arguments: ["len:abc", "len:-1", "", "len:2000000"])
    func unframeableHeaderExitsTwo(length: String) throws {
        let stream = Self.event(1, "PROCESS_STATE_STARTING", "processname:start groupname:start from_state:STOPPED tries:0")
            + "ver:3.0 serial:2 pool:p poolserial:2 eventname:TICK_5 \(length)\nwhen:1"
        let session = try feed(Array(stream.utf8))
        #expect(session.completed.status == 2)
        #expect(session.completed.stdout == "READY\nRESULT 2\nOKREADY\n")
        #expect(session.completed.stderr.contains("level=error msg=\"cannot frame the event stream, exiting so supervisord restarts the listener\""))
        #expect(session.status?["state"] == "STARTING")
    }

    @Test func writesTheFileBeforeTheFirstReady() throws {
        let scratch = ScratchDirectory()
        let statusFile = "\(scratch.path)/deep/run/status"
        let completed = try run(Paths.listener, ["--status-file", statusFile])
        #expect(completed.stdout == "READY\n")
        let status = StatusFile(path: statusFile)
        #expect(status?["state"] == "NOT_SEEN")
        #expect(status?["listener_pid"] != nil)
        for directory in ["deep", "deep/run"] {
            let mode = try FileManager.default.attributesOfItem(atPath: "\(scratch.path)/\(directory)")[.posixPermissions] as? Int
            #expect(mode == 0o755, "\(directory) is created 0755")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(scratch.path)/deep/run").sorted() == ["status", "status.lock"])
    }

    @Test func badArgumentsExitSixtyFour() throws {
        let completed = try run(Paths.listener, ["--bogus"])
        #expect(completed.status == 64)
        #expect(completed.stdout.isEmpty)
        #expect(completed.stderr.hasPrefix("readiness_listener: unknown option --bogus"))
    }
}

extension ListenerProtocolTests {
    /// A corrupt file left behind is replaced, with a warning, not trusted.
    @Test func corruptPreviousFileIsReplaced() throws {
        let scratch = ScratchDirectory()
        let statusFile = scratch.write("run/status", "format=1\nstate=EXITED\n")
        let completed = try run(Paths.listener, ["--status-file", statusFile])
        #expect(completed.stderr.contains("msg=\"previous status file unusable, starting afresh\""))
        #expect(completed.stderr.contains("error=\"status file is incomplete (no final end=1 line)\""))
        #expect(StatusFile(path: statusFile)?["state"] == "NOT_SEEN")
    }
}
