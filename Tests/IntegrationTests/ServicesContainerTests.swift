import Foundation
import Testing

/// The services image: Debian 12's own daemons that tell readiness with
/// sd_notify (no stub sender), and one checked by TCP, run by the container's
/// supervisord next to start.sh. What `make e2e` debootstraps for it
/// (E2E_PACKAGES): redis-server 7.0 and haproxy 2.6; the web server is
/// python3's http.server (python3 comes with supervisor).
///
/// What they send, seen in this image under supervisord with `NOTIFY_SOCKET`
/// set (a receiver with SO_PASSCRED), one datagram per line:
/// - redis-server, sender the supervisord child itself, uid redis:
///   `STATUS=Redis is loading...\n`, `STATUS=Ready to accept connections\n`,
///   `READY=1\n` (all within a millisecond); on SIGTERM `STOPPING=1\n`. Only
///   with `--supervised systemd` (or `auto`, or `supervised systemd` in its
///   config file): the default, `supervised no`, sends nothing at all.
/// - haproxy -Ws (master-worker), sender the master, the supervisord child:
///   `RELOADING=1`, then `READY=1\nMAINPID=<the master's pid>` (no trailing
///   newline); on SIGTERM `STOPPING=1`.
enum ServiceImage {
    /// Where the listener binds its notify socket (its `--notify-socket` default).
    static let notifySocket = "/run/readiness/notify"
    /// The web server's port: not 8080, the listener's `--http` in every
    /// container (ContainerImage.httpPort).
    static let webPort: UInt16 = 8000
    static let haproxyPort: UInt16 = 8404
    static let haproxyConfig = "/etc/haproxy/e2e.cfg"
    /// While this file is missing the web server does not listen yet (a
    /// test's gate, to hold the pod at 108 with the notify services ready).
    static let webGate = "/run/web-go"

    /// haproxy wants a config with at least one listener; Debian's stock
    /// haproxy.cfg does not start in a container (its stats socket is in
    /// /run/haproxy/, which nothing creates on a fresh /run, and it has no
    /// frontend). This one answers every request itself.
    static let haproxy = """
        global
            log stderr format raw local0 notice
        defaults
            mode http
            log global
            timeout connect 5s
            timeout client 30s
            timeout server 30s
        frontend static
            bind 127.0.0.1:\(haproxyPort)
            http-request return status 200 content-type text/plain string "haproxy ok"

        """

    /// The programs' sections. A notify service is `autostart=false`: the
    /// listener starts it over XML-RPC once its socket is bound, so no
    /// READY=1 is sent before anyone listens. supervisord's `user=` needs
    /// CAP_SETUID and CAP_SETGID (Container.Options.capabilities); the
    /// listener's socket is 0666 in /run/readiness (0755), so redis, not
    /// root, can send to it.
    static func programs(webGated: Bool) -> String {
        let web = "/usr/bin/python3 -m http.server \(webPort) --bind 127.0.0.1"
        return """
            [program:redis]
            command=/usr/bin/redis-server --supervised systemd --daemonize no --port 6379 --bind 127.0.0.1 --save "" --appendonly no --dir /var/lib/redis
            user=redis
            autostart=false
            environment=NOTIFY_SOCKET="\(notifySocket)"
            stdout_logfile=/dev/stdout
            stdout_logfile_maxbytes=0
            redirect_stderr=true

            [program:haproxy]
            command=/usr/sbin/haproxy -Ws -f \(haproxyConfig)
            user=haproxy
            autostart=false
            environment=NOTIFY_SOCKET="\(notifySocket)"
            stdout_logfile=/dev/stdout
            stdout_logfile_maxbytes=0
            redirect_stderr=true

            [program:web]
            command=\(webGated ? "/bin/sh -c \"while [ ! -e \(webGate) ]; do sleep 0.1; done; exec \(web)\"" : web)
            user=nobody
            directory=/tmp
            autostart=true
            stdout_logfile=/dev/stdout
            stdout_logfile_maxbytes=0
            redirect_stderr=true

            """
    }

    static let listenerArguments = ["--service", "redis=notify", "--service", "haproxy=notify", "--service", "web=tcp:\(webPort)"]

    /// The listener's log lines the tests look for (logfmt on its stderr, the
    /// container log). Their exact text is the services feature's to fix:
    /// these two are the only places that know it.
    static func notifyReceived(_ console: String, service: String, _ message: String = "READY=1") -> Int {
        console.split(separator: "\n").filter { $0.contains("msg=\"sd_notify message\" service=\(service)") && $0.contains("sent=\"\(message)\"") }.count
    }
    static func reportedReady(_ console: String, service: String) -> Bool {
        console.split(separator: "\n").contains { $0.contains("msg=\"service ready\"") && $0.contains("service=\(service)") }
    }
}

extension Container.Options {
    /// A container with the services image: start.sh, redis and haproxy
    /// (notify), web (tcp), containerd's default capabilities, and, with
    /// `listenerKnowsServices`, the listener told about the three.
    static func services(start: String = "exit 0", webGated: Bool = false, listenerKnowsServices: Bool = true) -> Self {
        var options = Self(start: start)
        options.programs = ServiceImage.programs(webGated: webGated)
        options.files = [ServiceImage.haproxyConfig: ServiceImage.haproxy]
        options.capabilities = ContainerImage.containerdCapabilities
        if listenerKnowsServices { options.listenerArguments = ServiceImage.listenerArguments }
        return options
    }
}

/// Services in a real container (`make e2e`): the pod is Ready only once
/// start.sh exited 0 and every service is ready, by READY=1 from Debian's
/// real redis-server and haproxy and by a TCP connect to the web server.
@Suite(.serialized, .enabled(if: ContainerImage.available, "make e2e prepares the root file system"))
struct ServicesContainerTests {
    /// The image itself, with today's listener (not told about services):
    /// the daemons start under supervisord as their own users, answer, and
    /// start.sh alone makes the pod Ready.
    @Test func servicesImageRunsDebiansDaemons() throws {
        let container = try Container(.services(listenerKnowsServices: false))
        defer { container.destroy() }
        try container.waitForListener()
        let prober = Prober(container)
        prober.timeout = 5
        #expect(try prober.probe(until: { $0.code == 0 }, within: 60) != nil, "\(prober.comparison)")
        let started = try container.exec(["supervisorctl", "start", "redis", "haproxy"], timeout: 60)
        #expect(started.status == 0, "\(started.stdout)\(started.stderr)\n\(container.console.suffix(3000))")
        let status = try container.exec(["supervisorctl", "status"]).stdout
        for program in ["redis", "haproxy", "web"] {
            #expect(status.split(separator: "\n").contains { $0.hasPrefix(program + " ") && $0.contains("RUNNING") }, "\(status)")
        }
        // Each as the user its section names: supervisord's user= works with
        // containerd's capabilities.
        for (program, user) in [("redis", "redis"), ("haproxy", "haproxy"), ("web", "nobody")] {
            let pid = try container.exec(["supervisorctl", "pid", program]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let owner = try container.shell("stat -c %U /proc/\(pid)")
            #expect(owner.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == user, "\(program) pid \(pid): \(owner)")
        }
        var pong = ""
        #expect(try eventually(within: 30) {
            pong = try container.exec(["redis-cli", "-p", "6379", "ping"]).stdout
            return pong.contains("PONG")
        }, "redis answers: \(pong)")
        var haproxy = HTTPGet.Answer(status: HTTPGet.failed, message: "")
        #expect(eventually(within: 30) {
            haproxy = HTTPGet.get(inNetworkNamespaceOf: container.initPID, port: ServiceImage.haproxyPort, path: "/", timeout: 5)
            return haproxy.status == 200
        }, "\(haproxy)")
        #expect(haproxy.message.contains("haproxy ok"), "\(haproxy)")
        var web = HTTPGet.Answer(status: HTTPGet.failed, message: "")
        #expect(eventually(within: 30) {
            web = HTTPGet.get(inNetworkNamespaceOf: container.initPID, port: ServiceImage.webPort, path: "/", timeout: 5)
            return web.status == 200
        }, "\(web)")
        #expect(try prober.probe().code == 0, "start.sh exited 0 and the listener knows no services")
    }

    /// NotReady (108) while a service is not ready, Ready once all are, NotReady
    /// naming redis when it is stopped, Ready again once the restarted redis
    /// notifies. The web server is held back (gated) so that 108 is seen with
    /// redis and haproxy ready.
    @Test func notifyAndTCPServicesGateReadiness() throws {
        let container = try Container(.services(webGated: true))
        defer { container.destroy() }
        try container.waitForListener(within: 60)
        let prober = Prober(container)
        prober.timeout = 5

        // start.sh has exited 0, the listener started redis and haproxy and
        // heard their READY=1, and the web server does not listen yet.
        let waiting = try prober.probe(until: {
            $0.code == 108 && $0.message.contains("service web")
                && ServiceImage.notifyReceived(container.console, service: "redis") > 0
                && ServiceImage.notifyReceived(container.console, service: "haproxy") > 0
        }, within: 120)
        #expect(waiting != nil, "\(prober.comparison)\n\(container.console.suffix(4000))")
        #expect(waiting?.message.hasPrefix("not ready: 108 SERVICE_NOT_READY: ") == true, "\(waiting?.message ?? "")")
        #expect(prober.results.allSatisfy { !$0.succeeded }, "never Ready before every service is: \(prober.comparison)")
        #expect(prober.results.contains { $0.code == 108 }, "\(prober.comparison)")
        let status = try container.exec(["supervisorctl", "status"]).stdout
        for program in ["redis", "haproxy"] {
            #expect(status.split(separator: "\n").contains { $0.hasPrefix(program + " ") && $0.contains("RUNNING") },
                    "the listener started \(program) (autostart=false): \(status)")
        }

        #expect(try container.exec(["touch", ServiceImage.webGate]).status == 0)
        let ready = try prober.probe(until: { $0.code == 0 }, within: 60)
        #expect(ready != nil, "\(prober.comparison)\n\(container.console.suffix(4000))")
        // supervisord relays the listener's log in its own loop, possibly after the file the probe read.
        for service in ["redis", "haproxy", "web"] {
            #expect(eventually(within: 5) { ServiceImage.reportedReady(container.console, service: service) },
                    "\(service): \(container.console.suffix(4000))")
        }
        #expect(prober.transitions.map(\.ready) == [true], "\(prober.comparison)")

        // supervisorctl stop redis: NotReady, naming redis.
        let stopped = try container.exec(["supervisorctl", "stop", "redis"], timeout: 60)
        #expect(stopped.status == 0, "\(stopped.stdout)\(stopped.stderr)")
        let down = try prober.probe(until: { $0.code == 108 && $0.message.contains("redis") }, within: 60)
        #expect(down != nil, "\(prober.comparison)")
        #expect(down?.message.hasPrefix("not ready: 108 SERVICE_NOT_READY: service redis") == true, "\(down?.message ?? "")")
        // One probe per service, exec and httpGet alike: redis down, haproxy still ready.
        let port = try #require(container.httpPort)
        for (service, code, line) in [
            ("redis", Int32(108), "not ready: 108 SERVICE_NOT_READY: service redis is STOPPED"),
            ("haproxy", Int32(0), "ready: 0 READY: service haproxy is ready"),
        ] {
            // Once the listener has handled redis's STOPPED (after STOPPING, also 108).
            var probe: Completed?
            #expect(try eventually {
                probe = try container.exec(["/usr/bin/readiness_probe", "--service", service])
                return probe?.status == code && (code == 0 ? probe?.stdout : probe?.stderr) == line + "\n"
            }, "\(service): \(String(describing: probe))")
            var http = HTTPGet.Answer(status: HTTPGet.failed, message: "")
            #expect(eventually {
                http = HTTPGet.get(inNetworkNamespaceOf: container.initPID, port: port, path: "/readyz?service=\(service)", timeout: 5)
                return http.status == (code == 0 ? 200 : 503) && http.message == line
            }, "\(service): \(http)")
        }
        // Metrics through the same namespace, read by prometheus-client and promtool: redis's stop shows.
        var samples: [MetricsTests.Sample] = []
        #expect(try eventually {
            let scrape = HTTPGet.get(inNetworkNamespaceOf: container.initPID, port: port, path: "/metrics", timeout: 5, bodyLimit: 1 << 20)
            samples = scrape.status == 200 ? try MetricsTests.parse(scrape.message + "\n", scratch: ScratchDirectory()) : []
            return MetricsTests.value(samples, "readiness_program_state", ["program": "redis"]) == 0
        }, "\(samples)")
        #expect(MetricsTests.value(samples, "readiness_service_ready", ["service": "redis"]) == 0)
        #expect(MetricsTests.value(samples, "readiness_service_ready", ["service": "haproxy"]) == 1)
        #expect(MetricsTests.value(samples, "readiness_program_starts_total", ["program": "redis"]) ?? 0 >= 1)
        #expect(MetricsTests.value(samples, "readiness_service_time_to_ready_seconds_count", ["service": "haproxy"]) ?? 0 >= 1)
        #expect(MetricsTests.value(samples, "readiness_probe_code") == 108)

        // supervisorctl start redis: Ready again once it sent READY=1 again.
        let before = ServiceImage.notifyReceived(container.console, service: "redis")
        let started = try container.exec(["supervisorctl", "start", "redis"], timeout: 60)
        #expect(started.status == 0, "\(started.stdout)\(started.stderr)")
        let again = try prober.probe(until: { $0.code == 0 }, within: 60)
        #expect(again != nil, "\(prober.comparison)\n\(container.console.suffix(4000))")
        #expect(eventually(within: 5) { ServiceImage.notifyReceived(container.console, service: "redis") > before },
                "the restarted redis notified: \(container.console.suffix(4000))")
        #expect(prober.transitions.map(\.ready) == [true, false, true], "\(prober.comparison)")
        #expect(prober.transitionsAgree, "\(prober.comparison)")
        #expect(prober.companion?.results.contains { $0.code == 503 && $0.message.hasPrefix("not ready: 108 SERVICE_NOT_READY") } == true,
                "\(prober.comparison)")
    }

    /// Start-up order (`--start-after`): redis once start.sh exited 0, an app
    /// once redis sent READY=1; the app finds redis answering PING as it
    /// starts, and the pod is NotReady (100, then 116) until the app started.
    @Test func startAfterStartsRedisThenTheAppOnTrueReadiness() throws {
        var options = Container.Options.services(start: "while [ ! -e /run/start-go ]; do sleep 0.1; done; exit 0")
        options.programs += """
            [program:app]
            command=/bin/sh -c "redis-cli -p 6379 ping > /run/app-saw 2>&1; exec sleep 600"
            autostart=false
            startsecs=0
            stdout_logfile=/dev/stdout
            stdout_logfile_maxbytes=0
            redirect_stderr=true

            """
        options.listenerArguments += ["--start-after", "redis=start:exited", "--start-after", "app=redis:ready"]
        let container = try Container(options)
        defer { container.destroy() }
        try container.waitForListener(within: 60)
        let prober = Prober(container)
        prober.timeout = 5
        #expect(try prober.probe(until: { $0.code == 100 }, within: 60) != nil, "\(prober.comparison)")
        let status = try container.exec(["supervisorctl", "status"]).stdout
        for program in ["redis", "app"] {
            #expect(status.split(separator: "\n").contains { $0.hasPrefix(program + " ") && $0.contains("STOPPED") }, "\(status)")
        }
        #expect(try container.exec(["touch", "/run/start-go"]).status == 0)
        let ready = try prober.probe(until: { $0.code == 0 }, within: 120)
        #expect(ready != nil, "\(prober.comparison)\n\(container.console.suffix(4000))")
        #expect(prober.transitions.map(\.ready) == [true], "\(prober.comparison)")
        #expect(try container.exec(["cat", "/run/app-saw"]).stdout == "PONG\n")
        // The listener's own lines, in the order it wrote them: redis's READY=1, then the app's start.
        let console = container.console
        let redisReady = try #require(console.range(of: "msg=\"sd_notify message\" service=redis"), "\(console.suffix(4000))")
        let appStarted = try #require(console.range(of: "msg=\"started program: every condition it waits for holds\" program=app:app"), "\(console.suffix(4000))")
        #expect(redisReady.lowerBound < appStarted.lowerBound)
    }
}
