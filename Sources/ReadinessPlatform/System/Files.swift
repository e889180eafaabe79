import CReadiness

/// A failed file operation, with what was tried, on which path, and why.
package struct FileError: Error, Equatable, Sendable, CustomStringConvertible {
    package var operation: String
    package var path: String
    package var errno: Errno

    package var description: String { "cannot \(operation) \(path): \(errno)" }
}

/// A file replaced whole, again and again, so that a concurrent reader sees
/// the old contents or the new, never a mix: the status file.
///
/// Each replacement writes a temporary file in the same directory, fsyncs it,
/// renames it over the file and fsyncs the directory. The directory stays open
/// between replacements (openat, renameat: no opening and closing of the
/// directory each time). Before each replacement one stat of the directory's
/// path checks that the open directory is still there: when it was removed or
/// renamed (`mv /run/readiness …`), the writes would go into a directory no
/// reader looks at, so the directory is created (if missing) and opened anew
/// at its path. On a memory file system (tmpfs, ramfs: /run in containers)
/// nothing can be made durable, so the two fsyncs are left out there.
///
/// The file is 0644 and a directory created for it 0755 whatever the umask
/// (a umask of 077 is common hardening): the probe may run as
/// another user than the listener.
///
/// A replacement is complete once the writer also holds an exclusive flock
/// on `<file>.lock` beside it (`ListenerPresence`): opened once in the open
/// directory and kept open (close-on-exec: no child inherits it), so the
/// kernel releases it when the writer dies, however it dies. `releaseLock`
/// lets go of it when a write failed; the next replacement takes it again,
/// as it does in a directory opened anew at the path.
package struct ReplacedFile: ~Copyable {
    package let path: String
    private let directoryPath: String
    private let name: String
    private let temporaryName: String
    private var directory: OpenDirectory?
    /// Whether the umask takes bits off the file's 0644, which then need a
    /// fchmod after each create; read once, since the listener never changes it.
    private let umaskRestrictsMode: Bool
    /// The lock file, open and locked; -1 while not held.
    private var lock: Int32 = -1

    private struct OpenDirectory {
        let fd: Int32
        let isInMemory: Bool
        /// Which directory is open, to tell whether it is still at its path.
        let device: UInt64
        let inode: UInt64
    }

    /// The status file's mode.
    static let mode: mode_t = 0o644

    package init(path: String) {
        self.path = path
        directoryPath = Files.directoryName(of: path)
        name = String(path.split(separator: "/").last ?? Substring(path))
        temporaryName = ".\(name).tmp"
        umaskRestrictsMode = system_umask() & Self.mode != 0
    }

    deinit {
        if let directory { try? system_close(directory.fd) }
        if lock >= 0 { try? system_close(lock) }
    }

    /// Where replacements are written first; one fixed name per file, so a
    /// process killed mid-write leaves at most one, which `removeTemporary` removes.
    package var temporaryPath: String { (directoryPath == "/" ? "" : directoryPath) + "/" + temporaryName }

    package func removeTemporary() { Files.removeIfPresent(temporaryPath) }

    /// Replaces the file with `contents`, creating its directory when missing,
    /// holding the lock beside it. On failure the temporary file is removed,
    /// and the file is left as it was unless the failure came after the
    /// rename (the directory's fsync).
    /// A termination signal waits until the replacement is done.
    package mutating func replace(with contents: [UInt8]) throws(FileError) {
        try Signals.deferringExit { () throws(FileError) in
            let file = try createTemporary()
            guard let directory else { preconditionFailure("createTemporary leaves the directory open") }
            do throws(FileError) {
                // Held before the file is replaced, never after: a reader
                // that sees the new file sees it vouched for by a live writer.
                try holdLock(in: directory)
                try write(contents, to: file, durably: !directory.isInMemory)
                do throws(Errno) { try system_rename(temporaryName, to: name, in: directory.fd) } catch {
                    throw FileError(operation: "rename \(temporaryPath) to", path: path, errno: error)
                }
            } catch {
                try? system_unlink(temporaryName, in: directory.fd)
                throw error
            }
            if !directory.isInMemory {
                do throws(Errno) { try system_fsync(directory.fd) } catch { throw FileError(operation: "fsync directory", path: directoryPath, errno: error) }
            }
        }
    }

    /// Takes the lock beside the file unless held. A probe holds a shared
    /// lock on it for a few microseconds to tell whether a writer lives, so
    /// EWOULDBLOCK is tried again a few times, a millisecond apart; one that
    /// lasts is another writer's (a second listener on this file), and the
    /// caller tries again at the next write.
    private mutating func holdLock(in directory: OpenDirectory) throws(FileError) {
        if lock >= 0 { return }
        do throws(Errno) {
            // Read-only (flock needs no write access): a file open for writing
            // would keep the file system from being remounted read-only.
            let fd = try system_open(name + ".lock", in: directory.fd, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, Self.mode)
            do throws(Errno) {
                if umaskRestrictsMode { try system_fchmod(fd, Self.mode) }
                var tries = 0
                while true {
                    do throws(Errno) {
                        try system_flock(fd, LOCK_EX | LOCK_NB)
                        break
                    } catch where error == .wouldBlock && tries < Self.lockTries {
                        tries += 1
                        Clock.sleep(milliseconds: 1)
                    }
                }
            } catch {
                try? system_close(fd)
                throw error
            }
            lock = fd
        } catch where error == .wouldBlock {
            throw FileError(operation: "lock (held by another process: a second listener on this status file?)", path: path + ".lock", errno: error)
        } catch { throw FileError(operation: "lock", path: path + ".lock", errno: error) }
    }

    /// How often a lock held by someone else is tried again before the write fails.
    private static let lockTries = 20

    /// Lets go of the lock: readers no longer take the file for a live writer's.
    package mutating func releaseLock() {
        if lock >= 0 { try? system_close(lock) }
        lock = -1
    }

    /// Sets the file's modification time to now (utimensat), in the
    /// directory at the path: the listener's heartbeat. Throws when the file
    /// is not there (or cannot be changed); the caller then writes it anew.
    package mutating func touch() throws(FileError) {
        if let directory, !isAtPath(directory) { close() }
        let directory = try openDirectory()
        do throws(Errno) { try system_touch(name, in: directory.fd) } catch {
            throw FileError(operation: "refresh the modification time of", path: path, errno: error)
        }
        // A directory that moved was let go of with its lock: take it again.
        try holdLock(in: directory)
    }

    /// Creates the temporary file, mode 0644, in the directory at the path.
    private mutating func createTemporary() throws(FileError) -> FileDescriptor {
        if let directory, !isAtPath(directory) { close() }
        let directory = try openDirectory()
        let file: FileDescriptor
        do throws(Errno) {
            file = FileDescriptor(rawValue: try system_open(temporaryName, in: directory.fd, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, Self.mode))
        } catch { throw FileError(operation: "create", path: temporaryPath, errno: error) }
        if umaskRestrictsMode {
            do throws(Errno) { try system_fchmod(file.rawValue, Self.mode) } catch {
                try? system_unlink(temporaryName, in: directory.fd)
                throw FileError(operation: "set the mode of", path: temporaryPath, errno: error)
            }
        }
        return file
    }

    /// Whether `directory` is still the directory at its path: not removed,
    /// not renamed, not replaced.
    private func isAtPath(_ directory: OpenDirectory) -> Bool {
        guard let info = try? system_stat(directoryPath) else { return false }
        return UInt64(info.st_dev) == directory.device && UInt64(info.st_ino) == directory.inode
    }

    /// The open directory, or the directory created if missing and opened.
    private mutating func openDirectory() throws(FileError) -> OpenDirectory {
        if let directory { return directory }
        try Files.makeDirectory(directoryPath)
        let fd: Int32
        let type: Int
        let info: stat
        do throws(Errno) {
            fd = try system_open(directoryPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            do {
                type = try system_file_system_type(fd)
                info = try system_fstat(fd)
            } catch {
                try? system_close(fd)
                throw error
            }
        } catch { throw FileError(operation: "open directory", path: directoryPath, errno: error) }
        let opened = OpenDirectory(
            fd: fd, isInMemory: type == Self.tmpfsMagic || type == Self.ramfsMagic, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        directory = opened
        return opened
    }

    /// `f_type` of tmpfs and ramfs (linux/magic.h).
    private static let tmpfsMagic = 0x0102_1994
    private static let ramfsMagic = 0x8584_58F6

    /// Closes the directory, and lets go of the lock file in it.
    private mutating func close() {
        if let directory { try? system_close(directory.fd) }
        directory = nil
        releaseLock()
    }

    /// Writes `contents`, fsyncs unless in memory, and closes, each step
    /// checked: a failed close can be the only sign of a lost write.
    private func write(_ contents: [UInt8], to file: consuming FileDescriptor, durably: Bool) throws(FileError) {
        do throws(Errno) {
            try StandardStreams.writeAll(file.rawValue, contents)
            if durably { try system_fsync(file.rawValue) }
        } catch { throw FileError(operation: "write", path: temporaryPath, errno: error) }
        do { try file.close() } catch { throw FileError(operation: "close", path: temporaryPath, errno: error) }
    }
}

/// Whole-file reads, and the directory helpers `ReplacedFile` uses.
package enum Files {
    package static func removeIfPresent(_ path: String) {
        try? system_unlink(path)
    }

    /// Creates `path` and its missing parents with mode 0755, whatever the
    /// umask (mkdir applies it, so a chmod follows): the probe, perhaps
    /// another user, must reach the file inside.
    package static func makeDirectory(_ path: String) throws(FileError) {
        if path.isEmpty || path == "/" { return }
        if let info = try? system_stat(path), info.isDirectory { return }
        try makeDirectory(directoryName(of: path))
        do { try system_mkdir(path, 0o755) } catch {
            if error == .fileExists { return }
            throw FileError(operation: "create directory", path: path, errno: error)
        }
        do { try system_chmod(path, 0o755) } catch { throw FileError(operation: "set the mode of directory", path: path, errno: error) }
    }

    package static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// What `readBounded` found.
    package enum ReadResult: Equatable, Sendable {
        case contents([UInt8])
        case missing
        case tooLarge(Int)
        case notRegularFile
        case failed(FileError)
    }

    /// Reads a regular file of at most `limit` bytes without following a
    /// symbolic link at `path` (O_NOFOLLOW, unless `followingLinks`) and
    /// without blocking on a FIFO.
    package static func readBounded(_ path: String, limit: Int, followingLinks: Bool = false) -> ReadResult {
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followingLinks ? 0 : O_NOFOLLOW))
        } catch {
            if error == .noSuchFileOrDirectory { return .missing }
            if error == .tooManySymbolicLinkLevels { return .notRegularFile }
            return .failed(FileError(operation: "open", path: path, errno: error))
        }
        let fd = file.rawValue
        let info: stat
        do { info = try system_fstat(fd) } catch { return .failed(FileError(operation: "stat", path: path, errno: error)) }
        guard info.isRegularFile else { return .notRegularFile }
        guard info.st_size <= limit else { return .tooLarge(Int(info.st_size)) }
        // Sized from fstat (0 for /proc files: 512 bytes, which hold a
        // /proc/PID/stat of about 300; musl's allocator maps a page of its
        // own for a buffer of 1 KiB, and unmaps it when freed), growing up to
        // one byte more than the limit, which tells a file that grew since fstat.
        var bytes = [UInt8](repeating: 0, count: min(limit + 1, info.st_size > 0 ? Int(info.st_size) + 1 : 512))
        var count = 0
        do {
            while true {
                if count == bytes.count {
                    guard bytes.count <= limit else { break }
                    bytes += [UInt8](repeating: 0, count: min(bytes.count, limit + 1 - bytes.count))
                }
                let read = try system_read(fd, into: &bytes, from: count)
                if read == 0 { break }
                count += read
                // A regular file that gave exactly its size in a read asked
                // for more is at its end: a second read would only say so.
                if count == info.st_size && count < bytes.count { break }
            }
        } catch { return .failed(FileError(operation: "read", path: path, errno: error)) }
        guard count <= limit else { return .tooLarge(count) }
        bytes.removeLast(bytes.count - count)
        return .contents(bytes)
    }
}
