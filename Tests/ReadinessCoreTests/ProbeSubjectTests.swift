import Testing

@testable import ReadinessCore

/// One probe per service (`readiness_probe --service NAME`,
/// `/readyz?service=NAME`): the verdict on start.sh alone or on the processes
/// a service names, from the same record as the container's.
@Suite struct ProbeSubjectTests {
    static func service(_ process: String, ready: Bool, state: ProcessState? = .running) -> ServiceState {
        var service = ServiceState(process: process, kind: .notify)
        service.state = state
        service.run = state == nil ? nil : 42
        service.signal = ready ? .ready : nil
        service.ready = ready
        return service
    }

    /// start.sh done; redis ready, web:web_1 not, queue not seen yet.
    static func record(_ state: RecordedState = .process(.exited)) -> StatusRecord {
        var record = StatusRecord(program: "start", state: state, expected: true, exitStatus: 0, listenerPID: 2, supervisordPID: 1)
        record.services = [
            service("redis:redis", ready: true), service("web:web_0", ready: true), service("web:web_1", ready: false),
            service("queue", ready: false, state: nil),
        ]
        return record
    }

    static func check(_ text: String, _ record: StatusRecord = record()) throws -> Verdict {
        Verdict.check(record, of: try ProbeSubject(service: text))
    }

    @Test func eachServiceHasItsOwnVerdict() throws {
        #expect(try Self.check("redis").line == "ready: 0 READY: service redis is ready")
        #expect(try Self.check("redis:redis").line == "ready: 0 READY: service redis is ready")
        #expect(try Self.check("web:web_0").line == "ready: 0 READY: service web:web_0 is ready")
        #expect(try Self.check("web:web_1").line == "not ready: 108 SERVICE_NOT_READY: service web:web_1 is RUNNING but has not sent READY=1")
        #expect(try Self.check("web_1").code == .serviceNotReady, "NAME names the process in any group, as --service does")
        #expect(try Self.check("queue").line == "not ready: 108 SERVICE_NOT_READY: service queue has not been seen yet")
        // The container is not ready while one of them is not.
        #expect(Verdict.commonCheck(Self.record()).code == .serviceNotReady)
    }

    @Test func aGroupIsReadyWhenAllItsProcessesAre() throws {
        #expect(try Self.check("web:*").line == "not ready: 108 SERVICE_NOT_READY: service web:web_1 is RUNNING but has not sent READY=1")
        var record = Self.record()
        record.services[2].signal = .ready
        record.services[2].ready = true
        #expect(try Self.check("web:*", record).line == "ready: 0 READY: 2 services of web:* ready")
        // Before any process of the group was seen, the service is the spec itself.
        record.services = [Self.service("web:*", ready: false, state: nil)]
        #expect(try Self.check("web:*", record).line == "not ready: 108 SERVICE_NOT_READY: service web:* has not been seen yet")
    }

    /// Before supervisord showed any process of a service, it is recorded
    /// under its own spec: every spelling that can name its processes finds
    /// it (108, not seen yet), not 115.
    @Test func aServiceNotSeenYetIsFoundByEverySpellingOfIt() throws {
        var record = Self.record()
        record.services = [
            Self.service("redis", ready: false, state: nil), Self.service("web:*", ready: false, state: nil),
            Self.service("db:db_0", ready: false, state: nil),
        ]
        for name in ["redis", "redis:redis", "redis:*", "web:*", "web:web_0", "db_0", "db:db_0", "db:*"] {
            #expect(try Self.check(name, record).code == .serviceNotReady, "\(name)")
        }
        // A bare name does not reach into a group no process of which was seen.
        for name in ["web_0", "db", "db:db_1", "redis_x:*"] {
            #expect(try Self.check(name, record).code == .unknownService, "\(name)")
        }
    }

    @Test func startIsStartShAlone() throws {
        #expect(try Self.check("start").line == "ready: 0 READY: program start exited with status 0")
        #expect(try Self.check("start", Self.record(.process(.running))).code == .startPending)
        // A service's verdict does not wait for start.sh: each condition is its own.
        #expect(try Self.check("redis", Self.record(.process(.running))).code == .ready)
    }

    @Test func aNameThatIsNoServiceHasItsOwnCode() throws {
        let unknown = try Self.check("redi")
        #expect(unknown.code == .unknownService)
        #expect(unknown.code.rawValue == 115)
        #expect(unknown.line == "not ready: 115 UNKNOWN_SERVICE: no service redi: the listener's services are redis, web:web_0, web:web_1, queue (start names start.sh's own check)")
        var none = Self.record()
        none.services = []
        #expect(try Self.check("redis", none).message == "no service redis: the listener follows no service (start names start.sh's own check)")
        #expect(throws: UsageError.self) { try ProbeSubject(service: "web:a:b") }
        #expect(throws: UsageError.self) { try ProbeSubject(service: "") }
        // From a query, `%0A` and `%00` must not break the one-line answer.
        #expect(throws: UsageError.self) { try ProbeSubject(service: "redis\nready: 0 READY") }
        #expect(throws: UsageError.self) { try ProbeSubject(service: "redis\u{0}") }
    }

    /// The container's end withdraws every service's readiness with it.
    @Test func theContainersEndComesFirst() throws {
        var ending = Self.record()
        ending.essentialFailure = EssentialFailure(program: "app:app", state: .exited, expected: false, exitStatus: 3, shutdown: .requested)
        #expect(try Self.check("redis", ending).code == .essentialDown)
        #expect(try Self.check("start", ending).code == .essentialDown)
        var stopping = Self.record()
        stopping.supervisordStopping = true
        #expect(try Self.check("redis", stopping).line == "not ready: 103 START_STOPPED: supervisord is stopping (shutdown or reload): the recorded run of service redis no longer counts")
    }

    @Test func overHTTPTheSameVerdicts() throws {
        let answers = ProbeEndpoint.Answers(record: Self.record(), hook: nil)
        func body(_ target: String) -> String {
            let text = ProbeEndpointTests.response("GET \(target) HTTP/1.1\r\n\r\n", answers)
            return String(text[text.range(of: "\r\n\r\n")!.upperBound...])
        }
        for name in ["redis", "web:web_1", "web:*", "start", "redi"] {
            #expect(body("/readyz?service=\(name)") == (try Self.check(name).line) + "\n", "\(name)")
        }
        #expect(body("/readyz?service=web%3Aweb_1") == (try Self.check("web:web_1").line) + "\n", "percent-encoded")
        #expect(body("/readyz?verbose=1&service=redis") == (try Self.check("redis").line) + "\n")
        #expect(ProbeEndpointTests.response("GET /readyz?service=redis HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 200 "))
        #expect(ProbeEndpointTests.response("GET /readyz?service=web:web_1 HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 503 "))
        #expect(ProbeEndpointTests.response("GET /readyz?service=a:b:c HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 400 "))
        #expect(body("/readyz?service=") == "bad request: --service takes NAME, GROUP:NAME or GROUP:*, not \"\"\n")
        #expect(body("/readyz?service=redis%0Aready") == "bad request: --service takes NAME, GROUP:NAME or GROUP:*, not a name with control characters\n")
        // HEAD: the same status, no body; a method other than GET or HEAD is 405 whatever the query.
        let head = ProbeEndpointTests.response("HEAD /readyz?service=web:web_1 HTTP/1.1\r\n\r\n", answers)
        #expect(head.hasPrefix("HTTP/1.1 503 ") && head.hasSuffix("\r\n\r\n"), "\(head)")
        #expect(ProbeEndpointTests.response("POST /readyz?service=a:b:c HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 405 "))
        #expect(ProbeEndpointTests.response("POST /readyz?service=redis HTTP/1.1\r\n\r\n", answers).hasPrefix("HTTP/1.1 405 "))
        // Without the parameter, the container's verdict.
        #expect(body("/readyz?other=redis") == answers.readiness.line + "\n")
        // READY is taken away when the record could not be written, as for the container.
        let unwritten = ProbeEndpoint.Answers(record: Self.record(), hook: nil, unwritten: "Read-only file system (EROFS)")
        #expect(unwritten.readiness(of: try ProbeSubject(service: "redis")).code == .listenerGone)
    }

    @Test func queryParameters() {
        #expect(ProbeEndpoint.parameter("service", in: "service=a%3Ab") == "a:b")
        #expect(ProbeEndpoint.parameter("service", in: "x=1&service=web%3A*&service=other") == "web:*")
        #expect(ProbeEndpoint.parameter("service", in: "services=a") == nil)
        #expect(ProbeEndpoint.parameter("service", in: "") == nil)
        #expect(ProbeEndpoint.parameter("service", in: "service=%zz%4") == "%zz%4", "a broken escape stays as sent")
        #expect(ProbeEndpoint.parameter("service", in: "service=caf%C3%A9+bar") == "café bar", "UTF-8 escapes, + for a space")
        #expect(ProbeEndpoint.parameter("service", in: "service=%FF") == "\u{FFFD}", "invalid UTF-8 is repaired")
        #expect(ProbeEndpoint.parameter("service", in: "service") == nil, "no = is no value")
    }
}
