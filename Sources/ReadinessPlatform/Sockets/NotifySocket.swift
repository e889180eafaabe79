import CReadiness

/// The socket `NOTIFY_SOCKET` names: an AF_UNIX datagram socket on which
/// services announce readiness with sd_notify (`READY=1`, `STATUS=…`).
///
/// The kernel attaches each sender's pid to every datagram (SO_PASSCRED),
/// which is how a message is tied to a program; descriptors a sender passes
/// along are closed on arrival, as systemd does with unwanted ones. The
/// socket is non-blocking and close-on-exec, for the listener's event loop.
/// Closing it leaves the path in place: a restarted listener rebinds it.
/// (No deinit: Embedded Swift cannot run one of a ~Copyable type declared in
/// another module; the owner calls `close()`.)
package struct NotifySocket: ~Copyable {
    package let descriptor: Int32

    /// systemd's buffer (PIPE_BUF): a longer datagram is not a notification.
    package static let maximumDatagramBytes = 4096

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// No socket: no service is `notify`.
    package static var none: NotifySocket { NotifySocket(descriptor: -1) }

    package var isBound: Bool { descriptor >= 0 }

    /// Binds a datagram socket at `path`, or at the abstract `@name`.
    ///
    /// A missing parent directory is created (mode 0755). A socket file
    /// already at `path` is a stale one from an earlier listener and is
    /// replaced; anything else there is refused with EEXIST, never deleted.
    /// The socket file gets mode 0666: services may run as other users, and
    /// the sender's pid, not the file mode, decides whom a message is from.
    package static func bind(path: String) throws(Errno) -> NotifySocket {
        let abstract = path.utf8.first == UInt8(ascii: "@")
        if !abstract { try prepare(path) }
        let fd = try system_socket(AF_UNIX, readiness_sock_dgram)
        do {
            try system_set_pass_credentials(fd)
            try system_bind_unix(fd, path)
            if !abstract { try system_chmod(path, 0o666) }
        } catch {
            try? system_close(fd)
            throw error
        }
        return NotifySocket(descriptor: fd)
    }

    /// Makes room for the socket file: its directory, and no stale socket.
    private static func prepare(_ path: String) throws(Errno) {
        do { try Files.makeDirectory(Files.directoryName(of: path)) } catch { throw error.errno }
        let existing: stat
        do { existing = try system_lstat(path) } catch {
            if error == .noSuchFileOrDirectory { return }
            throw error
        }
        guard existing.isSocket else { throw Errno.fileExists }
        try system_unlink(path)
    }

    /// Takes one waiting datagram without blocking; nil when none is waiting.
    /// A failed receive is nil too: on a bound datagram socket it does not
    /// last (ENOMEM), and the next poll asks again.
    package mutating func receive() -> NotifyDatagram? {
        // One byte more than a notification may have, so the bytes alone
        // show that a datagram was too long.
        var bytes = [UInt8](repeating: 0, count: Self.maximumDatagramBytes + 1)
        let received = bytes.withUnsafeMutableBytes { buffer in
            try? system_receive_notify(descriptor, into: buffer)
        }
        guard let received = received ?? nil else { return nil }
        bytes.removeLast(bytes.count - min(bytes.count, received.length))
        return NotifyDatagram(
            bytes: bytes, senderPID: received.pid > 0 ? Int(received.pid) : nil, length: received.length,
            passedDescriptors: Int(received.descriptorsClosed))
    }

    /// Closes the socket; the path stays for the next listener to rebind.
    package consuming func close() { try? system_close(descriptor) }
}

/// One datagram received on a `NotifySocket`.
package struct NotifyDatagram: Equatable, Sendable {
    /// What arrived, cut after `NotifySocket.maximumDatagramBytes + 1` bytes.
    package var bytes: [UInt8]
    /// From the kernel's SCM_CREDENTIALS; nil when none came or the sender
    /// is in a pid namespace this process cannot see.
    package var senderPID: Int?
    /// The datagram's real length, even when `bytes` holds less of it.
    package var length: Int
    /// How many descriptors came with it (SCM_RIGHTS), already closed.
    package var passedDescriptors: Int

    package init(bytes: [UInt8], senderPID: Int?, length: Int, passedDescriptors: Int) {
        self.bytes = bytes
        self.senderPID = senderPID
        self.length = length
        self.passedDescriptors = passedDescriptors
    }

    /// Whether the datagram was longer than a notification may be (and so was
    /// cut): systemd ignores such a datagram.
    package var isTooLong: Bool { length > NotifySocket.maximumDatagramBytes }
}
