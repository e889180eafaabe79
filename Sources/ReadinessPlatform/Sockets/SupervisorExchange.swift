import CReadiness
package import ReadinessCore

/// One HTTP exchange with supervisord over a non-blocking socket, taken a
/// step at a time: connect, send the request, read the answer until the
/// server closes or the answer is complete. A blocking call drives it with
/// its own `poll` (`SupervisorClient`); the listener's loop drives
/// getAllProcessInfo the same way beside its other sources, so no event
/// waits for an answer that grows with the number of processes.
package struct SupervisorExchange: ~Copyable {
    private let socket: FileDescriptor
    private let request: [UInt8]
    private let limit: Int
    package let deadline: Deadline
    private var connected = false
    private var sent = 0
    private var answer: [UInt8] = []

    /// Opens the socket and starts connecting; a failure says why it cannot.
    static func start(
        to endpoint: SupervisorClient.Endpoint, sending request: [UInt8], limit: Int, deadline: Deadline
    ) -> Result<SupervisorExchange, SupervisorClient.Failure> {
        let socket: FileDescriptor
        let address: String
        do throws(Errno) {
            switch endpoint {
            case .unix(let path):
                address = "unix://\(path)"
                socket = FileDescriptor(rawValue: try system_socket(AF_UNIX, readiness_sock_stream))
            case .inet(let host, let port):
                address = "\(host):\(port)"
                socket = FileDescriptor(rawValue: try system_socket(AF_INET, readiness_sock_stream))
            }
        } catch {
            return .failure(.init("cannot create a socket: \(error)"))
        }
        do throws(Errno) {
            switch endpoint {
            case .unix(let path): try system_connect_unix(socket.rawValue, path)
            case .inet(let host, let port): try system_connect_inet(socket.rawValue, host, port)
            }
        } catch {
            return .failure(.init("cannot connect to \(address): \(error)"))
        }
        return .success(SupervisorExchange(socket: socket, request: request, limit: limit, deadline: deadline))
    }

    private init(socket: consuming FileDescriptor, request: [UInt8], limit: Int, deadline: Deadline) {
        self.socket = socket
        self.request = request
        self.limit = limit
        self.deadline = deadline
    }

    package var descriptor: Int32 { socket.rawValue }

    /// What to wait for now: the connect or room to send, then the answer.
    package var waitsForOutput: Bool { !connected || sent < request.count }

    /// One step, after a wait that found the socket `ready` (or the deadline
    /// passed): the answer's bytes once the exchange is over, a failure, or
    /// nil when it goes on. An answer longer than `limit` and room for the
    /// HTTP head is refused. The buffer grows by doubling (Array's append),
    /// and the HTTP parse asked after each read copies the body only once it
    /// is complete, so a large answer costs linear time.
    package mutating func advance(ready: Bool) -> Result<[UInt8], SupervisorClient.Failure>? {
        if ready {
            let fd = socket.rawValue
            if !connected {
                if let error = system_socket_error(fd) { return .failure(.init("cannot connect to supervisord: \(error)")) }
                connected = true
            }
            if sent < request.count {
                do throws(Errno) {
                    sent += try request.withUnsafeBytes { buffer in
                        Result { () throws(Errno) in try system_write(fd, UnsafeRawBufferPointer(rebasing: buffer[sent...])) }
                    }.get()
                } catch {
                    if error != .wouldBlock { return .failure(.init("cannot send to supervisord: \(error)")) }
                }
            } else {
                var chunk = [UInt8](repeating: 0, count: 16384)
                do throws(Errno) {
                    let count = try system_read(fd, into: &chunk)
                    if count == 0 { return .success(answer) }
                    answer += chunk[..<count]
                    if answer.count > limit + Self.headAllowance {
                        return .failure(.init("supervisord's answer is larger than \(limit) bytes"))
                    }
                    if (try? HTTP.parse(answer, complete: false)) != nil { return .success(answer) }
                } catch {
                    if error != .wouldBlock { return .failure(.init("cannot read supervisord's answer: \(error)")) }
                }
            }
        }
        guard deadline.hasPassed else { return nil }
        if !connected { return .failure(.init("timed out connecting to supervisord")) }
        if sent < request.count { return .failure(.init("timed out sending to supervisord")) }
        return .failure(.init("timed out waiting for supervisord's answer"))
    }

    /// Room for the HTTP status line and headers beyond the body's limit.
    static let headAllowance = 4096
}

/// The listener loop's one exchange with supervisord in flight, if any: kept
/// here, beside the type, since Embedded Swift can end a ~Copyable value only
/// in the module that declares it.
package struct SupervisorCallInFlight: ~Copyable {
    private var exchange: SupervisorExchange?

    package init() {}

    /// Takes a started exchange to drive; the failure when it could not start.
    package mutating func begin(_ started: consuming Result<SupervisorExchange, SupervisorClient.Failure>) -> SupervisorClient.Failure? {
        switch consume started {
        case .success(let started):
            exchange = consume started
            return nil
        case .failure(let failure):
            return failure
        }
    }

    /// Watches its socket this turn, and wakes the loop at its deadline.
    package func watch(in loop: inout EventLoop, as source: EventLoop.Source = .supervisor) {
        switch exchange {
        case .some(let exchange):
            loop.watch(exchange.descriptor, forOutput: exchange.waitsForOutput, as: source)
            loop.wake(at: exchange.deadline.monotonicMilliseconds, for: source)
        case .none:
            break
        }
    }

    /// One step (`SupervisorExchange.advance`); once it gives a result, the
    /// exchange is over and its socket closed.
    package mutating func advance(ready: Bool) -> Result<[UInt8], SupervisorClient.Failure>? {
        guard var current = exchange.take() else { return nil }
        guard let result = current.advance(ready: ready) else {
            exchange = consume current
            return nil
        }
        return result
    }
}
