import Foundation

/// TCP ports for the servers a test starts (the listener's `--http`, a
/// service's port, supervisord's inet server). Binding port 0 and releasing
/// it hands out a port from the kernel's ephemeral range, which the next
/// outgoing connection of any process on the machine may take before the
/// server binds it. These come from below that range
/// (/proc/sys/net/ipv4/ip_local_port_range, 32768 and up by default), where
/// the kernel never picks: blocks of them, each held by one test process
/// for its life, so parallel runs of the tests (`make matrix` runs two)
/// never hand out the same port; each port is handed out once and checked
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
    // Under `lock`: the block in use, and how many of its ports were handed out.
    nonisolated(unsafe) private static var block: Int?
    nonisolated(unsafe) private static var handedOut = 0

    static func unused() -> UInt16 {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if block == nil || handedOut == blockSize - 1 {
                block = takeBlock()
                handedOut = 0
            }
            handedOut += 1
            let port = first + block! * blockSize + handedOut
            if isFree(UInt16(port)) { return UInt16(port) }
        }
    }

    /// A block no other test process holds (nor this one), the search
    /// starting at one chosen by pid: held by a socket bound to its first
    /// port and never closed, which the kernel lets go when the process
    /// exits, however it exits. The other ports are handed out.
    private static func takeBlock() -> Int {
        for offset in 0..<blocks {
            let candidate = (Int(getpid()) + offset) % blocks
            if bound(UInt16(first + candidate * blockSize), keep: true) { return candidate }
        }
        fatalError("every block of TCP ports from \(first) is held by a test process")
    }

    /// Whether 0.0.0.0:port can be bound now (without SO_REUSEADDR): nothing
    /// listens on it, and no connection holds it.
    private static func isFree(_ port: UInt16) -> Bool { bound(port, keep: false) }

    /// Whether 0.0.0.0:port was bound; the socket is kept open if `keep`.
    private static func bound(_ port: UInt16, keep: Bool) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        let isBound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
        if !keep || !isBound { close(fd) }
        return isBound
    }
}
