import Foundation

/// TCP ports for the servers a test starts (the listener's `--http`, a
/// service's port, supervisord's inet server). Binding port 0 and releasing
/// it hands out a port from the kernel's ephemeral range, which the next
/// outgoing connection of any process on the machine may take before the
/// server binds it. These come from below that range
/// (/proc/sys/net/ipv4/ip_local_port_range, 32768 and up by default), where
/// the kernel never picks: a block per test process (by pid, so parallel
/// runs of `swift test` stay apart), each port handed out once and checked
/// free (nothing listens on it now) before it is.
enum TestPorts {
    private static let first = 10_000
    private static let blockSize = 64
    private static let blocks: Int = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let ephemeral = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) } ?? 32_768
        return max(1, (ephemeral - first) / blockSize)
    }()
    private static let lock = NSLock()
    nonisolated(unsafe) private static var handedOut = 0  // under `lock`

    static func unused() -> UInt16 {
        lock.lock()
        defer { lock.unlock() }
        let base = first + Int(getpid() % Int32(blocks)) * blockSize
        for _ in 0..<(blocks * blockSize) {
            let port = first + (base - first + handedOut) % (blocks * blockSize)
            handedOut += 1
            if isFree(UInt16(port)) { return UInt16(port) }
        }
        fatalError("no free TCP port between \(first) and \(first + blocks * blockSize)")
    }

    /// Whether 0.0.0.0:port can be bound now (without SO_REUSEADDR): nothing
    /// listens on it, and no connection holds it.
    private static func isFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
