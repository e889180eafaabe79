import Foundation
import Testing

/// The product in a real container (`make e2e`): Debian 12's supervisord as
/// PID 1 under runc, installed with the README's Dockerfile steps, and the
/// probe run through `runc exec` by a kubelet-like prober. The listener also
/// has `--http 127.0.0.1:8080` in the container's own network namespace, and
/// the prober asks its `/readyz` on every tick as an httpGet probe: each
/// scenario checks that both kinds went through the same Ready/NotReady
/// transitions. Every test deletes its container and unmounts its overlay,
/// also when it fails.
@Suite(.serialized, .enabled(if: ContainerImage.available, "make e2e prepares the root file system"))
struct ContainerTests {
    @Test func startInitializesThenReady() throws {
        // start.sh initializes until the test says it is done, not for a time
        // that a loaded machine may spend before the first probe.
        let container = try Container(.init(start: "echo initializing; until [ -e /tmp/initialized ]; do sleep 0.05; done; exit 0"))
        defer { container.destroy() }
        try container.waitForListener()
        let prober = Prober(container)
        #expect(try prober.probe(until: { $0.code == 100 }, within: 30) != nil, "\(prober.results.map(\.message))")
        #expect(try container.shell("touch /tmp/initialized").status == 0)
        let ready = try prober.probe(until: { $0.code == 0 }, within: 30)
        #expect(ready != nil, "never ready: \(prober.results.last?.message ?? "")")
        #expect(prober.results.contains { $0.code == 100 && $0.message.contains("START_PENDING") })
        #expect(prober.transitions.map(\.ready) == [true])
        #expect(container.status?["supervisord_pid"] == "1")
        #expect(prober.transitionsAgree, "\(prober.comparison)")
        let http = try #require(prober.companion)
        #expect(http.results.contains { $0.code == 503 && $0.message.hasPrefix("not ready: 100 START_PENDING: program start is") },
                "\(prober.comparison)")
        #expect(http.results.last.map { $0.code == 200 && $0.message.hasPrefix("ready: 0 READY: program start exited with status 0") } == true,
                "\(prober.comparison)")
    }

    @Test func startExitsWithStatus3() throws {
        let container = try Container(.init(start: "exit 3"))
        defer { container.destroy() }
        try container.waitForListener()
        let prober = Prober(container)
        // The status comes with supervisord's answer, a turn after the EXITED.
        let failed = try prober.probe(until: { $0.code == 101 && $0.message.contains("exited with status 3") }, within: 30)
        #expect(failed != nil, "\(prober.results.map(\.message))")
        #expect(!prober.ready)
        #expect(prober.transitionsAgree, "\(prober.comparison)")
        #expect(prober.companion?.results.last.map { $0.code == 503 && $0.message.hasPrefix("not ready: 101 START_FAILED: program start exited with status 3") } == true,
                "\(prober.comparison)")
    }

    @Test func startCommandMissing() throws {
        let container = try Container(.init(start: nil))
        defer { container.destroy() }
        try container.waitForListener()
        let prober = Prober(container)
        let fatal = try prober.probe(until: { $0.code == 102 }, within: 60)
        #expect(fatal?.message.contains("can't find command") == true, "\(prober.results.map(\.message))")
        #expect(prober.transitionsAgree, "\(prober.comparison)")
        #expect(prober.companion?.results.last.map { $0.code == 503 && $0.message.hasPrefix("not ready: 102 START_FATAL") && $0.message.contains("can't find command") } == true,
                "\(prober.comparison)")
    }

    /// Hooks run inside the container: their codes, and no process of theirs
    /// left once the probe returned (listed with `runc ps`).
    @Test func hooksInsideTheContainer() throws {
        let container = try Container(.init(hook: "exit 7"))
        defer { container.destroy() }
        try container.waitForListener()
        let prober = Prober(container)
        #expect(try prober.probe(until: { $0.code == 7 }, within: 30) != nil, "\(prober.results.map(\.message))")
        // httpGet answers never run a process: with a hook installed /readyz
        // says to use the exec probe, rather than pass without the hook.
        #expect(prober.companion?.results.last.map { $0.code == 503 && $0.message.hasPrefix("not ready: 113 HOOK_UNUSABLE") && $0.message.contains("httpGet probes do not run it") } == true,
                "\(prober.comparison)")
        let cases = [
            ("hang", "echo hanging; exec sleep 3017.1"),
            ("setsid", "setsid sleep 3017.2 & echo detached; wait"),
            ("double fork", "(sleep 3017.3 &) ; sleep 3017.4"),
        ]
        for (name, body) in cases {
            let hook = "\(container.rootfs)/usr/bin/readiness_probe_hook"
            try "#!/bin/sh\n\(body)\n".write(toFile: hook, atomically: true, encoding: .utf8)
            chmod(hook, 0o755)
            // The probe in the background, so that the hook's processes are seen running first.
            let scratch = ScratchDirectory()
            let probe = try Child("/usr/sbin/runc", ["exec", container.id, "/usr/bin/readiness_probe.sh"],
                                  stdout: "\(scratch.path)/out", stderr: "\(scratch.path)/out")
            #expect(try eventually(within: 10) { try !container.processes().filter { $0.contains("sleep 3017") }.isEmpty },
                    "\(name): the hook's processes ran")
            #expect(probe.wait(seconds: 10) == 110, "\(name): \((try? String(contentsOfFile: "\(scratch.path)/out", encoding: .utf8)) ?? "")")
            let left = try container.processes().filter { $0.contains("sleep 3017") }
            #expect(left.isEmpty, "\(name): \(left)")
        }
        // timeoutSeconds shorter than the probe's own hook deadline: the
        // prober kills the exec'd probe, as containerd does, and counts a
        // failure. The timeout is what is checked here: kept as given.
        prober.timeout = 0.3
        prober.exactTimeout = true
        let timedOut = try prober.probe()
        #expect(timedOut.code == Container.timedOut && timedOut.message.contains("timed out after 0.3 s"), "\(timedOut.message)")
        #expect(try container.processes().filter { $0.contains("/usr/bin/readiness_probe.sh") }.isEmpty, "the killed probe is gone")
    }

    @Test func listenerKilledRestartedAndReloaded() throws {
        let container = try Container(.init(start: "sleep 2; exit 0"))
        defer { container.destroy() }
        try container.waitForListener()
        let prober = Prober(container)
        prober.period = 0.25
        #expect(try prober.probe(until: { $0.code == 0 }) != nil)
        let first = try #require(container.status?["listener_pid"])
        #expect(try container.shell("kill -9 \(first)").status == 0)
        #expect(eventually(within: 20) { (container.status?["listener_pid"]).map { $0 != first } == true }, "supervisord restarted the listener")
        // It writes the file, then binds its HTTP socket and says so: the
        // httpGet probe (which a killed listener fails) asks once it has.
        #expect(eventually(within: 10) { container.console.components(separatedBy: "answering httpGet probes").count == 3 }, "\(container.console)")
        #expect(try prober.probe().code == 0, "the restarted listener resumed from the file")
        #expect(prober.companion?.results.last?.code == 200, "and answers httpGet from it: \(prober.comparison)")
        for command in [["restart", "start"], ["reload"]] {
            #expect(try container.exec(["supervisorctl"] + command).status == 0)
            #expect(try prober.probe(until: { $0.code == 100 }, within: 10) != nil, "\(command): start.sh runs again")
            #expect(try prober.probe(until: { $0.code == 0 }) != nil, "\(command): and is ready again")
        }
        #expect(container.status?["supervisord_pid"] == "1")
        #expect(prober.transitions.map(\.ready) == [true, false, true, false, true], "\(prober.comparison)")
        #expect(prober.transitionsAgree, "\(prober.comparison)")
    }

    /// The status directory outlives the container, as an emptyDir outlives a
    /// container restart: the new container is never READY before its own
    /// start.sh exited 0.
    @Test func restartWithTheStatusDirectoryKept() throws {
        let kept = ScratchDirectory()
        let first = try Container(.init(start: "exit 0", statusDirectory: kept.path))
        defer { first.destroy() }
        try first.waitForListener()
        #expect(try Prober(first).probe(until: { $0.code == 0 }) != nil)
        first.destroy()
        #expect(StatusFile(path: "\(kept.path)/status")?["state"] == "EXITED", "the first container's file is kept")

        let done = "\(kept.path)/second-start-done"
        let second = try Container(.init(
            start: "until [ -e /tmp/go ]; do sleep 0.05; done; touch /run/readiness/second-start-done; exit 0", statusDirectory: kept.path))
        defer { second.destroy() }
        let prober = Prober(second)
        prober.period = 0.2
        // Probed while the second start.sh runs, with the first one's READY file in place.
        #expect(try prober.probe(until: { _ in second.status?["state"] == "RUNNING" }, within: 30) != nil)
        #expect(try second.shell("touch /tmp/go").status == 0)
        let ready = try prober.probe(until: { $0.code == 0 }, within: 30)
        #expect(ready != nil)
        #expect(FileManager.default.fileExists(atPath: done))
        for result in prober.results + (prober.companion?.results ?? []) where result.succeeded {
            #expect(FileManager.default.fileExists(atPath: done), "READY at \(result.at) s before start.sh exited: \(prober.comparison)")
        }
        #expect(prober.results.first?.code != 0)
        #expect(prober.transitionsAgree, "\(prober.comparison)")
    }

    /// runAsUser: the probe as nobody reads the file the root listener wrote.
    /// Then where the two kinds differ by design: an httpGet probe needs the
    /// listener itself to answer, so a hung (SIGSTOPped) listener times it
    /// out, counted against failureThreshold, while the exec probe still
    /// reads the file; once it runs again it answers the requests it was
    /// left (their clients gone, EPIPE, not SIGPIPE) and the next ones.
    @Test func probeAsNonRootUserAndHungListener() throws {
        let container = try Container()
        defer { container.destroy() }
        try container.waitForListener()
        #expect(try Prober(container).probe(until: { $0.code == 0 }) != nil)
        let prober = Prober(container, user: "65534:65534")
        let result = try prober.probe()
        #expect(result.code == 0, "\(result.message)")

        let http = Prober(container, kind: .httpGet(path: "/readyz", port: ContainerImage.httpPort))
        http.timeout = 0.5
        http.successThreshold = 2
        http.failureThreshold = 2
        #expect(try http.probe(until: { _ in http.ready }, within: 10) != nil, "\(http.comparison)")
        #expect(http.results.filter(\.succeeded).count == 2, "Ready after successThreshold 200s: \(http.comparison)")
        let listener = try #require(container.status?["listener_pid"])
        #expect(try container.shell("kill -STOP \(listener)").status == 0)
        let first = try http.probe()
        #expect(first.code == HTTPGet.timedOut && first.message.contains("context deadline exceeded"), "\(first)")
        #expect(http.ready, "one failure of failureThreshold 2")
        #expect(try http.probe().code == HTTPGet.timedOut)
        #expect(!http.ready, "two failures: NotReady")
        #expect(try prober.probe().code == 0, "the exec probe reads the file the stopped listener left")
        #expect(try container.shell("kill -CONT \(listener)").status == 0)
        #expect(try http.probe().code == 200)
        #expect(!http.ready, "one success of successThreshold 2")
        #expect(try http.probe().code == 200)
        #expect(http.transitions.map(\.ready) == [true, false, true], "\(http.comparison)")
        #expect(container.status?["listener_pid"] == listener, "the listener survived the requests it was left")
    }

    /// readOnlyRootFilesystem with only /run writable (a tmpfs), TMPDIR=/run,
    /// and supervisord's log to the container log only.
    @Test func readOnlyRootFileSystem() throws {
        let container = try Container(.init(start: "sleep 1; exit 0", readOnlyRoot: true))
        defer { container.destroy() }
        try container.waitForListener()
        let prober = Prober(container)
        #expect(try prober.probe(until: { $0.code == 0 }) != nil, "\(container.console)")
        #expect(prober.transitionsAgree, "\(prober.comparison)")
        #expect(try container.shell("touch /usr/local/bin/x").status != 0, "the root really is read-only")
        #expect(container.console.contains("supervisord started with pid 1"), "its log is in the container log")
    }

    /// What later scenarios build on: the image's own programs, more listener
    /// arguments, and a container that stops by itself (PID 1 exits).
    @Test func ownProgramsListenerArgumentsAndStoppingByItself() throws {
        let container = try Container(.init(
            programs: "[program:sidecar]\ncommand=/bin/sleep 600\nstartsecs=0\nstdout_logfile=NONE\nstderr_logfile=NONE\n",
            listenerArguments: ["--verbose"]))
        defer { container.destroy() }
        try container.waitForListener()
        let prober = Prober(container)
        #expect(try prober.probe(until: { $0.code == 0 }) != nil)
        #expect(prober.transitionsAgree, "with --verbose and --http both: \(prober.comparison)")
        #expect(try container.exec(["supervisorctl", "status", "sidecar"]).stdout.contains("RUNNING"))
        #expect(eventually(within: 10) { container.console.contains("sidecar") }, "--verbose logs other programs' events: \(container.console)")
        #expect(container.state == "running")
        _ = try container.exec(["supervisorctl", "shutdown"])
        #expect(container.waitUntilStopped(within: 30))
    }

    /// An essential program (`--essential app`) that crashes until FATAL
    /// (startsecs=5: an exit at once is a failed start even on a loaded machine):
    /// the probe answers 107 while supervisord stops the other programs
    /// gracefully (the sidecar logs its SIGTERM and takes 2 s), then the
    /// container stops by itself.
    @Test func essentialProgramFatalStopsTheContainer() throws {
        let container = try Container(.init(
            programs: """
                [program:app]
                command=/bin/sh -c "exit 3"
                startsecs=5
                startretries=2
                stdout_logfile=NONE
                stderr_logfile=NONE
                [program:sidecar]
                command=/bin/sh -c "trap 'echo sidecar got TERM; sleep 2; exit 0' TERM; while :; do sleep 0.2; done"
                startsecs=0
                stdout_logfile=/dev/stdout
                stdout_logfile_maxbytes=0
                stderr_logfile=NONE

                """,
            listenerArguments: ["--essential", "app"]))
        defer { container.destroy() }
        try container.waitForListener()
        let prober = Prober(container)
        // An httpGet livenessProbe on /livez, asked now and then.
        let liveness = Prober(container, kind: .httpGet(path: "/livez", port: ContainerImage.httpPort))
        liveness.role = "Liveness"
        #expect(try prober.probe(until: { $0.code == 0 }) != nil, "ready once start.sh exited")
        let alive = try liveness.probe()
        #expect(alive.code == 200 && alive.message.hasPrefix("alive:"), "\(alive)")
        let down = try #require(try prober.probe(until: { $0.code == 107 }, within: 60))
        #expect(down.message.contains("107 ESSENTIAL_DOWN: supervisord could not start essential program app:app (FATAL)"), "\(down.message)")
        #expect(prober.transitions.map(\.ready) == [true, false])
        #expect(prober.transitionsAgree, "\(prober.comparison)")
        #expect(prober.companion?.results.last.map { $0.code == 503 && $0.message.hasPrefix("not ready: 107 ESSENTIAL_DOWN") } == true,
                "\(prober.comparison)")
        // The listener is stopped last (priority -1), after the sidecar's 2 s.
        let dead = try liveness.probe()
        #expect(dead.code == 503 && dead.message.hasPrefix("not alive: 107 ESSENTIAL_DOWN: supervisord could not start essential program app:app (FATAL)"),
                "\(dead)")
        #expect(liveness.transitions.map(\.ready) == [true, false])
        #expect(container.waitUntilStopped(within: 20), "the container stops by itself: \(container.console.suffix(3000))")
        let console = container.console
        #expect(console.contains("level=error msg=\"essential program ended, shutting supervisord down\" program=app:app state=FATAL"), "\(console)")
        #expect(console.contains("sidecar got TERM"))
        #expect(console.contains("stopped: sidecar (exit status 0)"), "\(console)")
        #expect(!console.contains("with SIGKILL"))
    }

    /// The install with the listener's config left out: the harness says so
    /// instead of letting the scenarios pass or time out without a reason.
    @Test func brokenInstallIsCaught() throws {
        let broken = ScratchDirectory()
        #expect(try run("/bin/cp", ["-a", "\(ContainerImage.installed ?? "")/.", broken.path]).status == 0)
        #expect(unlink(broken.path + ContainerImage.listenerConfig) == 0)
        let container = try Container(.init(http: nil, installed: broken.path))
        defer { container.destroy() }
        let error = #expect(throws: ContainerError.self) { try container.waitForListener(within: 8) }
        #expect(error?.description.contains("readiness_listener is not registered") == true)
        #expect(try container.exec(["/usr/bin/readiness_probe.sh"]).status == 104)
    }
}
