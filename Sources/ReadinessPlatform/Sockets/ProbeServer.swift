import CReadiness
package import ReadinessCore

/// The listener's HTTP server for kubelet's httpGet probes: a listening
/// socket and a bounded set of connections, one request each, all
/// non-blocking, watched by the listener's `EventLoop` with its other sources.
///
/// Hostile clients cost little and delay nothing: a connection lives at most
/// `connectionMilliseconds` from its accept, its request head is capped at
/// `ProbeEndpoint.maximumRequestBytes`, and past `connectionLimit`
/// connections the oldest is closed for the newest. Nothing here blocks.
/// Its sockets live as long as the listener (no deinit: Embedded Swift
/// cannot run one from another module), and not copyable: one owner.
package struct ProbeServer: ~Copyable {
    package static let connectionLimit = 32
    package static let connectionMilliseconds: Int64 = 1000
    /// Bytes a client may send after its request before it is cut off.
    private static let drainLimit = 65536

    private enum Phase {
        case reading
        /// The response, or what of it is left to send.
        case writing([UInt8])
        /// Response sent, sending half shut, the client had sent more: reading
        /// to end of stream, so the close does not reset the connection
        /// under an unread response.
        case draining(discarded: Int)
        case finished
    }

    private struct Connection {
        let fd: Int32
        let deadline: Int64
        var received: [UInt8] = []
        var phase = Phase.reading
    }

    /// -1 when disabled (no `--http`) or not bound yet.
    private var socket: Int32 = -1
    private let address: ListenAddress?
    /// Oldest first.
    private var connections: [Connection] = []

    package init(address: ListenAddress?) { self.address = address }

    package var isEnabled: Bool { address != nil }
    package var isListening: Bool { socket >= 0 }

    /// Binds and listens; a failure is thrown, and the next call tries again.
    package mutating func listen() throws(Errno) {
        guard let address, socket < 0 else { return }
        let everyAddress = address.host.isEmpty
        do throws(Errno) {
            socket = try Self.listeningSocket(host: address.host, port: address.port, ipv6: address.isIPv6 || everyAddress)
        } catch {
            // `:PORT` where IPv6 is off: every IPv4 address.
            guard everyAddress, error.rawValue == EAFNOSUPPORT || error.rawValue == EADDRNOTAVAIL else { throw error }
            socket = try Self.listeningSocket(host: "", port: address.port, ipv6: false)
        }
    }

    private static func listeningSocket(host: String, port: UInt16, ipv6: Bool) throws(Errno) -> Int32 {
        let fd = try system_socket(ipv6 ? AF_INET6 : AF_INET, readiness_sock_stream)
        do throws(Errno) {
            try system_bind(fd, host: host, port: port, ipv6: ipv6)
            try system_listen(fd, backlog: 64)
        } catch {
            try? system_close(fd)
            throw error
        }
        return fd
    }

    /// Watches the listening socket and every connection this turn, and
    /// wakes the loop at the oldest connection's deadline.
    package func watch(in loop: inout EventLoop) {
        if socket >= 0 { loop.watch(socket, as: .httpListener) }
        for (index, connection) in connections.enumerated() {
            let forOutput = if case .writing = connection.phase { true } else { false }
            loop.watch(connection.fd, forOutput: forOutput, as: .httpConnection(index))
        }
        loop.wake(at: connections.first?.deadline, for: .httpConnection(0))
    }

    /// Does what the loop's wait found (`found`, as `watch` tagged it):
    /// closes expired connections, reads, answers, drains, accepts.
    /// `respond` is asked only for a complete (or refused) request, at the
    /// end of the turn, once every event that was waiting is handled and written.
    package mutating func serve(_ found: EventLoop.Found, respond: (ProbeEndpoint.Request) -> [UInt8]) {
        let now = Clock.monotonicMilliseconds()
        var kept: [Connection] = []
        kept.reserveCapacity(connections.count)
        for (index, var connection) in connections.enumerated() {
            if found.contains(.httpConnection(index)) { advance(&connection, respond: respond) }
            if isFinished(connection) || now >= connection.deadline {
                try? system_close(connection.fd)
            } else {
                kept.append(connection)
            }
        }
        connections = kept
        if found.contains(.httpListener) { accept(now: now, respond: respond) }
    }

    private func isFinished(_ connection: Connection) -> Bool {
        if case .finished = connection.phase { return true }
        return false
    }

    /// Accepts waiting connections and reads each at once: a client sends
    /// its request right after connecting, so it has often arrived, and is
    /// answered without another wake-up.
    private mutating func accept(now: Int64, respond: (ProbeEndpoint.Request) -> [UInt8]) {
        // A bounded batch per wait: a flood of connections cannot hold the
        // loop away from supervisord's next event.
        for _ in 0..<Self.connectionLimit {
            guard let fd = try? system_accept(socket) else { return }
            var connection = Connection(fd: fd, deadline: now + Self.connectionMilliseconds)
            advance(&connection, respond: respond)
            if isFinished(connection) {
                try? system_close(fd)
                continue
            }
            if connections.count >= Self.connectionLimit {
                try? system_close(connections.removeFirst().fd)
            }
            connections.append(connection)
        }
    }

    /// One step of a connection whose descriptor is ready.
    private func advance(_ connection: inout Connection, respond: (ProbeEndpoint.Request) -> [UInt8]) {
        switch connection.phase {
        case .reading:
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count: Int
            do { count = try system_read(connection.fd, into: &buffer) } catch {
                if error != .wouldBlock { connection.phase = .finished }
                return
            }
            guard count > 0 else {
                // The client gave up before its head was complete.
                connection.phase = .finished
                return
            }
            connection.received += buffer[..<count]
            let request = ProbeEndpoint.request(connection.received)
            guard request != .incomplete else { return }
            connection.received = []
            connection.phase = .writing(respond(request))
            send(&connection)
        case .writing:
            send(&connection)
        case .draining(let discarded):
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count: Int
            do { count = try system_read(connection.fd, into: &buffer) } catch {
                if error != .wouldBlock { connection.phase = .finished }
                return
            }
            connection.phase = count == 0 || discarded + count > Self.drainLimit ? .finished : .draining(discarded: discarded + count)
        case .finished:
            break
        }
    }

    private func send(_ connection: inout Connection) {
        guard case .writing(let pending) = connection.phase else { return }
        let count: Int
        do { count = try system_send(connection.fd, pending) } catch {
            if error != .wouldBlock { connection.phase = .finished }
            return
        }
        if count < pending.count {
            connection.phase = .writing(Array(pending[count...]))
            return
        }
        // Closed at once when the client sent nothing past its request (a
        // probe never does); else the sending half is shut and the rest
        // read away first, since closing over unread bytes resets the
        // connection, and the response with it.
        var buffer = [UInt8](repeating: 0, count: 512)
        do {
            connection.phase = try system_read(connection.fd, into: &buffer) == 0 ? .finished : .draining(discarded: 0)
        } catch {
            connection.phase = .finished
        }
        if case .draining = connection.phase { system_shutdown_write(connection.fd) }
    }
}
