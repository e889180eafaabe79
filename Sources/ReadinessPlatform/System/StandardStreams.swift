import CReadiness

/// Unbuffered writes to the standard descriptors. `print` is block-buffered
/// on a pipe, which would hold back the listener's READY forever.
package enum StandardStreams {
    /// Writes all of `text` to `fd`, retrying short writes.
    package static func write(_ text: String, to fd: Int32) throws(Errno) {
        var text = text
        let result = text.withUTF8 { bytes in
            Result { () throws(Errno) in try writeAll(fd, UnsafeRawBufferPointer(bytes)) }
        }
        try result.get()
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) {
        let result = bytes.withUnsafeBytes { bytes in Result { () throws(Errno) in try writeAll(fd, bytes) } }
        try result.get()
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            offset += try system_write(fd, UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        }
    }

    package static func standardOutput(_ text: String) throws(Errno) { try write(text, to: STDOUT_FILENO) }

    /// Best effort: a log line that cannot be written has nowhere else to go.
    package static func standardError(_ text: String) { try? write(text, to: STDERR_FILENO) }

    /// A rendered log line, best effort like `standardError`.
    package static func log(_ line: [UInt8]) { try? writeAll(STDERR_FILENO, line) }

    package static var inputDescriptor: Int32 { STDIN_FILENO }

    /// Reads what is available on standard input into `buffer`; 0 is end of input.
    package static func readStandardInput(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try system_read(STDIN_FILENO, buffer)
    }
}
