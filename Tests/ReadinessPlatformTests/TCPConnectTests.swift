import Glibc
import Testing

@testable import ReadinessPlatform

@Suite struct TCPConnectTests {
    /// Waits for the connect's result as the poll loop will.
    static func result(_ start: consuming TCPConnect.Start) -> Errno?? {
        switch consume start {
        case .connected: return .some(nil)
        case .failed(let error): return .some(error)
        case .inProgress(let connect):
            guard TestSockets.isReady(connect.descriptor, for: POLLOUT, within: 5000) else {
                connect.cancel()
                return nil
            }
            return .some(connect.finish())
        }
    }

    @Test(arguments: ["127.0.0.1", "::1", "[::1]"])
    func listeningPortConnects(host: String) {
        let listener = TestSockets.listener(ipv6: host.contains(":"))
        defer { close(listener.fd) }
        #expect(Self.result(TCPConnect.start(host: host, port: listener.port)) == .some(nil))
    }

    @Test func closedPortIsRefused() {
        let listener = TestSockets.listener()
        close(listener.fd)  // the port is free again, nothing listens on it
        #expect(Self.result(TCPConnect.start(host: "127.0.0.1", port: listener.port)) == .some(Errno(rawValue: ECONNREFUSED)))
    }

    @Test func hostThatIsNotANumericAddress() {
        #expect(Self.result(TCPConnect.start(host: "localhost", port: 80)) == .some(.invalidArgument))
    }

    /// A listener whose accept queue is full drops further SYNs (the kernel's
    /// listen overflow): a local stand-in for an address that never answers,
    /// since this sandbox's network completes connects to any outside
    /// address. The connect stays in progress, and cancel closes its socket.
    @Test func unansweredConnectStaysInProgressAndCancelCloses() throws {
        let listener = TestSockets.listener(backlog: 0)
        defer { close(listener.fd) }
        // Fill the accept queue: backlog 0 holds one connection.
        var fillers: [Int32] = []
        defer { fillers.forEach { close($0) } }
        var waiting: TCPConnect?
        for _ in 0..<4 {
            switch TCPConnect.start(host: "127.0.0.1", port: listener.port) {
            case .connected: continue
            case .failed: continue
            case .inProgress(let connect):
                if TestSockets.isReady(connect.descriptor, for: POLLOUT, within: 200) {
                    // Keep the accepted one open, so the queue stays full.
                    fillers.append(dup(connect.descriptor))
                    connect.cancel()
                } else {
                    waiting = consume connect
                }
            }
            if waiting != nil { break }
        }
        guard let connect = waiting.take() else {
            Issue.record("every connect was accepted or failed: the accept queue never filled")
            return
        }
        #expect(!TestSockets.isReady(connect.descriptor, for: POLLOUT, within: 300))
        let socketTarget = try #require(TestSockets.target(of: connect.descriptor))
        #expect(TestSockets.isOpen(socketTarget))
        connect.cancel()
        #expect(!TestSockets.isOpen(socketTarget))
    }
}
