import Glibc
import Testing

@testable import ReadinessPlatform

@Suite struct ProcessAncestryTests {
    @Test func childLeadsBackThroughThisProcessToPidOne() throws {
        let command = try BackgroundCommand.start(arguments: ["/bin/sleep", "30"], timeoutMilliseconds: 30_000)
        let child = Int(command.pid)
        let chain = Processes.ancestry(of: child)
        #expect(Array(chain.prefix(3)) == [child, Int(getpid()), Int(getppid())])
        #expect(chain.last == 1)
        #expect(Processes.ancestry(of: child, limit: 2) == [child, Int(getpid())])
        _ = command.kill()
        // Reaped: nothing left to read.
        #expect(Processes.ancestry(of: child) == [])
    }

    @Test func unreadablePids() {
        #expect(Processes.ancestry(of: 0) == [])
        #expect(Processes.ancestry(of: -5) == [])
        #expect(Processes.ancestry(of: Int(Int32.max)) == [])
        #expect(Processes.ancestry(of: 1) == [1])
    }
}
