/// Which processes an option names (`--program`, `--essential`, `--service`,
/// a probe's `--service`): `NAME` matches a process of that name in any
/// group, `GROUP:NAME` only that group's, `GROUP:*` every process of the
/// group (not for `--program`, which follows one program).
package struct ProcessPattern: Equatable, Sendable, CustomStringConvertible {
    package enum Pattern: Equatable, Sendable {
        case name(String)
        case program(group: String, name: String)
        case group(String)
    }

    package var pattern: Pattern

    /// Rejects what supervisord could never name: empty parts, more than one
    /// colon, a `*` anywhere but as the whole process part (and there too
    /// when `groups` is false).
    package init(parsing text: String, option: String = "--essential", groups: Bool = true) throws(UsageError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let bad = UsageError("\(option) takes \(groups ? "NAME, GROUP:NAME or GROUP:*" : "NAME or GROUP:NAME"), not \"\(text)\"")
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }), !parts[0].contains("*") else { throw bad }
        if parts.count == 1 {
            pattern = .name(parts[0])
        } else if parts[1] == "*", groups {
            pattern = .group(parts[0])
        } else {
            guard !parts[1].contains("*") else { throw bad }
            pattern = .program(group: parts[0], name: parts[1])
        }
    }

    /// Called for every event from several places; one copy, not one
    /// inlined in each, keeps the binary under its size bound.
    @inline(never) package func matches(processName: String, groupName: String) -> Bool {
        switch pattern {
        case .name(let name): Self.same(processName, name)
        case .program(let group, let name): Self.same(groupName, group) && Self.same(processName, name)
        case .group(let group): Self.same(groupName, group)
        }
    }

    /// Names are the same when their bytes are, as supervisord (Python)
    /// compares them: canonically equivalent spellings are two names, in the
    /// SwiftPM build (full Unicode tables) as in the release binaries.
    /// Asked of every pattern at every event: the lengths first, then the
    /// bytes in place (the generic comparison walks each view's iterator).
    private static func same(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return a.utf8.withContiguousStorageIfAvailable { a in
            b.utf8.withContiguousStorageIfAvailable { b in
                for index in a.indices where a[index] != b[index] { return false }
                return true
            }
        }.flatMap { $0 } ?? a.utf8.elementsEqual(b.utf8)
    }

    /// The same for `GROUP:NAME`, as a recorded failure or a service names
    /// its process; false for a text without the colon.
    @inline(never) package func matches(process: String) -> Bool {
        guard let colon = process.firstIndex(of: ":") else { return false }
        return matches(processName: String(process[process.index(after: colon)...]), groupName: String(process[..<colon]))
    }

    /// Whether the two can name the same process: a probe's `--service`
    /// against a service as the status file records it, under `GROUP:NAME`
    /// once supervisord showed it, else under its own spec. A bare name meets
    /// a group only as a program outside any group does (`redis` is in
    /// `redis:*`): it does not reach into a group no process of which was
    /// seen yet.
    @inline(never) package func overlaps(_ other: ProcessPattern) -> Bool {
        switch (pattern, other.pattern) {
        case (.name(let name), .name(let otherName)): name == otherName
        case (.name(let name), .program(_, let otherName)), (.program(_, let otherName), .name(let name)): name == otherName
        case (.program(let group, let name), .program(let otherGroup, let otherName)): group == otherGroup && name == otherName
        case (.group(let group), .program(let otherGroup, _)), (.program(let otherGroup, _), .group(let group)): group == otherGroup
        case (.group(let group), .group(let otherGroup)): group == otherGroup
        case (.name(let name), .group(let group)), (.group(let group), .name(let name)): name == group
        }
    }

    /// Not inlined: each copy of its interpolations cost the listener more
    /// than a kilobyte.
    package var description: String {
        @inline(never) get {
            switch pattern {
            case .name(let name): name
            case .program(let group, let name): "\(group):\(name)"
            case .group(let group): "\(group):*"
            }
        }
    }
}

