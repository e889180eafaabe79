import Foundation
import Testing

/// The listener under a real supervisord 4.3.0, configured with the repository's
/// supervisor.d files; each test asserts the final status file.
@Suite(.serialized) struct ListenerSupervisordTests {
    @Test func startExitsZero() throws {
        let supervisord = try Supervisord(start: "echo initializing; exit 0")
        let status = try #require(supervisord.waitForState("EXITED"))
        #expect(status["expected"] == "1")
        #expect(status["previous_state"] == "RUNNING")
        #expect(status["program"] == "start")
        #expect(status["supervisord_pid"] == "\(supervisord.process.pid)")
        #expect(status["supervisord_start_ticks"] == startTicks(of: supervisord.process.pid).map { "\($0)" })
        #expect(status.history.map { $0.split(separator: " ")[1] } == ["STOPPED->STARTING", "STARTING->RUNNING", "RUNNING->EXITED"])
        #expect(try supervisord.state(of: "readiness_listener") == "RUNNING")
        #expect(supervisord.logged("msg=transition program=start from=RUNNING to=EXITED expected=1"))
        #expect(try supervisord.probe().status == 0)
    }

    @Test func startExitsThree() throws {
        let supervisord = try Supervisord(start: "exit 3")
        let status = try #require(supervisord.waitForState("EXITED"))
        #expect(status["expected"] == "0")
        let probe = try supervisord.probe()
        #expect(probe.status == 101)
        #expect(probe.stderr.hasPrefix("not ready: 101 START_FAILED: program start exited"))
    }

    @Test func runningMeanwhileThenExited() throws {
        let scratch = ScratchDirectory()
        let trigger = "\(scratch.path)/go"
        // start.sh exits when the test says so, not after a time a loaded machine may take already.
        let supervisord = try Supervisord(start: "while [ ! -e \(trigger) ]; do sleep 0.05; done; exit 0")
        let running = try #require(supervisord.waitForState("RUNNING"))
        #expect(running["pid"] != "unknown")
        #expect(try supervisord.probe().status == 100)
        #expect(supervisord.status?["state"] == "RUNNING")
        #expect(FileManager.default.createFile(atPath: trigger, contents: nil))
        let exited = try #require(supervisord.waitForState("EXITED", within: 10))
        #expect(exited["expected"] == "1")
        #expect(try supervisord.probe().status == 0)
    }

    /// The harness's own wait: a state that never comes is nil, not the
    /// file as it happens to be, so `#require` stops the test there.
    @Test func waitForStateIsNilWhenTheStateDoesNotCome() throws {
        let supervisord = try Supervisord(start: "sleep 60")
        _ = try #require(supervisord.waitForState("RUNNING"))
        #expect(supervisord.waitForState("EXITED", within: 1) == nil)
    }

    @Test func missingCommandIsFatal() throws {
        let supervisord = try Supervisord(start: nil)
        _ = supervisord.scratch.write("conf.d/start.conf", """
            [program:start]
            command=\(supervisord.scratch.path)/does-not-exist.sh
            startsecs=0
            autorestart=false
            exitcodes=0
            startretries=3
            """)
        _ = try supervisord.ctl("update")
        let status = try #require(supervisord.waitForState("FATAL", within: 30))
        #expect(status["previous_state"] == "BACKOFF")
        #expect(try supervisord.probe().status == 102)
    }

    @Test func stopAndRestart() throws {
        let supervisord = try Supervisord(start: "sleep 60")
        _ = try #require(supervisord.waitForState("RUNNING"))
        _ = try supervisord.ctl("stop", "start")
        let stopped = try #require(supervisord.waitForState("STOPPED"))
        #expect(stopped["previous_state"] == "STOPPING")
        #expect(try supervisord.probe().status == 103)

        _ = try supervisord.ctl("restart", "start")
        let restarted = try #require(supervisord.waitForState("RUNNING"))
        #expect(restarted.history.suffix(3).map { $0.split(separator: " ")[1] } == ["STOPPING->STOPPED", "STOPPED->STARTING", "STARTING->RUNNING"])
        #expect(try supervisord.probe().status == 100)
    }

    @Test func restartOfAFinishedStart() throws {
        let supervisord = try Supervisord(start: "exit 0")
        _ = try #require(supervisord.waitForState("EXITED"))
        let first = supervisord.status?["serial"]
        _ = try supervisord.ctl("restart", "start")
        #expect(eventually { supervisord.status?["serial"] != first && supervisord.status?["state"] == "EXITED" })
        #expect(supervisord.status?["expected"] == "1")
    }

    /// 30 programs starting with start.sh: over 60 events queued before the
    /// listener answers its first; none may be dropped.
    @Test func burstOfThirtyOtherPrograms() throws {
        let supervisord = try Supervisord(start: "exit 0", otherPrograms: 30)
        let status = try #require(supervisord.waitForState("EXITED"))
        #expect(status["expected"] == "1")
        #expect(eventually(within: 20) { (try? supervisord.state(of: "other30")) == "RUNNING" })
        // Every event delivered and answered: an overflow would be logged by now.
        let listener = try #require(status["listener_pid"].flatMap { pid_t($0) })
        #expect(staysIdle(listener, for: 1.5))
        #expect(!supervisord.log.contains("overflowed"))
        #expect(status.history.map { $0.split(separator: " ")[1] } == ["STOPPED->STARTING", "STARTING->RUNNING", "RUNNING->EXITED"])
        #expect(!supervisord.output.contains("program=other1"), "events of other programs are not logged without --verbose")
    }

    /// The listener killed with SIGKILL comes back, resumes from the file, and
    /// supervisord's redelivery of the event it was handling is not applied twice.
    @Test func listenerRestartResumesFromTheFile() throws {
        let supervisord = try Supervisord(start: "exit 0")
        let before = try #require(supervisord.waitForState("EXITED"))
        let listenerPID = try #require(before["listener_pid"].flatMap { Int32($0) })
        kill(listenerPID, SIGKILL)
        #expect(eventually { supervisord.status?["listener_pid"] != "\(listenerPID)" })
        let after = try #require(supervisord.status)
        #expect(after["state"] == "EXITED")
        #expect(after["serial"] == before["serial"])
        #expect(after.history == before.history)
        #expect(try supervisord.probe().status == 0)
    }

    @Test func sigtermEndsTheListenerWithStatusZero() throws {
        let supervisord = try Supervisord(start: "exit 0")
        _ = try #require(supervisord.waitForState("EXITED"))
        _ = try supervisord.ctl("stop", "readiness_listener")
        #expect(supervisord.log.contains("stopped: readiness_listener (exit status 0)"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(supervisord.scratch.path)/run")
        #expect(leftovers.sorted() == ["status", "status.lock"], "the lock file stays, released")
    }

    /// A --program supervisord does not have (here: no [program:start]; as
    /// a typo would be): ABSENT passes the common check, so the listener says
    /// so at start-up, and --explain says why the probe is ready.
    @Test func aProgramSupervisordDoesNotHaveIsAWarning() throws {
        let supervisord = try Supervisord(start: nil, programs: [Supervisord.trapping("web")])
        _ = try #require(supervisord.waitForState("ABSENT"))
        #expect(supervisord.logged(
            "level=warning msg=\"supervisord has no such program: the common check passes (ABSENT); is --program spelled as in supervisord.conf?\" program=start"))
        let explain = try supervisord.probe(["--explain"])
        #expect(explain.status == 0)
        #expect(explain.stdout.contains("next: supervisord has no program start (ABSENT): the common check passes; if one is meant, --program must name it as supervisord.conf does"),
                "\(explain.stdout)")
    }

    @Test(arguments: [
        ("start*", "--program takes NAME or GROUP:NAME, not \"start*\""),
        ("init:*", "--program takes NAME or GROUP:NAME, not \"init:*\""),
        ("a:b:c", "--program takes NAME or GROUP:NAME, not \"a:b:c\""),
        (":start", "--program takes NAME or GROUP:NAME, not \":start\""),
    ])
    func aPatternIsNoProgram(program: String, message: String) throws {
        let result = try run(Paths.listener, ["--program", program])
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("readiness_listener: \(message)\n"))
        #expect(result.stdout.isEmpty)
    }
}
