import Foundation
import Testing

/// getAllProcessInfo is one of the listener loop's sources, not a call a
/// handler waits for: against a real supervisord whose answer is held back
/// (a deferred XML-RPC method, as supervisord's own `startProcess(wait)`
/// is), events go on being answered and recorded meanwhile.
@Suite struct HeldAnswerTests {
    /// After the start-up question, every getAllProcessInfo is held until
    /// the test lets it go: supervisord's loop (and its events) runs on.
    static func holding(_ scratch: String) -> String {
        """
        import os
        from supervisor.http import NOT_DONE_YET
        from supervisor.rpcinterface import SupervisorNamespaceRPCInterface

        class Holding(SupervisorNamespaceRPCInterface):
            calls = 0

            def getAllProcessInfo(self):
                Holding.calls += 1
                if Holding.calls == 1:
                    return SupervisorNamespaceRPCInterface.getAllProcessInfo(self)
                open("\(scratch)/held", "a").write("x")
                def later():
                    if not os.path.exists("\(scratch)/release"):
                        return NOT_DONE_YET
                    return SupervisorNamespaceRPCInterface.getAllProcessInfo(self)
                later.delay = 0.05
                return later

        def make(supervisord, **config):
            return Holding(supervisord)
        """
    }

    /// Nine programs exit at start, so a TICK asks for every process (their
    /// exit statuses, for /metrics), and that answer is held. start.sh
    /// then exits: its EXITED is recorded, and the probe says READY, while
    /// the question is still unanswered. A listener that waited for the
    /// answer would record nothing until its call timed out (30 s), and would
    /// say so first ("XML-RPC unusable").
    @Test func eventsAreAnsweredWhileEveryProcessIsAsked() throws {
        let scratch = ScratchDirectory()
        let port = TestPorts.unused()
        let failing = (1...9).map { Supervisord.Program(name: "fails\($0)", script: "exit 1", settings: ["startsecs": "0", "autorestart": "false"]) }
        let supervisord = try Supervisord(
            start: "while [ ! -e \(scratch.path)/go ]; do sleep 0.05; done; exit 0", programs: failing,
            listenerArguments: "--http 127.0.0.1:\(port) --hook /nonexistent-hook", rpcInterfaceModule: Self.holding(scratch.path))
        defer { _ = scratch.write("release", "") }
        #expect(eventually(within: 30) { FileManager.default.fileExists(atPath: "\(scratch.path)/held") }, "no TICK asked for every process")
        #expect(!supervisord.output.contains("XML-RPC unusable"))
        _ = scratch.write("go", "")
        #expect(supervisord.waitForState("EXITED") != nil)
        #expect(try supervisord.probeLine().hasPrefix("ready"))
        #expect(!supervisord.output.contains("XML-RPC unusable"), "the event waited for the answer: \(supervisord.output)")
        #expect(((try? String(contentsOfFile: "\(scratch.path)/held", encoding: .utf8)) ?? "").count == 1, "one question at a time")
        _ = scratch.write("release", "")
        #expect(supervisord.handledATick(after: Date()))
        #expect(!supervisord.output.contains("XML-RPC unusable"))
    }
}
