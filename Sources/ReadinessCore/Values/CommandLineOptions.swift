/// A small `--name value` / `--flag` parser shared by both executables; the
/// argument parser packages are not used, to keep the binaries small.
///
/// Options and flags are kept as given, in arrays: a command line holds a
/// handful, and a Dictionary or Set would hash each one and seed its hasher
/// from getrandom(2) on every probe's start-up.
package struct CommandLineOptions: Equatable, Sendable {
    /// Each valued option, in the order given.
    private var given: [Option] = []
    /// The flags given, each once.
    private var flags: [String] = []

    private struct Option: Equatable, Sendable {
        var name: String
        var value: String
    }

    /// Accepts `--name value`, `--name=value` and bare `--flag`; anything else
    /// is an error. The allowed names are arrays, searched in order: a handful
    /// of names, and building two Sets hashed every one of them at each start.
    package init(
        _ arguments: some Sequence<String>, valued: [String], flags allowedFlags: [String]
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
                if !flags.contains(String(body)) { flags.append(String(body)) }
            } else {
                throw UsageError("unknown option \(argument)")
            }
        }
    }

    private mutating func add(_ name: String, _ value: String) {
        given.append(Option(name: name, value: value))
    }

    /// The last value given for `name`.
    package func value(_ name: String) -> String? { given.last { $0.name == name }?.value }

    /// Every value given for `name`, in order, for the repeatable options.
    package func values(_ name: String) -> [String] { given.filter { $0.name == name }.map { $0.value } }

    package func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// A duration in seconds such as `0.5` or `3`, as milliseconds.
    package func milliseconds(_ name: String, default fallback: Int64, range: ClosedRange<Int64>) throws(UsageError) -> Int64 {
        guard let text = value(name) else { return fallback }
        let parts = text.utf8.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        let fraction = parts.count == 2 ? Array(parts[1]) : []
        guard let whole = parts[0].isEmpty ? 0 : UInt64(decimal: parts[0]), whole < 1_000_000,
            parts.count == 1 || (1...3).contains(fraction.count),
            let thousandths = fraction.isEmpty ? 0 : UInt64(decimal: fraction)
        else { throw UsageError("--\(name) takes seconds, e.g. 0.5 or 3, not \(text)") }
        // ".5" is 500 ms, ".05" 50 ms: scale by the digits missing from three.
        let scale: UInt64 = fraction.count == 1 ? 100 : fraction.count == 2 ? 10 : 1
        let milliseconds = Int64(whole * 1000 + thousandths * scale)
        guard range.contains(milliseconds) else {
            throw UsageError("--\(name) must be between \(Self.seconds(range.lowerBound)) and \(Self.seconds(range.upperBound)) seconds")
        }
        return milliseconds
    }

    /// `1500` as `1.5`: printing a Double would link a float formatter of
    /// its own for this one message.
    static func seconds(_ milliseconds: Int64) -> String {
        var fraction = "\(1000 + milliseconds % 1000)".dropFirst()
        while fraction.last == "0" { fraction.removeLast() }
        return "\(milliseconds / 1000)" + (fraction.isEmpty ? "" : "." + fraction)
    }
}

extension CommandLineOptions {
    /// A count from 1 to 1000, such as a threshold.
    package func count(_ name: String, default fallback: Int) throws(UsageError) -> Int {
        guard let text = value(name) else { return fallback }
        guard let value = UInt64(decimal: text.utf8), (1...1000).contains(value) else {
            throw UsageError("--\(name) takes a whole number from 1 to 1000, not \(text)")
        }
        return Int(value)
    }
}

/// Bad command-line arguments, with what was wrong.
package struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
