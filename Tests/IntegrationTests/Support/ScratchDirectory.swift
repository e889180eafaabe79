import Foundation

/// A scratch directory removed when the test ends.
final class ScratchDirectory {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("rdy-\(UUID().uuidString.prefix(8))").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes an executable file (mode 0755 unless told otherwise). The
    /// descriptor is close-on-exec: a child spawned meanwhile by a test running
    /// in parallel must not inherit it, or exec of the file fails with ETXTBSY.
    @discardableResult
    func script(_ name: String, _ body: String, mode: Int = 0o755) -> String {
        executable(name, Array(body.utf8), mode: mode)
    }

    /// Writes `bytes` as an executable file, close-on-exec as `script` does.
    @discardableResult
    func executable(_ name: String, _ bytes: [UInt8], mode: Int = 0o755) -> String {
        let file = "\(path)/\(name)"
        unlink(file)
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "cannot create \(file)")
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            precondition(count > 0, "cannot write \(file)")
            written += count
        }
        close(fd)
        chmod(file, mode_t(mode))
        return file
    }

    func write(_ name: String, _ text: String) -> String {
        let file = "\(path)/\(name)"
        try! FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! text.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }
}
