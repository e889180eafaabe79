/// `--dependent-startup`: supervisord-dependent-startup's keys, read from
/// supervisord's configuration files, as start rules. A `[program:NAME]`
/// with `dependent_startup=true` is started once every
/// `dependent_startup_wait_for=DEP:STATE …` holds: `running`, or `exited`,
/// which here means exited as expected. A program with no wait is started
/// at once, as dependent-startup does.
///
/// The files are read as bytes, as supervisord's reader (Python's
/// RawConfigParser with `;` and `#` inline comments) sees them, keeping only
/// the keys that matter here: String-heavy parsing costs the listener's
/// size bound dearly. For the same reason its steps stay out of line
/// (`@inline(never)`): inlined into their one caller at link time, they
/// took 1 KB more.
package struct DependentStartup: Sendable {
    private struct Program: Sendable {
        var name: [UInt8]
        var enabled: [UInt8] = []
        var waitFor: [UInt8] = []
        var numprocs: [UInt8] = []
    }

    private enum Key { case other, enabled, waitFor, numprocs, files }

    private var programs: [Program] = []
    /// The main file's `[include] files=`, words separated by white space.
    package private(set) var includeFiles: [UInt8] = []

    package init() {}

    /// Takes one file's sections; `main` is the file supervisord was given,
    /// the only one whose `[include]` it follows. A later file's value wins.
    package mutating func read(_ text: [UInt8], main: Bool) {
        var program: Int?
        var inInclude = false
        var key = Key.other
        // The indentation of the section's last key line: a line indented
        // more continues that key's value, whatever the line holds.
        var keyIndent: Int?
        var start = 0
        while start < text.count {
            let end = text[start...].firstIndex(of: 10) ?? text.count
            let line = text[start..<end]
            start = end + 1
            let content = Self.trimmed(Self.withoutComment(line))
            guard let first = content.first else { continue }
            let indent = line.prefix { $0 == 32 || $0 == 9 }.count
            if let keyIndent, indent > keyIndent {
                append(content, to: key, program: program, separator: true)
                continue
            }
            key = .other
            keyIndent = nil
            if first == UInt8(ascii: "[") {
                guard let close = content.lastIndex(of: UInt8(ascii: "]")) else { continue }
                let name = content[(content.startIndex + 1)..<close]
                inInclude = main && name.elementsEqual("include".utf8)
                program = nil
                guard name.starts(with: "program:".utf8) else { continue }
                let programName = Array(name.dropFirst(8))
                program = programs.firstIndex { $0.name == programName } ?? {
                    programs.append(Program(name: programName))
                    return programs.count - 1
                }()
                continue
            }
            guard let delimiter = content.firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ":") }) else { continue }
            keyIndent = indent
            let name = Self.lowercased(Self.trimmed(content[..<delimiter]))
            key = switch name {
            case _ where inInclude && name.elementsEqual("files".utf8): .files
            case _ where program == nil: .other
            case _ where name.elementsEqual("dependent_startup".utf8): .enabled
            case _ where name.elementsEqual("dependent_startup_wait_for".utf8): .waitFor
            case _ where name.elementsEqual("numprocs".utf8): .numprocs
            default: .other
            }
            append(Self.trimmed(content[(delimiter + 1)...]), to: key, program: program, separator: false)
        }
    }

    private mutating func append(_ value: ArraySlice<UInt8>, to key: Key, program: Int?, separator: Bool) {
        func extend(_ field: inout [UInt8]) {
            if !separator { field = [] } else if !field.isEmpty { field.append(32) }
            field += value
        }
        switch (key, program) {
        case (.files, _): extend(&includeFiles)
        case (.enabled, let index?): extend(&programs[index].enabled)
        case (.waitFor, let index?): extend(&programs[index].waitFor)
        case (.numprocs, let index?): extend(&programs[index].numprocs)
        default: break
        }
    }

    /// The rules of the programs marked `dependent_startup=true`, as
    /// `--start-after` would take them. A state that has no meaning here
    /// (`starting`, `backoff`, `stopping`, `fatal`) is refused, naming the
    /// section.
    @inline(never) package func rules() throws(UsageError) -> [StartRule] {
        /// A program of several processes (`numprocs`) is its group's.
        func pattern(_ name: ArraySlice<UInt8>) -> String {
            let text = String(decoding: name, as: UTF8.self)
            let section = programs.first { $0.name.elementsEqual(name) }
            return (section.flatMap { UInt64(decimal: $0.numprocs) } ?? 1) > 1 ? text + ":*" : text
        }
        var rules: [StartRule] = []
        for program in programs where Self.isTrue(Self.lowercased(program.enabled[...])) {
            let name = pattern(program.name[...])
            var after = ""
            for item in Self.words(program.waitFor) {
                let colon = item.firstIndex(of: UInt8(ascii: ":"))
                let state = colon.map { String(decoding: Self.lowercased(item[($0 + 1)...]), as: UTF8.self) } ?? "running"
                guard state == "running" || state == "exited" else {
                    let choice = state.utf8.contains(UInt8(ascii: ",")) ? "a choice of states" : state
                    throw UsageError("[program:" + String(decoding: program.name, as: UTF8.self) + "] dependent_startup_wait_for=" + String(decoding: item, as: UTF8.self)
                        + ": " + choice + " has no meaning here: wait for running or exited (or, with --start-after, ready)")
                }
                after += (after.isEmpty ? "" : ",") + pattern(item[..<(colon ?? item.endIndex)]) + ":" + state
            }
            do {
                rules.append(after.isEmpty ? try StartRule(startingAtOnce: name) : try StartRule(parsing: name + "=" + after))
            } catch {
                throw UsageError("[program:" + String(decoding: program.name, as: UTF8.self) + "]: " + error.description)
            }
        }
        return rules
    }

    /// The patterns of `[include] files=`, each made absolute against `here`
    /// (the main file's directory), with `%(here)s`, `%(ENV_NAME)s` and `%%`
    /// expanded as supervisord does.
    @inline(never) package func includePatterns(here: String, environment: (String) -> String?) throws(UsageError) -> [String] {
        let setting = " in [include] files=" + String(decoding: includeFiles, as: UTF8.self)
        var patterns: [String] = []
        for word in Self.words(includeFiles) {
            var pattern = ""
            var rest = word
            while let percent = rest.firstIndex(of: UInt8(ascii: "%")) {
                pattern += String(decoding: rest[..<percent], as: UTF8.self)
                let afterPercent = rest[percent...]
                if afterPercent.starts(with: "%%".utf8) {
                    pattern += "%"
                    rest = rest[(percent + 2)...]
                    continue
                }
                guard afterPercent.starts(with: "%(".utf8), let close = afterPercent.firstIndex(of: UInt8(ascii: ")")),
                      rest[close...].starts(with: ")s".utf8) else {
                    throw UsageError("--dependent-startup cannot read %" + setting)
                }
                let name = String(decoding: rest[(percent + 2)..<close], as: UTF8.self)
                guard let value = name == "here" ? here : name.hasPrefix("ENV_") ? environment(String(name.dropFirst(4))) : nil else {
                    throw UsageError("--dependent-startup cannot expand %(" + name + ")s" + setting)
                }
                pattern += value
                rest = rest[(close + 2)...]
            }
            pattern += String(decoding: rest, as: UTF8.self)
            patterns.append(pattern.hasPrefix("/") ? pattern : here + "/" + pattern)
        }
        return patterns
    }

    /// supervisord's command line (`/proc/PID/cmdline`'s arguments) read as
    /// its getopt reads it: the configuration it names (`-c PATH`, `-cPATH`,
    /// `-nc PATH` with short options grouped, `--configuration PATH` or
    /// `=PATH`, or a long option's unique prefix), or nil; and its script,
    /// after the interpreter when there is one, from which supervisord finds
    /// its default places.
    @inline(never) package static func supervisordCommandLine(_ arguments: [ArraySlice<UInt8>]) -> (configuration: String?, script: String) {
        var named: ArraySlice<UInt8>?
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument.starts(with: "--".utf8) {
                let option = argument.prefix { $0 != UInt8(ascii: "=") }
                guard option.count >= 4, "--configuration".utf8.starts(with: option) else { continue }
                if option.count < argument.count {
                    named = argument.dropFirst(option.count + 1)
                } else if index < arguments.count {
                    named = arguments[index]
                    index += 1
                }
            } else if argument.first == UInt8(ascii: "-") {
                // An option that takes a value takes the rest of the group, or the next argument.
                for (offset, letter) in argument.dropFirst().enumerated() where "cumdlyzejiqa".utf8.contains(letter) {
                    var value = argument.dropFirst(offset + 2)
                    if value.isEmpty, index < arguments.count {
                        value = arguments[index]
                        index += 1
                    }
                    if letter == UInt8(ascii: "c") { named = value }
                    break
                }
            }
        }
        let interpreted = (arguments.first?.split(separator: UInt8(ascii: "/")).last)?.starts(with: "python".utf8) ?? false
        let script = arguments.dropFirst(interpreted ? 1 : 0).first { $0.first != UInt8(ascii: "-") } ?? []
        return (named.map { String(decoding: $0, as: UTF8.self) }, String(decoding: script, as: UTF8.self))
    }

    /// Whether `name` matches a glob's `pattern` as Python's fnmatch does
    /// (`*`, `?`, `[abc]`, `[!a-z]`), except that a leading dot is matched
    /// only by a leading dot, and `.` and `..` by nothing, as glob does.
    @inline(never) package static func matches(_ name: some Collection<UInt8>, pattern: some Collection<UInt8>) -> Bool {
        let name = Array(name), pattern = Array(pattern)
        if name.first == UInt8(ascii: "."), pattern.first != UInt8(ascii: ".") || name.elementsEqual(".".utf8) || name.elementsEqual("..".utf8) { return false }
        var n = 0, p = 0
        // Where the last `*` was, and the name index it is tried at.
        var star: (pattern: Int, name: Int)?
        while n < name.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = (p, n)
                p += 1
                continue
            }
            if p < pattern.count, let next = matchOne(name[n], pattern, at: p) {
                n += 1
                p = next
                continue
            }
            guard let last = star else { return false }
            star = (last.pattern, last.name + 1)
            p = last.pattern + 1
            n = last.name + 1
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// Where the pattern goes on after `byte` matched its item at `p`.
    private static func matchOne(_ byte: UInt8, _ pattern: [UInt8], at p: Int) -> Int? {
        switch pattern[p] {
        case UInt8(ascii: "?"): return p + 1
        case UInt8(ascii: "["):
            var i = p + 1
            let negated = i < pattern.count && pattern[i] == UInt8(ascii: "!")
            if negated { i += 1 }
            var matched = false
            var first = true
            while i < pattern.count, first || pattern[i] != UInt8(ascii: "]") {
                first = false
                if i + 2 < pattern.count, pattern[i + 1] == UInt8(ascii: "-"), pattern[i + 2] != UInt8(ascii: "]") {
                    matched = matched || (pattern[i] <= byte && byte <= pattern[i + 2])
                    i += 3
                } else {
                    matched = matched || pattern[i] == byte
                    i += 1
                }
            }
            // Without its `]`, a `[` is itself, as in fnmatch.
            guard i < pattern.count else { return byte == UInt8(ascii: "[") ? p + 1 : nil }
            return matched != negated ? i + 1 : nil
        default: return pattern[p] == byte ? p + 1 : nil
        }
    }

    /// Byte order, as Python sorts file names.
    package static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        for index in 0..<min(a.count, b.count) where a[index] != b[index] { return a[index] < b[index] }
        return a.count < b.count
    }

    private static func isTrue(_ value: [UInt8]) -> Bool {
        ["true", "yes", "on", "1"].contains { value.elementsEqual($0.utf8) }
    }

    private static func words(_ text: [UInt8]) -> [ArraySlice<UInt8>] {
        text.split(whereSeparator: { $0 == 32 || $0 == 9 || $0 == 13 })
    }

    private static func lowercased(_ text: ArraySlice<UInt8>) -> [UInt8] {
        text.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
    }

    private static func trimmed(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == 32 || byte == 9 || byte == 13 }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else { return [] }
        return text[first...last]
    }

    /// A line without its comment: all of it from a `;` or `#` at its start
    /// or after white space.
    private static func withoutComment(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var previous: UInt8 = 32
        for index in line.indices {
            if (line[index] == UInt8(ascii: ";") || line[index] == UInt8(ascii: "#")) && (previous == 32 || previous == 9) { return line[..<index] }
            previous = line[index]
        }
        return line
    }
}
