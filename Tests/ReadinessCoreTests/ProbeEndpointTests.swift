import Testing

@testable import ReadinessCore

@Suite struct ProbeEndpointTests {
    static func request(_ text: String) -> ProbeEndpoint.Request { ProbeEndpoint.request(Array(text.utf8)) }

    static func record(_ state: RecordedState, expected: Bool? = nil, exitStatus: Int? = nil) -> StatusRecord {
        StatusRecord(program: "start", state: state, expected: expected, exitStatus: exitStatus, listenerPID: 2, supervisordPID: 1)
    }

    static func response(_ text: String, _ answers: ProbeEndpoint.Answers) -> String {
        var memory = ProbeEndpoint.ScrapeMemory()
        return String(decoding: ProbeEndpoint.response(to: request(text), answers: answers, metrics: { _ in Array(metrics.utf8) }, memory: &memory).bytes, as: UTF8.self)
    }

    @Test func kubeletsRequestIsComplete() {
        // What Go's net/http sends for an httpGet probe.
        let kubelet = "GET /readyz HTTP/1.1\r\nHost: 10.0.0.7:8080\r\nUser-Agent: kube-probe/1.30\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        #expect(Self.request(kubelet) == .complete(method: "GET", path: "/readyz", query: ""))
        #expect(Self.request("HEAD /livez?verbose=1 HTTP/1.0\n\n") == .complete(method: "HEAD", path: "/livez", query: "verbose=1"))
    }

    @Test func headArrivesInPieces() {
        let full = Array("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        for end in 0..<full.count {
            #expect(ProbeEndpoint.request(full[..<end]) == .incomplete, "\(end) bytes")
        }
        #expect(ProbeEndpoint.request(full) == .complete(method: "GET", path: "/readyz", query: ""))
    }

    @Test(arguments: [
        ("\r\n\r\n", 400),
        ("GET\r\n\r\n", 400),
        ("GET /readyz\r\n\r\n", 400),
        ("GET  /readyz HTTP/1.1\r\n\r\n", 400),
        ("GET readyz HTTP/1.1\r\n\r\n", 400),
        ("G(T /readyz HTTP/1.1\r\n\r\n", 400),
        ("GET /ready\u{7}z HTTP/1.1\r\n\r\n", 400),
        ("GET /readyz HTTP/2.0\r\n\r\n", 505),
        ("GET /readyz SPDY/3\r\n\r\n", 400),
        ("\u{16}\u{3}\u{1}\u{0}\u{A5}\u{1}\u{0}\r\n\r\n", 400),
    ])
    func malformedRequestsAreRefused(text: String, status: Int) {
        #expect(Self.request(text) == .refused(status: status))
    }

    @Test func oversizedHeadsAreRefused() {
        let long = "GET /readyz HTTP/1.1\r\n" + String(repeating: "X-Filler: 0123456789abcdef\r\n", count: 400)
        #expect(Self.request(long) == .refused(status: 431), "no end yet, over the limit")
        #expect(Self.request(long + "\r\n") == .refused(status: 431))
        let justFits = "GET /readyz HTTP/1.1\r\n" + String(repeating: "a", count: ProbeEndpoint.maximumRequestBytes - 26) + "\r\n\r\n"
        #expect(justFits.utf8.count == ProbeEndpoint.maximumRequestBytes)
        #expect(Self.request(justFits) == .complete(method: "GET", path: "/readyz", query: ""), "headers are not interpreted, only counted")
        let oneMore = "GET /readyz HTTP/1.1\r\n" + String(repeating: "a", count: ProbeEndpoint.maximumRequestBytes - 25) + "\r\n\r\n"
        #expect(Self.request(oneMore) == .refused(status: 431))
    }

    @Test func readyzIsTheProbesVerdict() {
        for (state, expected, status) in [
            (RecordedState.process(.exited), true as Bool?, 0), (.process(.exited), false, 3), (.notSeen, nil, 0), (.process(.running), nil, 0),
            (.process(.fatal), nil, 0), (.process(.stopped), nil, 0), (.absent, nil, 0),
        ] {
            let record = Self.record(state, expected: expected, exitStatus: state == .process(.exited) ? status : nil)
            let verdict = Verdict.commonCheck(record)
            let text = Self.response("GET /readyz HTTP/1.1\r\n\r\n", ProbeEndpoint.Answers(record: record, hook: nil))
            let line = verdict.isReady ? "\(verdict.line); no hook" : verdict.line
            #expect(text.hasPrefix(verdict.isReady ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 503 Service Unavailable\r\n"), "\(state)")
            #expect(text.hasSuffix("\r\n\r\n\(line)\n"), "\(text)")
            #expect(text.contains("Content-Length: \(line.utf8.count + 1)\r\n"))
            #expect(text.contains("Connection: close\r\n"))
        }
    }

    @Test func aHookVerdictCountsOnlyAfterTheCommonCheck() {
        let hook = Verdict(.hookUnusable, "hook /h is installed")
        let ready = ProbeEndpoint.Answers(record: Self.record(.process(.exited), expected: true, exitStatus: 0), hook: hook)
        #expect(ready.readiness == hook)
        let pending = ProbeEndpoint.Answers(record: Self.record(.process(.running)), hook: hook)
        #expect(pending.readiness.code == .startPending)
    }

    /// A status write that failed takes READY away from `/readyz` as from
    /// the exec probe (which then finds no live listener keeping the file);
    /// a verdict that is not READY keeps its own code, as there.
    @Test func anUnwrittenStatusFileTakesReadyAway() {
        let exited = Self.record(.process(.exited), expected: true, exitStatus: 0)
        #expect(ProbeEndpoint.Answers(record: exited, hook: nil, unwritten: nil).readiness.isReady)
        let unwritten = ProbeEndpoint.Answers(record: exited, hook: nil, unwritten: "Read-only file system (EROFS)")
        #expect(unwritten.readiness.code == .listenerGone)
        #expect(unwritten.readiness.message.hasSuffix(": Read-only file system (EROFS)"))
        let pending = ProbeEndpoint.Answers(record: Self.record(.process(.running)), hook: nil, unwritten: "Read-only file system (EROFS)")
        #expect(pending.readiness.code == .startPending)
    }

    @Test func livezTurnsOnAnEssentialEndEvenInADryRun() {
        var record = Self.record(.process(.exited), expected: true, exitStatus: 0)
        #expect(Self.response("GET /livez HTTP/1.1\r\n\r\n", ProbeEndpoint.Answers(record: record, hook: nil))
            .hasSuffix("\r\n\r\nalive: no essential program has ended\n"))
        record.essentialFailure = EssentialFailure(program: "app:app", state: .fatal, expected: nil, exitStatus: nil, spawnError: nil, since: nil, shutdown: .dryRun)
        let answers = ProbeEndpoint.Answers(record: record, hook: nil)
        #expect(answers.readiness.isReady, "a dry run does not withdraw readiness, as the probe")
        let live = Self.response("GET /livez HTTP/1.1\r\n\r\n", answers)
        #expect(live.hasPrefix("HTTP/1.1 503 "))
        #expect(live.hasSuffix("not alive: 107 ESSENTIAL_DOWN: supervisord could not start essential program app:app (FATAL); dry run, supervisord is not shut down\n"))
        record.essentialFailure?.shutdown = .requested
        let down = ProbeEndpoint.Answers(record: record, hook: nil)
        #expect(down.readiness.code == .essentialDown)
        #expect(down.livenessFailure?.message == "supervisord could not start essential program app:app (FATAL)")
    }

    @Test func headHasNoBodyAndOtherPathsAndMethodsAreRefused() {
        let answers = ProbeEndpoint.Answers(record: Self.record(.notSeen), hook: nil)
        let head = Self.response("HEAD /readyz HTTP/1.1\r\n\r\n", answers)
        #expect(head.hasPrefix("HTTP/1.1 503 ") && head.hasSuffix("\r\n\r\n"))
        #expect(Self.response("GET / HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(Self.response("GET /readyz/ HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 404 "))
        #expect(Self.response("GET /../etc/passwd HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 404 "))
        let post = Self.response("POST /readyz HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", answers)
        #expect(post.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n") && post.contains("Allow: GET, HEAD\r\n"))
        #expect(Self.response("BREW /x HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 404 "))
        #expect(Self.response("GET /readyz HTTP/2.0\r\n\r\n", answers).hasPrefix("HTTP/1.1 505 "))
        var memory = ProbeEndpoint.ScrapeMemory()
        #expect(String(decoding: ProbeEndpoint.response(to: .incomplete, answers: answers, metrics: { _ in [] }, memory: &memory).bytes, as: UTF8.self).hasPrefix("HTTP/1.1 408 "))
    }

    static let metrics = "# TYPE readiness_events_total counter\nreadiness_events_total 3\n"

    @Test func metricsAreServedInTheExpositionFormat() {
        let answers = ProbeEndpoint.Answers(record: Self.record(.notSeen), hook: nil)
        let get = Self.response("GET /metrics HTTP/1.1\r\n\r\n", answers)
        #expect(get.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(get.contains("Content-Length: \(Self.metrics.utf8.count)\r\n") && get.hasSuffix("\r\n\r\n" + Self.metrics))
        let head = Self.response("HEAD /metrics?x=1 HTTP/1.1\r\n\r\n", answers)
        #expect(head.hasPrefix("HTTP/1.1 200 ") && head.hasSuffix("Connection: close\r\n\r\n"))
        #expect(Self.response("POST /metrics HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 405 "))
        #expect(Self.response("GET /metricsz HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 404 "))
    }

    /// A scrape writes over the last one's memory: the exposition gets the
    /// last exposition's bytes to write over, and a response still held (a
    /// connection still sending it) keeps its bytes.
    @Test func aScrapeWritesOverTheLastOnesMemoryAndLeavesAHeldResponseWhole() {
        let answers = ProbeEndpoint.Answers(record: Self.record(.notSeen), hook: nil)
        let scrape = Self.request("GET /metrics HTTP/1.1\r\n\r\n")
        let long = String(repeating: "readiness_events_total 3\n", count: 1000)
        var memory = ProbeEndpoint.ScrapeMemory()
        var given: [[UInt8]] = []
        let first = ProbeEndpoint.response(to: scrape, answers: answers, metrics: { given.append($0); return Array(long.utf8) }, memory: &memory)
        let second = ProbeEndpoint.response(to: scrape, answers: answers, metrics: { given.append($0); return Array(Self.metrics.utf8) }, memory: &memory)
        #expect(given == [[], Array(long.utf8)])
        let firstText = String(decoding: first.bytes, as: UTF8.self)
        #expect(firstText.contains("Content-Length: \(long.utf8.count)\r\n") && firstText.hasSuffix("\r\n\r\n" + long))
        let secondText = String(decoding: second.bytes, as: UTF8.self)
        #expect(secondText.contains("Content-Length: \(Self.metrics.utf8.count)\r\n") && secondText.hasSuffix("\r\n\r\n" + Self.metrics))
    }

    /// The request counter's path label: the served paths, else one word, so a scanner cannot make series.
    @Test func requestsAreCountedByAFewPaths() {
        #expect(ProbeEndpoint.pathLabel(of: Self.request("GET /readyz?service=redis HTTP/1.1\r\n\r\n")) == "/readyz")
        #expect(ProbeEndpoint.pathLabel(of: Self.request("GET /metrics HTTP/1.1\r\n\r\n")) == "/metrics")
        #expect(ProbeEndpoint.pathLabel(of: Self.request("GET /wp-admin/setup.php HTTP/1.1\r\n\r\n")) == "other")
        #expect(ProbeEndpoint.pathLabel(of: .refused(status: 431)) == "other")
    }

    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080 as UInt16, false),
        ("0.0.0.0:9", "0.0.0.0", 9, false),
        (":8080", "", 8080, false),
        ("[::]:8080", "::", 8080, true),
        ("[::1]:65535", "::1", 65535, true),
    ])
    func listenAddresses(text: String, host: String, port: UInt16, ipv6: Bool) throws {
        let address = try ListenAddress(parsing: text)
        #expect(address.host == host && address.port == port && address.isIPv6 == ipv6)
        #expect(address.description == text)
    }

    @Test(arguments: ["8080", "localhost", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "::1:8080", "[]:80", "[::1:80", "1.2.3.4:http", "1.2.3:80", "256.1.1.1:80", "[fe80::1%eth0]:80", "[localhost]:80"])
    func badListenAddresses(text: String) {
        #expect(throws: UsageError.self) { try ListenAddress(parsing: text) }
    }
}
