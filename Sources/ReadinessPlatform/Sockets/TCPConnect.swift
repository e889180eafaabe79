import CReadiness

/// A TCP connect check (`tcp:HOST:PORT`) that never blocks the event loop:
/// `start` begins a non-blocking connect; the loop polls `descriptor` for
/// POLLOUT until the check's deadline, then calls `finish()` for the result
/// or `cancel()` past the deadline. Either closes the socket, which is all a
/// check needs: a plain close after the handshake leaves the peer a normal
/// end of stream, nothing half-open. Copyable, so that a loop can keep many
/// in an array: exactly one copy is ended, by `finish()` or `cancel()`.
package struct TCPConnect {
    package let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// How a connect began.
    package enum Start {
        /// Connected at once (the socket is already closed).
        case connected
        /// Poll `descriptor` for POLLOUT, then `finish()`.
        case inProgress(TCPConnect)
        /// Refused at once, or a host that is not a numeric address (EINVAL).
        case failed(Errno)
    }

    /// Connects to a numeric IPv4 (`127.0.0.1`) or IPv6 (`::1`, `[::1]`) address.
    package static func start(host: String, port: UInt16) -> Start {
        var address = host
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        let fd: Int32
        do { fd = try system_socket(address.utf8.contains(UInt8(ascii: ":")) ? AF_INET6 : AF_INET, readiness_sock_stream) } catch {
            return .failed(error)
        }
        do { try system_connect_inet(fd, address, port) } catch {
            try? system_close(fd)
            return .failed(error)
        }
        // EINPROGRESS, or (rarely) connected already: SO_ERROR and POLLOUT tell.
        let connect = TCPConnect(descriptor: fd)
        if connect.isWritable { return connect.finish().map { .failed($0) } ?? .connected }
        return .inProgress(connect)
    }

    private var isWritable: Bool {
        var fds = [pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)]
        return ((try? system_poll(&fds, 0)) ?? 0) > 0
    }

    /// The connect's result once `descriptor` polled ready: nil when it
    /// connected, else why not (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH…).
    /// Asked too early, it is EINPROGRESS, never a false success. Closes
    /// the socket.
    package consuming func finish() -> Errno? {
        defer { try? system_close(descriptor) }
        if let error = system_socket_error(descriptor) { return error }
        return isWritable ? nil : .nowInProgress
    }

    /// Gives up on a connect still in progress (its deadline passed).
    package consuming func cancel() { try? system_close(descriptor) }
}
