/// One line of `logfmt` (`key=value` pairs separated by spaces), the format
/// the listener and the probe write to stderr so people can grep supervisord's
/// log files for `program=start` or `level=error`.
package struct LogLine: Sendable {
    package enum Level: String, Sendable {
        case debug, info, warning, error
    }

    private var text: String

    package init(time: Timestamp, level: Level, message: String) {
        text = "ts=\(time) level=\(level.rawValue)"
        append("msg", message)
    }

    /// Adds a field; values with spaces, quotes, `=` or control characters are quoted.
    package mutating func append(_ key: String, _ value: String) {
        text += " \(key)=\(Self.quotedIfNeeded(value))"
    }

    /// The line, ending in a newline.
    package var rendered: String { text + "\n" }

    static func quotedIfNeeded(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F }
        return needsQuotes ? quotedString(value) : value
    }
}
