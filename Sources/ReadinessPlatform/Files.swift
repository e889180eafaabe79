@preconcurrency import Glibc

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
        func fail(_ operation: String, _ target: String, _ error: Errno) -> FileError {
            try? system_unlink(temporary)
            return FileError(operation: operation, path: target, errno: error)
        }
        // A signal arriving mid-replacement must not leave the temporary file behind.
        system_block_termination(true)
        defer { system_block_termination(false) }
        let fd: Int32
        do {
            fd = try system_open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        } catch { throw FileError(operation: "create", path: temporary, errno: error) }
        do {
            try StandardStreams.write(contents, to: fd)
            try system_fsync(fd)
        } catch {
            system_close(fd)
            throw fail("write", temporary, error)
        }
        system_close(fd)
        do { try system_rename(temporary, path) } catch { throw fail("rename \(temporary) to", path, error) }
        do {
            let directoryFD = try system_open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            defer { system_close(directoryFD) }
            try system_fsync(directoryFD)
        } catch { throw FileError(operation: "fsync directory", path: directory, errno: error) }
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
        if let info = try? system_stat(path), info.st_mode & S_IFMT == S_IFDIR { return }
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
        let fd: Int32
        do {
            fd = try system_open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        } catch {
            if error == .noSuchFileOrDirectory { return .missing }
            if error == .tooManySymbolicLinkLevels { return .notRegularFile }
            return .failed(FileError(operation: "open", path: path, errno: error))
        }
        defer { system_close(fd) }
        let info: stat
        do { info = try system_fstat(fd) } catch { return .failed(FileError(operation: "stat", path: path, errno: error)) }
        guard info.st_mode & S_IFMT == S_IFREG else { return .notRegularFile }
        guard info.st_size <= limit else { return .tooLarge(Int(info.st_size)) }
        // Sized from fstat (0 for /proc files), growing up to one byte more
        // than the limit, which tells a file that grew since fstat.
        var bytes = [UInt8](repeating: 0, count: min(limit + 1, info.st_size > 0 ? Int(info.st_size) + 1 : 4096))
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
            }
        } catch { return .failed(FileError(operation: "read", path: path, errno: error)) }
        guard count <= limit else { return .tooLarge(count) }
        bytes.removeLast(bytes.count - count)
        return .contents(bytes)
    }
}
