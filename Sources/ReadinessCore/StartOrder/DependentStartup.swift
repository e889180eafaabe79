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
        /// The directory of the file its section was read from last, as
        /// supervisord's `%(here)s`.
        var here: String
        var enabled: [UInt8] = []
        var waitFor: [UInt8] = []
        var numprocs: [UInt8] = []
        var numprocsStart: [UInt8] = []
        var processName: [UInt8] = []
    }

    /// A `[group:NAME]`: the programs it takes out of their own groups.
    private struct Group: Sendable {
        var name: [UInt8]
        var here: String
        var programs: [UInt8] = []
    }

    private enum Key { case other, enabled, waitFor, numprocs, numprocsStart, processName, programs, files }

    private var programs: [Program] = []
    private var groups: [Group] = []
    /// The main file's `[include] files=`, words separated by white space.
    package private(set) var includeFiles: [UInt8] = []

    package init() {}

    /// Takes one file's sections; `main` is the file supervisord was given,
    /// the only one whose `[include]` it follows, and `here` the file's
    /// directory. A later file's value wins.
    package mutating func read(_ text: [UInt8], main: Bool, here: String) {
        var program: Int?
        var group: Int?
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
                append(content, to: key, section: program ?? group, separator: true)
                continue
            }
            key = .other
            keyIndent = nil
            if first == UInt8(ascii: "[") {
                guard let close = content.lastIndex(of: UInt8(ascii: "]")) else { continue }
                let name = content[(content.startIndex + 1)..<close]
                inInclude = main && name.elementsEqual("include".utf8)
                program = nil
                group = nil
                if name.starts(with: "program:".utf8) {
                    let programName = Array(name.dropFirst(8))
                    program = programs.firstIndex { $0.name == programName } ?? {
                        programs.append(Program(name: programName, here: here))
                        return programs.count - 1
                    }()
                    programs[program!].here = here
                } else if name.starts(with: "group:".utf8) {
                    let groupName = Array(name.dropFirst(6))
                    group = groups.firstIndex { $0.name == groupName } ?? {
                        groups.append(Group(name: groupName, here: here))
                        return groups.count - 1
                    }()
                    groups[group!].here = here
                }
                continue
            }
            guard let delimiter = content.firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ":") }) else { continue }
            keyIndent = indent
            let name = Self.lowercased(Self.trimmed(content[..<delimiter]))
            key = switch name {
            case _ where inInclude && name.elementsEqual("files".utf8): .files
            case _ where group != nil && name.elementsEqual("programs".utf8): .programs
            case _ where program == nil: .other
            case _ where name.elementsEqual("dependent_startup".utf8): .enabled
            case _ where name.elementsEqual("dependent_startup_wait_for".utf8): .waitFor
            case _ where name.elementsEqual("numprocs".utf8): .numprocs
            case _ where name.elementsEqual("numprocs_start".utf8): .numprocsStart
            case _ where name.elementsEqual("process_name".utf8): .processName
            default: .other
            }
            append(Self.trimmed(content[(delimiter + 1)...]), to: key, section: program ?? group, separator: false)
        }
    }

    /// Adds a key's value, or a line that goes on with it, to the field it
    /// is kept in: the include's, or that of the program or group at
    /// `section`.
    private mutating func append(_ value: ArraySlice<UInt8>, to key: Key, section: Int?, separator: Bool) {
        func extend(_ field: inout [UInt8]) {
            if !separator { field = [] } else if !field.isEmpty { field.append(32) }
            field += value
        }
        switch (key, section) {
        case (.files, _): extend(&includeFiles)
        case (.enabled, let index?): extend(&programs[index].enabled)
        case (.waitFor, let index?): extend(&programs[index].waitFor)
        case (.numprocs, let index?): extend(&programs[index].numprocs)
        case (.numprocsStart, let index?): extend(&programs[index].numprocsStart)
        case (.processName, let index?): extend(&programs[index].processName)
        case (.programs, let index?): extend(&groups[index].programs)
        default: break
        }
    }

    /// The rules of the programs marked `dependent_startup=true`, as
    /// `--start-after` would take them, with `%(here)s`, `%(ENV_NAME)s` and
    /// `%%` expanded in the keys as supervisord expands them. A state that
    /// has no meaning here (`starting`, `backoff`, `stopping`, `fatal`) is
    /// refused, naming the section.
    @inline(never) package func rules(environment: (String) -> String?) throws(UsageError) -> [StartRule] {
        var rules: [StartRule] = []
        for program in programs {
            let section = "[program:" + String(decoding: program.name, as: UTF8.self) + "]"
            let enabled = try Self.expanded(program.enabled, in: section, "dependent_startup", here: program.here, environment: environment)
            guard Self.isTrue(Self.lowercased(Array(enabled.utf8)[...])) else { continue }
            let name = try pattern(of: program.name[...], environment: environment)
            let waitFor = try Self.expanded(program.waitFor, in: section, "dependent_startup_wait_for", here: program.here, environment: environment)
            var after = ""
            for item in Self.words(Array(waitFor.utf8)) {
                let colon = item.firstIndex(of: UInt8(ascii: ":"))
                let state = colon.map { String(decoding: Self.lowercased(item[($0 + 1)...]), as: UTF8.self) } ?? "running"
                guard state == "running" || state == "exited" else {
                    let choice = state.utf8.contains(UInt8(ascii: ",")) ? "a choice of states" : state
                    throw UsageError(section + " dependent_startup_wait_for=" + String(decoding: item, as: UTF8.self)
                        + ": " + choice + " has no meaning here: wait for running or exited (or, with --start-after, ready)")
                }
                after += (after.isEmpty ? "" : ",") + (try pattern(of: item[..<(colon ?? item.endIndex)], environment: environment)) + ":" + state
            }
            do {
                rules.append(after.isEmpty ? try StartRule(startingAtOnce: name) : try StartRule(parsing: name + "=" + after))
            } catch {
                throw UsageError(section + ": " + error.description)
            }
        }
        return rules
    }

    /// How `--start-after` names the processes supervisord makes of
    /// `[program:NAME]`: `NAME`, or `GROUP:PROCESS` when a `[group:]` takes
    /// it or its `process_name` is not its name; several processes
    /// (`numprocs`) are `NAME:*`, or `GROUP:*` when they are all their
    /// `[group:]` has. A name no section gives is taken as it is.
    @inline(never) private func pattern(of name: ArraySlice<UInt8>, environment: (String) -> String?) throws(UsageError) -> String {
        let text = String(decoding: name, as: UTF8.self)
        guard let program = programs.first(where: { $0.name.elementsEqual(name) }) else { return text }
        let section = "[program:" + text + "]"
        var group: (name: String, programs: Int)?
        for candidate in groups where group == nil {
            let groupName = String(decoding: candidate.name, as: UTF8.self)
            let list = try Self.expanded(candidate.programs, in: "[group:" + groupName + "]", "programs", here: candidate.here, environment: environment)
            let programs = Array(list.utf8).split(separator: UInt8(ascii: ","))
            if programs.contains(where: { Self.trimmed($0).elementsEqual(name) }) { group = (groupName, programs.count) }
        }
        let count = try number(program.numprocs, in: section, "numprocs", here: program.here, default: 1, environment: environment)
        if count > 1 {
            guard let group else { return text + ":*" }
            guard group.programs == 1 else {
                throw UsageError("--dependent-startup cannot name the " + String(count) + " processes of " + section + " apart from the other programs of [group:"
                    + group.name + "]: give them --start-after rules instead")
            }
            return group.name + ":*"
        }
        guard !program.processName.isEmpty else { return group.map { $0.name + ":" + text } ?? text }
        let number = try number(program.numprocsStart, in: section, "numprocs_start", here: program.here, default: 0, environment: environment)
        let process = ProcessNames(program: text, group: group?.name ?? text, number: number, count: count)
        let processName = try Self.expanded(program.processName, in: section, "process_name", here: program.here, process: process, environment: environment)
        return group == nil && processName == text ? text : process.group + ":" + processName
    }

    /// A key's value as a whole number, after its expansions.
    private func number(_ value: [UInt8], in section: String, _ key: String, here: String, default: UInt64, environment: (String) -> String?) throws(UsageError) -> UInt64 {
        guard !value.isEmpty else { return `default` }
        let expanded = try Self.expanded(value, in: section, key, here: here, environment: environment)
        guard let number = UInt64(decimal: Self.trimmed(Array(expanded.utf8)[...])) else {
            throw UsageError("--dependent-startup cannot read a number in " + section + " " + key + "=" + String(decoding: value, as: UTF8.self))
        }
        return number
    }

    /// The patterns of `[include] files=`, each made absolute against `here`
    /// (the main file's directory), with `%(here)s`, `%(ENV_NAME)s` and `%%`
    /// expanded as supervisord does before it splits the value.
    @inline(never) package func includePatterns(here: String, environment: (String) -> String?) throws(UsageError) -> [String] {
        let files = try Self.expanded(includeFiles, in: "[include]", "files", here: here, environment: environment)
        return Self.words(Array(files.utf8)).map { word in
            let pattern = String(decoding: word, as: UTF8.self)
            return pattern.hasPrefix("/") ? pattern : here + "/" + pattern
        }
    }

    /// The names a `process_name` can use besides the common ones.
    private struct ProcessNames {
        var program: String
        var group: String
        var number: UInt64
        var count: UInt64
    }

    /// `value` with `%%` and each `%(NAME)s` (or `%(NAME)d`, `%(NAME)02d`…)
    /// replaced as Python's `%` operator replaces them, which is how
    /// supervisord expands its values: `NAME` is `here` (the directory of
    /// the value's file), `ENV_` and a variable of the environment, or one
    /// of `process`'s names. A refusal names `section`'s `key`.
    @inline(never) private static func expanded(_ value: [UInt8], in section: String, _ key: String, here: String, process: ProcessNames? = nil,
                                                environment: (String) -> String?) throws(UsageError) -> String {
        func refusal(_ what: String) -> UsageError {
            UsageError("--dependent-startup cannot " + what + " in " + section + " " + key + "=" + String(decoding: value, as: UTF8.self))
        }
        var result: [UInt8] = []
        var rest = value[...]
        while let percent = rest.firstIndex(of: UInt8(ascii: "%")) {
            result += rest[..<percent]
            if rest[percent...].starts(with: "%%".utf8) {
                result.append(UInt8(ascii: "%"))
                rest = rest[(percent + 2)...]
                continue
            }
            guard rest[percent...].starts(with: "%(".utf8), let close = rest[percent...].firstIndex(of: UInt8(ascii: ")")) else { throw refusal("read %") }
            let name = rest[(percent + 2)..<close]
            // Python's flags and width come between the name and the conversion.
            let flags = rest[(close + 1)...].prefix { "-0 +#".utf8.contains($0) }
            let width = rest[flags.endIndex...].prefix { $0 >= 48 && $0 <= 57 }
            guard width.endIndex < rest.endIndex, "sdi".utf8.contains(rest[width.endIndex]) else { throw refusal("read %") }
            // A width no name needs is a corrupt value, not a request for that much padding.
            guard let widthValue = width.isEmpty ? 0 : UInt64(decimal: width), widthValue <= 256 else { throw refusal("read %") }
            let numeric = rest[width.endIndex] != UInt8(ascii: "s")
            let sign = !numeric ? "" : flags.contains(UInt8(ascii: "+")) ? "+" : flags.contains(32) ? " " : ""
            let number: UInt64? = name.elementsEqual("process_num".utf8) ? process?.number : name.elementsEqual("numprocs".utf8) ? process?.count : nil
            let text: String? = if let number { sign + String(number) } else if numeric { nil }
                else if name.elementsEqual("program_name".utf8) { process?.program }
                else if name.elementsEqual("group_name".utf8) { process?.group }
                else if name.elementsEqual("here".utf8) { here }
                else if name.starts(with: "ENV_".utf8) { environment(String(decoding: name.dropFirst(4), as: UTF8.self)) }
                else { nil }
            guard let text else { throw refusal(numeric ? "read %" : "expand %(" + String(decoding: name, as: UTF8.self) + ")s") }
            let padding = max(0, Int(widthValue) - text.utf8.count)
            let left = flags.contains(UInt8(ascii: "-"))
            // Zeros go between a number's sign and its digits; spaces outside.
            if !left, numeric, flags.contains(UInt8(ascii: "0")) {
                result += sign.utf8
                result += repeatElement(UInt8(ascii: "0"), count: padding)
                result += text.utf8.dropFirst(sign.utf8.count)
            } else {
                if !left { result += repeatElement(32, count: padding) }
                result += text.utf8
                if left { result += repeatElement(32, count: padding) }
            }
            rest = rest[(width.endIndex + 1)...]
        }
        result += rest
        return String(decoding: result, as: UTF8.self)
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
