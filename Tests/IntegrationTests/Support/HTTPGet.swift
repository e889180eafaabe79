import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// kubelet's httpGet probe, made from inside a container's own network
/// namespace: the socket is created by a short-lived thread that first
/// setns()es into `/proc/PID/ns/net` (a network namespace is a per-thread
/// attribute, and a socket stays in the namespace it was made in), then the
/// request runs from the test's own thread against 127.0.0.1. kubelet connects
/// to the pod's IP from the node instead; the listener is the same either way.
///
/// As kubelet does: one `GET` with `Connection: close`, the whole exchange
/// bounded by `timeout`, the body read up to 10 KiB; a status from 200 to 399
/// is a success, anything else, a refused connection or a timeout a failure.
enum HTTPGet {
    struct Answer {
        /// The HTTP status, or `timedOut` or `failed`.
        var status: Int32
        /// The response's body, or why there is none (kubelet's wording).
        var message: String
        var succeeded: Bool { (200..<400).contains(status) }
    }

    /// No answer within the timeout (`Container.timedOut`, as an exec probe's).
    static let timedOut: Int32 = Container.timedOut
    /// No connection (refused: nothing listens yet or any more), or no HTTP answer.
    static let failed: Int32 = -2
    /// kubelet reads at most this much of a probe's body (a scrape, more: `bodyLimit:`).
    static let bodyLimit = 10 * 1024

    static func get(inNetworkNamespaceOf pid: Int32, port: UInt16, path: String, timeout: Double, bodyLimit: Int = bodyLimit) -> Answer {
        let url = "http://127.0.0.1:\(port)\(path)"
        let deadline = Date().addingTimeInterval(timeout)
        func remainingMilliseconds() -> Int32 { Int32(max(0, deadline.timeIntervalSinceNow * 1000).rounded(.up)) }
        func timedOutAnswer(_ phase: String) -> Answer {
            Answer(status: timedOut, message: "Get \"\(url)\": context deadline exceeded (Client.Timeout exceeded while \(phase))")
        }
        let socketFD: Int32
        switch socket(inNetworkNamespaceOf: pid) {
        case .success(let fd): socketFD = fd
        case .failure(let error): return Answer(status: failed, message: "Get \"\(url)\": \(error.description)")
        }
        defer { close(socketFD) }

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 {
            guard errno == EINPROGRESS else { return dialFailure(url, port, errno) }
            guard wait(socketFD, for: Int16(POLLOUT), milliseconds: remainingMilliseconds()) else { return timedOutAnswer("dialing") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(socketFD, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return dialFailure(url, port, error) }
        }

        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: kube-probe/1.30\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        let sent = request.utf8CString.withUnsafeBufferPointer { send(socketFD, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
        guard sent == request.utf8.count else {
            return Answer(status: failed, message: "Get \"\(url)\": write: \(String(cString: strerror(errno)))")
        }

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < bodyLimit + 4096 {
            guard wait(socketFD, for: Int16(POLLIN), milliseconds: remainingMilliseconds()) else {
                return timedOutAnswer("awaiting headers")
            }
            let count = buffer.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return Answer(status: failed, message: "Get \"\(url)\": read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            received += buffer[..<count]
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else {
            return Answer(status: failed, message: "Get \"\(url)\": malformed HTTP response \(text.debugDescription)")
        }
        let statusLine = text[..<headEnd.lowerBound].prefix { $0 != "\r" }
        let fields = statusLine.split(separator: " ", maxSplits: 2)
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let status = Int32(fields[1]) else {
            return Answer(status: failed, message: "Get \"\(url)\": malformed HTTP status line \(String(statusLine).debugDescription)")
        }
        let body = String(text[headEnd.upperBound...].utf8.prefix(bodyLimit)) ?? ""
        return Answer(status: status, message: body.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func dialFailure(_ url: String, _ port: UInt16, _ error: Int32) -> Answer {
        let reason = error == ECONNREFUSED ? "connection refused" : String(cString: strerror(error))
        return Answer(status: failed, message: "Get \"\(url)\": dial tcp 127.0.0.1:\(port): connect: \(reason)")
    }

    private static func wait(_ fd: Int32, for events: Int16, milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&entry, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            return ready > 0
        }
    }

    struct NamespaceError: Error, CustomStringConvertible { let description: String }

    /// glibc's setns(2), which the Glibc module does not import (it is a
    /// _GNU_SOURCE declaration), and <sched.h>'s CLONE_NEWNET.
    private static let setns: (@convention(c) (Int32, Int32) -> Int32)? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "setns") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()
    private static let cloneNewNet: Int32 = 0x4000_0000

    private final class Outcome: @unchecked Sendable {
        var result: Result<Int32, NamespaceError> = .failure(NamespaceError(description: "no thread ran"))
    }

    /// A non-blocking TCP socket in `pid`'s network namespace, made by a
    /// thread of its own that enters the namespace and then ends, so that no
    /// other thread of the test process changes namespace.
    static func socket(inNetworkNamespaceOf pid: Int32) -> Result<Int32, NamespaceError> {
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            let namespace = open("/proc/\(pid)/ns/net", O_RDONLY | O_CLOEXEC)
            guard namespace >= 0 else {
                outcome.result = .failure(NamespaceError(description: "open /proc/\(pid)/ns/net: \(String(cString: strerror(errno)))"))
                return
            }
            defer { close(namespace) }
            guard let setns, setns(namespace, cloneNewNet) == 0 else {
                outcome.result = .failure(NamespaceError(description: "setns /proc/\(pid)/ns/net: \(String(cString: strerror(errno)))"))
                return
            }
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            outcome.result = fd >= 0 ? .success(fd) : .failure(NamespaceError(description: "socket: \(String(cString: strerror(errno)))"))
        }
        thread.start()
        done.wait()
        return outcome.result
    }
}
