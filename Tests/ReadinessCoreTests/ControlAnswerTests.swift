import Testing

@testable import ReadinessCore

/// `supervisor.startProcess(name, false)` and `stopProcess`: the request,
/// and the answers supervisord 4.3.0 gives (its bodies are Python's xmlrpc.client.dumps).
@Suite struct ControlAnswerTests {
    @Test func requestCarriesTheNameAndWaitFalse() {
        #expect(
            String(decoding: XMLRPC.call("supervisor.startProcess", [.string("grp:web&1"), .bool(false)]), as: UTF8.self)
                == "<?xml version='1.0'?><methodCall><methodName>supervisor.startProcess</methodName><params><param><value><string>grp:web&amp;1</string></value></param><param><value><boolean>0</boolean></value></param></params></methodCall>"
        )
        #expect(String(decoding: XMLRPC.call("m", [.bool(true), .int(-7)]), as: UTF8.self).contains("<param><value><boolean>1</boolean></value></param><param><value><int>-7</int></value></param>"))
    }

    @Test func trueIsStarted() throws {
        let body = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><boolean>1</boolean></value>\n</param>\n</params>\n</methodResponse>\n"
        #expect(try ControlAnswer(response: Array(body.utf8), already: 60) == .done)
    }

    static func fault(_ code: Int, _ message: String) -> [UInt8] {
        Array(
            "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>\(code)</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>\(message)</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
                .utf8)
    }

    @Test func alreadyStartedOrNotRunningFault() throws {
        #expect(try ControlAnswer(response: Self.fault(60, "ALREADY_STARTED: web"), already: 60) == .already)
        #expect(try ControlAnswer(response: Self.fault(70, "NOT_RUNNING: web"), already: 70) == .already)
        #expect(try ControlAnswer(response: Self.fault(70, "NOT_RUNNING: web"), already: 60) == .refused("NOT_RUNNING: web"))
    }

    @Test(arguments: [(10, "BAD_NAME: nope"), (50, "SPAWN_ERROR: web"), (21, "NOT_EXECUTABLE: /bin/nothing")])
    func otherFaultsAreRefusals(code: Int, message: String) throws {
        #expect(try ControlAnswer(response: Self.fault(code, message), already: 60) == .refused(message))
    }

    @Test func falseOrNoValueIsMalformed() {
        let falseBody = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><boolean>0</boolean></value>\n</param>\n</params>\n</methodResponse>\n"
        #expect(throws: XMLRPCError.self) { try ControlAnswer(response: Array(falseBody.utf8), already: 60) }
        #expect(throws: XMLRPCError.self) { try ControlAnswer(response: Array("<methodResponse></methodResponse>".utf8), already: 60) }
        #expect(throws: XMLRPCError.self) { try ControlAnswer(response: Array("not xml".utf8), already: 60) }
    }
}
