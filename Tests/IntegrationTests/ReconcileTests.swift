import Foundation
import Testing

/// Exact exit status, absent programs, lost events and degraded modes, against
/// a real supervisord and its XML-RPC interface.
@Suite(.serialized) struct ReconcileTests {
    @Test(arguments: [("exit 3", "3", "0"), ("exit 0", "0", "1")])
    func exactExitStatusWithStartsecsZero(script: String, status: String, expected: String) throws {
        let supervisord = try Supervisord(start: script)
        #expect(eventually { supervisord.status?["exit_status"] == status })
        let file = try #require(supervisord.status)
        #expect(file["state"] == "EXITED")
        #expect(file["expected"] == expected)
        if status == "3" {
            let probe = try supervisord.probe()
            #expect(probe.status == 101)
            #expect(probe.stderr == "not ready: 101 START_FAILED: program start exited with status 3\n")
        } else {
            #expect(try supervisord.probe().stdout == "ready: 0 READY: program start exited with status 0; no hook\n")
        }
        #expect(file["stdout_logfile"] == "/dev/stdout")
        let explain = try supervisord.probe(["--explain"])
        // Ready goes to stdout, not ready to stderr.
        #expect((status == "0" ? explain.stdout : explain.stderr).contains("program output: stdout /dev/stdout"))
    }

    /// startsecs above 0: a script that exits at once is a failed start
    /// (BACKOFF, retried, then FATAL), whatever its status; supervisord does
    /// not know that status then, and neither does the file: no wrong number
    /// is recorded, and the spawn error says why. startsecs=10, not 1: on a
    /// starved machine a shell can take a second to start and exit, and
    /// then it counts as started (RUNNING, EXITED), which CI once saw.
    @Test(arguments: ["exit 3", "exit 0"])
    func backoffPathRecordsNoWrongStatus(script: String) throws {
        let supervisord = try Supervisord(start: script, startSettings: ["startsecs": "10", "startretries": "1"])
        let file = try #require(supervisord.waitForState("FATAL", within: 30))
        #expect(try supervisord.state(of: "start") == "FATAL")
        #expect(file["exit_status"] == "unknown", "\(file.values)")
        #expect(file.history.last?.split(separator: " ")[1] == "BACKOFF->FATAL", "\(file.history)")
        #expect(eventually { supervisord.status?["spawn_error"] == "Exited too quickly (process log may have details)" }, "\(supervisord.status?.values ?? [:])")
        #expect(try supervisord.probe().status == 102)
    }

    @Test func missingCommandRecordsTheSpawnError() throws {
        let supervisord = try Supervisord(start: "exit 0", startSettings: ["command": "/nonexistent/start.sh", "startretries": "0"])
        _ = try #require(supervisord.waitForState("FATAL", within: 30))
        // The spawn error comes with supervisord's answer, a turn after the FATAL.
        #expect(eventually { supervisord.status?["spawn_error"]?.contains("can't find command") == true }, "\(supervisord.status?.values ?? [:])")
        let probe = try supervisord.probe()
        #expect(probe.status == 102)
        #expect(probe.stderr.contains("(FATAL): can't find command"))
    }

    @Test func noStartProgramIsReady() throws {
        let supervisord = try Supervisord(start: nil)
        let file = try #require(supervisord.waitForState("ABSENT"))
        #expect(file["program"] == "start")
        let probe = try supervisord.probe()
        #expect(probe.status == 0)
        #expect(probe.stdout == "ready: 0 READY: supervisord has no program start, nothing to wait for; no hook\n")
    }

    /// No XML-RPC server: events only, one warning, everything else right.
    @Test func withoutAnXMLRPCServer() throws {
        let supervisord = try Supervisord(start: "exit 3", otherPrograms: 3, server: .none)
        let file = try #require(supervisord.waitForState("EXITED"))
        #expect(file["exit_status"] == "unknown")
        #expect(file["expected"] == "0")
        #expect(supervisord.handledATick(after: Date()))  // which tries XML-RPC again
        let warnings = supervisord.output.components(separatedBy: "XML-RPC unusable").count - 1
        #expect(warnings == 1, "\(supervisord.output)")
        #expect(supervisord.logged("SUPERVISOR_SERVER_URL is not set"))
        #expect(try supervisord.probe().status == 101)
    }

    @Test func withAPasswordTheListenerLacks() throws {
        let supervisord = try Supervisord(start: "exit 0", server: .passwordProtected)
        let file = try #require(supervisord.waitForState("EXITED"))
        #expect(file["exit_status"] == "unknown")
        #expect(file["expected"] == "1")
        #expect(supervisord.handledATick(after: Date()))  // which tries XML-RPC again
        #expect(supervisord.output.components(separatedBy: "XML-RPC unusable").count - 1 == 1)
        #expect(supervisord.logged("HTTP 401"))
        #expect(try supervisord.probe().status == 0)
    }

    @Test func withThePasswordInTheListenersEnvironment() throws {
        let supervisord = try Supervisord(
            start: "exit 4", listenerSettings: ["environment": "SUPERVISOR_USERNAME=\"operator\",SUPERVISOR_PASSWORD=\"s3cret\""],
            server: .passwordProtected)
        #expect(eventually { supervisord.status?["exit_status"] == "4" })
        #expect(!supervisord.output.contains("XML-RPC unusable"))
    }

    /// An [inet_http_server] instead of a unix socket: SUPERVISOR_SERVER_URL is http://127.0.0.1:PORT.
    @Test func overAnInetServer() throws {
        let supervisord = try Supervisord(start: "exit 5", server: .inet(port: Int(TestPorts.unused())))
        #expect(eventually { supervisord.status?["exit_status"] == "5" }, "\(supervisord.output)")
        #expect(!supervisord.output.contains("XML-RPC unusable"))
    }

    /// A server that accepts and never answers: each call gives up after its
    /// timeout, events keep being answered, the state is right.
    @Test func serverThatNeverAnswers() throws {
        let scratch = ScratchDirectory()
        let socket = "\(scratch.path)/hang.sock"
        let server = try Child("\(Paths.venv)/python", ["-c", """
            import socket, sys, time
            s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(16)
            held = []
            while True:
                held.append(s.accept()[0])
            """, socket], stdout: "/dev/null", stderr: "\(scratch.path)/server.err")
        defer { server.stop(grace: 1) }
        #expect(eventually { FileManager.default.fileExists(atPath: socket) })
        let supervisord = try Supervisord(
            start: "exit 3", otherPrograms: 3, listenerSettings: ["environment": "SUPERVISOR_SERVER_URL=\"unix://\(socket)\""])
        let file = try #require(supervisord.waitForState("EXITED", within: 20))
        #expect(file["exit_status"] == "unknown")
        #expect(supervisord.logged("timed out waiting for supervisord's answer"))
        #expect(supervisord.output.components(separatedBy: "XML-RPC unusable").count - 1 == 1)
        #expect(try supervisord.state(of: "readiness_listener") == "RUNNING")
        #expect(try supervisord.probe().status == 101)
    }

    /// buffer_size=1: the burst drops start's events ("overflowed"), and the
    /// periodic reconcile still brings the file to the right final state.
    @Test func tinyBufferLosesEventsButNotTheState() throws {
        let supervisord = try Supervisord(start: "exit 0", otherPrograms: 30, listenerSettings: ["buffer_size": "1"])
        #expect(eventually { supervisord.log.contains("overflowed") })
        _ = try #require(supervisord.waitForState("EXITED", within: 15))
        // The exit status arrives by the next TICK_5 at the latest.
        #expect(eventually(within: 12) { supervisord.status?["exit_status"] == "0" }, "\(supervisord.status?.values ?? [:])")
        #expect(supervisord.status?["expected"] == "1")
        #expect(try supervisord.probe().status == 0)
    }

    /// `supervisorctl reload` restarts everything and drops every buffer: the
    /// file follows the new run, whether start.sh was running or had exited.
    @Test(arguments: [true, false])
    func reloadFollowsTheNewRun(whileRunning: Bool) throws {
        let supervisord = try Supervisord(start: "sleep 2; exit 0")
        if whileRunning {
            _ = try #require(supervisord.waitForState("RUNNING"))
        } else {
            _ = try #require(supervisord.waitForState("EXITED"))
        }
        let before = try #require(supervisord.status)
        _ = try supervisord.ctl("reload")
        // From the moment the reload is heard until the new run exits: never READY.
        #expect(eventually(within: 10) {
            supervisord.status?["supervisord_stopping"] == "1" || supervisord.status?["listener_pid"] != before["listener_pid"]
        })
        var sawNewRun = false
        let codes = try supervisord.probeCodes(until: {
            let file = supervisord.status
            if file?["listener_pid"] != before["listener_pid"] && file?["state"] == "RUNNING" { sawNewRun = true }
            return file?["listener_pid"] != before["listener_pid"] && file?["state"] == "EXITED" && file?["since"] != before["since"]
        })
        #expect(!codes.beforeDone.contains(0), "READY before the new run exited: \(codes.all)")
        #expect(try supervisord.probe().status == 0)
        #expect(sawNewRun, "the new run's RUNNING was never seen")
        let after = try #require(supervisord.status)
        #expect(after["since"] != before["since"])
        // The status comes with supervisord's answer, a turn after the EXITED.
        #expect(eventually { supervisord.status?["exit_status"] == "0" }, "\(supervisord.status?.values ?? [:])")
    }

    /// The listener killed with SIGKILL at random moments while start.sh and 20
    /// other programs change state: once supervisord restarted it, the file
    /// matches `supervisorctl status start`, every round.
    @Test func sigkilledListenerConverges() throws {
        let rounds = Int(ProcessInfo.processInfo.environment["READINESS_KILL_ROUNDS"] ?? "50") ?? 50
        let supervisord = try Supervisord(start: "sleep 0.3; exit 0", otherPrograms: 20, otherProgram: "/bin/sleep 0.2")
        _ = try #require(supervisord.waitForState("EXITED"))
        var generator = SystemRandomNumberGenerator()
        for round in 1...rounds {
            let pid = try #require(supervisord.status?["listener_pid"].flatMap { Int32($0) })
            let burst = try Child("\(Paths.venv)/supervisorctl", ["-c", "\(supervisord.scratch.path)/supervisord.conf", "restart", "start"] + (1...20).map { "other\($0)" },
                                  stdout: "/dev/null", stderr: "/dev/null")
            Thread.sleep(forTimeInterval: Double.random(in: 0...0.4, using: &generator))
            kill(pid, SIGKILL)
            burst.wait()
            let converged = eventually(within: 15) {
                guard let file = supervisord.status, file["listener_pid"] != "\(pid)",
                    let state = try? supervisord.state(of: "start"), state == "EXITED" || state == "RUNNING"
                else { return false }
                return file["state"] == state
            }
            #expect(converged, "round \(round): file \(supervisord.status?.values ?? [:]) vs \((try? supervisord.state(of: "start")) ?? "?")")
            if !converged { break }
        }
        #expect(eventually(within: 15) { supervisord.status?["state"] == "EXITED" && supervisord.status?["exit_status"] == "0" })
        #expect(!supervisord.log.contains("UNKNOWN"))
    }
}
