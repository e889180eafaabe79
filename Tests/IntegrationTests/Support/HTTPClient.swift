import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP client for the listener's HTTP endpoint, as kubelet's prober
/// uses it: one request per connection, read to the end.
enum HTTPClient {
    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// A connected blocking socket with 5 s read and write timeouts, or nil.
    static func connect(port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Everything the server sends until it closes (`closed`), or until
    /// the 5 s read timeout or an error.
    static func readAll(_ fd: Int32) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), count == 0) }
            received += buffer[..<count]
        }
    }

    struct Response {
        var status: Int
        var head: String
        var body: String
    }

    /// Sends `raw` as it is and parses what comes back; nil when the
    /// connection fails or the answer is not HTTP.
    static func exchange(port: UInt16, _ raw: String) -> Response? {
        guard let fd = connect(port: port) else { return nil }
        defer { close(fd) }
        guard send(fd, raw) else { return nil }
        let text = readAll(fd).text
        guard let split = text.range(of: "\r\n\r\n"), text.hasPrefix("HTTP/1.1 "),
            let status = Int(text.dropFirst(9).prefix(3))
        else { return nil }
        return Response(status: status, head: String(text[..<split.lowerBound]), body: String(text[split.upperBound...]))
    }

    static func get(port: UInt16, _ path: String) -> Response? {
        exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: kube-probe/1.30\r\nAccept: */*\r\nConnection: close\r\n\r\n")
    }
}
