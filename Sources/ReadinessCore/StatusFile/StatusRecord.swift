/// What the listener knows about the followed program, and the text format it
/// is stored in: `key=value` lines that `cat` and `grep` can read, versioned,
/// closed by `end=1` so that a reader can tell a complete file from a cut one.
package struct StatusRecord: Equatable, Sendable {
    package static let formatVersion = 1
    /// How many transitions `history` keeps, newest last.
    package static let historyLimit = 8
    /// A status file is a few hundred bytes; anything this large is not one.
    package static let maximumFileBytes = 64 * 1024

    /// One change of state, kept for people reading the file.
    package struct Transition: Equatable, Sendable {
        package var time: Timestamp?
        package var from: RecordedState
        package var to: RecordedState
        package var serial: UInt64?

        package init(time: Timestamp?, from: RecordedState, to: RecordedState, serial: UInt64?) {
            self.time = time
            self.from = from
            self.to = to
            self.serial = serial
        }
    }

    /// The `--program` selector: NAME (any group) or GROUP:NAME.
    package var program: String
    /// The process it resolved to, `GROUP:NAME`, as supervisord's XML-RPC
    /// names it; nil until an event or getAllProcessInfo showed it.
    package var process: String?
    package var state: RecordedState
    package var previousState: RecordedState?
    /// EXITED only: whether supervisord found the exit status in `exitcodes`.
    package var expected: Bool?
    package var pid: Int?
    /// Known only from supervisord's XML-RPC; events do not carry it.
    package var exitStatus: Int?
    /// Why supervisord could not spawn the program (FATAL, BACKOFF), from XML-RPC.
    package var spawnError: String?
    /// Where supervisord writes the program's output, from XML-RPC.
    package var stdoutLogfile: String?
    package var stderrLogfile: String?
    /// The serial of the event that set `state`; later deliveries of it are ignored.
    package var serial: UInt64?
    /// That event's `poolserial`: a first event after a listener restart with
    /// a lower one comes from a new pool, so supervisord was reloaded.
    package var poolSerial: UInt64?
    /// supervisord's `start` (whole seconds) of the run `state` describes,
    /// from XML-RPC: with the state, the run's identity, so a restarted
    /// listener keeps a finished run's state only while supervisord still shows that run.
    package var runStart: Int?
    /// supervisord announced a shutdown or reload (SUPERVISOR_STATE_CHANGE_STOPPING)
    /// after this state was recorded: the run it describes no longer counts.
    package var supervisordStopping = false
    /// When the program entered `state`, as the listener saw it.
    package var since: Timestamp?
    package var listenerPID: Int
    package var supervisordPID: Int
    /// When that supervisord started (field 22 of /proc/PID/stat, in clock
    /// ticks since boot): a pid alone is reused, by every container restart's
    /// PID 1 for one.
    package var supervisordStartTicks: UInt64?
    package var history: [Transition]
    /// An essential program's end (`--essential`), once seen; nil while none has ended.
    package var essentialFailure: EssentialFailure?
    /// The `--service` programs, in the order of the listener's command line.
    package var services: [ServiceState] = []
    /// The programs under `--start-after`, in supervisord's order.
    package var starts: [ProgramStart] = []
    /// The listener that writes the file holds an flock on `<status file>.lock`
    /// for as long as it runs and its last write succeeded: a reader that
    /// finds the lock free knows no live listener keeps the file. False for
    /// a file of an older listener, or one written by hand (no such key).
    package var listenerLock = false
    /// The listener refreshes the file's modification time on every TICK_5
    /// (and every write): a reader takes a file older than
    /// `ListenerPresence.heartbeatLimitMilliseconds` as left by a frozen
    /// listener. Set once the listener has received a TICK_5, so a listener
    /// whose `events=` lacks TICK_5 is not taken for frozen.
    package var heartbeat = false

    package init(
        program: String, state: RecordedState = .notSeen, previousState: RecordedState? = nil,
        expected: Bool? = nil, pid: Int? = nil, exitStatus: Int? = nil, serial: UInt64? = nil,
        since: Timestamp? = nil, listenerPID: Int, supervisordPID: Int, history: [Transition] = []
    ) {
        self.program = program
        self.state = state
        self.previousState = previousState
        self.expected = expected
        self.pid = pid
        self.exitStatus = exitStatus
        self.serial = serial
        self.since = since
        self.listenerPID = listenerPID
        self.supervisordPID = supervisordPID
        self.history = history
    }
}

// MARK: - Text format

extension StatusRecord {
    private static let unknown = "unknown"

    /// The file's bytes. Values hold no newlines: program names cannot, and
    /// free text is kept to one line. Written into one buffer: the listener
    /// writes the file at every transition of the program.
    package var encoded: [UInt8] {
        var text = ByteText(capacity: 1024)
        text.write("# readiness status of supervisord program ")
        text.write(string: program)
        text.write(", written by readiness_listener\nformat=")
        text.write(Self.formatVersion)
        text.write("\nprogram=")
        text.write(string: program)
        text.write("\nprocess=")
        text.write(string: process ?? Self.unknown)
        text.write("\nstate=")
        text.write(string: state.rawValue)
        text.write("\nprevious_state=")
        text.write(string: previousState?.rawValue ?? Self.unknown)
        text.write("\nexpected=")
        text.write(orUnknown: expected)
        text.write("\npid=")
        text.write(orUnknown: pid)
        text.write("\nexit_status=")
        text.write(orUnknown: exitStatus)
        text.write("\nspawn_error=")
        text.writeOneLine(spawnError ?? "")
        text.write("\nstdout_logfile=")
        text.writeOneLine(stdoutLogfile ?? "")
        text.write("\nstderr_logfile=")
        text.writeOneLine(stderrLogfile ?? "")
        text.write("\nserial=")
        text.write(orUnknown: serial)
        text.write("\npool_serial=")
        text.write(orUnknown: poolSerial)
        text.write("\nrun_start=")
        text.write(orUnknown: runStart)
        text.write("\nsupervisord_stopping=")
        text.write(orUnknown: supervisordStopping)
        text.write("\nsince=")
        text.write(orUnknown: since)
        text.write("\nlistener_pid=")
        text.write(listenerPID)
        text.write("\nsupervisord_pid=")
        text.write(supervisordPID)
        text.write("\nsupervisord_start_ticks=")
        text.write(orUnknown: supervisordStartTicks)
        text.write("\n")
        if listenerLock { text.write("listener_lock=1\n") }
        if heartbeat { text.write("heartbeat=1\n") }
        writeEssentialLines(into: &text)
        for service in services { service.write(into: &text) }
        for start in starts { start.write(into: &text) }
        for transition in history {
            text.write("history=")
            text.write(orUnknown: transition.time)
            text.write(" ")
            text.write(string: transition.from.rawValue)
            text.write("->")
            text.write(string: transition.to.rawValue)
            text.write(" serial=")
            text.write(orUnknown: transition.serial)
            text.write("\n")
        }
        text.write("end=1\n")
        return text.finished()
    }

    /// Parses a status file. Keys this version does not know are ignored, so
    /// an older probe can read a newer listener's file of the same format.
    package static func parse(_ bytes: some Collection<UInt8>) throws(StatusParseError) -> StatusRecord {
        guard bytes.count <= maximumFileBytes else { throw .tooLarge(bytes.count) }
        let bytes = Array(bytes)
        // The writer never puts control characters in values; a file with them is not its.
        var controlCharacter = false
        for byte in bytes where byte < 0x20 || byte == 0x7F {
            if byte == 0 { throw .containsNUL }
            if byte != 0x0A { controlCharacter = true }
        }
        if controlCharacter { throw .containsControlCharacter }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        guard text.hasSuffix("\nend=1\n") else { throw .incomplete }

        var values = Fields(text: text, bytes: bytes)
        var history: [Transition] = []
        var services: [ServiceState] = []
        var starts: [ProgramStart] = []
        var lineStart = 0
        var lineNumber = 0
        while let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
            defer { lineStart = lineEnd + 1 }
            lineNumber += 1
            if lineEnd == lineStart || bytes[lineStart] == UInt8(ascii: "#") { continue }
            guard let equals = bytes[lineStart..<lineEnd].firstIndex(of: UInt8(ascii: "=")) else { throw .malformedLine(lineNumber) }
            if bytes[lineStart..<equals].elementsEqual("history".utf8) {
                guard let transition = Transition(parsing: bytes[(equals + 1)..<lineEnd]) else {
                    throw .invalidValue(key: "history", value: String(values.text(equals + 1..<lineEnd)))
                }
                history.append(transition)
            } else if bytes[lineStart..<equals].elementsEqual("service".utf8) {
                guard let service = ServiceState(parsing: bytes[(equals + 1)..<lineEnd]) else {
                    throw .invalidValue(key: "service", value: String(values.text(equals + 1..<lineEnd)))
                }
                services.append(service)
            } else if bytes[lineStart..<equals].elementsEqual("start_after".utf8) {
                guard let start = ProgramStart(parsing: bytes[(equals + 1)..<lineEnd]) else {
                    throw .invalidValue(key: "start_after", value: String(values.text(equals + 1..<lineEnd)))
                }
                starts.append(start)
            } else {
                values.append(key: lineStart..<equals, value: equals + 1..<lineEnd)
            }
        }

        let format = try values.required("format")
        guard format == "\(formatVersion)" else { throw .unsupportedFormat(String(format)) }
        guard let current = try values.state("state") else { throw .invalidValue(key: "state", value: unknown) }
        let expected = try values.flag("expected")
        if current == .process(.exited) && expected == nil { throw .invalidValue(key: "expected", value: unknown) }
        guard let supervisordPID = try values.int("supervisord_pid"), supervisordPID > 0 else {
            throw .invalidValue(key: "supervisord_pid", value: String(values["supervisord_pid"] ?? ""))
        }
        var record = StatusRecord(
            program: String(try values.required("program")),
            state: current,
            previousState: try values.state("previous_state"),
            expected: expected,
            pid: try values.int("pid"),
            exitStatus: try values.int("exit_status"),
            serial: try values.uint64("serial"),
            since: try values.timestamp("since"),
            listenerPID: try values.int("listener_pid") ?? 0,
            supervisordPID: supervisordPID,
            history: history)
        record.supervisordStartTicks = try values.uint64("supervisord_start_ticks", optional: true)
        record.essentialFailure = try essentialFailure(values)
        record.services = services
        record.starts = starts
        if let process = try values.known("process", optional: true) {
            guard !process.isEmpty else { throw .invalidValue(key: "process", value: "") }
            record.process = String(process)
        }
        record.poolSerial = try values.uint64("pool_serial", optional: true)
        record.runStart = try values.int("run_start", optional: true)
        record.supervisordStopping = try values.flag("supervisord_stopping", optional: true) ?? false
        record.spawnError = values.text("spawn_error")
        record.stdoutLogfile = values.text("stdout_logfile")
        record.stderrLogfile = values.text("stderr_logfile")
        record.listenerLock = try values.flag("listener_lock", optional: true) ?? false
        record.heartbeat = try values.flag("heartbeat", optional: true) ?? false
        return record
    }

    /// The `key=value` lines of a status file by key, the last of a repeated
    /// key counting. A scan of byte offsets: a file holds about twenty keys,
    /// and the probe's ready path reads it on every probe, where hashing
    /// Substrings into a Dictionary costs more than the rest of its work.
    private struct Fields {
        let text: String
        let bytes: [UInt8]
        /// Each key's and value's offsets, 32-bit (a file is at most 64 KiB).
        private var entries: [(key: Range<UInt32>, value: Range<UInt32>)] = []

        init(text: String, bytes: [UInt8]) {
            self.text = text
            self.bytes = bytes
            // Room for a file's keys at once: growing from one entry took five
            // buffers of five sizes, each size a fresh page to fault in. At 16
            // bytes an entry, 32 take 544: musl's allocator maps a page of its
            // own for a buffer twice that (and unmaps it when freed), two
            // system calls more in each probe.
            entries.reserveCapacity(32)
        }

        mutating func append(key: Range<Int>, value: Range<Int>) {
            entries.append((UInt32(key.lowerBound)..<UInt32(key.upperBound), UInt32(value.lowerBound)..<UInt32(value.upperBound)))
        }

        subscript(key: StaticString) -> Substring? {
            let name = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
            guard let entry = entries.last(where: { $0.key.count == name.count && bytes[Int($0.key.lowerBound)..<Int($0.key.upperBound)].elementsEqual(name) }) else {
                return nil
            }
            return text(Int(entry.value.lowerBound)..<Int(entry.value.upperBound))
        }

        // The readers below are kept out of line: inlined at each of the
        // twenty keys, they made parse the listener's largest function.

        @inline(never)
        func required(_ key: StaticString) throws(StatusParseError) -> Substring {
            guard let value = self[key] else { throw .missingKey(key.description) }
            return value
        }

        /// The value, or nil for `unknown`; an `optional` key (newer than
        /// format 1's first listener) may also be absent.
        @inline(never)
        func known(_ key: StaticString, optional: Bool = false) throws(StatusParseError) -> Substring? {
            guard let value = optional ? self[key] : try required(key), value != unknown else { return nil }
            return value
        }

        @inline(never)
        func int(_ key: StaticString, optional: Bool = false) throws(StatusParseError) -> Int? {
            guard let value = try known(key, optional: optional) else { return nil }
            guard let number = Int(value) else { throw .invalidValue(key: key.description, value: String(value)) }
            return number
        }

        @inline(never)
        func uint64(_ key: StaticString, optional: Bool = false) throws(StatusParseError) -> UInt64? {
            guard let value = try known(key, optional: optional) else { return nil }
            guard let number = UInt64(value) else { throw .invalidValue(key: key.description, value: String(value)) }
            return number
        }

        /// `1` or `0`.
        @inline(never)
        func flag(_ key: StaticString, optional: Bool = false) throws(StatusParseError) -> Bool? {
            guard let value = try known(key, optional: optional) else { return nil }
            if value == "1" { return true }
            if value == "0" { return false }
            throw .invalidValue(key: key.description, value: String(value))
        }

        @inline(never)
        func state(_ key: StaticString) throws(StatusParseError) -> RecordedState? {
            guard let value = try known(key) else { return nil }
            guard let state = RecordedState(rawValue: String(value)) else {
                throw .invalidValue(key: key.description, value: String(value))
            }
            return state
        }

        @inline(never)
        func timestamp(_ key: StaticString) throws(StatusParseError) -> Timestamp? {
            guard let value = try known(key) else { return nil }
            guard let time = Timestamp(rfc3339: value) else { throw .invalidValue(key: key.description, value: String(value)) }
            return time
        }

        /// Free text: absent or empty is nil.
        func text(_ key: StaticString) -> String? {
            guard let value = self[key], !value.isEmpty else { return nil }
            return String(value)
        }

        /// The text at byte offsets `range`, which start and end at ASCII bytes.
        func text(_ range: Range<Int>) -> Substring {
            let start = text.utf8.index(text.utf8.startIndex, offsetBy: range.lowerBound)
            return text[start..<text.utf8.index(start, offsetBy: range.count)]
        }
    }
}

// MARK: - Essential programs

extension StatusRecord {
    /// `essential_failure=none`, or the program and what it did. New keys of
    /// format 1: an older probe ignores them.
    private func writeEssentialLines(into text: inout ByteText) {
        guard let failure = essentialFailure else { return text.write("essential_failure=none\n") }
        text.write("essential_failure=")
        text.write(string: failure.program)
        text.write("\nessential_state=")
        text.write(string: failure.state.rawValue)
        text.write("\nessential_expected=")
        text.write(orUnknown: failure.expected)
        text.write("\nessential_exit_status=")
        text.write(orUnknown: failure.exitStatus)
        text.write("\nessential_spawn_error=")
        text.writeOneLine(failure.spawnError ?? "")
        text.write("\nessential_since=")
        text.write(orUnknown: failure.since)
        text.write("\nessential_shutdown=")
        text.write(string: failure.shutdown.rawValue)
        text.write("\n")
    }

    /// A file without the keys (an older listener's) records no failure.
    private static func essentialFailure(_ values: Fields) throws(StatusParseError) -> EssentialFailure? {
        guard let program = values["essential_failure"], program != "none" else { return nil }
        guard !program.isEmpty else { throw .invalidValue(key: "essential_failure", value: "") }
        let stateText = try values.required("essential_state")
        guard let state = ProcessState(rawValue: String(stateText)) else {
            throw .invalidValue(key: "essential_state", value: String(stateText))
        }
        let shutdownText = try values.required("essential_shutdown")
        guard let shutdown = EssentialFailure.Shutdown(rawValue: String(shutdownText)) else {
            throw .invalidValue(key: "essential_shutdown", value: String(shutdownText))
        }
        var failure = EssentialFailure(program: String(program), state: state, shutdown: shutdown)
        failure.expected = try values.flag("essential_expected")
        failure.exitStatus = try values.int("essential_exit_status")
        failure.since = try values.timestamp("essential_since")
        _ = try values.required("essential_spawn_error")
        failure.spawnError = values.text("essential_spawn_error")
        return failure
    }
}

/// How the status file writes a value that may not be known.
extension ByteText {
    mutating func write(orUnknown value: Int?) {
        if let value { write(value) } else { write("unknown") }
    }

    mutating func write(orUnknown value: UInt64?) {
        if let value { write(value) } else { write("unknown") }
    }

    mutating func write(orUnknown value: Timestamp?) {
        if let value { write(value) } else { write("unknown") }
    }

    /// `1` or `0`.
    mutating func write(orUnknown flag: Bool?) {
        if let flag { write(flag ? "1" : "0") } else { write("unknown") }
    }
}

extension StatusRecord.Transition {
    /// `2026-11-22T22:40:01.123Z RUNNING->EXITED serial=12`
    init?(parsing bytes: ArraySlice<UInt8>) {
        let parts = bytes.split(separator: UInt8(ascii: " "))
        guard parts.count == 3, parts[2].starts(with: "serial=".utf8) else { return nil }
        let states = parts[1].split(separator: UInt8(ascii: "-"), maxSplits: 1, omittingEmptySubsequences: false)
        guard states.count == 2, states[1].first == UInt8(ascii: ">"),
            let from = RecordedState(rawValue: String(decoding: states[0], as: UTF8.self)),
            let to = RecordedState(rawValue: String(decoding: states[1].dropFirst(), as: UTF8.self))
        else { return nil }
        func isUnknown(_ part: ArraySlice<UInt8>) -> Bool { part.elementsEqual("unknown".utf8) }
        let timeText = parts[0]
        let time = isUnknown(timeText) ? nil : Timestamp(rfc3339: String(decoding: timeText, as: UTF8.self))
        if !isUnknown(timeText) && time == nil { return nil }
        let serialText = parts[2].dropFirst("serial=".count)
        let serial = isUnknown(serialText) ? nil : UInt64(String(decoding: serialText, as: UTF8.self))
        if !isUnknown(serialText) && serial == nil { return nil }
        self.init(time: time, from: from, to: to, serial: serial)
    }
}

/// Why a status file could not be used; the probe answers BAD_STATUS.
package enum StatusParseError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLarge(Int)
    case containsNUL
    case containsControlCharacter
    case notUTF8
    case incomplete
    case malformedLine(Int)
    case missingKey(String)
    case invalidValue(key: String, value: String)
    case unsupportedFormat(String)

    package var description: String {
        switch self {
        case .tooLarge(let size): "status file is \(size) bytes, more than \(StatusRecord.maximumFileBytes)"
        case .containsNUL: "status file contains a NUL byte"
        case .containsControlCharacter: "status file contains a control character"
        case .notUTF8: "status file is not valid UTF-8"
        case .incomplete: "status file is incomplete (no final end=1 line)"
        case .malformedLine(let line): "status file line \(line) is not key=value"
        case .missingKey(let key): "status file has no \(key)"
        case .invalidValue(let key, let value): "status file \(key) has an invalid value \"\(value.prefix(40))\""
        case .unsupportedFormat(let format): "status file format \(format.prefix(20)) is not supported (this probe reads format \(StatusRecord.formatVersion))"
        }
    }
}
