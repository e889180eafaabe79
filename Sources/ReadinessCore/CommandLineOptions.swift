/// A small `--name value` / `--flag` parser shared by both executables; the
/// argument parser packages are not used, to keep the binaries small.
package struct CommandLineOptions: Equatable, Sendable {
    /// The last value of each option given.
    package private(set) var values: [String: String] = [:]
    /// Every value of each option, in order, for the repeatable ones.
    package private(set) var allValues: [String: [String]] = [:]
    package private(set) var flags: Set<String> = []

    /// Accepts `--name value`, `--name=value` and bare `--flag`; anything else is an error.
    package init(
        _ arguments: some Sequence<String>, valued: Set<String>, flags allowedFlags: Set<String>
    ) throws(UsageError) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard argument.hasPrefix("--") else { throw UsageError("unexpected argument \(argument)") }
            let body = argument.dropFirst(2)
            if let equals = body.firstIndex(of: "=") {
                let name = String(body[..<equals])
                guard valued.contains(name) else { throw UsageError("unknown option --\(name)") }
                add(name, String(body[body.index(after: equals)...]))
            } else if valued.contains(String(body)) {
                guard let value = iterator.next() else { throw UsageError("option \(argument) needs a value") }
                add(String(body), value)
            } else if allowedFlags.contains(String(body)) {
                flags.insert(String(body))
            } else {
                throw UsageError("unknown option \(argument)")
            }
        }
    }

    private mutating func add(_ name: String, _ value: String) {
        values[name] = value
        allValues[name, default: []].append(value)
    }

    /// A duration in seconds such as `0.5` or `3`, as milliseconds.
    package func milliseconds(_ name: String, default fallback: Int64, range: ClosedRange<Int64>) throws(UsageError) -> Int64 {
        guard let text = values[name] else { return fallback }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = Int64(parts[0].isEmpty ? "0" : parts[0]), whole >= 0, whole < 1_000_000,
            parts.count == 1 || (!parts[1].isEmpty && parts[1].count <= 3 && parts[1].utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }))
        else { throw UsageError("--\(name) takes seconds, e.g. 0.5 or 3, not \(text)") }
        let fraction = parts.count == 2 ? String(parts[1]).padding(toLength: 3) : "000"
        let milliseconds = whole * 1000 + (Int64(fraction) ?? 0)
        guard range.contains(milliseconds) else {
            throw UsageError("--\(name) must be between \(Double(range.lowerBound) / 1000) and \(Double(range.upperBound) / 1000) seconds")
        }
        return milliseconds
    }
}

/// Bad command-line arguments, with what was wrong.
package struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        self + String(repeating: "0", count: Swift.max(0, length - count))
    }
}
