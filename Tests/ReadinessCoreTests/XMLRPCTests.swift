import Testing

@testable import ReadinessCore

/// Answers recorded from supervisord 4.3.0 over its unix socket (curl -i).
enum RecordedAnswers {
    /// getProcessInfo("start") after `exit 3` with startsecs=0.
    static let processInfo = "HTTP/1.1 200 OK\r\nServer: Medusa/1.12\r\nDate: Sun, 22 Nov 2026 23:13:30 GMT\r\nContent-Type: text/xml\r\nContent-Length: 1327\r\n\r\n<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n<member>\n<name>name</name>\n<value><string>start</string></value>\n</member>\n<member>\n<name>group</name>\n<value><string>start</string></value>\n</member>\n<member>\n<name>start</name>\n<value><int>1795389208</int></value>\n</member>\n<member>\n<name>stop</name>\n<value><int>1795389208</int></value>\n</member>\n<member>\n<name>now</name>\n<value><int>1795389210</int></value>\n</member>\n<member>\n<name>state</name>\n<value><int>100</int></value>\n</member>\n<member>\n<name>statename</name>\n<value><string>EXITED</string></value>\n</member>\n<member>\n<name>spawnerr</name>\n<value><string>Bad exit code 3</string></value>\n</member>\n<member>\n<name>exitstatus</name>\n<value><int>3</int></value>\n</member>\n<member>\n<name>logfile</name>\n<value><string>/tmp/start-stdout---supervisor-aijfcs0l.log</string></value>\n</member>\n<member>\n<name>stdout_logfile</name>\n<value><string>/tmp/start-stdout---supervisor-aijfcs0l.log</string></value>\n</member>\n<member>\n<name>stderr_logfile</name>\n<value><string>/tmp/start-stderr---supervisor-5yifatw_.log</string></value>\n</member>\n<member>\n<name>pid</name>\n<value><int>0</int></value>\n</member>\n<member>\n<name>description</name>\n<value><string>Nov 22 11:13 PM</string></value>\n</member>\n</struct></value>\n</param>\n</params>\n</methodResponse>\n"
    /// getProcessInfo("nope").
    static let badName = "HTTP/1.1 200 OK\r\nServer: Medusa/1.12\r\nDate: Sun, 22 Nov 2026 23:13:30 GMT\r\nContent-Type: text/xml\r\nContent-Length: 270\r\n\r\n<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>10</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>BAD_NAME: nope</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
}

@Suite struct XMLRPCTests {
    @Test func requestBody() {
        #expect(String(decoding: XMLRPC.call("supervisor.getProcessInfo", [.string("grp:start&<x>")]), as: UTF8.self) == "<?xml version='1.0'?><methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value><string>grp:start&amp;&lt;x&gt;</string></value></param></params></methodCall>")
    }

    @Test func httpRequest() {
        let request = String(decoding: HTTP.post(body: Array("<x/>".utf8), authorization: ("operator", "s3cret")), as: UTF8.self)
        #expect(request == "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nConnection: close\r\nContent-Length: 4\r\nAuthorization: Basic b3BlcmF0b3I6czNjcmV0\r\n\r\n<x/>")
    }

    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("user:pass", "dXNlcjpwYXNz")])
    func base64(input: String, output: String) {
        #expect(Base64.encode(Array(input.utf8)) == output)
    }

    @Test func recordedProcessInfoParses() throws {
        let response = try #require(try HTTP.parse(Array(RecordedAnswers.processInfo.utf8), complete: true))
        #expect(response.status == 200)
        guard case .structure(let fields) = try XMLRPC.parse(response.body) else { Issue.record("not a struct"); return }
        let info = try #require(SupervisorProcessInfo(fields))
        #expect(info.state == .exited)
        #expect(info.exitStatus == 3)
        #expect(info.spawnError == "Bad exit code 3")
        #expect(info.start == 1_795_389_208)
        #expect(info.pid == 0)
        #expect(info.stderrLogfile.hasPrefix("/tmp/start-stderr---supervisor-"))
    }

    @Test func recordedFaultParses() throws {
        let response = try #require(try HTTP.parse(Array(RecordedAnswers.badName.utf8), complete: true))
        #expect(try XMLRPC.parse(response.body) == .fault(code: 10, message: "BAD_NAME: nope"))
    }

    @Test func incompleteAnswersWaitForMore() throws {
        let bytes = Array(RecordedAnswers.processInfo.utf8)
        for length in stride(from: 0, to: bytes.count, by: 7) {
            #expect(try HTTP.parse(Array(bytes[..<length]), complete: false) == nil, "\(length)")
        }
        #expect(throws: XMLRPCError.self) { try HTTP.parse(Array(bytes.dropLast(5)), complete: true) }
    }

    @Test func entitiesAndUntypedStrings() throws {
        let body = "<methodResponse><params><param><value><struct><member><name>spawnerr</name><value>a &lt;b&gt; &amp; c</value></member><member><name>n</name><value><i4> 7 </i4></value></member><member><name>e</name><value><string/></value></member><member><name>b</name><value><boolean>1</boolean></value></member></struct></value></param></params></methodResponse>"
        #expect(try XMLRPC.parse(Array(body.utf8)) == .structure(["spawnerr": .string("a <b> & c"), "n": .int(7), "e": .string(""), "b": .bool(true)]))
    }

    @Test(arguments: [
        "<html>not xml-rpc</html>",
        "<methodResponse><params><param><value><struct><member><name>x</name></member></struct></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><struct><member><name>x</name><value><int>x</int></value></member></struct></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><struct><member><name>x</name><value><double>1.5</double></value></member></struct></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><struct><member><name>x</name><value>&bogus;</value></member></struct></value></param></params></methodResponse>",
        "<methodResponse><fault><value><struct></struct></value></fault></methodResponse>",
        "<methodResponse><params><member>",
        "<methodResponse><params><param><value><struct><member><name>x</name><value><int>1</i4></value></member></struct></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><struct><member><name>x</name><value><string>a</value></member></struct></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><struct><member><name>x</name><value><int>99999999999999999999</int></value></member></struct></value></param></params></methodResponse>",
    ])
    func malformedAnswersAreRejected(body: String) {
        #expect(throws: XMLRPCError.self) { try XMLRPC.parse(Array(body.utf8)) }
    }

    /// getAllProcessInfo's answer with `count` processes `many:many_0000`…,
    /// each struct as supervisord 4.3.0 writes it (about 1.2 KiB with its log paths).
    static func allProcessInfo(count: Int) -> [UInt8] {
        func member(_ name: String, _ value: String) -> String { "<member>\n<name>\(name)</name>\n<value>\(value)</value>\n</member>\n" }
        var body = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n"
        for index in 0..<count {
            let digits = String(index)
            let name = "many_" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
            body += "<value><struct>\n" + member("name", "<string>\(name)</string>") + member("group", "<string>many</string>")
                + member("start", "<int>1795389208</int>") + member("stop", "<int>0</int>") + member("now", "<int>1795389210</int>")
                + member("state", "<int>20</int>") + member("statename", "<string>RUNNING</string>") + member("spawnerr", "<string></string>")
                + member("exitstatus", "<int>0</int>") + member("logfile", "<string>/tmp/\(name)-stdout---supervisor-aijfcs0l.log</string>")
                + member("stdout_logfile", "<string>/tmp/\(name)-stdout---supervisor-aijfcs0l.log</string>")
                + member("stderr_logfile", "<string>/tmp/\(name)-stderr---supervisor-5yifatw_.log</string>")
                + member("pid", "<int>\(10000 + index)</int>") + member("description", "<string>pid \(10000 + index), uptime 0:00:02</string>")
                + "</struct></value>\n"
        }
        return Array((body + "</data></array></value>\n</param>\n</params>\n</methodResponse>\n").utf8)
    }

    /// 1,000 processes (`numprocs=1000`): over a MiB, far more than one
    /// program's answer may be, and every struct is read.
    @Test func allProcessInfoOfAThousandProcesses() throws {
        let bytes = Self.allProcessInfo(count: 1000)
        #expect(bytes.count > 1024 * 1024)
        guard case .structures(let structures) = try ArrayAnswer(reading: bytes, partSize: .max) else {
            Issue.record("not an array of structs")
            return
        }
        let programs = structures.compactMap(NamedProcessInfo.init)
        #expect(programs.count == 1000)
        #expect(programs.first?.name == "many_0000")
        #expect(programs.last?.name == "many_0999")
        #expect(programs.last?.group == "many")
        #expect(programs.last?.info.pid == 10999)
    }

    /// The listener reads an answer a part per turn: the parts together are
    /// the whole, and a bad struct in a later part fails only that part.
    @Test func anArrayIsReadInParts() throws {
        let bytes = Self.allProcessInfo(count: 20)
        #expect(try ArrayAnswer(reading: bytes, partSize: 7) == ArrayAnswer(reading: bytes, partSize: .max))
        guard case .reader(var reader) = try XMLRPC.ArrayReader.start(bytes) else {
            Issue.record("not an array")
            return
        }
        #expect(try reader.next(upTo: 7).map { $0["name"] } == (0..<7).map { .string("many_000\($0)") })
        #expect(!reader.isFinished)
        #expect(try reader.next(upTo: 7).count == 7)
        #expect(try reader.next(upTo: 7).count == 6)
        #expect(try reader.next(upTo: 7).isEmpty)
        #expect(reader.isFinished)

        var broken = String(decoding: bytes, as: UTF8.self)
        let lastValue = try #require(broken.range(of: "<int>10019</int>"))
        broken.replaceSubrange(lastValue, with: "<int>x</int>")
        guard case .reader(var brokenReader) = try XMLRPC.ArrayReader.start(Array(broken.utf8)) else {
            Issue.record("not an array")
            return
        }
        #expect(try brokenReader.next(upTo: 10).count == 10)
        #expect(throws: XMLRPCError.malformed("bad int x")) { try brokenReader.next(upTo: 10) }
    }

    @Test func oversizedAnswersAreRejected() {
        #expect(throws: XMLRPCError.tooLarge(XMLRPC.maximumResponseBytes + 1, limit: XMLRPC.maximumResponseBytes)) {
            try XMLRPC.parse([UInt8](repeating: 0x20, count: XMLRPC.maximumResponseBytes + 1))
        }
        #expect(throws: XMLRPCError.tooLarge(XMLRPC.maximumArrayResponseBytes + 1, limit: XMLRPC.maximumArrayResponseBytes)) {
            try XMLRPC.ArrayReader.start([UInt8](repeating: 0x20, count: XMLRPC.maximumArrayResponseBytes + 1))
        }
    }

    @Test func httpErrors() throws {
        let unauthorized = Array("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".utf8)
        #expect(try HTTP.parse(unauthorized, complete: true)?.status == 401)
        #expect(throws: XMLRPCError.self) { try HTTP.parse(Array("garbage\r\n\r\n".utf8), complete: true) }
        #expect(throws: XMLRPCError.self) { try HTTP.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n".utf8), complete: true) }
    }

    /// getAllConfigInfo's structs hold an array (`exitcodes`) whose values
    /// must not end the member early; as supervisord 4.3.0 writes them.
    @Test func configInfoIsReadPastItsExitcodesArray() throws {
        func member(_ name: String, _ value: String) -> String { "<member>\n<name>\(name)</name>\n<value>\(value)</value>\n</member>\n" }
        func config(_ group: String, _ name: String, autostart: Bool, priority: Int) -> String {
            "<value><struct>\n" + member("autostart", "<boolean>\(autostart ? 1 : 0)</boolean>") + member("command", "<string>sleep 100</string>")
                + member("exitcodes", "<array><data>\n<value><int>0</int></value>\n<value><int>2</int></value>\n</data></array>")
                + member("group", "<string>\(group)</string>") + member("group_prio", "<int>\(priority)</int>")
                + member("name", "<string>\(name)</string>") + member("process_prio", "<int>999</int>") + "</struct></value>\n"
        }
        let body = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n" + config("a", "a", autostart: false, priority: 5)
            + config("g", "b_0", autostart: true, priority: 7) + "</data></array></value>\n</param>\n</params>\n</methodResponse>\n"
        guard case .structures(let structures) = try ArrayAnswer(reading: Array(body.utf8), partSize: .max) else {
            Issue.record("not an array of structs")
            return
        }
        #expect(structures.first?["exitcodes"] == .array)
        #expect(structures.compactMap(ProgramConfig.init) == [
            ProgramConfig(group: "a", name: "a", autostart: false, groupPriority: 5),
            ProgramConfig(group: "g", name: "b_0", autostart: true, groupPriority: 7),
        ])
        #expect(ProgramConfig(["group": .string("a"), "name": .string("a")]) == nil)
        // Structs inside an array would end the member at their own </member>.
        let nested = "<methodResponse><params><param><value><struct><member><name>x</name><value><array><data><value><struct>"
            + "<member><name>group</name><value>evil</value></member></struct></value></data></array></value></member></struct></value></param></params></methodResponse>"
        #expect(throws: XMLRPCError.self) { try XMLRPC.parse(Array(nested.utf8)) }
    }
}
