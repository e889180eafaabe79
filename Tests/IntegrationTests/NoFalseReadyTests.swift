import Foundation
import Testing

/// READY is never a lie, against a real supervisord: each case of issue 16,
/// asserted over the whole window (every probe answer in it), not only at
/// the end.
@Suite(.serialized) struct NoFalseReadyTests {
    /// supervisord's own interface, with getProcessInfo answered `delay`
    /// seconds late (below the listener's 1 s bound) while
    /// supervisord goes on running: the live answer is then ahead of the
    /// events queued for the listener. With `trigger`, the first
    /// getProcessInfo that finds the program RUNNING also creates that file,
    /// which the test's start.sh waits for: the program moves on exactly
    /// while the listener waits for the answer.
    static func lateAnswers(delay: Double, trigger: String = "") -> String {
        """
        import os, time
        from supervisor.http import NOT_DONE_YET
        from supervisor.rpcinterface import SupervisorNamespaceRPCInterface

        TRIGGER = '\(trigger)'

        def later(answer, delay):
            deadline = time.time() + delay
            def wait():
                if time.time() < deadline:
                    return NOT_DONE_YET
                return answer()
            wait.delay = 0.05
            return wait

        class LateAnswers(SupervisorNamespaceRPCInterface):
            def getProcessInfo(self, name):
                now = SupervisorNamespaceRPCInterface.getProcessInfo(self, name)
                if TRIGGER and now['statename'] == 'RUNNING' and not os.path.exists(TRIGGER):
                    open(TRIGGER, 'w').close()
                return later(lambda: SupervisorNamespaceRPCInterface.getProcessInfo(self, name), \(delay))

        def make(supervisord, **config):
            return LateAnswers(supervisord)
        """
    }

    /// Case 1: `supervisorctl reload` while start.sh has exited 0. From the
    /// moment the reload is heard (the listener records it, or a new listener
    /// runs) until the new run of start.sh exits, the probe never says READY.
    /// A program that takes 2 s to stop keeps the window open; before, the
    /// file said EXITED expected=1 all through it, and the new listener
    /// resumed that.
    @Test func reloadIsNeverReadyUntilTheNewRunExits() throws {
        let supervisord = try Supervisord(start: "sleep 1; exit 0", programs: [Supervisord.trapping("slow", stopSeconds: 2)])
        let before = try #require(supervisord.waitForState("EXITED"))
        #expect(try supervisord.probe().status == 0)
        _ = try supervisord.ctl("reload")
        #expect(eventually(within: 10) {
            supervisord.status?["supervisord_stopping"] == "1" || supervisord.status?["listener_pid"] != before["listener_pid"]
        })
        let codes = try supervisord.probeCodes(until: {
            let file = supervisord.status
            return file?["state"] == "EXITED" && file?["since"] != before["since"] && file?["listener_pid"] != before["listener_pid"]
        })
        #expect(!codes.beforeDone.contains(0), "READY before the new run exited: \(codes.all)")
        #expect(codes.all.count > codes.beforeDone.count, "the new run did not exit: \(codes.all)")
        #expect(codes.all.contains(103) || codes.all.contains(100), "\(codes.all)")
        #expect(try supervisord.probe().status == 0)
        #expect(supervisord.logged("supervisord is stopping (shutdown or reload)"))
        #expect(supervisord.logged("supervisord was reloaded: a new generation"))
    }

    /// Output every 10 ms keeps supervisord's loop turning, so that a late
    /// answer goes out when due rather than at the loop's next 1 s wake-up.
    static let chatty = Supervisord.Program(
        name: "chatty", script: "while :; do echo .; sleep 0.01; done", settings: ["startsecs": "0", "stdout_logfile": "/dev/null"])

    /// Case 2: a TICK's answer ahead of the events queued behind it. start.sh
    /// runs until the TICK's getProcessInfo (answered 0.4 s late) triggers
    /// it; then it exits 1, is restarted (autorestart=unexpected), exits at
    /// once (BACKOFF) and supervisord gives up (FATAL), all before the answer,
    /// which says FATAL while EXITED, STARTING, BACKOFF and FATAL are queued
    /// behind the TICK. Once the probe said 102 it never says 100 or 101
    /// again, and the file's history never leaves FATAL. Before, the answer
    /// was applied at once and the queued events took it back: 102, 101, 100, 102.
    @Test func aTickNeverTakesTheStateBackwards() throws {
        let scratch = ScratchDirectory()
        let trigger = "\(scratch.path)/trigger"
        let supervisord = try Supervisord(
            start: "while [ ! -e \(trigger) ]; do sleep 0.05; done; exit 1",
            // startsecs=3: the restarted run, which exits at once, is a failed
            // start even on a starved machine.
            startSettings: ["startsecs": "3", "startretries": "0", "autorestart": "unexpected"],
            programs: [Self.chatty], rpcInterfaceModule: Self.lateAnswers(delay: 0.4, trigger: trigger))
        var codes: [Int32] = []
        var histories: [[String]] = []
        let deadline = Date().addingTimeInterval(Slowness.scaled(30))
        while Date() < deadline {
            codes.append(try supervisord.probe().status)
            if let file = supervisord.status { histories.append(file.history) }
            if codes.suffix(40).count == 40 && codes.suffix(40).allSatisfy({ $0 == 102 }) { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(FileManager.default.fileExists(atPath: trigger), "no TICK asked while start.sh was RUNNING")
        #expect(codes.last == 102, "\(codes)")
        if let fatal = codes.firstIndex(of: 102) {
            #expect(codes[fatal...].allSatisfy { $0 == 102 }, "went back after 102: \(codes)")
        }
        let backwards = histories.map { $0.map { String($0.split(separator: " ")[1]) } }.first { states in
            states.firstIndex { $0.hasSuffix("->FATAL") }.map { $0 != states.count - 1 } ?? false
        }
        #expect(backwards == nil, "recorded after FATAL: \(backwards ?? [])")
    }

    /// A supervisord whose listener will lose `program`'s exit events: the
    /// programs wait for a trigger file. `loseTheExitEvents` stops the
    /// listener (SIGSTOP) and creates it. A decoy exits at once: its event
    /// goes into the stopped listener's pipe, and the listener is now busy.
    /// `program` exits once supervisord has logged the decoy's exit, so its
    /// EXITED comes in a later turn of supervisord's loop and waits in the
    /// one-event buffer. A dropper exits once supervisord has logged
    /// `program`'s exit, and its event drops that one. Each waits for
    /// supervisord's log, not for a time: supervisord reaps children when
    /// its loop turns, up to a second apart, and two exits reaped in one
    /// turn reach the buffer together (CI saw that with 0.5 s between them).
    /// Then the listener goes on, and what it learns of that exit it learns
    /// over XML-RPC.
    final class LostExit {
        let scratch = ScratchDirectory()
        var trigger: String { "\(scratch.path)/trigger" }
        let supervisord: Supervisord
        let program: String

        init(program: String, status: Int, exitcodes: String, start: String? = nil, listenerArguments: String = "") throws {
            self.program = program
            let trigger = "\(scratch.path)/trigger"
            func after(_ logged: String?, exit code: Int) -> String {
                let wait = logged.map { "; until grep -q '\($0)' @SCRATCH@/supervisord.log; do sleep 0.05; done" } ?? ""
                return "while [ ! -e \(trigger) ]; do sleep 0.05; done\(wait); exit \(code)"
            }
            let settings = ["startsecs": "0", "autorestart": "false"]
            supervisord = try Supervisord(
                start: start, otherPrograms: 30, listenerSettings: ["buffer_size": "1"],
                programs: [
                    Supervisord.Program(name: "decoy", script: after(nil, exit: 0), settings: settings),
                    Supervisord.Program(
                        name: program, script: after("exited: decoy ", exit: status), settings: settings.merging(["exitcodes": exitcodes]) { $1 }),
                    Supervisord.Program(name: "dropper", script: after("exited: \(program) ", exit: 0), settings: settings),
                ],
                listenerArguments: listenerArguments)
        }

        func loseTheExitEvents() throws {
            #expect(eventually(within: 30) {
                ["other30", self.program, "dropper"].allSatisfy { (try? self.supervisord.state(of: $0)) == "RUNNING" }
            })
            // The listener has answered every event so far: only what follows goes into its buffer.
            // Its pid by supervisord's word: nothing waited on the status file, which may not be written yet.
            let listener = pid_t(try #require(try supervisord.pid(of: "readiness_listener")))
            #expect(staysIdle(listener, for: 1.5))
            kill(listener, SIGSTOP)
            defer { kill(listener, SIGCONT) }
            #expect(FileManager.default.createFile(atPath: trigger, contents: nil))
            #expect(eventually(within: 20) { self.supervisord.log.contains("exited: dropper ") })
            #expect(eventually(within: 5) { self.supervisord.log.contains("overflowed") })
        }
    }

    /// Case 3: `exitcodes=0,2` and an exit 2 whose events were lost: the
    /// TICK reconcile learns it over XML-RPC, and supervisord says it was
    /// expected (no "Bad exit code"), so it is READY. Before, status 2 was
    /// taken for a failure (101).
    @Test func anExpectedNonZeroExitLearntOnATickIsReady() throws {
        let lost = try LostExit(program: "start", status: 2, exitcodes: "0,2")
        let supervisord = lost.supervisord
        try lost.loseTheExitEvents()
        #expect(eventually(within: 20) { supervisord.status?["state"] == "EXITED" && supervisord.status?["exit_status"] == "2" },
                "\(supervisord.status?.values ?? [:])")
        #expect(supervisord.logged("msg=\"reconciled with supervisord\" program=start"), "\(supervisord.output)")
        #expect(!supervisord.output.contains("msg=transition program=start from=RUNNING to=EXITED"), "start's EXITED was not lost: \(supervisord.output)")
        #expect(supervisord.status?["expected"] == "1")
        #expect(try supervisord.probe().status == 0)
    }

    /// Case 3, essential programs: the same exit 2 of an essential program,
    /// learnt on a TICK, is not its end: supervisord keeps running. Before,
    /// the listener shut it down.
    @Test func anExpectedNonZeroExitOfAnEssentialProgramIsNoFailure() throws {
        let lost = try LostExit(program: "app", status: 2, exitcodes: "0,2", start: "exit 0", listenerArguments: "--essential app --verbose")
        let supervisord = lost.supervisord
        try lost.loseTheExitEvents()
        // Past two TICK_5s: the reconcile that sees app's exit, and the one that applies it.
        #expect(supervisord.handledATick(after: Date()))
        #expect(supervisord.handledATick(after: Date()))
        #expect(supervisord.process.isRunning, "supervisord was shut down for an expected exit")
        #expect(supervisord.status?["essential_failure"] == "none", "\(supervisord.status?.values ?? [:])")
        #expect(!supervisord.output.contains("essential program ended"))
        #expect(!supervisord.output.contains("program=app:app to=EXITED"), "app's EXITED was not lost: \(supervisord.output)")
    }

    /// Case 4: start.sh inside `[group:init]` that exits 3. The listener asks
    /// supervisord for `init:start`, not `start` (BAD_NAME), so it never takes
    /// it for absent: 101 throughout, past several TICKs. Before, it turned
    /// READY within 5 s, for ever.
    @Test func aStartProgramInAGroupIsNotAbsent() throws {
        let supervisord = try Supervisord(start: "exit 3", extraConfig: "[group:init]\nprograms=start\n")
        _ = try #require(supervisord.waitForState("EXITED"))
        let deadline = Date().addingTimeInterval(12)
        let codes = try supervisord.probeCodes(until: { Date() > deadline }, within: 15).all
        #expect(!codes.contains(0), "\(codes)")
        #expect(codes.last == 101)
        #expect(supervisord.status?["process"] == "init:start")
        #expect(supervisord.status?["exit_status"] == "3")
    }

    /// Case 4, the other half: no process named start in any group is ABSENT
    /// (READY), found over getAllProcessInfo.
    @Test func noStartProgramInAnyGroupIsAbsent() throws {
        let supervisord = try Supervisord(start: nil, programs: [Supervisord.trapping("web")], extraConfig: "[group:init]\nprograms=web\n")
        _ = try #require(supervisord.waitForState("ABSENT"))
        #expect(try supervisord.probe().status == 0)
    }

    /// Case 5: supervisord as PID 1 without a readable /proc, and the status
    /// directory kept across its restart (a container restarted with its
    /// /run on an emptyDir). The new supervisord has the same pid and no start
    /// time to compare, so it is not taken for the old one: the file follows
    /// the new run (exit 3, not READY). Before, the new listener resumed the
    /// old record and dropped every event of the new supervisord as a
    /// duplicate (its serials start again at 0), READY for ever.
    @Test func aRestartedPID1WithoutProcIsAnotherSupervisord() throws {
        let kept = ScratchDirectory()
        // /dev/stdout and /dev/stderr are links into /proc, empty here: log to files.
        let listenerLog = "\(kept.path)/listener.log"
        func supervisord(_ start: String) throws -> Supervisord {
            try Supervisord(
                start: start, startSettings: ["stdout_logfile": "NONE"], listenerSettings: ["stderr_logfile": listenerLog],
                statusDirectory: kept.path, asPID1WithoutProc: true)
        }
        let first = try supervisord("exit 0")
        let before = try #require(first.waitForState("EXITED"), "\(first.output)")
        #expect(before["supervisord_pid"] == "1")
        #expect(before["supervisord_start_ticks"] == "unknown")
        #expect(before["expected"] == "1")
        first.stop()
        let second = try supervisord("exit 3")
        defer { second.stop() }
        // (Pids are the new namespace's: the listener may well have its predecessor's.)
        #expect(eventually { second.status?["state"] == "EXITED" && second.status?["expected"] == "0" },
                "\(second.status?.values ?? [:])")
        let log = (try? String(contentsOfFile: listenerLog, encoding: .utf8)) ?? ""
        #expect(log.contains("previous status file is of another supervisord (or its identity cannot be told)"), "\(log)")
        let probe = try second.probe()
        #expect(probe.status != 0, "\(probe.stderr)")
    }

    /// Case 6: an essential failure recorded in a dry run belongs to its
    /// generation. After `supervisorctl reload` it is gone, and the same
    /// program's next end (at once: it cannot start) is recorded and logged again. Before, the old
    /// failure was resumed and monitoring stayed off.
    @Test func anEssentialFailureDoesNotOutliveAReload() throws {
        let supervisord = try Supervisord(
            start: "exit 0", programs: [EssentialProgramTests.crashingApp(settings: ["startretries": "0"])],
            listenerArguments: "--essential app --essential-dry-run")
        #expect(eventually(within: 30) { supervisord.status?["essential_shutdown"] == "dry_run" })
        let first = try #require(supervisord.status?["essential_since"])
        let logged = { supervisord.output.components(separatedBy: "essential program ended; dry run").count - 1 }
        #expect(eventually { logged() == 1 })
        _ = try supervisord.ctl("reload")
        #expect(eventually(within: 30) { logged() == 2 }, "the next generation's end was not reported")
        #expect(eventually(within: 10) { supervisord.status?["essential_since"].map { $0 != first } == true },
                "\(supervisord.status?.values ?? [:])")
        #expect(supervisord.status?["essential_shutdown"] == "dry_run")
        #expect(supervisord.process.isRunning)
    }

    /// `supervisorctl update` after an edit of the listener's own section
    /// restarts only the listener, in a new event pool (its poolserial starts
    /// again). supervisord still shows start.sh's finished run, so that is no
    /// reload: READY and the recorded essential failure stay. Before, the new
    /// pool was taken for a reload: NOT_SEEN (100) until two TICKs had
    /// reconciled start.sh (for ever without XML-RPC), the failure dropped.
    @Test func anUpdateOfTheListenersOwnSectionIsNoReload() throws {
        let supervisord = try Supervisord(
            start: "exit 0", programs: [EssentialProgramTests.crashingApp(settings: ["startretries": "0"])],
            listenerArguments: "--essential app --essential-dry-run")
        #expect(eventually(within: 30) { supervisord.status?["essential_shutdown"] == "dry_run" })
        // At once, before a TICK named the run: its exit, dated no later
        // than the record's, is what the next listener compares.
        #expect(eventually(within: 30) { supervisord.status?["state"] == "EXITED" })
        let before = try #require(supervisord.status)
        let old = try #require(supervisord.listenerPID)
        let conf = "\(supervisord.scratch.path)/conf.d/readiness_listener.conf"
        _ = supervisord.scratch.write(
            "conf.d/readiness_listener.conf", Supervisord.override(try String(contentsOfFile: conf, encoding: .utf8), ["stopwaitsecs": "6"]))
        let update = try supervisord.ctl("update")
        #expect(update.stdout.contains("readiness_listener: updated process group"), "\(update.stdout)")
        // What a kubelet could see while the listener is replaced: READY, or
        // for a moment no listener; never START_PENDING.
        let during = try supervisord.probeCodes(until: { supervisord.listenerPID.map { $0 != old } ?? false })
        #expect(supervisord.listenerPID.map { $0 != old } ?? false, "the update did not replace the listener")
        #expect(during.all.allSatisfy { $0 == 0 || $0 == 109 }, "\(during.all)")
        // Past the new listener's first events (the new pool) and the TICK after them.
        #expect(supervisord.handledATick(after: Date()))
        #expect(supervisord.handledATick(after: Date()))
        let after = try #require(supervisord.status)
        #expect(after["state"] == "EXITED")
        #expect(after.history == before.history, "\(after.history)")
        #expect(after["essential_since"] == before["essential_since"])
        #expect(after["essential_shutdown"] == "dry_run")
        #expect(try supervisord.probe().status == 0)
        #expect(!supervisord.output.contains("supervisord was reloaded"), "\(supervisord.output)")
    }

    /// Issue 23, case 5: after READY, start.sh runs again (and keeps
    /// running) while its STARTING and RUNNING are lost to a one-event
    /// buffer; the listener learns of the gap from the next event's
    /// poolserial. supervisord shows another run: READY goes at once.
    /// Before, the old run's READY stood until two TICKs had reconciled.
    @Test func lostEventsTakeAStaleReadyAwayAtOnce() throws {
        let supervisord = try Supervisord(
            start: "dir=$(dirname \"$0\"); if [ -e \"$dir/ran\" ]; then exec sleep 1000; fi; touch \"$dir/ran\"; exit 0",
            otherPrograms: 1, listenerSettings: ["buffer_size": "1"])
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        // The listener has answered every event so far; stopped, it takes
        // other1's STOPPING into its pipe, and the one-event buffer keeps
        // only the last of what follows: other1's, start.sh's are lost.
        let listener = try #require(supervisord.listenerPID)
        #expect(staysIdle(listener, for: 1.5))
        kill(listener, SIGSTOP)
        _ = try supervisord.ctl("stop", "other1")
        _ = try supervisord.ctl("start", "start")
        _ = try supervisord.ctl("start", "other1")
        #expect(eventually(within: 10) { (try? supervisord.state(of: "start")) == "RUNNING" && (try? supervisord.state(of: "other1")) == "RUNNING" })
        #expect(eventually(within: 5) { supervisord.log.contains("overflowed") })
        kill(listener, SIGCONT)
        #expect(supervisord.logged("msg=\"reconciled with supervisord\" program=start from=EXITED to=NOT_SEEN reason=\"events lost\""),
                "\(supervisord.output)")
        #expect(!supervisord.output.contains("from=EXITED to=STARTING"), "start.sh's STARTING was not lost")
        // The turn logs first and writes the file at its end: the probe reads the file that turn wrote.
        #expect(eventually { supervisord.status?.history.contains { $0.split(separator: " ")[1] == "EXITED->NOT_SEEN" } == true },
                "\(supervisord.status?.history ?? [])")
        #expect(try supervisord.probe().status != 0)
        #expect(eventually(within: 20) { supervisord.status?["state"] == "RUNNING" }, "\(supervisord.status?.values ?? [:])")
    }
}
