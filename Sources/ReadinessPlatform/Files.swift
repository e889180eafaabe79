import CReadiness

/// A failed file operation, with what was tried, on which path, and why.
package struct FileError: Error, Equatable, Sendable, CustomStringConvertible {
    package var operation: String
    package var path: String
    package var errno: Errno

    package var description: String { "cannot \(operation) \(path): \(errno)" }
}

/// Whole-file reads and atomic whole-file replacement.
package enum Files {
    /// Replaces `path` so that a concurrent reader sees the old file or the new
    /// one, never a mix: write a temporary file in the same directory, fsync it,
    /// rename it over `path`, fsync the directory. On failure the temporary file
    /// is removed and `path` is left as it was.
    package static func replace(_ path: String, with contents: String) throws(FileError) {
        let directory = directoryName(of: path)
        try makeDirectory(directory)
        let temporary = temporaryPath(for: path)
        // A signal arriving mid-replacement must not leave the temporary file behind.
        try Signals.deferringTermination { () throws(FileError) in
            do throws(FileError) {
                try write(contents, durablyTo: temporary)
                do throws(Errno) { try system_rename(temporary, path) } catch { throw FileError(operation: "rename \(temporary) to", path: path, errno: error) }
            } catch {
                try? system_unlink(temporary)
                throw error
            }
            do throws(Errno) {
                let directoryFD = try FileDescriptor.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                try system_fsync(directoryFD.rawValue)
            } catch { throw FileError(operation: "fsync directory", path: directory, errno: error) }
        }
    }

    /// Creates (or truncates) `path`, writes `contents`, fsyncs and closes it,
    /// each step checked: a failed close can be the only sign of a lost write.
    private static func write(_ contents: String, durablyTo path: String) throws(FileError) {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode: 0o644) } catch {
            throw FileError(operation: "create", path: path, errno: error)
        }
        do {
            try StandardStreams.write(contents, to: fd.rawValue)
            try system_fsync(fd.rawValue)
        } catch { throw FileError(operation: "write", path: path, errno: error) }
        do { try fd.close() } catch { throw FileError(operation: "close", path: path, errno: error) }
    }

    /// The temporary file `replace` writes; one fixed name per status file, so
    /// a listener killed mid-write leaves at most one, removed at its next start.
    package static func temporaryPath(for path: String) -> String {
        let directory = directoryName(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return (directory == "/" ? "" : directory) + "/.\(base).tmp"
    }

    package static func removeIfPresent(_ path: String) {
        try? system_unlink(path)
    }

    /// Creates `path` and its missing parents with mode 0755.
    package static func makeDirectory(_ path: String) throws(FileError) {
        if path.isEmpty || path == "/" { return }
        if let info = try? system_stat(path), info.isDirectory { return }
        try makeDirectory(directoryName(of: path))
        do { try system_mkdir(path, 0o755) } catch {
            if error != .fileExists { throw FileError(operation: "create directory", path: path, errno: error) }
        }
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
    /// symbolic link at `path` (O_NOFOLLOW) and without blocking on a FIFO.
    package static func readBounded(_ path: String, limit: Int) -> ReadResult {
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
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
        // Sized from fstat (0 for /proc files: 1 KiB, which holds a
        // /proc/PID/stat without touching another heap page), growing up to
        // one byte more than the limit, which tells a file that grew since fstat.
        var bytes = [UInt8](repeating: 0, count: min(limit + 1, info.st_size > 0 ? Int(info.st_size) + 1 : 1024))
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
