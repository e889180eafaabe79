/// One `--start-after PROGRAM=DEP:CONDITION[,DEP:CONDITION…]`: the programs
/// the listener starts, and what must hold first. `PROGRAM` and `DEP` are
/// patterns as for `--service` (`NAME`, `GROUP:NAME`, `GROUP:*`).
package struct StartRule: Equatable, Sendable, CustomStringConvertible {
    package enum Condition: String, Equatable, Sendable {
        /// The current run exited with a status in its `exitcodes`.
        case exited
        /// Ready as `--service` defines it; RUNNING for a program that is no service.
        case ready
        /// supervisord has it RUNNING.
        case running
    }

    package struct Dependency: Equatable, Sendable {
        package var programs: ProcessPattern
        package var condition: Condition

        package init(programs: ProcessPattern, condition: Condition) {
            self.programs = programs
            self.condition = condition
        }
    }

    package var programs: ProcessPattern
    package var dependencies: [Dependency]
    /// The dependencies as given: `redis:ready,start:exited`.
    package var after: String

    /// `app=redis:ready,start:exited`; `DEP` is what comes before the last
    /// colon of each item, so `grp:web:running` waits for `grp:web`.
    package init(parsing text: String) throws(UsageError) {
        let usage = "--start-after takes PROGRAM=DEP:CONDITION[,DEP:CONDITION...] with CONDITION exited, ready or running, not \"\(text)\""
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { throw UsageError(usage) }
        programs = try ProcessPattern(parsing: String(text[..<equals]), option: "--start-after")
        after = String(text[text.index(after: equals)...])
        dependencies = []
        for item in after.split(separator: ",", omittingEmptySubsequences: false) {
            guard let colon = item.lastIndex(of: ":"), let condition = Condition(rawValue: String(item[item.index(after: colon)...])) else {
                throw UsageError(usage)
            }
            let dependency = try ProcessPattern(parsing: String(item[..<colon]), option: "--start-after")
            dependencies.append(Dependency(programs: dependency, condition: condition))
        }
    }

    /// A rule with nothing to wait for: `--dependent-startup`'s program
    /// without `dependent_startup_wait_for`, started at once.
    package init(startingAtOnce programs: String) throws(UsageError) {
        self.programs = try ProcessPattern(parsing: programs, option: "--dependent-startup")
        dependencies = []
        after = ""
    }

    package var description: String { "\(programs)=\(after)" }

    /// The programs it starts and those it waits for.
    var patterns: [ProcessPattern] { [programs] + dependencies.map { $0.programs } }

    /// What makes `rules` unusable, said in one line: two rules that can
    /// start the same program (one would drop the other's conditions), or
    /// a cycle.
    package static func problem(in rules: [StartRule]) -> String? {
        for (index, rule) in rules.enumerated() {
            for other in rules[(index + 1)...] where rule.programs.overlaps(other.programs) {
                return "--start-after names \(rule.programs) in two rules (\(rule), \(other)): give it one rule with every condition"
            }
        }
        return cycle(in: rules).map { "--start-after would wait for ever, " + $0 }
    }

    /// The first cycle among `rules`, as `a → b → a`: a rule whose programs
    /// can be one of its own dependencies, directly or through other rules,
    /// would wait for ever. Patterns that can name the same process count
    /// as the same (`grp:*` waits for `grp:a`: `grp:a` waits for itself).
    package static func cycle(in rules: [StartRule]) -> String? {
        let count = rules.count
        // waits[i * count + j]: rule i waits for rule j.
        var waits = [Bool](repeating: false, count: count * count)
        for i in 0..<count {
            for j in 0..<count {
                for dependency in rules[i].dependencies where rules[j].programs.overlaps(dependency.programs) { waits[i * count + j] = true }
            }
        }
        // Rules that wait for none left can go first; what cannot go is in a cycle, or waits for one.
        var left = [Bool](repeating: true, count: count)
        var removed = true
        while removed {
            removed = false
            for i in 0..<count where left[i] && !(0..<count).contains(where: { left[$0] && waits[i * count + $0] }) {
                left[i] = false
                removed = true
            }
        }
        guard var current = left.firstIndex(of: true) else { return nil }
        // Each rule left waits for one left: follow that until a rule comes again.
        var step = [Int](repeating: -1, count: count)
        var path: [Int] = []
        while step[current] < 0 {
            step[current] = path.count
            path.append(current)
            var next = 0
            while !(left[next] && waits[current * count + next]) { next += 1 }
            current = next
        }
        var text = "cycle:"
        for rule in path[step[current]...] { text += " " + rules[rule].programs.description + " →" }
        return text + " " + rules[current].programs.description
    }
}
