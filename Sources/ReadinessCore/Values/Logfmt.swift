/// One line of `logfmt` (`key=value` pairs separated by spaces), the format
/// the listener and the probe write to stderr so people can grep supervisord's
/// log files for `program=start` or `level=error`.
package struct LogLine: Sendable {
    package enum Level: String, Sendable {
        case debug, info, warning, error
    }

    private var text = ByteText(capacity: 256)

    package init(time: Timestamp, level: Level, message: String) {
        text.write("ts=")
        text.write(time)
        text.write(" level=")
        text.write(string: level.rawValue)
        append("msg", message)
    }

    /// Adds a field; values with spaces, quotes, `=` or control characters are quoted.
    package mutating func append(_ key: String, _ value: String) {
        text.write(" ")
        text.write(string: key)
        text.write("=")
        text.write(string: Self.needsQuotes(value) ? quotedString(value) : value)
    }

    /// The line's bytes, ending in a newline.
    package consuming func rendered() -> [UInt8] {
        text.write("\n")
        return text.finished()
    }

    /// Bytes suffice: every character that needs quoting is ASCII.
    static func needsQuotes(_ value: String) -> Bool {
        value.isEmpty || value.utf8.contains { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 || $0 == 0x7F }
    }
}
