import Foundation
import Testing

/// Essential programs (`--essential`) under a real supervisord: the listener
/// records an essential program's end, logs it and shuts supervisord down
/// gracefully; and does nothing when there is nothing to do.
@Suite(.serialized) struct EssentialProgramTests {
    /// The essential program `app` exits 3 at once; startsecs=5 makes that a
    /// failed start (even on a loaded machine), retried until FATAL.
    static func crashingApp(settings: [String: String] = [:]) -> Supervisord.Program {
        Supervisord.Program(
            name: "app", script: "exit 3",
            settings: ["startsecs": "5", "startretries": "2", "autorestart": "false"].merging(settings) { $1 })
    }

    static let stopWaitSeconds = 3.0

    /// Everything a graceful shutdown for `app` leaves behind: the failure
    /// recorded while supervisord ran, then supervisord gone with status 0
    /// by the listener's step (`shutdown`), probe 107 seen meanwhile, every
    /// other program stopped by SIGTERM and none killed, the error line
    /// logged. (How long it took is not asserted: that is speed, and a loaded
    /// machine stretches it.)
    func expectGracefulShutdown(_ supervisord: Supervisord, state: String, shutdown: String) throws {
        var recorded = false
        var probe107: Completed?
        #expect(eventually(within: 60) {
            if !recorded, supervisord.status?["essential_failure"] == "app:app" { recorded = true }
            if recorded, probe107 == nil, supervisord.process.isRunning, let probe = try? supervisord.probe(), probe.status == 107 {
                probe107 = probe
            }
            return !supervisord.process.isRunning
        })
        #expect(recorded, "the failure was not recorded while supervisord ran")
        #expect(supervisord.process.exitStatus == 0)
        let probe = try #require(probe107, "the probe never answered 107 while supervisord was stopping")
        #expect(probe.stderr.hasPrefix("not ready: 107 ESSENTIAL_DOWN: "))
        #expect(probe.stderr.contains("app:app"))
        let status = try #require(supervisord.status)
        #expect(status["essential_state"] == state)
        #expect(status["essential_shutdown"] == shutdown)
        let stops = supervisord.stops
        #expect(stops.contains("other1 got TERM") && stops.contains("other2 got TERM"), "\(stops)")
        #expect(!supervisord.log.contains("with SIGKILL"), "\(supervisord.log)")
        #expect(supervisord.logged("level=error msg=\"essential program ended, shutting supervisord down\" program=app:app state=\(state)"),
                "\(supervisord.output)")
    }

    /// Two programs that log their SIGTERM; one takes a second to stop.
    /// (supervisord stops groups one after the other, so their times add up.)
    static let others = [
        Supervisord.trapping("other1", stopSeconds: 1, settings: ["stopwaitsecs": "\(Int(stopWaitSeconds))"]),
        Supervisord.trapping("other2", stopSeconds: 0, settings: ["stopwaitsecs": "\(Int(stopWaitSeconds))"]),
    ]

    @Test func fatalEssentialShutsSupervisordDown() throws {
        let supervisord = try Supervisord(
            start: "exit 0", programs: [Self.crashingApp()] + Self.others, listenerArguments: "--essential app")
        try expectGracefulShutdown(supervisord, state: "FATAL", shutdown: "requested")
        #expect(supervisord.logged("asked supervisord to shut down (supervisor.shutdown)"))
    }

    @Test(arguments: [false, true])
    func expectedExit(anyExit: Bool) throws {
        let app = Supervisord.Program(name: "app", script: "sleep 1; exit 0", settings: ["startsecs": "0", "autorestart": "false"])
        let supervisord = try Supervisord(
            start: "exit 0", programs: [app] + Self.others, listenerArguments: "--essential app" + (anyExit ? " --essential-exit=any" : ""))
        if anyExit {
            try expectGracefulShutdown(supervisord, state: "EXITED", shutdown: "requested")
            #expect(supervisord.status?["essential_expected"] == "1")
            #expect(supervisord.status?["essential_exit_status"] == "0")
        } else {
            try expectNothingHappens(supervisord, after: { (try? supervisord.state(of: "app")) == "EXITED" })
        }
    }

    /// A non-essential program's FATAL and `supervisorctl stop` of an essential one.
    @Test func nonEssentialFatalAndStoppingAnEssentialDoNothing() throws {
        let broken = Supervisord.Program(name: "broken", script: "exit 3", settings: ["startsecs": "5", "startretries": "0", "autorestart": "false"])
        let supervisord = try Supervisord(
            start: "exit 0", programs: [broken, Supervisord.trapping("app")] + Self.others, listenerArguments: "--essential app --essential other1")
        try expectNothingHappens(supervisord, after: {
            guard (try? supervisord.state(of: "broken")) == "FATAL", (try? supervisord.state(of: "app")) == "RUNNING" else { return false }
            return (try? supervisord.ctl("stop", "app"))?.stdout.contains("app: stopped") == true
        })
        #expect(supervisord.stops.contains("app got TERM"))
        #expect(try supervisord.state(of: "app") == "STOPPED")
    }

    /// Waits for `condition`, then past a TICK_5 (whose reconcile would find a
    /// missed end too): supervisord still runs, nothing is recorded or logged.
    func expectNothingHappens(_ supervisord: Supervisord, after condition: () -> Bool) throws {
        let happened = eventually(within: 30, condition)
        #expect(happened)
        #expect(supervisord.handledATick(after: Date()))
        #expect(supervisord.process.isRunning)
        #expect(supervisord.status?["essential_failure"] == "none")
        #expect(try supervisord.probe().status == 0)
        #expect(!supervisord.output.contains("essential program ended"), "\(supervisord.output)")
        #expect(supervisord.stops.contains("other1 started") && !supervisord.stops.contains("other1 got TERM"))
    }

    @Test func withoutXMLRPCSupervisordGetsSIGTERM() throws {
        let supervisord = try Supervisord(
            start: "exit 0", server: .none, programs: [Self.crashingApp()] + Self.others, listenerArguments: "--essential app:app")
        try expectGracefulShutdown(supervisord, state: "FATAL", shutdown: "signaled")
        #expect(supervisord.logged("supervisor.shutdown failed, sending SIGTERM to supervisord instead"))
        #expect(supervisord.logged("msg=\"sent SIGTERM to supervisord\" supervisord_pid=\(supervisord.process.pid)"))
    }

    /// supervisord's own interface, with shutdown refused as it is while
    /// supervisord is already stopping (SHUTDOWN_STATE).
    static let refusingShutdown = """
        from supervisor.rpcinterface import SupervisorNamespaceRPCInterface
        from supervisor.xmlrpc import Faults, RPCError

        class RefusingShutdown(SupervisorNamespaceRPCInterface):
            def shutdown(self):
                raise RPCError(Faults.SHUTDOWN_STATE)

        def make(supervisord, **config):
            return RefusingShutdown(supervisord)
        """

    @Test func aFaultingShutdownFallsBackToSIGTERM() throws {
        let supervisord = try Supervisord(
            start: "exit 0", programs: [Self.crashingApp()] + Self.others, listenerArguments: "--essential app:*",
            rpcInterfaceModule: Self.refusingShutdown)
        try expectGracefulShutdown(supervisord, state: "FATAL", shutdown: "signaled")
        #expect(supervisord.logged("error=\"XML-RPC fault 6: SHUTDOWN_STATE\""), "\(supervisord.output)")
    }

    /// The listener is SIGKILLed after recording the failure, before shutting
    /// down (READINESS_TEST_SHUTDOWN_DELAY_MS, in the debug build only, holds
    /// it there): supervisord restarts it, and the new one finishes the
    /// shutdown from the record.
    @Test func aListenerKilledBeforeShuttingDownIsReplacedAndFinishes() throws {
        let supervisord = try Supervisord(
            start: "exit 0", listenerSettings: ["environment": "READINESS_TEST_SHUTDOWN_DELAY_MS=\"3000\""],
            programs: [Self.crashingApp()] + Self.others, listenerArguments: "--essential app", listenerBinary: Paths.debugListener)
        #expect(eventually(within: 60) { supervisord.status?["essential_shutdown"] == "pending" })
        let first = try #require(supervisord.status?["listener_pid"].flatMap { pid_t($0) })
        // Readiness is withdrawn before anything is stopped.
        #expect(try supervisord.probe().status == 107)
        #expect(!supervisord.stops.contains("got TERM"))
        kill(first, SIGKILL)
        #expect(supervisord.process.wait(seconds: 60) == 0)
        let status = try #require(supervisord.status)
        #expect(status["essential_failure"] == "app:app")
        #expect(status["essential_shutdown"] == "requested")
        #expect(status["listener_pid"] != "\(first)")
        #expect(supervisord.logged("resuming the shutdown for an essential program's end recorded before a restart"))
        #expect(supervisord.stops.contains("other1 got TERM") && supervisord.stops.contains("other2 got TERM"))
        #expect(!supervisord.log.contains("with SIGKILL"), "supervisord killed a program that did not stop in time")
    }

    /// buffer_size=1 and bursts of 30 other programs' events: the essential
    /// program's end is likely dropped by an overflow, at start-up (a missing
    /// command: FATAL at once) or later (it exits 3 along with the 30 others,
    /// 2 s in); the reconcile at start-up or on TICK_5 still finds it.
    @Test(arguments: [true, false])
    func anEndLostToAnOverflowIsHealed(atStartUp: Bool) throws {
        let app = atStartUp
            ? Supervisord.Program(name: "app", script: "", settings: ["command": "/nonexistent/app", "startretries": "0", "priority": "1"])
            : Supervisord.Program(name: "app", script: "sleep 2; exit 3", settings: ["startsecs": "0", "autorestart": "false"])
        let supervisord = try Supervisord(
            start: "exit 0", otherPrograms: 30, listenerSettings: ["buffer_size": "1"],
            otherProgram: atStartUp ? "/bin/sleep 60" : "/bin/sleep 2", programs: [app], listenerArguments: "--essential app")
        #expect(supervisord.process.wait(seconds: 60) == 0)
        #expect(supervisord.log.contains("overflowed"))
        let status = try #require(supervisord.status)
        #expect(status["essential_failure"] == "app:app")
        #expect(status["essential_state"] == (atStartUp ? "FATAL" : "EXITED"))
        if atStartUp {
            #expect(status["essential_spawn_error"]?.contains("can't find command") == true, "\(status.values)")
        } else {
            #expect(status["essential_exit_status"] == "3")
        }
        #expect(status["essential_shutdown"] == "requested")
    }

    /// 1,000 processes (`numprocs=1000`): getAllProcessInfo's answer, over a
    /// MiB, is read whole. The essential `many:many_0999` is SIGKILLed while
    /// the listener is stopped, and its EXITED is pushed out of the pool's
    /// 1,024-event buffer by the other 999 stopping: only a reconcile can
    /// find the end in that answer, the restarted listener's at start-up
    /// (or, when supervisord beside a CPU hog answers past the 5 s bound,
    /// at a TICK).
    @Test func aThousandProcessesAreReconciled() throws {
        let marker = ProbeHookLifecycleTests.marker()
        let many = Supervisord.Program(name: "many", script: "", settings: [
            "command": "/bin/sleep \(marker)", "numprocs": "1000", "process_name": "%(program_name)s_%(process_num)04d",
            "startsecs": "0", "autostart": "true", "autorestart": "false", "exitcodes": "0",
        ])
        let supervisord = try Supervisord(start: "exit 0", programs: [many], listenerArguments: "--essential many:many_0999")
        defer {
            supervisord.stop()
            processes(containing: marker).forEach { kill($0, SIGKILL) }
        }
        var running = 0
        _ = try eventually(within: 120, every: 1) {
            running = try supervisord.ctl("status", "many:*").stdout.components(separatedBy: " RUNNING ").count - 1
            return running == 1000
        }
        try #require(running == 1000, "supervisord started \(running) of 1000 processes within 120 s")
        _ = try supervisord.ctl("stop", "readiness_listener")
        let pid = try #require(pid_t(try supervisord.ctl("pid", "many:many_0999").stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(pid, SIGKILL)
        #expect(eventually(within: 30) { (try? supervisord.state(of: "many:many_0999")) == "EXITED" })
        let overflows = { supervisord.log.components(separatedBy: "readiness_listener event buffer overflowed").count }
        let overflowsBefore = overflows()
        _ = try supervisord.ctl("stop", "many:*")
        #expect(overflows() > overflowsBefore + 900, "the stops pushed the buffer's oldest events out")
        _ = try supervisord.ctl("start", "readiness_listener")
        #expect(eventually(within: 60) { supervisord.status?["essential_failure"] == "many:many_0999" }, "\(supervisord.output)")
        #expect(supervisord.status?["essential_state"] == "EXITED")
        // supervisord relays the listener's stderr in its own loop, after the file is written.
        let byReconcile = ["learnt_from=start-up", "learnt_from=tick"]
        #expect(eventually(within: 10) { byReconcile.contains { supervisord.output.contains($0) } }, "\(supervisord.output)")
        #expect(supervisord.logged("msg=\"essential program ended, shutting supervisord down\" program=many:many_0999 state=EXITED"))
        #expect(!supervisord.output.contains("larger than"), "\(supervisord.output)")
        #expect(supervisord.process.wait(seconds: 120) == 0, "supervisord stops its 1,000 processes and exits")
    }

    /// A dry run records and logs, and leaves supervisord and readiness alone.
    @Test func dryRun() throws {
        let supervisord = try Supervisord(
            start: "exit 0", programs: [Self.crashingApp()] + Self.others, listenerArguments: "--essential app --essential-dry-run")
        #expect(eventually(within: 60) { supervisord.status?["essential_shutdown"] == "dry_run" })
        let verbose = try supervisord.probe(["--verbose"])
        #expect((verbose.stdout + verbose.stderr).contains("essential: supervisord could not start essential program app:app (FATAL)"))
        #expect(try supervisord.probe(["--json"]).stdout.contains("\"shutdown\":\"dry_run\""))
        #expect(supervisord.handledATick(after: Date()))
        #expect(supervisord.process.isRunning)
        #expect(supervisord.logged("level=error msg=\"essential program ended; dry run, supervisord is NOT shut down\" program=app:app state=FATAL"))
        #expect(try supervisord.probe().status == 0)
        #expect(!supervisord.stops.contains("got TERM"))
    }

    @Test(arguments: [
        (["--essential", "a:b:c"], "--essential takes NAME, GROUP:NAME or GROUP:*, not \"a:b:c\""),
        (["--essential", "a", "--essential-exit", "sometimes"], "--essential-exit takes unexpected or any, not sometimes"),
        (["--essential-dry-run"], "--essential-exit and --essential-dry-run need at least one --essential"),
        (["--essential"], "option --essential needs a value"),
    ])
    func badEssentialArguments(arguments: [String], message: String) throws {
        let result = try run(Paths.listener, arguments)
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("readiness_listener: \(message)\n"))
        #expect(result.stdout.isEmpty)
    }
}
