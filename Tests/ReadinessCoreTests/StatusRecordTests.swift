import Testing

@testable import ReadinessCore

let sampleRecord = StatusRecord(
    program: "start", state: .exited, previousState: .running, expected: true, pid: 77, exitStatus: nil, serial: 23,
    since: Timestamp(millisecondsSinceEpoch: 1_795_387_133_123), listenerPID: 12, supervisordPID: 1,
    history: [
        .init(time: Timestamp(millisecondsSinceEpoch: 1_795_387_130_000), from: .stopped, to: .starting, serial: 21),
        .init(time: Timestamp(millisecondsSinceEpoch: 1_795_387_130_001), from: .starting, to: .running, serial: 22),
        .init(time: Timestamp(millisecondsSinceEpoch: 1_795_387_133_123), from: .running, to: .exited, serial: 23),
    ])

@Suite struct StatusRecordTests {
    @Test func encodesReadableKeyValueLines() {
        let text = sampleRecord.encodedText
        #expect(text.hasPrefix("# readiness status of supervisord program start"))
        for line in [
            "format=1", "program=start", "state=EXITED", "previous_state=RUNNING", "expected=1", "pid=77",
            "exit_status=unknown", "serial=23", "since=2026-11-22T22:38:53.123Z", "listener_pid=12", "supervisord_pid=1",
            "history=2026-11-22T22:38:50.001Z STARTING->RUNNING serial=22", "end=1",
        ] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "\(line)")
        }
        #expect(text.hasSuffix("\nend=1\n"))
    }

    @Test func roundTrips() throws {
        #expect(try StatusRecord.parse(sampleRecord.encoded) == sampleRecord)
        var withStart = sampleRecord
        withStart.supervisordStartTicks = 123_456
        #expect(withStart.encodedText.contains("\nsupervisord_start_ticks=123456\n"))
        #expect(try StatusRecord.parse(withStart.encoded) == withStart)
        let fresh = StatusRecord(program: "grp:start", listenerPID: 5, supervisordPID: 4)
        #expect(try StatusRecord.parse(fresh.encoded) == fresh)
    }

    @Test func unknownKeysAreIgnored() throws {
        let text = sampleRecord.encodedText.replacingOccurrences(of: "format=1\n", with: "format=1\nfuture_key=whatever=x\n")
        #expect(try StatusRecord.parse(Array(text.utf8)) == sampleRecord)
    }

    /// Every prefix of a valid file (a torn write or a truncated copy) is rejected.
    @Test func everyTruncationIsRejected() {
        let bytes = sampleRecord.encoded
        for length in 0..<bytes.count {
            #expect(throws: StatusParseError.self, "length \(length)") { try StatusRecord.parse(bytes[..<length]) }
        }
    }

    @Test func rejectsNULTooLargeAndNonUTF8() {
        var withNUL = sampleRecord.encoded
        withNUL[20] = 0
        #expect(throws: StatusParseError.containsNUL) { try StatusRecord.parse(withNUL) }
        #expect(throws: StatusParseError.tooLarge(StatusRecord.maximumFileBytes + 1)) {
            try StatusRecord.parse([UInt8](repeating: 0x41, count: StatusRecord.maximumFileBytes + 1))
        }
        var notUTF8 = sampleRecord.encoded
        notUTF8[3] = 0xFF
        #expect(throws: StatusParseError.notUTF8) { try StatusRecord.parse(notUTF8) }
    }

    @Test(arguments: [
        ("format=1\n", "format=2\n", StatusParseError.unsupportedFormat("2")),
        ("format=1\n", "", .missingKey("format")),
        ("state=EXITED\n", "state=SLEEPING\n", .invalidValue(key: "state", value: "SLEEPING")),
        ("expected=1\n", "expected=unknown\n", .invalidValue(key: "expected", value: "unknown")),
        ("expected=1\n", "expected=yes\n", .invalidValue(key: "expected", value: "yes")),
        ("supervisord_pid=1\n", "supervisord_pid=0\n", .invalidValue(key: "supervisord_pid", value: "0")),
        ("supervisord_pid=1\n", "", .missingKey("supervisord_pid")),
        ("pid=77\n", "pid=seventy\n", .invalidValue(key: "pid", value: "seventy")),
        ("process=unknown\n", "process=\n", .invalidValue(key: "process", value: "")),
        ("program=start\n", "program start\n", .malformedLine(3)),
        ("history=2026-11-22T22:38:50.001Z STARTING->RUNNING serial=22\n", "history=yesterday\n", .invalidValue(key: "history", value: "yesterday")),
    ])
    func rejectsBadValues(original: String, replacement: String, error: StatusParseError) {
        let text = sampleRecord.encodedText.replacingOccurrences(of: original, with: replacement)
        #expect(throws: error) { try StatusRecord.parse(Array(text.utf8)) }
    }
}

extension String {
    /// Replaces the first occurrence only; enough for these fixtures.
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return self[..<range.lowerBound] + replacement + self[range.upperBound...]
    }

    func range(of target: String) -> Range<String.Index>? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) { return index..<self.index(index, offsetBy: target.count) }
            index = self.index(after: index)
        }
        return nil
    }
}

@Suite struct StatusRecordControlCharacterTests {
    /// Found by FuzzTests: values are one line of printable text, as written.
    @Test(arguments: ["spawn_error=\u{15}\n", "spawn_error=\r\n", "spawn_error=a\tb\n", "spawn_error=\u{7F}\n"])
    func controlCharactersAreRejected(line: String) {
        let text = sampleRecord.encodedText.replacingOccurrences(of: "spawn_error=\n", with: line)
        #expect(throws: StatusParseError.containsControlCharacter) { try StatusRecord.parse(Array(text.utf8)) }
    }

    @Test func freeTextIsWrittenOnOneLine() throws {
        var record = sampleRecord
        record.spawnError = "can't\nfind\u{1B} it"
        let parsed = try StatusRecord.parse(record.encoded)
        #expect(parsed.spawnError == "can't find  it")
    }
}

extension StatusRecord {
    /// The encoded file as text, for tests that search or edit it.
    var encodedText: String { String(decoding: encoded, as: UTF8.self) }
}
