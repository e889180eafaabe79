import ReadinessCore
import Testing

@testable import ReadinessPlatform

/// getAllProcessInfo's answer as the listener's loop reads it: a part per
/// turn, the programs handed over only once every part was read.
@Suite struct EveryProcessAnswerTests {
    static func answer(_ structs: [String], status: String = "200 OK") -> [UInt8] {
        let body = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n"
            + structs.map { "<value><struct>\n\($0)</struct></value>\n" }.joined() + "</data></array></value>\n</param>\n</params>\n</methodResponse>\n"
        return Array("HTTP/1.0 \(status)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
    }

    static func process(_ index: Int, name: Bool = true) -> String {
        func member(_ name: String, _ value: String) -> String { "<member>\n<name>\(name)</name>\n<value>\(value)</value>\n</member>\n" }
        return (name ? member("name", "<string>p\(index)</string>") : "") + member("group", "<string>g</string>")
            + member("statename", "<string>RUNNING</string>") + member("start", "<int>1</int>") + member("stop", "<int>0</int>")
            + member("pid", "<int>\(100 + index)</int>") + member("exitstatus", "<int>0</int>")
    }

    @Test func theProgramsComeOnceEveryPartIsRead() throws {
        var answer = try SupervisorClient.EveryProcessAnswer.reading(.success(Self.answer((0..<5).map { Self.process($0) }))).get()
        let first = answer.read(upTo: 2)
        let second = answer.read(upTo: 2)
        let last = answer.read(upTo: 2)
        #expect(first == nil && second == nil)
        let programs = try #require(last).get()
        #expect(programs.map { "\($0.group):\($0.name):\($0.info.pid)" } == (0..<5).map { "g:p\($0):\(100 + $0)" })
    }

    @Test func aStructWithoutItsNameFailsTheAnswer() {
        guard case .success(var answer) = SupervisorClient.EveryProcessAnswer.reading(.success(Self.answer([Self.process(0), Self.process(1, name: false)])))
        else {
            Issue.record("the answer's start is fine")
            return
        }
        let first = answer.read(upTo: 1)
        let second = answer.read(upTo: 1)
        #expect(first == nil)
        #expect(second == .failure(.init("getAllProcessInfo answer lacks group, name, statename, start, stop, pid or exitstatus")))
    }

    @Test func httpErrorsAndFaultsFailAtOnce() {
        #expect(throws: SupervisorClient.Failure.self) { try SupervisorClient.EveryProcessAnswer.reading(.success(Self.answer([], status: "500 Internal"))).get() }
        let fault = "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>6</int></value></member><member><name>faultString</name><value><string>SHUTDOWN_STATE</string></value></member></struct></value></fault></methodResponse>"
        let bytes = Array("HTTP/1.0 200 OK\r\nContent-Length: \(fault.utf8.count)\r\n\r\n\(fault)".utf8)
        #expect(throws: SupervisorClient.Failure.init("XML-RPC fault 6: SHUTDOWN_STATE")) { try SupervisorClient.EveryProcessAnswer.reading(.success(bytes)).get() }
    }
}
