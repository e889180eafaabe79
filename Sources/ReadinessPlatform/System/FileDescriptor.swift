import CReadiness

/// An open file descriptor and the duty to close it, which cannot be copied:
/// it is closed once, by its one owner, when the owner lets go of it, or by
/// `close()` where a failed close must be seen (a file that was written).
/// (`@frozen` because Embedded Swift allows `discard self` only in a frozen type.)
@frozen
package struct FileDescriptor: ~Copyable {
    package let rawValue: Int32

    init(rawValue: Int32) { self.rawValue = rawValue }

    /// open(2), retried on EINTR; `O_CLOEXEC` is the caller's to give.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try system_open(path, flags, mode))
    }

    /// For descriptors that were only read from, or whose writes were already
    /// made durable: a failed close loses nothing then.
    deinit { try? system_close(rawValue) }

    /// Gives up the duty to close: the caller owns the raw descriptor now.
    consuming func release() -> Int32 {
        let fd = rawValue
        discard self
        return fd
    }

    /// Closes the descriptor and reports a failure, which after writes can be
    /// the only sign that they did not reach the file (NFS, a full quota).
    consuming func close() throws(Errno) {
        let fd = rawValue
        discard self
        try system_close(fd)
    }
}

/// The two ends of a pipe(2), each with its owner.
struct Pipe: ~Copyable {
    var read: FileDescriptor
    var write: FileDescriptor

    init(flags: Int32) throws(Errno) {
        let (read, write) = try system_pipe(flags)
        self.read = FileDescriptor(rawValue: read)
        self.write = FileDescriptor(rawValue: write)
    }
}
