import Foundation
import Testing

/// Services against a real supervisord: readiness known from sd_notify
/// datagrams and from checks, only for the current run of each.
@Suite(.serialized) struct NotifyServiceTests {
    let ready = "ready: 0 READY: program start exited with status 0; 1 service ready; no hook"

    @Test func aNotifyServiceIsReadyOnlyOnceItsCurrentRunSentREADY() throws {
        let supervisord = try Supervisord(
            start: "exit 0", programs: [Notifier.program("app", ["STATUS=Loading", "wait:@SCRATCH@/go", "READY=1", "forever"])],
            listenerArguments: Notifier.arguments("app=notify"))
        let waiting = "not ready: 108 SERVICE_NOT_READY: service app is RUNNING but has not sent READY=1 (STATUS=Loading)"
        #expect(supervisord.probeSays(waiting))
        #expect(supervisord.logged("msg=\"started notify service, its socket bound\" service=app:app"))
        // Not ready for as long as it does not say so.
        Thread.sleep(forTimeInterval: 1)
        #expect(try supervisord.probeLine() == waiting)
        #expect(FileManager.default.createFile(atPath: "\(supervisord.scratch.path)/go", contents: nil))
        #expect(supervisord.probeSays(ready))
        #expect(supervisord.logged("msg=\"service ready\" service=app check=notify"))
        let first = try #require(try supervisord.pid(of: "app"))

        // A restart is a new run: not ready until it notifies again.
        _ = try supervisord.ctl("restart", "app")
        #expect(supervisord.probeSays(waiting))
        #expect(try supervisord.pid(of: "app") != first)
        #expect(FileManager.default.createFile(atPath: "\(supervisord.scratch.path)/go", contents: nil))
        #expect(supervisord.probeSays(ready))
        let line = try #require(supervisord.status?.values["service"])
        #expect(line.hasPrefix("app:app check=notify state=RUNNING ready=1 "))

        // Stopped by someone: not ready, and the listener does not start it again.
        _ = try supervisord.ctl("stop", "app")
        #expect(supervisord.probeSays("not ready: 108 SERVICE_NOT_READY: service app is STOPPED"))
    }

    @Test func aServiceThatNeverNotifiesIsNeverReady() throws {
        let supervisord = try Supervisord(
            start: "exit 0", programs: [Notifier.program("app", ["forever"])], listenerArguments: Notifier.arguments("app=notify"))
        let waiting = "not ready: 108 SERVICE_NOT_READY: service app is RUNNING but has not sent READY=1"
        #expect(supervisord.probeSays(waiting))
        for _ in 1...10 {
            #expect(try supervisord.probeLine() == waiting)
            Thread.sleep(forTimeInterval: 0.3)
        }
        #expect(try supervisord.probeLine(["--explain"]).contains("next: the named service is not ready"))
    }

    /// One probe per service: `--service NAME` and `/readyz?service=NAME`
    /// answer for that service alone (or start.sh's, for `start`), from the
    /// record the container's probe reads.
    @Test func eachServiceHasItsOwnProbe() throws {
        let port = TestPorts.unused()
        let supervisord = try Supervisord(
            start: "exit 0",
            programs: [Notifier.program("app", ["READY=1", "forever"]), Notifier.program("late", ["wait:@SCRATCH@/go", "READY=1", "forever"])],
            listenerArguments: Notifier.arguments("app=notify", "late=notify") + " --http 127.0.0.1:\(port)")
        // The container's line names the first service not ready: late, so app is ready.
        let lateWaits = "not ready: 108 SERVICE_NOT_READY: service late is RUNNING but has not sent READY=1"
        #expect(supervisord.probeSays(lateWaits))
        func expectAnswers(_ name: String, _ line: String, code: Int32) throws {
            let probe = try supervisord.probe(["--service", name])
            #expect(probe.status == code, "\(name): \(probe.stderr)")
            #expect((probe.stdout + probe.stderr) == line + "\n", "\(name)")
            let http = HTTPClient.get(port: port, "/readyz?service=\(name)")
            #expect(http?.status == (code == 0 ? 200 : 503), "\(name)")
            #expect(http?.body == line + "\n", "\(name)")
        }
        try expectAnswers("app", "ready: 0 READY: service app is ready", code: 0)
        try expectAnswers("app:app", "ready: 0 READY: service app is ready", code: 0)
        try expectAnswers("late", lateWaits, code: 108)
        try expectAnswers("start", "ready: 0 READY: program start exited with status 0", code: 0)
        try expectAnswers(
            "nope", "not ready: 115 UNKNOWN_SERVICE: no service nope: the listener's services are app, late (start names start.sh's own check)", code: 115)
        #expect(try supervisord.probe(["--service", "a:b:c"]).status == 120)
        #expect(HTTPClient.get(port: port, "/readyz?service=a:b:c")?.status == 400)

        #expect(FileManager.default.createFile(atPath: "\(supervisord.scratch.path)/go", contents: nil))
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; 2 services ready; no hook"))
        try expectAnswers("late", "ready: 0 READY: service late is ready", code: 0)
        // A service stopped is not ready; the other stays ready.
        _ = try supervisord.ctl("stop", "late")
        #expect(supervisord.probeSays("not ready: 108 SERVICE_NOT_READY: service late is STOPPED"))
        try expectAnswers("late", "not ready: 108 SERVICE_NOT_READY: service late is STOPPED", code: 108)
        try expectAnswers("app", "ready: 0 READY: service app is ready", code: 0)
    }

    @Test func tcpExecAndRunningServicesAreCheckedOnTheListenersLoop() throws {
        let port = TestPorts.unused()
        let supervisord = try Supervisord(
            start: "exit 0",
            programs: [
                Notifier.program("web", ["wait:@SCRATCH@/listen", "listen:\(port)", "forever"], settings: ["autostart": "true"]),
                Supervisord.Program(name: "db", script: "exec sleep 600", settings: ["startsecs": "1"]),
                Supervisord.Program(name: "cron", script: "exec sleep 600", settings: ["startsecs": "1"]),
            ],
            listenerArguments: "--service web=tcp:\(port) --service 'db=exec:test -e @SCRATCH@/db-up' --service cron=running --check-period 0.2")
        #expect(supervisord.probeSays("not ready: 108 SERVICE_NOT_READY: service web: tcp 127.0.0.1:\(port): connection refused (", prefix: true))
        #expect(FileManager.default.createFile(atPath: "\(supervisord.scratch.path)/listen", contents: nil))
        #expect(supervisord.probeSays("not ready: 108 SERVICE_NOT_READY: service db: exec: exited with status 1 (", prefix: true))
        #expect(FileManager.default.createFile(atPath: "\(supervisord.scratch.path)/db-up", contents: nil))
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; 3 services ready; no hook"))
        // Three failures in a row make a ready service not ready again.
        try FileManager.default.removeItem(atPath: "\(supervisord.scratch.path)/db-up")
        #expect(supervisord.probeSays("not ready: 108 SERVICE_NOT_READY: service db: exec: exited with status 1 (3 checks failed)"))
        let json = try supervisord.probeLine(["--json"])
        #expect(json.contains("\"services\":[{\"service\":\"web\""))
    }

    @Test func notifyServicesWithoutXMLRPCAreAStartUpError() throws {
        let supervisord = try Supervisord(
            start: "exit 0", listenerSettings: ["startretries": "0"], server: .none, programs: [Notifier.program("app", ["READY=1", "forever"])],
            listenerArguments: Notifier.arguments("app=notify"))
        #expect(supervisord.logged("notify services need supervisord's XML-RPC interface", within: 20))
        #expect(supervisord.logged("fix=\"add a [unix_http_server] section"))
        #expect(supervisord.logged("exited: readiness_listener (exit status 78; not expected)", within: 20) || supervisord.log.contains("exit status 78"))
        #expect(try supervisord.probe().status == 104)
    }
}

/// Services under what a careful receiver must survive: forged, flooded,
/// oversized datagrams and passed descriptors, a listener killed and
/// restarted, a reload, and READY=1 sent at once at every start.
@Suite(.serialized) struct ServiceFaultTests {
    @Test func forgedReadyFromOtherProcessesIsIgnored() throws {
        let supervisord = try Supervisord(
            start: "exit 0",
            programs: [
                Notifier.program("app", ["forever"]),
                // A process of supervisord's that is not the service.
                Notifier.program("other", ["READY=1", "sleep:0.5", "READY=1", "forever"], settings: ["autostart": "true"]),
            ],
            listenerArguments: Notifier.arguments("app=notify"))
        let waiting = "not ready: 108 SERVICE_NOT_READY: service app is RUNNING but has not sent READY=1"
        #expect(supervisord.probeSays(waiting))
        #expect(sendDatagram("\(supervisord.scratch.path)/run/notify", Array("READY=1".utf8)))
        #expect(supervisord.logged("reason=\"its sender is not a process of supervisord's\""))
        #expect(supervisord.logged("reason=\"its sender is not a notify service's current run, a descendant of one, nor its MAINPID\""))
        #expect(try supervisord.probeLine() == waiting)
    }

    /// A notify service names as its MAINPID a process it did not start
    /// (here supervisord itself): refused, as systemd takes a MAINPID only
    /// inside the service's own cgroup. Taken, it let any other program of
    /// supervisord's (all are its children) make the service ready (issue 23).
    @Test func aMainPIDOutsideTheRunIsRefused() throws {
        let supervisord = try Supervisord(
            start: "exit 0",
            programs: [
                Notifier.program("app", ["MAINPID=@PPID@", "forever"]),
                Notifier.program("other", ["wait:@SCRATCH@/go", "READY=1", "forever"], settings: ["autostart": "true"]),
            ],
            listenerArguments: Notifier.arguments("app=notify"))
        let supervisordPID = supervisord.process.pid
        let waiting = "not ready: 108 SERVICE_NOT_READY: service app is RUNNING but has not sent READY=1"
        #expect(supervisord.logged("main_pid=\(supervisordPID)", within: 20), "\(supervisord.output)")
        #expect(supervisord.logged("msg=\"refused a MAINPID: it is not the service's run nor a descendant of it\" service=app"))
        #expect(supervisord.probeSays(waiting))
        // The sibling's READY=1 is not the service's.
        #expect(FileManager.default.createFile(atPath: "\(supervisord.scratch.path)/go", contents: nil))
        #expect(supervisord.logged("reason=\"its sender is not a notify service's current run, a descendant of one, nor its MAINPID\""))
        #expect(try supervisord.probeLine() == waiting)
    }

    /// Any local process may write to the notify socket and exit before
    /// /proc shows whose it was; the listener then asks supervisord for
    /// every process, which costs it about a second with 1,000 of them.
    /// Senders that send and exit, 40 a second for 10 s, make it ask at
    /// most the budget's burst and one per 5 s (issue 23: up to five a
    /// second before), counted by an rpcinterface that wraps supervisord's.
    @Test func sendersThatExitCostABoundedNumberOfQueries() throws {
        let scratch = ScratchDirectory()
        let count = "\(scratch.path)/getAllProcessInfo"
        let counting = """
            from supervisor.rpcinterface import SupervisorNamespaceRPCInterface

            class Counting(SupervisorNamespaceRPCInterface):
                def getAllProcessInfo(self):
                    with open("\(count)", "a") as f:
                        f.write("x")
                    return SupervisorNamespaceRPCInterface.getAllProcessInfo(self)

            def make(supervisord, **config):
                return Counting(supervisord)
            """
        let supervisord = try Supervisord(
            start: "exit 0", programs: [Notifier.program("app", ["forever"])], listenerArguments: Notifier.arguments("app=notify"),
            rpcInterfaceModule: counting)
        #expect(supervisord.probeSays("not ready: 108 SERVICE_NOT_READY: service app is RUNNING but has not sent READY=1"))
        #expect(staysIdle(try #require(supervisord.listenerPID), for: 1.5))
        let asked = { ((try? String(contentsOfFile: count, encoding: .utf8)) ?? "").count }
        let before = asked()
        let flood = """
            import os, socket, time
            for _ in range(400):
                if os.fork() == 0:
                    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", "\(supervisord.scratch.path)/run/notify")
                    os._exit(0)
                os.wait()
                time.sleep(0.025)
            """
        let began = Date()
        #expect(try run("\(Paths.venv)/python3", ["-c", flood]).status == 0)
        let seconds = Date().timeIntervalSince(began)
        #expect(try supervisord.probeLine() == "not ready: 108 SERVICE_NOT_READY: service app is RUNNING but has not sent READY=1")
        let queries = asked() - before
        #expect(queries >= 1, "no sender was ever placed by asking supervisord: the flood tested nothing")
        #expect(queries <= 3 + Int(seconds / 5) + 1, "\(queries) getAllProcessInfo calls in \(seconds) s")
    }

    @Test func floodsOversizedMessagesAndPassedDescriptorsCostNothing() throws {
        let supervisord = try Supervisord(
            start: "exec sleep 1000", startSettings: ["startsecs": "0"],
            programs: [Notifier.program("app", ["wait:@SCRATCH@/go", "fds:READY=1", "forever"])],
            listenerArguments: Notifier.arguments("app=notify"))
        #expect(supervisord.logged("started notify service"))
        // By supervisord's word: the status file may not be written yet (the
        // turn that logged writes it at its end).
        let listener = pid_t(try #require(try supervisord.pid(of: "readiness_listener")))
        // Counted while the listener is idle in poll, before and after (a
        // count taken while a status write or an XML-RPC call holds a
        // descriptor would differ without a leak), and once it holds its
        // status lock, which it opens with its first write.
        #expect(eventually { openDescriptors(of: listener).contains { $0.hasSuffix("/status.lock") } })
        let descriptors = try #require(idleDescriptors(of: listener), "the listener never sat idle in poll")
        let socket = "\(supervisord.scratch.path)/run/notify"
        var sent = 0
        let began = Date()
        for index in 0..<20_000 {
            let message: [UInt8] = index % 100 == 0 ? [UInt8](repeating: 65, count: 8192) : index % 100 == 1 ? Array("READY=1\u{0}".utf8) : Array("READY=1".utf8)
            if sendDatagram(socket, message) { sent += 1 }
            if index == 10_000 { _ = try supervisord.ctl("stop", "start") }
        }
        // Events were answered all along.
        #expect(supervisord.waitForState("STOPPED") != nil)
        #expect(FileManager.default.createFile(atPath: "\(supervisord.scratch.path)/go", contents: nil))
        #expect(supervisord.logged("msg=\"service ready\" service=app check=notify"))
        #expect(supervisord.logged("msg=\"closed file descriptors passed with a notify message (nothing here keeps them)\"") || supervisord.output.contains("not_logged_since_last"))
        let after = try #require(idleDescriptors(of: listener), "the listener never sat idle in poll")
        #expect(after.count == descriptors.count, "before: \(descriptors)\nafter: \(after)")
        // Per kind (strangers, malformed, descriptors): one line, then at most one per ten seconds.
        let lines = supervisord.output.components(separatedBy: "\n").filter { $0.contains("dropped a notify message") || $0.contains("closed file descriptors") }
        let tenSeconds = Int(Date().timeIntervalSince(began) / 10) + 1
        #expect(lines.count <= 3 * tenSeconds, "\(lines.count) lines for \(sent) datagrams")
        #expect(sent == 20_000)
        print("sent \(sent) datagrams; \(lines.count) log lines")
    }

    @Test func aKilledListenerKeepsTheReadinessOfServicesThatDidNotRestart() throws {
        let supervisord = try Supervisord(
            start: "exit 0", programs: [Notifier.program("app", ["READY=1", "forever"])], listenerArguments: Notifier.arguments("app=notify"))
        let ready = "ready: 0 READY: program start exited with status 0; 1 service ready; no hook"
        #expect(supervisord.probeSays(ready))
        let first = try #require(supervisord.listenerPID)
        kill(first, SIGKILL)
        #expect(eventually { supervisord.listenerPID.map { $0 != first } ?? false })
        #expect(try supervisord.probeLine() == ready)
        #expect(!supervisord.output.contains("started before the listener bound its socket"))

        // A service restarted while no listener ran: its READY=1 went nowhere.
        _ = try supervisord.ctl("stop", "readiness_listener")
        _ = try supervisord.ctl("restart", "app")
        _ = try supervisord.ctl("start", "readiness_listener")
        #expect(supervisord.logged("msg=\"notify service started before the listener bound its socket: its READY=1 may have been lost, and it is not ready until it sends one\" service=app:app"))
        #expect(supervisord.probeSays("not ready: 108 SERVICE_NOT_READY: service app is RUNNING but has not sent READY=1"), "\((try? supervisord.probeLine()) ?? "")\n\(supervisord.output)")
    }

    /// supervisord spawns the listener and the programs in one pass: a
    /// program that notifies at once would race the socket's bind. The
    /// listener starts it once bound, at every start of supervisord's.
    @Test func fiftyStartsInARowLoseNoReady() throws {
        let supervisord = try Supervisord(
            start: "exit 0", programs: [Notifier.program("app", ["READY=1", "forever"], settings: ["startsecs": "0"])],
            listenerArguments: Notifier.arguments("app=notify"))
        let ready = "ready: 0 READY: program start exited with status 0; 1 service ready; no hook"
        var lost = 0
        for round in 1...50 {
            #expect(supervisord.probeSays(ready, within: 30), "round \(round)")
            let pid = try supervisord.pid(of: "app")
            if round < 50 {
                _ = try supervisord.ctl("reload")
                // The new generation's first file, then its own app.
                if !eventually(within: 30, { (try? supervisord.pid(of: "app")).map { $0 != pid } ?? false }) { lost += 1 }
            }
        }
        #expect(lost == 0)
        // The last generation's line may be relayed by supervisord after its app's READY=1 was written.
        let started = { supervisord.output.components(separatedBy: "started notify service, its socket bound").count - 1 }
        #expect(eventually(within: 5) { started() == 50 }, "\(started()) lines")
        #expect(!supervisord.output.contains("READY=1 may have been lost"))
    }
}

/// Sends one datagram to a unix socket from this process (not a process of
/// supervisord's), waiting up to 5 s for room in the receiver's queue.
func sendDatagram(_ path: String, _ bytes: [UInt8]) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        let name = Array(path.utf8)
        buffer.copyBytes(from: name)
        buffer[name.count] = 0
    }
    let sent = bytes.withUnsafeBytes { payload in
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, payload.baseAddress, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
    return sent == bytes.count
}
