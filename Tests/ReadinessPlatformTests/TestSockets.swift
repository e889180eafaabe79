import Glibc

/// Plain libc helpers for the platform tests: the sending side of a notify
/// socket, scratch directories, and a look at this process's descriptors.
enum TestSockets {
    /// A fresh directory under /tmp, removed by `removeTree`.
    static func scratchDirectory() -> String {
        var template = Array("/tmp/readiness-platform-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    static func removeTree(_ path: String) { _ = system("rm -rf '\(path)'") }

    /// A unix socket address for a path or an abstract `@name`, and its length.
    static func address(_ path: String) -> (sockaddr_un, socklen_t) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = abstract ? MemoryLayout<sa_family_t>.size + bytes.count : MemoryLayout<sockaddr_un>.size
        return (address, socklen_t(length))
    }

    /// Sends one datagram the way a service's sd_notify does (a plain
    /// sendmsg, no credentials of its own), with `descriptors` attached as
    /// SCM_RIGHTS; the byte count sent, or -1.
    static func send(_ payload: [UInt8], to path: String, descriptors: [Int32] = []) -> Int {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var (address, length) = address(path)
        let headerSize = MemoryLayout<cmsghdr>.size
        var control = [UInt8](repeating: 0, count: descriptors.isEmpty ? 0 : headerSize + descriptors.count * 4)
        if !descriptors.isEmpty {
            control.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: headerSize + descriptors.count * 4, toByteOffset: 0, as: Int.self)  // cmsg_len
                raw.storeBytes(of: SOL_SOCKET, toByteOffset: 8, as: Int32.self)  // cmsg_level
                raw.storeBytes(of: 1, toByteOffset: 12, as: Int32.self)  // cmsg_type: SCM_RIGHTS
                for (index, descriptor) in descriptors.enumerated() {
                    raw.storeBytes(of: descriptor, toByteOffset: headerSize + index * 4, as: Int32.self)
                }
            }
        }
        var payload = payload
        return payload.withUnsafeMutableBytes { bytes in
            control.withUnsafeMutableBytes { controlBytes in
                withUnsafeMutablePointer(to: &address) { addressPointer in
                    var vector = iovec(iov_base: bytes.baseAddress, iov_len: bytes.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_name = UnsafeMutableRawPointer(addressPointer)
                        message.msg_namelen = length
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        return sendmsg(fd, &message, 0)
                    }
                }
            }
        }
    }

    /// Whether `fd` is ready for `events` within `milliseconds`.
    static func isReady(_ fd: Int32, for events: Int32, within milliseconds: Int32) -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(events), revents: 0)]
        return poll(&fds, 1, milliseconds) > 0
    }

    /// What /proc/self/fd/`fd` links to ("socket:[1234]").
    static func target(of fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether any descriptor of this process but `except` links to
    /// `target`: unlike a count, not thrown off by tests opening files alongside.
    static func isOpen(_ target: String, except: Int32 = -1) -> Bool {
        guard let directory = opendir("/proc/self/fd") else { return false }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let fd = Int32(name), fd != except, self.target(of: fd) == target { return true }
        }
        return false
    }

    /// A listening TCP socket on 127.0.0.1 (or ::1) with `backlog`, and its port.
    static func listener(ipv6: Bool = false, backlog: Int32 = 16) -> (fd: Int32, port: UInt16) {
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_addr = in6addr_loopback
            return (fd, listen(fd, at: &address, backlog: backlog) { UInt16(bigEndian: $0.sin6_port) })
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return (fd, listen(fd, at: &address, backlog: backlog) { UInt16(bigEndian: $0.sin_port) })
    }

    /// Binds `fd` to `address` (port 0: any free one), listens, and reads the port back.
    private static func listen<Address>(_ fd: Int32, at address: inout Address, backlog: Int32, port: (Address) -> UInt16) -> UInt16 {
        var length = socklen_t(MemoryLayout<Address>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = Glibc.listen(fd, backlog)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return port(address)
    }
}
