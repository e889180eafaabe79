import Foundation
import Testing

/// `--start-after` against a real supervisord: programs started in
/// dependency order, each only once what it waits for holds, with
/// supervisord's own log as the witness.
@Suite(.serialized) struct StartOrderIntegrationTests {
    /// The offset of `line` in supervisord's log, for ordering; nil when absent.
    func position(of line: String, in log: String) -> Int? {
        log.range(of: line).map { log.distance(from: log.startIndex, to: $0.lowerBound) }
    }

    /// The SONiC shape: start.sh prepares; redis (a notify service) waits for
    /// start:exited; the app waits for redis:ready, and finds redis
    /// answering when it starts.
    @Test func programsStartInOrderOnTrueReadiness() throws {
        let port = TestPorts.unused()
        let supervisord = try Supervisord(
            start: Self.waitForGoStart,
            programs: [
                Notifier.program("redis", ["wait:@SCRATCH@/go-redis", "listen:\(port)", "READY=1", "forever"]),
                // It connects to redis as it starts, as an app does.
                Supervisord.Program(name: "app", script: """
                    if \(Paths.venv)/python3 -c "import socket; socket.create_connection(('127.0.0.1', \(port)), 1)"
                    then echo answered > @SCRATCH@/app-saw; else echo refused > @SCRATCH@/app-saw; fi
                    exec sleep 600
                    """, settings: ["autostart": "false", "startsecs": "0", "autorestart": "false"]),
            ],
            listenerArguments: Notifier.arguments("redis=notify") + " --start-after redis=start:exited --start-after app=redis:ready")
        let scratch = supervisord.scratch.path
        #expect(supervisord.probeSays("not ready: 100 START_PENDING: program start is RUNNING, not finished yet"))
        #expect(try supervisord.state(of: "redis") == "STOPPED")
        #expect(try supervisord.state(of: "app") == "STOPPED")
        #expect(supervisord.status?["start_after"] == "redis:redis started=0 after=start:exited holds=0 detail=program redis is waiting for start:exited (start is RUNNING)")

        #expect(FileManager.default.createFile(atPath: "\(scratch)/go-start", contents: nil))
        #expect(supervisord.probeSays("not ready: 116 WAITING_TO_START: program app is waiting for redis:ready (redis is RUNNING, not ready yet)"))
        #expect(try supervisord.state(of: "app") == "STOPPED")
        #expect(supervisord.logged("msg=\"started program: every condition it waits for holds\" program=redis:redis"))
        #expect(try supervisord.probeLine(["--verbose"]).contains(
            "\nstart after: app:app = redis:ready; holds 0; program app is waiting for redis:ready (redis is RUNNING, not ready yet)\n"))
        // In supervisord's order.
        #expect(try supervisord.probeLine(["--json"]).contains(
            "\"start_after\":[{\"process\":\"app:app\",\"after\":\"redis:ready\",\"holds\":\"0\",\"started\":false,\"detail\":\"program app is waiting for redis:ready (redis is RUNNING, not ready yet)\"},{\"process\":\"redis:redis\",\"after\":\"start:exited\",\"holds\":null,\"started\":true,\"detail\":null}]"))

        #expect(FileManager.default.createFile(atPath: "\(scratch)/go-redis", contents: nil))
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; 1 service ready; no hook"))
        #expect(supervisord.logged("msg=\"started program: every condition it waits for holds\" program=app:app"))
        #expect(eventually(within: 10) { FileManager.default.fileExists(atPath: "\(scratch)/app-saw") })
        #expect(try String(contentsOfFile: "\(scratch)/app-saw", encoding: .utf8) == "answered\n")
        // supervisord's log: each spawned after what it waited for.
        let log = supervisord.log
        let startExited = try #require(position(of: "exited: start (exit status 0; expected)", in: log))
        let redisSpawned = try #require(position(of: "spawned: 'redis'", in: log))
        let redisRunning = try #require(position(of: "success: redis entered RUNNING", in: log))
        let appSpawned = try #require(position(of: "spawned: 'app'", in: log))
        #expect(startExited < redisSpawned)
        #expect(redisRunning < appSpawned)
        #expect(log.components(separatedBy: "spawned: 'app'").count == 2)
    }

    @Test func aFailedDependencyStartsNothingAndTheProbeSaysWhy() throws {
        let supervisord = try Supervisord(
            start: "exit 3",
            programs: [
                Self.fatalRedis,
                Self.waiting("app"),
                Self.waiting("web"),
            ],
            listenerArguments: "--start-after app=redis:running --start-after web=start:exited")
        #expect(supervisord.probeSays("not ready: 101 START_FAILED: program start exited with status 3"))
        #expect(supervisord.logged("level=error msg=\"a dependency failed: the program is not started until it recovers\" program=web:web why=\"program web is waiting for start:exited (start exited unexpectedly, Bad exit code 3)\""))
        #expect(supervisord.logged("level=error msg=\"a dependency failed: the program is not started until it recovers\" program=app:app why=\"program app is waiting for redis:running (redis is FATAL: Exited too quickly (process log may have details))\""))
        // start.sh is fixed and run again: web starts; app still waits for the FATAL redis.
        _ = supervisord.scratch.script("start.sh", "#!/bin/sh\nexit 0\n")
        _ = try supervisord.ctl("start", "start")
        #expect(supervisord.probeSays("not ready: 116 WAITING_TO_START: program app is waiting for redis:running (redis is FATAL: Exited too quickly (process log may have details))"))
        #expect(eventually(within: 10) { (try? supervisord.state(of: "web")) == "RUNNING" })
        #expect(try supervisord.state(of: "app") == "STOPPED")
        #expect(try supervisord.probeLine(["--explain"]).contains("next: the line names the program, the condition it waits for and that dependency's state"))
    }

    /// A program supervisord cannot start: FATAL after its one try.
    static let fatalRedis = Supervisord.Program(name: "redis", script: "exit 1", settings: ["startsecs": "1", "startretries": "0", "autorestart": "false"])

    /// A long-running program that waits for the listener to start it.
    static func waiting(_ name: String) -> Supervisord.Program {
        Supervisord.Program(name: name, script: "exec sleep 600", settings: ["autostart": "false", "startsecs": "0"])
    }

    /// start.sh, in the scratch directory, until `go-start` appears beside it.
    static let waitForGoStart = "while [ ! -e \"$(dirname \"$0\")/go-start\" ]; do sleep 0.05; done; exit 0"

    /// Killed (-9) mid-start-up and again once all started, the restarted
    /// listener starts what still waits, and nothing a second time.
    @Test func aKilledListenerNeitherStartsTwiceNorForgets() throws {
        // Oneshots: a second startProcess would run one again (a line more).
        let supervisord = try Supervisord(
            start: Self.waitForGoStart,
            programs: [
                Supervisord.Program(name: "first", script: "echo first >> @SCRATCH@/runs; exit 0", settings: ["autostart": "false", "startsecs": "0", "autorestart": "false"]),
                Supervisord.Program(name: "second", script: "echo second >> @SCRATCH@/runs; exit 0", settings: ["autostart": "false", "startsecs": "0", "autorestart": "false"]),
            ],
            listenerArguments: "--start-after first=start:exited --start-after second=first:exited")
        let scratch = supervisord.scratch.path
        let runs = "\(scratch)/runs"
        #expect(supervisord.probeSays("not ready: 100 START_PENDING: program start is RUNNING, not finished yet"))
        let listener = try #require(try supervisord.pid(of: "readiness_listener"))
        kill(pid_t(listener), SIGKILL)
        #expect(eventually(within: 20) { (try? supervisord.pid(of: "readiness_listener")).flatMap { $0 }.map { $0 != listener } == true })
        #expect(FileManager.default.createFile(atPath: "\(scratch)/go-start", contents: nil))
        #expect(eventually(within: 20) { (try? String(contentsOfFile: runs, encoding: .utf8)) == "first\nsecond\n" })
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        let restarted = try #require(try supervisord.pid(of: "readiness_listener"))
        kill(pid_t(restarted), SIGKILL)
        #expect(eventually(within: 20) { (try? supervisord.pid(of: "readiness_listener")).flatMap { $0 }.map { $0 != restarted } == true })
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        #expect(try supervisord.listenerSitsIdle())
        #expect((try? String(contentsOfFile: runs, encoding: .utf8)) == "first\nsecond\n")
        #expect(supervisord.log.components(separatedBy: "spawned: 'first'").count == 2)
        #expect(supervisord.log.components(separatedBy: "spawned: 'second'").count == 2)
    }

    @Test func anEssentialProgramThatCannotStartEndsTheContainer() throws {
        // The probe must see 107 while supervisord still stops `other`: a
        // window that a loaded machine's slower probes need wider.
        let stop = Int(Slowness.scaled(2).rounded(.up))
        let supervisord = try Supervisord(
            start: "exit 0",
            programs: [Self.fatalRedis, Self.waiting("app"), Supervisord.trapping("other", stopSeconds: stop, settings: ["stopwaitsecs": "\(stop + 5)"])],
            listenerArguments: "--start-after app=redis:running --essential app")
        var probe107: Completed?
        #expect(eventually(within: 60) {
            if probe107 == nil, supervisord.process.isRunning, let probe = try? supervisord.probe(), probe.status == 107 { probe107 = probe }
            return !supervisord.process.isRunning
        })
        #expect(supervisord.process.exitStatus == 0)
        #expect(probe107?.stderr.hasPrefix("not ready: 107 ESSENTIAL_DOWN: essential program app:app cannot be started: program app is waiting for redis:running (redis is FATAL") == true,
                "\(probe107?.stderr ?? "no 107 seen")")
        #expect(supervisord.status?["essential_state"] == "STOPPED")
        #expect(!supervisord.log.contains("spawned: 'app'"))
        #expect(supervisord.stops.contains("other got TERM"))
        #expect(supervisord.output.contains("level=error msg=\"essential program ended, shutting supervisord down\" program=app:app state=STOPPED"))
    }

    /// A reload starts every program anew: the order runs again, from what
    /// the new generation's supervisord says.
    @Test func aReloadRunsTheOrderAgain() throws {
        let supervisord = try Supervisord(
            start: "exit 0",
            programs: [
                Supervisord.Program(name: "first", script: "echo first >> @SCRATCH@/runs; exec sleep 600", settings: ["autostart": "false", "startsecs": "1"]),
                Supervisord.Program(name: "second", script: "echo second >> @SCRATCH@/runs; exec sleep 600", settings: ["autostart": "false", "startsecs": "0"]),
            ],
            listenerArguments: "--start-after first=start:exited --start-after second=first:running")
        let runs = "\(supervisord.scratch.path)/runs"
        #expect(eventually(within: 20) { (try? String(contentsOfFile: runs, encoding: .utf8)) == "first\nsecond\n" })
        _ = try supervisord.ctl("reload")
        #expect(eventually(within: 30) { (try? String(contentsOfFile: runs, encoding: .utf8)) == "first\nsecond\nfirst\nsecond\n" })
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        #expect(try supervisord.listenerSitsIdle())
        #expect((try? String(contentsOfFile: runs, encoding: .utf8)) == "first\nsecond\nfirst\nsecond\n")
    }

    /// redis (autostarted) and app (started by the listener, each run
    /// appended to the returned file), after a start.sh that exits 0.
    static func redisAndApp(listenerArguments: String) throws -> (Supervisord, runs: String) {
        let supervisord = try Supervisord(
            start: "exit 0",
            programs: [
                Supervisord.Program(name: "redis", script: "exec sleep 600", settings: ["startsecs": "1"]),
                Supervisord.Program(name: "app", script: "echo run >> @SCRATCH@/app-runs; exec sleep 600", settings: ["autostart": "false", "startsecs": "0"]),
            ],
            listenerArguments: listenerArguments)
        return (supervisord, "\(supervisord.scratch.path)/app-runs")
    }

    /// `--restart-dependents`: a restart of redis stops the app and starts it
    /// again once redis runs again; without it the app is left alone.
    @Test(arguments: [true, false]) func restartDependentsFollowsTheDependencysRestart(restart: Bool) throws {
        let (supervisord, runs) = try Self.redisAndApp(listenerArguments: "--start-after app=redis:running" + (restart ? " --restart-dependents" : ""))
        #expect(eventually(within: 20) { (try? String(contentsOfFile: runs, encoding: .utf8)) == "run\n" })
        _ = try supervisord.ctl("restart", "redis")
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        if restart {
            #expect(eventually(within: 20) { (try? String(contentsOfFile: runs, encoding: .utf8)) == "run\nrun\n" })
            #expect(supervisord.logged("msg=\"stopped program: a dependency stopped; it starts again once its conditions hold (--restart-dependents)\" program=app:app"))
            let log = supervisord.log
            let redisAgain = try #require(log.range(of: "success: redis entered RUNNING", options: .backwards))
            let appAgain = try #require(log.range(of: "spawned: 'app'", options: .backwards))
            #expect(redisAgain.lowerBound < appAgain.lowerBound, "\(log)")
            #expect(log.contains("stopped: app"))
        } else {
            #expect(try supervisord.listenerSitsIdle())
            #expect((try? String(contentsOfFile: runs, encoding: .utf8)) == "run\n")
            #expect(try supervisord.state(of: "app") == "RUNNING")
        }
    }

    /// The listener is replaced while a program it stopped with its
    /// dependency is down, and the events of the dependency's new run are
    /// lost with the old event pool (an `update` of the listener's own
    /// section): nothing is left to stop, and only the status file
    /// (`started=restart`) tells the new listener that the program waits.
    @Test func aListenerReplacedAfterTheDependencyRanAgainStartsWhatItStopped() throws {
        let (supervisord, runs) = try Self.redisAndApp(listenerArguments: "--start-after app=redis:running --restart-dependents")
        #expect(eventually(within: 20) { (try? String(contentsOfFile: runs, encoding: .utf8)) == "run\n" })
        _ = try supervisord.ctl("stop", "redis")
        #expect(eventually(within: 20) { (try? supervisord.state(of: "app")) == "STOPPED" })
        #expect(supervisord.logged("msg=\"stopped program: a dependency stopped; it starts again once its conditions hold (--restart-dependents)\" program=app:app"))
        _ = try supervisord.ctl("stop", "readiness_listener")
        _ = try supervisord.ctl("start", "redis")
        #expect(try supervisord.state(of: "redis") == "RUNNING")
        let conf = "\(supervisord.scratch.path)/conf.d/readiness_listener.conf"
        _ = supervisord.scratch.write(
            "conf.d/readiness_listener.conf", Supervisord.override(try String(contentsOfFile: conf, encoding: .utf8), ["stopwaitsecs": "6"]))
        let update = try supervisord.ctl("update")
        #expect(update.stdout.contains("readiness_listener: updated process group"), "\(update.stdout)")
        #expect(eventually(within: 20) { (try? String(contentsOfFile: runs, encoding: .utf8)) == "run\nrun\n" })
        let log = supervisord.log
        let listenerAgain = try #require(log.range(of: "spawned: 'readiness_listener'", options: .backwards))
        let appAgain = try #require(log.range(of: "spawned: 'app'", options: .backwards))
        #expect(listenerAgain.lowerBound < appAgain.lowerBound, "\(log)")
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
    }

    @Test func aProgramWhoseConditionsNeverHoldIsGivenUpOnAtTheTimeout() throws {
        let supervisord = try Supervisord(
            start: Self.waitForGoStart,
            programs: [Self.waiting("app")],
            listenerArguments: "--start-after app=start:exited --start-timeout 1")
        let gaveUp = "program app was given up on (--start-timeout): it waited for start:exited (start is RUNNING)"
        #expect(supervisord.logged("level=error msg=\"gave up on a program whose conditions did not hold within --start-timeout: it is not started\" program=app:app why=\"\(gaveUp)\"", within: 20))
        #expect(FileManager.default.createFile(atPath: "\(supervisord.scratch.path)/go-start", contents: nil))
        #expect(supervisord.probeSays("not ready: 116 WAITING_TO_START: \(gaveUp)"))
        #expect(try supervisord.listenerSitsIdle())
        #expect(try supervisord.state(of: "app") == "STOPPED")
    }

    @Test func cyclesAndUnknownProgramsAreRefused() throws {
        let cycle = try Supervisord(
            start: "exit 0", listenerSettings: ["startretries": "0"],
            programs: [
                Supervisord.Program(name: "a", script: "exec sleep 600", settings: ["autostart": "false"]),
                Supervisord.Program(name: "b", script: "exec sleep 600", settings: ["autostart": "false"]),
            ],
            listenerArguments: "--start-after a=b:ready --start-after b=a:exited")
        #expect(cycle.logged("readiness_listener: --start-after would wait for ever, cycle: a → b → a", within: 20))
        #expect(eventually(within: 20) { cycle.log.contains("exited: readiness_listener (exit status 64; not expected)") })
        let unknown = try Supervisord(
            start: "exit 0", listenerSettings: ["startretries": "0"],
            programs: [Supervisord.Program(name: "app", script: "exec sleep 600", settings: ["autostart": "false"])],
            listenerArguments: "--start-after app=ghost:ready")
        #expect(unknown.logged("level=error msg=\"supervisord has no program ghost (--start-after app=ghost:ready)\"", within: 20))
        #expect(eventually(within: 20) { unknown.log.contains("exited: readiness_listener (exit status 64; not expected)") })
        #expect(try unknown.state(of: "app") == "STOPPED")
    }

    /// supervisord's own configuration, read over getAllConfigInfo (whose
    /// structs hold the `exitcodes` array): a program it starts by itself
    /// is refused; a dependent whose group it would stop no sooner than the
    /// dependency's at shutdown is warned about, with the priority to set.
    @Test func anAutostartedProgramIsRefusedAndTheShutdownOrderIsChecked() throws {
        let autostarted = try Supervisord(
            start: "exit 0", listenerSettings: ["startretries": "0"],
            programs: [
                Supervisord.Program(name: "redis", script: "exec sleep 600", settings: ["priority": "20", "exitcodes": "0,2"]),
                Supervisord.Program(name: "app", script: "exec sleep 600", settings: ["priority": "10"]),
            ],
            listenerArguments: "--start-after app=redis:running")
        #expect(autostarted.logged(
            "level=error msg=\"program under --start-after is autostart=true: supervisord would start it without waiting\" program=app:app start_after=\"app=redis:running\" fix=\"autostart=false in its section\"",
            within: 20))
        #expect(autostarted.logged(
            "level=warning msg=\"at shutdown supervisord stops this group no sooner than its dependency's (groups go by descending priority)\" group=app priority=10 dependency_group=redis dependency_priority=20 fix=\"priority=21 or more in the group's section\"",
            within: 20))
        #expect(eventually(within: 20) { autostarted.log.contains("exited: readiness_listener (exit status 64; not expected)") })

        let ordered = try Supervisord(
            start: "exit 0",
            programs: [
                Supervisord.Program(name: "redis", script: "exec sleep 600", settings: ["priority": "20"]),
                Supervisord.Program(name: "app", script: "exec sleep 600", settings: ["priority": "30", "autostart": "false"]),
            ],
            listenerArguments: "--start-after app=redis:running")
        #expect(eventually(within: 20) { (try? ordered.state(of: "app")) == "RUNNING" })
        #expect(!ordered.output.contains("level=warning"))
        #expect(!ordered.output.contains("level=error"))
    }

    /// dependent-startup's README example ("Ping example") with its keys as
    /// written, in one file per program under supervisord's [include]; only
    /// the listener's section differs, and the pings need no network here.
    /// supervisord's configuration is found from its command line.
    @Test func dependentStartupsReadmeExampleStartsInItsOrder() throws {
        let readme = ["redirect_stderr": "true", "autostart": "false", "startsecs": "0", "dependent_startup": "true"]
        func program(_ name: String, _ script: String, _ settings: [String: String] = [:]) -> Supervisord.Program {
            Supervisord.Program(name: name, script: script, settings: readme.merging(settings) { $1 })
        }
        let supervisord = try Supervisord(
            start: "exit 0",
            programs: [
                program("ping", "exit 0"),
                program("ping2", "exit 0", ["dependent_startup_wait_for": "sleep:running"]),
                program("ping3", "exit 0", ["dependent_startup_wait_for": "ping2:exited"]),
                program("sleep", "exec sleep 600", ["autorestart": "true", "startsecs": "2", "dependent_startup_wait_for": "ping:exited"]),
            ],
            listenerArguments: "--dependent-startup")
        #expect(eventually(within: 30) { supervisord.log.contains("exited: ping3 (exit status 0; expected)") })
        let log = supervisord.log
        let order = try [
            "spawned: 'ping'", "exited: ping (exit status 0; expected)", "spawned: 'sleep'", "success: sleep entered RUNNING",
            "spawned: 'ping2'", "exited: ping2 (exit status 0; expected)", "spawned: 'ping3'",
        ].map { try #require(position(of: $0, in: log), "\($0) in \(log)") }
        #expect(order == order.sorted())
        for name in ["ping", "sleep", "ping2", "ping3"] { #expect(log.components(separatedBy: "spawned: '\(name)'").count == 2) }
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        #expect(supervisord.logged("msg=\"read supervisord-dependent-startup's settings\""))
        #expect(supervisord.logged("rules=\"ping= ping2=sleep:running ping3=ping2:exited sleep=ping:exited\""))
    }

    /// A program in a `[group:]` and one with its own `process_name` are
    /// named as supervisord names their processes, and `%(ENV_NAME)s` in a
    /// wait is the listener's environment, as for dependent-startup.
    @Test func dependentStartupNamesGroupedProgramsAsSupervisordDoes() throws {
        let keys = ["autostart": "false", "dependent_startup": "true", "startsecs": "1"]
        let supervisord = try Supervisord(
            start: "exit 0", listenerSettings: ["environment": "FIRST=\"db\""],
            programs: [
                Supervisord.Program(name: "db", script: "exec sleep 600", settings: keys.merging(["process_name": "%(program_name)s_%(process_num)02d"]) { $1 }),
                Supervisord.Program(name: "web", script: "exec sleep 600", settings: keys.merging(["dependent_startup_wait_for": "%(ENV_FIRST)s:running"]) { $1 }),
            ],
            listenerArguments: "--dependent-startup", extraConfig: "[group:g]\nprograms=db,web\n")
        #expect(eventually(within: 30) { supervisord.log.contains("success: web entered RUNNING") })
        let log = supervisord.log
        let order = try ["spawned: 'db_00'", "success: db_00 entered RUNNING", "spawned: 'web'"].map { try #require(position(of: $0, in: log), "\($0) in \(log)") }
        #expect(order == order.sorted())
        #expect(supervisord.logged("rules=\"g:db_00= g:web=g:db_00:running\""))
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
    }

    /// dependent-startup's `exited` meant any exit: here it is an expected
    /// one, so a failed ping starts nothing after it and the probe says so.
    /// States with no meaning here, and a configuration that is not there,
    /// are refused at start-up.
    @Test func dependentStartupWaitsForAnExpectedExitAndRefusesWhatItCannotMean() throws {
        let failed = try Supervisord(
            start: "exit 0",
            programs: [
                Supervisord.Program(name: "ping", script: "exit 3", settings: ["autostart": "false", "startsecs": "0", "autorestart": "false", "dependent_startup": "true"]),
                Supervisord.Program(name: "sleep", script: "exec sleep 600", settings: [
                    "autostart": "false", "dependent_startup": "true", "dependent_startup_wait_for": "ping:exited",
                ]),
            ],
            listenerArguments: "--dependent-startup")
        #expect(failed.probeSays("not ready: 116 WAITING_TO_START: program sleep is waiting for ping:exited (ping exited unexpectedly, Bad exit code 3)"))
        #expect(try failed.state(of: "sleep") == "STOPPED")

        let starting = try Supervisord(
            start: "exit 0", listenerSettings: ["startretries": "0"],
            programs: [
                Supervisord.Program(name: "app", script: "exec sleep 600", settings: [
                    "autostart": "false", "dependent_startup": "true", "dependent_startup_wait_for": "start:starting",
                ]),
            ],
            listenerArguments: "--dependent-startup")
        #expect(starting.logged(
            "readiness_listener: [program:app] dependent_startup_wait_for=start:starting: starting has no meaning here: wait for running or exited (or, with --start-after, ready)",
            within: 20))
        #expect(eventually(within: 20) { starting.log.contains("exited: readiness_listener (exit status 64; not expected)") })

        let missing = try Supervisord(start: "exit 0", listenerSettings: ["startretries": "0"], listenerArguments: "--dependent-startup --config @SCRATCH@/none.conf")
        #expect(missing.logged("readiness_listener: --dependent-startup: no file \(missing.scratch.path)/none.conf", within: 20))
        #expect(eventually(within: 20) { missing.log.contains("exited: readiness_listener (exit status 64; not expected)") })

        // A file without dependent_startup=true is the wrong one: nothing would ever start.
        let none = try Supervisord(start: "exit 0", listenerSettings: ["startretries": "0"], listenerArguments: "--dependent-startup")
        let path = none.scratch.path
        #expect(none.logged("readiness_listener: --dependent-startup found no program with dependent_startup=true in \(path)/supervisord.conf, "
            + "\(path)/conf.d/readiness_listener.conf, \(path)/conf.d/start.conf: give supervisord's configuration with --config PATH", within: 20))
        #expect(eventually(within: 20) { none.log.contains("exited: readiness_listener (exit status 64; not expected)") })
    }

    /// An event that lets a program start is answered before the program is
    /// asked about and started: supervisord is not kept waiting for the
    /// RESULT by a start's XML-RPC calls. A stand-in for supervisord's
    /// XML-RPC interface counts, when `startProcess` comes, the RESULTs the
    /// listener has written.
    @Test func anEventIsAnsweredBeforeTheProgramsItLetsStartAreStarted() throws {
        let scratch = ScratchDirectory()
        let (portFile, called, output, errors) = ("\(scratch.path)/port", "\(scratch.path)/called", "\(scratch.path)/out", "\(scratch.path)/err")
        let server = try Child("\(Paths.venv)/python", ["-c", Self.countingServer, portFile, called, output],
                               stdout: "/dev/null", stderr: "\(scratch.path)/server.err")
        defer { server.stop(grace: 1) }
        #expect(eventually { FileManager.default.fileExists(atPath: portFile) })
        let port = try String(contentsOfFile: portFile, encoding: .utf8)
        let input = scratch.write("stdin", [
            ListenerProtocolTests.event(1, "PROCESS_STATE_STARTING", "processname:start groupname:start from_state:STOPPED tries:0"),
            ListenerProtocolTests.event(2, "PROCESS_STATE_RUNNING", "processname:start groupname:start from_state:STARTING pid:9"),
            ListenerProtocolTests.event(3, "PROCESS_STATE_EXITED", "processname:start groupname:start from_state:RUNNING expected:1 pid:9"),
        ].joined())
        var environment = ProcessInfo.processInfo.environment
        environment["SUPERVISOR_SERVER_URL"] = "http://127.0.0.1:\(port)"
        // Standard input stays open a while after the events: at its end the
        // listener exits, and a start still under way is left to the next one.
        let command = Paths.command(Paths.listener).joined(separator: " ")
        let listener = try Child("/bin/sh", ["-c", "(cat \(input); sleep 2) | \(command) --status-file \(scratch.path)/status --start-after app=start:exited"],
                                 stdout: output, stderr: errors, environment: environment)
        defer { listener.stop(grace: 1) }
        #expect(listener.wait(seconds: 20) == 0)
        let log = try String(contentsOfFile: errors, encoding: .utf8)
        #expect(log.contains("msg=\"started program: every condition it waits for holds\" program=app:app"), "\(log)")
        #expect(try String(contentsOfFile: called, encoding: .utf8) == "3 answered")
    }

    /// supervisord's XML-RPC interface for `anEventIsAnsweredBefore…`: start
    /// RUNNING at the listener's start-up, EXITED (status 0) when asked
    /// again; app never started. `startProcess` waits up to half a second
    /// (under the listener's 1 s timeout) for the third RESULT on the
    /// listener's standard output, and writes how many it saw.
    static let countingServer = """
        import os, sys, time
        from xmlrpc.server import SimpleXMLRPCServer
        port_file, called, output = sys.argv[1:4]
        begun = int(time.time())
        asked = []
        def info(name, state, code, pid, start):
            return {"name": name, "group": name, "statename": state, "state": code, "start": start, "stop": 0, "now": int(time.time()),
                    "pid": pid, "exitstatus": 0, "spawnerr": "", "description": "", "logfile": "", "stdout_logfile": "", "stderr_logfile": ""}
        def start_info():
            return info("start", "RUNNING", 20, 9, begun) if not asked else info("start", "EXITED", 100, 0, begun)
        def every():
            answer = [start_info(), info("app", "STOPPED", 0, 0, 0)]
            asked.append(1)
            return answer
        def one(name):
            return start_info() if name.endswith("start") else info("app", "STOPPED", 0, 0, 0)
        def config():
            return [{"name": n, "group": n, "autostart": n == "start", "group_prio": p, "priority": p, "process_prio": p, "command": "/bin/true",
                     "inuse": True, "autorestart": False, "exitcodes": [0], "startsecs": 0, "startretries": 3, "stopsignal": 15,
                     "stopwaitsecs": 10, "killasgroup": False, "stopasgroup": False} for n, p in (("start", 10), ("app", 20))]
        def start(name, wait=True):
            deadline = time.monotonic() + 0.5
            while True:
                with open(output) as file:
                    answered = file.read().count("RESULT 2\\nOK")
                if answered >= 3 or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            with open(called, "w") as file:
                file.write(f"{answered} answered")
            return True
        server = SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)
        for function, name in ((every, "getAllProcessInfo"), (one, "getProcessInfo"), (config, "getAllConfigInfo"), (start, "startProcess")):
            server.register_function(function, "supervisor." + name)
        with open(port_file + ".tmp", "w") as file:
            file.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """
}
