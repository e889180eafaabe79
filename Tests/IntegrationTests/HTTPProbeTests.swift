import Foundation
import Testing

/// A count the burst thread keeps and the test reads once it has ended.
final class Counter: @unchecked Sendable {
    var value = 0
}

/// The listener's `--http` endpoint under a real supervisord: the same
/// verdicts as readiness_probe on the same record, the liveness half, and
/// hostile clients that cannot hold supervisord's events back.
@Suite struct HTTPProbeTests {
    /// `/readyz` and the exec probe agree: 200 exactly when the probe exits
    /// 0, and the body is the probe's line. Both are asked of one record:
    /// the file read the same before and after (start.sh's exit status, say,
    /// comes in a turn after its EXITED, and may come between the two).
    func expectSameVerdict(_ supervisord: Supervisord, port: UInt16, _ context: String) throws {
        for _ in 1...20 {
            let before = supervisord.status
            let probe = try supervisord.probe()
            let line = (probe.status == 0 ? probe.stdout : probe.stderr).trimmingCharacters(in: .newlines)
            let response = try #require(HTTPClient.get(port: port, "/readyz"), "no answer on /readyz (\(context))")
            let after = supervisord.status
            guard before?.values == after?.values, before?.history == after?.history else { continue }
            #expect((response.status == 200) == (probe.status == 0), "\(context): /readyz \(response.status), probe \(probe.status)")
            #expect([200, 503].contains(response.status))
            #expect(response.body == line + "\n", "\(context)")
            return
        }
        Issue.record("\(context): the status file changed during each of 20 comparisons")
    }

    /// Every state start.sh passes through, and its ends: exit 0, exit 3,
    /// FATAL, stopped. At each, `/readyz` says what the probe says.
    @Test(arguments: ["exit 0", "exit 3", "fatal", "stopped"])
    func readyzAgreesWithTheProbeInEveryState(ending: String) throws {
        let port = TestPorts.unused()
        let scratch = ScratchDirectory()
        let trigger = "\(scratch.path)/go"
        let script = ending == "fatal" ? "exit 0" : "while [ ! -e \(trigger) ]; do sleep 0.05; done\n\(ending == "exit 3" ? "exit 3" : "exit 0")"
        let settings = ending == "fatal" ? ["command": "/nonexistent/start.sh", "startretries": "0"] : ["startsecs": "1"]
        let supervisord = try Supervisord(start: script, startSettings: settings, listenerArguments: "--http 127.0.0.1:\(port) --hook /nonexistent-hook")
        #expect(eventually { HTTPClient.get(port: port, "/readyz") != nil }, "the listener never answered on port \(port)")
        switch ending {
        case "fatal":
            _ = try #require(supervisord.waitForState("FATAL"))
            try expectSameVerdict(supervisord, port: port, "FATAL")
            #expect(HTTPClient.get(port: port, "/readyz")?.body.hasPrefix("not ready: 102 START_FATAL: ") == true)
        case "stopped":
            _ = try #require(supervisord.waitForState("RUNNING"))
            try expectSameVerdict(supervisord, port: port, "RUNNING")
            _ = try supervisord.ctl("stop", "start")
            _ = try #require(supervisord.waitForState("STOPPED"))
            try expectSameVerdict(supervisord, port: port, "STOPPED")
            #expect(HTTPClient.get(port: port, "/readyz")?.body.hasPrefix("not ready: 103 START_STOPPED: ") == true)
        default:
            _ = try #require(supervisord.waitForState("RUNNING"))
            try expectSameVerdict(supervisord, port: port, "RUNNING")
            #expect(HTTPClient.get(port: port, "/readyz")?.status == 503)
            #expect(FileManager.default.createFile(atPath: trigger, contents: nil))
            _ = try #require(supervisord.waitForState("EXITED"))
            #expect(eventually { supervisord.status?["exit_status"] != nil })
            try expectSameVerdict(supervisord, port: port, ending)
            let expected = ending == "exit 0" ? 200 : 503
            #expect(HTTPClient.get(port: port, "/readyz")?.status == expected)
        }
        #expect(HTTPClient.get(port: port, "/livez")?.status == 200)
        #expect(HTTPClient.get(port: port, "/livez")?.body == "alive: no essential program has ended\n")
    }

    /// With `--essential-dry-run` supervisord keeps running after an
    /// essential program ended: `/readyz` answers as the probe (a dry run
    /// does not withdraw readiness), `/livez` turns 503 so that kubelet's
    /// livenessProbe restarts the container.
    @Test func livezFailsOnceAnEssentialProgramEnded() throws {
        let port = TestPorts.unused()
        let supervisord = try Supervisord(
            start: "exit 0", programs: [EssentialProgramTests.crashingApp()],
            listenerArguments: "--http 127.0.0.1:\(port) --hook /nonexistent-hook --essential app --essential-dry-run")
        #expect(eventually(within: 60) { supervisord.status?["essential_failure"] == "app:app" })
        let live = try #require(HTTPClient.get(port: port, "/livez"))
        #expect(live.status == 503)
        #expect(live.body == "not alive: 107 ESSENTIAL_DOWN: supervisord could not start essential program app:app (FATAL): Exited too quickly (process log may have details); dry run, supervisord is not shut down\n")
        try expectSameVerdict(supervisord, port: port, "dry run")
        #expect(HTTPClient.get(port: port, "/readyz")?.status == 200)
        #expect(supervisord.process.isRunning)
    }

    /// An installed hook is not run for httpGet probes: `/readyz` does not
    /// pass without it, and says why.
    @Test func anInstalledHookIsNotSkippedSilently() throws {
        let port = TestPorts.unused()
        let scratch = ScratchDirectory()
        let hook = scratch.script("hook", "#!/bin/sh\nexit 0\n")
        let supervisord = try Supervisord(start: "exit 0", listenerArguments: "--http 127.0.0.1:\(port) --hook \(hook)")
        _ = try #require(supervisord.waitForState("EXITED"))
        let response = try #require(HTTPClient.get(port: port, "/readyz"))
        #expect(response.status == 503)
        #expect(response.body == "not ready: 113 HOOK_UNUSABLE: hook \(hook) is installed, and httpGet probes do not run it: use the exec probe, or --hook-interval\n")
    }

    /// `--hook-interval`: the listener runs the hook through readiness_probe
    /// on its own timer, and `/readyz` answers with what that run said,
    /// the same line as the exec probe; a changed hook is seen at the next
    /// run. A hook that hangs is killed at its deadline, and meanwhile
    /// events are answered.
    @Test func theHookRunsOnTheListenersTimer() throws {
        let port = TestPorts.unused()
        let scratch = ScratchDirectory()
        let verdict = "\(scratch.path)/hook-exit"
        _ = scratch.write("hook-exit", "3")
        let hook = scratch.script("hook", "#!/bin/sh\necho checking\ncode=$(cat \(verdict))\n[ \"$code\" = hang ] && exec sleep 60\nexit $code\n")
        let trigger = "\(scratch.path)/go"
        // Under an emulator the listener, itself emulated, runs the probe
        // through a script that runs it emulated too.
        let probeCommand = Paths.emulator == nil
            ? Paths.probe : scratch.script("probe.sh", "#!/bin/sh\nexec \(Paths.command(Paths.probe).joined(separator: " ")) \"$@\"\n")
        let supervisord = try Supervisord(
            start: "while [ ! -e \(trigger) ]; do sleep 0.05; done; exit 0",
            listenerArguments: "--http 127.0.0.1:\(port) --hook \(hook) --hook-interval 1 --hook-timeout 0.5 --probe \(probeCommand)")
        _ = try #require(supervisord.waitForState("RUNNING"))
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.body.hasPrefix("not ready: 100 START_PENDING: program start is RUNNING") == true })
        #expect(FileManager.default.createFile(atPath: trigger, contents: nil))
        _ = try #require(supervisord.waitForState("EXITED"))
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.body.hasPrefix("not ready: 3 HOOK_FAILED: ") == true })
        let failing = try #require(HTTPClient.get(port: port, "/readyz"))
        let probe = try supervisord.probe(["--hook", hook])
        #expect(probe.status == 3)
        #expect(failing.status == 503 && failing.body == probe.stderr, "\(failing.body) vs \(probe.stderr)")

        _ = scratch.write("hook-exit", "0")
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.status == 200 })
        let passing = try #require(HTTPClient.get(port: port, "/readyz"))
        let passed = try supervisord.probe(["--hook", hook])
        #expect(passed.status == 0 && passing.body == passed.stdout, "\(passing.body) vs \(passed.stdout)")

        _ = scratch.write("hook-exit", "hang")
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.body.hasPrefix("not ready: 110 HOOK_TIMEOUT: ") == true })
        // Events are answered while hooks hang: start.sh runs again (and
        // waits for its trigger) and is seen.
        try FileManager.default.removeItem(atPath: trigger)
        _ = try supervisord.ctl("start", "start")
        #expect(eventually { supervisord.status?["state"] == "RUNNING" || supervisord.status?["state"] == "STARTING" })
        #expect(HTTPClient.get(port: port, "/readyz")?.body.hasPrefix("not ready: 100 START_PENDING: ") == true)
        #expect(!supervisord.output.contains("level=error"), "\(supervisord.output)")
    }

    /// Issue 23, case 5: a new run of start.sh that exits 0 while its
    /// STARTING and RUNNING are lost (a one-event buffer, the listener
    /// stopped) passes the common check just as the last run did. The
    /// hook's verdict was the last run's: the listener runs the hook again
    /// for this one. Before, /readyz gave the old verdict (200) until the
    /// next interval, 300 s here.
    @Test func aNewRunThatPassesTooRunsTheHookAgain() throws {
        let port = TestPorts.unused()
        let scratch = ScratchDirectory()
        _ = scratch.write("hook-exit", "0")
        let hook = scratch.script("hook", "#!/bin/sh\nexit $(cat \(scratch.path)/hook-exit)\n")
        let probeCommand = Paths.emulator == nil
            ? Paths.probe : scratch.script("probe.sh", "#!/bin/sh\nexec \(Paths.command(Paths.probe).joined(separator: " ")) \"$@\"\n")
        let supervisord = try Supervisord(
            start: "exit 0", otherPrograms: 1, listenerSettings: ["buffer_size": "1"],
            listenerArguments: "--http 127.0.0.1:\(port) --hook \(hook) --hook-interval 300 --probe \(probeCommand)")
        let first = try #require(supervisord.waitForState("EXITED"))
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.status == 200 })
        _ = scratch.write("hook-exit", "7")
        // The listener has answered every event so far; stopped, it takes
        // other1's STOPPING into its pipe, and the one-event buffer keeps
        // only the last of what follows: start.sh's STARTING and RUNNING go.
        let listener = try #require(supervisord.listenerPID)
        #expect(staysIdle(listener, for: 1.5))
        kill(listener, SIGSTOP)
        _ = try supervisord.ctl("stop", "other1")
        _ = try supervisord.ctl("start", "start")
        #expect(eventually(within: 10) { supervisord.log.components(separatedBy: "exited: start ").count - 1 == 2 })
        #expect(eventually(within: 5) { supervisord.log.contains("overflowed") })
        kill(listener, SIGCONT)
        #expect(eventually(within: 30) { supervisord.status.map { $0["state"] == "EXITED" && $0["pid"] != first["pid"] } == true },
                "\(supervisord.status?.values ?? [:])")
        #expect(!supervisord.output.contains("msg=transition program=start from=EXITED to=STARTING"), "the new run's STARTING was not lost")
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.body.hasPrefix("not ready: 7 HOOK_FAILED: ") == true },
                "\(HTTPClient.get(port: port, "/readyz")?.body ?? "no answer")")
    }

    /// `--hook-interval` while the common check fails (start.sh still
    /// runs, so the hook is not run): the listener sleeps until its next
    /// look, it does not spin on a wake-up time already past (issue 23: it
    /// used 3.96 s of CPU in 4 s). A check against a spin, not a benchmark:
    /// its CPU time over a few seconds of kubelet-like probing stays far
    /// below the wall time.
    @Test func aHookIntervalWhileStartRunsDoesNotSpin() throws {
        let port = TestPorts.unused()
        let scratch = ScratchDirectory()
        let hook = scratch.script("hook", "#!/bin/sh\nexit 0\n")
        let supervisord = try Supervisord(
            start: "exec sleep 1000", startSettings: ["startsecs": "0"],
            listenerArguments: "--http 127.0.0.1:\(port) --hook \(hook) --hook-interval 2 --probe \(Paths.probe)")
        _ = try #require(supervisord.waitForState("RUNNING"))
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.body.hasPrefix("not ready: 100 START_PENDING: ") == true })
        let listener = try #require(supervisord.listenerPID)
        let before = try #require(Self.cpuSeconds(listener))
        let began = Date()
        // The measuring window: a probe every 0.25 s, as a busy kubelet would.
        var answered = 0
        while Date().timeIntervalSince(began) < 4 {
            if HTTPClient.get(port: port, "/readyz")?.status == 503 { answered += 1 }
            Thread.sleep(forTimeInterval: 0.25)
        }
        let wall = Date().timeIntervalSince(began)
        let used = try #require(Self.cpuSeconds(listener)) - before
        #expect(answered > 0)
        #expect(used < wall / 10, "the listener used \(used) s of CPU in \(wall) s")
        #expect(!supervisord.output.contains("level=error"), "\(supervisord.output)")
    }

    /// utime + stime of `pid` (fields 14 and 15 of /proc/PID/stat), in seconds.
    static func cpuSeconds(_ pid: pid_t) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// HEAD, other paths, other methods, garbage, an oversized head, and a
    /// client that sends nothing: each gets its status (or is closed at the
    /// deadline) and the listener goes on.
    @Test func requestsOtherThanAProbeAreRefused() throws {
        let port = TestPorts.unused()
        let supervisord = try Supervisord(start: "exit 0", listenerArguments: "--http 127.0.0.1:\(port) --hook /nonexistent-hook")
        _ = try #require(supervisord.waitForState("EXITED"))
        let head = try #require(HTTPClient.exchange(port: port, "HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(head.status == 200 && head.body.isEmpty && head.head.contains("Content-Length: "))
        #expect(HTTPClient.get(port: port, "/")?.status == 404)
        #expect(HTTPClient.get(port: port, "/status")?.status == 404)
        #expect(HTTPClient.exchange(port: port, "POST /readyz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")?.status == 405)
        #expect(HTTPClient.exchange(port: port, "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\r\n\r\n")?.status == 400)
        #expect(HTTPClient.exchange(port: port, "GET /readyz HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 3000))?.status == 431)
        #expect(HTTPClient.exchange(port: port, "GET /readyz HTTP/2.0\r\n\r\n")?.status == 505)
        // Nothing sent: closed by the listener at its deadline (1 s), before
        // the client's own 5 s read timeout, without an answer.
        let silent = try #require(HTTPClient.connect(port: port))
        let answer = HTTPClient.readAll(silent)
        close(silent)
        #expect(answer.closed && answer.text.isEmpty, "\(answer)")
        #expect(HTTPClient.get(port: port, "/readyz")?.status == 200)
        #expect(!supervisord.output.contains("level=error"), "\(supervisord.output)")
    }

    /// Slowloris, a burst of connections, garbage and vanishing clients at
    /// once, while start.sh moves on: its transitions are recorded as they
    /// happen, a fresh probe is answered, and afterwards the listener's
    /// descriptors are back to what they were and its memory did not grow.
    @Test func hostileClientsHoldNothingBack() throws {
        let port = TestPorts.unused()
        let scratch = ScratchDirectory()
        let trigger = "\(scratch.path)/go"
        let supervisord = try Supervisord(
            start: "while [ ! -e \(trigger) ]; do sleep 0.05; done; exit 0", startSettings: ["startsecs": "0"],
            listenerArguments: "--http 127.0.0.1:\(port) --hook /nonexistent-hook")
        _ = try #require(supervisord.waitForState("RUNNING"))
        let listener = try #require(supervisord.listenerPID)
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.status == 503 })
        // Counted while the listener is idle in poll: the probe's connection above answered and closed.
        let baseline = try #require(idleDescriptors(of: listener), "the listener never sat idle in poll")
        let baselineRSS = try #require(Self.residentKilobytes(listener))

        // 100 slowloris connections, a byte a second; garbage; vanishing clients.
        var slow: [Int32] = (0..<100).compactMap { _ in HTTPClient.connect(port: port) }
        for fd in slow { _ = HTTPClient.send(fd, "G") }
        let stop = Date().addingTimeInterval(4)
        let opened = Counter()
        let burst = Thread {
            while opened.value < 10_000 && Date() < stop.addingTimeInterval(Slowness.scaled(90)) {
                guard let fd = HTTPClient.connect(port: port) else { continue }
                opened.value += 1
                switch opened.value % 4 {
                case 0: _ = HTTPClient.send(fd, String(repeating: "\u{0}\u{FF}garbage", count: 500))
                case 1: _ = HTTPClient.send(fd, "GET /readyz HTTP/1.1\r\n")  // and vanish mid-head
                default: break  // connect and vanish
                }
                close(fd)
            }
        }
        burst.start()
        // start.sh exits while all that goes on: recorded, and a fresh probe sees it.
        #expect(FileManager.default.createFile(atPath: trigger, contents: nil))
        var ticks = 0
        while Date() < stop {
            for fd in slow { _ = HTTPClient.send(fd, "E") }
            ticks += 1
            Thread.sleep(forTimeInterval: 1)
        }
        #expect(supervisord.waitForState("EXITED") != nil)
        #expect(supervisord.logged("msg=transition program=start from=RUNNING to=EXITED expected=1"))
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.status == 200 }, "a fresh probe was not answered")
        while !burst.isFinished { Thread.sleep(forTimeInterval: 0.1) }
        #expect(opened.value == 10_000, "the burst opened only \(opened.value) connections")
        for fd in slow { close(fd) }
        slow.removeAll()
        // The clients' closes reach the listener as they are processed: the
        // count, taken only while it is idle, comes back to the baseline (a
        // leaked descriptor never does).
        var after: [String] = []
        #expect(eventually(within: 5) {
            after = idleDescriptors(of: listener, within: 1) ?? []
            return after.count == baseline.count
        }, "before: \(baseline)\nafter: \(after)")
        // Under qemu-user the pid is the emulator's, whose resident memory is
        // mostly its translation cache, growing with every code path the burst
        // reaches first (a clean-clone run saw +940 KiB): the listener's own
        // memory is measured natively only.
        if Paths.emulator == nil {
            let rss = try #require(Self.residentKilobytes(listener))
            #expect(rss <= baselineRSS + 512, "RSS grew from \(baselineRSS) to \(rss) KiB")
        }
        #expect(supervisord.process.isRunning)
        #expect(!supervisord.output.contains("level=error"), "\(supervisord.output)")
    }

    /// The port is taken when the listener starts: it says so, follows
    /// events all the same, and binds once the port is free.
    @Test func aTakenPortIsRetried() throws {
        let port = TestPorts.unused()
        // Close-on-exec: supervisord, spawned meanwhile, must not hold it too.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = HTTPClient.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0 && listen(holder, 1) == 0)
        let supervisord = try Supervisord(start: "exit 0", listenerArguments: "--http 127.0.0.1:\(port) --hook /nonexistent-hook")
        // The error's text is the C library's (musl: "Address in use", glibc:
        // "Address already in use"); its C name is the listener's own.
        #expect(supervisord.logged("level=error msg=\"cannot listen for httpGet probes, retrying every 5 s (they fail until then)\" address=127.0.0.1:\(port) error=\"Address "))
        #expect(supervisord.logged(" in use (EADDRINUSE)\""))
        _ = try #require(supervisord.waitForState("EXITED"))
        #expect(try supervisord.probe().status == 0)
        close(holder)
        #expect(eventually(within: 15) { HTTPClient.get(port: port, "/readyz")?.status == 200 }, "\(supervisord.output)")
        #expect(supervisord.logged("msg=\"answering httpGet probes\" address=127.0.0.1:\(port)"))
    }

    /// `:PORT` is every address, IPv4 included, also in a network namespace
    /// with IPv6 turned off (as some clusters' nodes have it).
    @Test(arguments: [false, true])
    func everyAddressTakesIPv4(ipv6Off: Bool) throws {
        let scratch = ScratchDirectory()
        let port = TestPorts.unused()
        let script = scratch.script("run.sh", """
            #!/bin/sh
            ip link set lo up || exit 90
            \(ipv6Off ? "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || exit 91" : "")
            sleep 5 | \(Paths.command(Paths.listener).joined(separator: " ")) --status-file \(scratch.path)/status --http :\(port) --hook /nonexistent-hook >/dev/null 2>\(scratch.path)/log &
            for i in $(seq 50); do grep -q "answering httpGet" \(scratch.path)/log 2>/dev/null && break; sleep 0.1; done
            exec python3 -c 'import socket; s = socket.create_connection(("127.0.0.1", \(port))); s.sendall(b"GET /readyz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"); print(s.recv(4096).decode().splitlines()[-1])'
            """)
        let result = try run("/usr/bin/unshare", ["--net", script])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "not ready: 100 START_PENDING: program start has not been seen yet\n", "\(result.stdout)\(result.stderr)")
    }

    @Test(arguments: ["nonsense", "127.0.0.1", "localhost:80", "127.0.0.1:0"])
    func badHTTPAddressesAreUsageErrors(address: String) throws {
        let scratch = ScratchDirectory()
        let result = try run(Paths.listener, ["--status-file", "\(scratch.path)/status", "--http", address])
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("readiness_listener: --http takes HOST:PORT, [IPV6]:PORT or :PORT"))
    }

    /// VmRSS of `pid`, in KiB.
    static func residentKilobytes(_ pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ")[1]) }
    }
}
