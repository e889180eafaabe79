import Testing

@testable import ReadinessCore

@Suite struct EssentialTests {
    static let time = Timestamp(millisecondsSinceEpoch: 1_795_387_133_123)

    static func event(_ group: String, _ name: String, _ state: ProcessState, expected: Bool? = nil, serial: UInt64 = 1) -> ProcessStateEvent {
        ProcessStateEvent(serial: serial, state: state, processName: name, groupName: group, fromState: .running, expected: expected)
    }

    @Test(arguments: [
        ("nginx", "web", "nginx", true), ("nginx", "other", "nginx", true), ("nginx", "web", "php", false),
        ("web:nginx", "web", "nginx", true), ("web:nginx", "other", "nginx", false), ("web:nginx", "web", "php", false),
        ("web:*", "web", "php", true), ("web:*", "webs", "php", false), ("web:*", "nginx", "web", false),
        // Names are their bytes, as supervisord compares them: a canonically
        // equivalent spelling (e + U+0301 for é) is another name.
        ("d\u{E9}marrage", "d\u{E9}marrage", "d\u{E9}marrage", true), ("de\u{301}marrage", "d\u{E9}marrage", "d\u{E9}marrage", false),
        ("x:d\u{E9}marrage", "x", "de\u{301}marrage", false), ("d\u{E9}j\u{E0}:*", "de\u{301}ja\u{300}", "a", false),
    ])
    func specMatches(spec: String, group: String, name: String, matches: Bool) throws {
        let parsed = try ProcessPattern(parsing: spec)
        #expect(parsed.matches(processName: name, groupName: group) == matches)
        #expect(parsed.description == spec)
    }

    @Test(arguments: ["", ":", "web:", ":nginx", "a:b:c", "*", "*:x", "web:ng*", "w*b:x"])
    func badSpecsAreRejected(spec: String) {
        #expect(throws: UsageError("--essential takes NAME, GROUP:NAME or GROUP:*, not \"\(spec)\"")) { try ProcessPattern(parsing: spec) }
    }

    /// `--program` follows one program: the same patterns, without `GROUP:*`.
    @Test(arguments: ["web:*", "start*", "", "a:b:c", ":start"])
    func programPatternsNameOneProgram(text: String) {
        #expect(throws: UsageError("--program takes NAME or GROUP:NAME, not \"\(text)\"")) {
            try ProcessPattern(parsing: text, option: "--program", groups: false)
        }
    }

    @Test func theRule() throws {
        let unexpectedOnly = EssentialRule(specs: [try ProcessPattern(parsing: "app")])
        let anyExit = EssentialRule(specs: unexpectedOnly.specs, exitPolicy: .any)
        #expect(unexpectedOnly.isFailure(.fatal, expected: nil))
        #expect(unexpectedOnly.isFailure(.exited, expected: false))
        #expect(!unexpectedOnly.isFailure(.exited, expected: true))
        #expect(anyExit.isFailure(.exited, expected: true))
        for state: ProcessState in [.stopped, .stopping, .starting, .running, .backoff, .unknown] {
            #expect(!unexpectedOnly.isFailure(state, expected: nil), "\(state)")
            #expect(!anyExit.isFailure(state, expected: nil), "\(state)")
        }
        #expect(unexpectedOnly.failure(for: Self.event("other", "start", .fatal), at: Self.time) == nil)
        let failure = try #require(unexpectedOnly.failure(for: Self.event("app", "app", .exited, expected: false), at: Self.time))
        #expect(failure == EssentialFailure(program: "app:app", state: .exited, expected: false, since: Self.time))
        #expect(failure.summary == "essential program app:app exited unexpectedly (status unknown)")
    }

    /// XML-RPC has no `expected`, but supervisord says "Bad exit code N" in
    /// spawnerr for every exit not in exitcodes: with `exitcodes=0,2` an exit
    /// 2 is expected, and no failure (it was taken for one before).
    @Test func reconcileJudgesTheExitBySupervisordsWord() throws {
        let rule = EssentialRule(specs: [try ProcessPattern(parsing: "web:*")])
        func program(_ name: String, _ info: SupervisorProcessInfo) -> NamedProcessInfo { NamedProcessInfo(group: "web", name: name, info: info) }
        #expect(rule.failure(among: [program("a", .init(state: .exited, exitStatus: 0)), program("b", .init(state: .stopped))], at: nil) == nil)
        #expect(rule.failure(among: [program("a", .init(state: .exited, exitStatus: 2))], at: nil) == nil, "2 in exitcodes")
        let killed = rule.failure(among: [program("a", .init(state: .exited, exitStatus: -1, spawnError: "Bad exit code -1"))], at: nil)
        #expect(killed == EssentialFailure(program: "web:a", state: .exited, expected: false))
        let zeroNotExpected = rule.failure(among: [program("a", .init(state: .exited, exitStatus: 0, spawnError: "Bad exit code 0"))], at: nil)
        #expect(zeroNotExpected?.expected == false, "exitcodes=1: 0 is unexpected")
        let fatal = rule.failure(among: [program("a", .init(state: .running)), program("b", .init(state: .fatal, spawnError: "can't find command"))], at: nil)
        #expect(fatal?.summary == "supervisord could not start essential program web:b (FATAL): can't find command")
        let anyExit = EssentialRule(specs: rule.specs, exitPolicy: .any)
        #expect(anyExit.failure(among: [program("a", .init(state: .exited, exitStatus: 0))], at: nil)?.exitStatus == 0)
        let other = NamedProcessInfo(group: "db", name: "a", info: .init(state: .fatal))
        #expect(rule.failure(among: [other], at: nil) == nil)
    }

    @Test func statusKeysRoundTripAndGiveCode107() throws {
        var record = StatusRecord(program: "start", state: .running, listenerPID: 3, supervisordPID: 1)
        #expect(record.encodedText.contains("\nessential_failure=none\n"))
        #expect(try StatusRecord.parse(record.encoded) == record)
        record.essentialFailure = EssentialFailure(program: "web:nginx", state: .exited, expected: false, exitStatus: 3, since: Self.time)
        let text = record.encodedText
        for line in [
            "essential_failure=web:nginx", "essential_state=EXITED", "essential_expected=0", "essential_exit_status=3",
            "essential_spawn_error=", "essential_since=2026-11-22T22:38:53.123Z", "essential_shutdown=pending", "format=1",
        ] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "\(line)")
        }
        #expect(try StatusRecord.parse(Array(text.utf8)) == record)
        let verdict = Verdict.commonCheck(record)
        #expect(verdict.line == "not ready: 107 ESSENTIAL_DOWN: essential program web:nginx exited unexpectedly (status 3); supervisord is being shut down")
        record.essentialFailure?.shutdown = .dryRun
        #expect(try StatusRecord.parse(record.encoded) == record)
        #expect(Verdict.commonCheck(record).code == .startPending)
        #expect(ProbeCode.table.contains("| 107 | ESSENTIAL_DOWN |"))
    }

    @Test(arguments: [
        ("essential_state=EXITED", "essential_state=DEAD", StatusParseError.invalidValue(key: "essential_state", value: "DEAD")),
        ("essential_shutdown=pending", "essential_shutdown=maybe", .invalidValue(key: "essential_shutdown", value: "maybe")),
        ("essential_expected=0", "essential_expected=2", .invalidValue(key: "essential_expected", value: "2")),
        ("essential_exit_status=3", "essential_exit_status=x", .invalidValue(key: "essential_exit_status", value: "x")),
        ("essential_since=2026-11-22T22:38:53.123Z", "essential_since=yesterday", .invalidValue(key: "essential_since", value: "yesterday")),
        ("essential_state=EXITED\n", "", .missingKey("essential_state")),
    ])
    func badEssentialKeysAreRejected(good: String, bad: String, error: StatusParseError) {
        var record = StatusRecord(program: "start", listenerPID: 3, supervisordPID: 1)
        record.essentialFailure = EssentialFailure(program: "web:nginx", state: .exited, expected: false, exitStatus: 3, since: Self.time)
        let text = record.encodedText.replacing(good, with: bad)
        #expect(throws: error) { try StatusRecord.parse(Array(text.utf8)) }
    }

    /// A listener restarted between recording and shutting down resumes the failure.
    @Test func aRecordedFailureSurvivesARestart() {
        var tracker = ProgramTracker(selector: ProcessPattern(program: "start"), listenerPID: 10, supervisordPID: 1, supervisordStartTicks: 99, previous: nil, at: Self.time)
        let rule = EssentialRule(specs: [try! ProcessPattern(parsing: "app")])
        let first = tracker.applyEssential(Self.event("app", "app", .fatal), rule: rule, at: Self.time)
        let second = tracker.applyEssential(Self.event("app", "app", .exited, expected: false, serial: 2), rule: rule, at: Self.time)
        #expect(first && !second)
        let resumed = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 11, supervisordPID: 1, supervisordStartTicks: 99,
            previous: try! StatusRecord.parse(tracker.record.encoded), at: Self.time)
        #expect(resumed.record.essentialFailure == EssentialFailure(program: "app:app", state: .fatal, since: Self.time))
    }

    @Test func repeatedOptionsKeepEveryValue() throws {
        let options = try CommandLineOptions(["--essential", "a", "--essential=b:*", "--program", "x"], valued: ["essential", "program"], flags: [])
        #expect(options.values("essential") == ["a", "b:*"])
        #expect(options.value("program") == "x")
    }

    @Test func getAllProcessInfoAnswersParse() throws {
        func member(_ name: String, _ value: String) -> String { "<member><name>\(name)</name><value>\(value)</value></member>" }
        func process(_ group: String, _ name: String, _ state: String) -> String {
            "<value><struct>" + member("group", "<string>\(group)</string>") + member("name", "<string>\(name)</string>")
                + member("statename", "<string>\(state)</string>") + member("start", "<int>1</int>") + member("stop", "<int>2</int>")
                + member("pid", "<int>0</int>") + member("exitstatus", "<int>3</int>") + member("spawnerr", "<string></string>") + "</struct></value>"
        }
        let body = "<?xml version='1.0'?><methodResponse><params><param><value><array><data>"
            + process("web", "nginx", "RUNNING") + process("db", "db", "FATAL") + "</data></array></value></param></params></methodResponse>"
        guard case .structures(let structures) = try ArrayAnswer(reading: Array(body.utf8)) else { Issue.record("not an array"); return }
        let programs = structures.compactMap(NamedProcessInfo.init)
        #expect(programs.map { "\($0.group):\($0.name):\($0.info.state.rawValue)" } == ["web:nginx:RUNNING", "db:db:FATAL"])
        let fault = "<methodResponse><fault><value><struct>" + member("faultCode", "<int>6</int>") + member("faultString", "<string>SHUTDOWN_STATE</string>")
            + "</struct></value></fault></methodResponse>"
        #expect(try ArrayAnswer(reading: Array(fault.utf8)) == .fault(code: 6, message: "SHUTDOWN_STATE"))
        #expect(throws: XMLRPCError.malformed("no array")) { try ArrayAnswer(reading: Array("<methodResponse><params></params></methodResponse>".utf8)) }
    }
}

/// Random sequences of events and reconciles, for essential programs and
/// others, against a model written apart from the implementation: supervisord
/// must be shut down exactly at the first end of an essential program, once,
/// and never otherwise; the recorded failure survives every listener restart.
@Suite struct EssentialPropertyTests {
    static let programs = [("web", "nginx"), ("web", "php"), ("db", "db"), ("start", "start"), ("tools", "nginx"), ("app", "app")]
    static let specTexts = ["nginx", "web:php", "web:*", "db:db", "app", "tools:*", "start"]
    static let states: [ProcessState] = [.starting, .running, .backoff, .stopping, .stopped, .exited, .fatal, .unknown]

    /// The model: plain text matching and a table of the ends, no shared code.
    struct Model {
        var specs: [String]
        var anyExit: Bool

        func isEssential(_ group: String, _ name: String) -> Bool {
            specs.contains { $0 == name || $0 == "\(group):\(name)" || $0 == "\(group):*" }
        }

        func ends(_ state: ProcessState, expected: Bool?) -> Bool {
            let ending: Set<String> = anyExit ? ["FATAL", "EXITED/0", "EXITED/1"] : ["FATAL", "EXITED/0"]
            let key = state == .exited ? "EXITED/\(expected == true ? 1 : 0)" : state.rawValue
            return ending.contains(key)
        }
    }

    @Test(arguments: 1...200)
    func shutdownExactlyWhenTheRulesSay(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed &* 0x9E37_79B9)
        let specs = Array(Self.specTexts.shuffled(using: &random).prefix(Int.random(in: 0...3, using: &random)))
        let model = Model(specs: specs, anyExit: Bool.random(using: &random))
        let rule = EssentialRule(specs: try specs.map { try ProcessPattern(parsing: $0) }, exitPolicy: model.anyExit ? .any : .unexpected)
        var tracker = ProgramTracker(selector: ProcessPattern(program: "start"), listenerPID: 2, supervisordPID: 1, supervisordStartTicks: 7, previous: nil, at: Timestamp(millisecondsSinceEpoch: 0))
        var modelFailure: String?
        var shutdowns: [String] = []
        let time = Timestamp(millisecondsSinceEpoch: 1_795_387_133_123)
        for serial in 1...UInt64(Int.random(in: 1...40, using: &random)) {
            switch Int.random(in: 0..<10, using: &random) {
            case 0:
                // A TICK: what supervisord says of a few programs now.
                let snapshot = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                    let (group, name) = Self.programs.randomElement(using: &random)!
                    let state = Self.states.randomElement(using: &random)!
                    // supervisord's word on an exit: "Bad exit code N" when N was not in exitcodes.
                    let status = Int.random(in: -1...2, using: &random)
                    let unexpected = state == .exited && Bool.random(using: &random)
                    let info = SupervisorProcessInfo(state: state, exitStatus: status, spawnError: unexpected ? "Bad exit code \(status)" : "")
                    return NamedProcessInfo(group: group, name: name, info: info)
                }
                if modelFailure == nil, let first = snapshot.first(where: {
                    model.isEssential($0.group, $0.name)
                        && model.ends($0.info.state, expected: $0.info.state == .exited ? !$0.info.spawnError.hasPrefix("Bad exit code") : nil)
                }) {
                    modelFailure = "\(first.group):\(first.name)"
                }
                if tracker.recordEssentialFailure(rule.failure(among: snapshot, at: time)) {
                    shutdowns.append(tracker.record.essentialFailure!.program)
                }
            case 1:
                // The listener restarts and resumes from its file.
                let previous = try StatusRecord.parse(tracker.record.encoded)
                tracker = ProgramTracker(selector: ProcessPattern(program: "start"), listenerPID: 3, supervisordPID: 1, supervisordStartTicks: 7, previous: previous, at: Timestamp(millisecondsSinceEpoch: 0))
            default:
                let (group, name) = Self.programs.randomElement(using: &random)!
                let state = Self.states.randomElement(using: &random)!
                let expected: Bool? = state == .exited ? Bool.random(using: &random) : nil
                let event = ProcessStateEvent(serial: serial, state: state, processName: name, groupName: group, fromState: .running, expected: expected)
                if modelFailure == nil && model.isEssential(group, name) && model.ends(state, expected: expected) {
                    modelFailure = "\(group):\(name)"
                }
                _ = tracker.apply(event, at: time)
                if tracker.applyEssential(event, rule: rule, at: time) { shutdowns.append("\(group):\(name)") }
            }
            #expect(tracker.record.essentialFailure?.program == modelFailure, "seed \(seed) serial \(serial)")
        }
        #expect(shutdowns == (modelFailure.map { [$0] } ?? []), "seed \(seed) specs \(specs)")
    }
}
