/// A supervisord process state, as named in PROCESS_STATE_* event names.
package enum ProcessState: String, CaseIterable, Equatable, Sendable {
    case stopped = "STOPPED"
    case starting = "STARTING"
    case running = "RUNNING"
    case backoff = "BACKOFF"
    case stopping = "STOPPING"
    case exited = "EXITED"
    case fatal = "FATAL"
    case unknown = "UNKNOWN"

    /// A run is under way: supervisord's RUNNING_STATES (a start was made
    /// and has not ended; BACKOFF tries again by itself).
    package var isUnderWay: Bool { self == .starting || self == .running || self == .backoff }
}

/// What the status file says of the followed program: a state supervisord
/// reported, or one of the two the listener adds. Kept apart from
/// `ProcessState` so that nothing supervisord sends can be mistaken for them.
package enum RecordedState: Equatable, Sendable {
    /// No event or answer about the program in this generation of supervisord yet.
    case notSeen
    /// supervisord has no process of that name in any group: the container
    /// has no start.sh, and the common check passes.
    case absent
    case process(ProcessState)

    package init?(rawValue: String) {
        switch rawValue {
        case "NOT_SEEN": self = .notSeen
        case "ABSENT": self = .absent
        default:
            guard let state = ProcessState(rawValue: rawValue) else { return nil }
            self = .process(state)
        }
    }

    package var rawValue: String {
        switch self {
        case .notSeen: "NOT_SEEN"
        case .absent: "ABSENT"
        case .process(let state): state.rawValue
        }
    }

    /// The supervisord state, when there is one.
    package var processState: ProcessState? {
        if case .process(let state) = self { return state }
        return nil
    }
}

/// The parsed header line of an event.
package struct EventHeader: Equatable, Sendable {
    /// As sent; decoded only when wanted (a log line), not for every event.
    package var eventNameBytes: ArraySlice<UInt8>
    /// supervisord's global event counter: it keeps counting across a reload.
    package var serial: UInt64
    /// The listener pool's own counter: it starts again at a reload (a new
    /// pool) and keeps counting across a restart of the listener. Nil when a
    /// header lacks it.
    package var poolSerial: UInt64?

    package var eventName: String { String(decoding: eventNameBytes, as: UTF8.self) }

    package init(eventName: String, serial: UInt64, poolSerial: UInt64? = nil) {
        self.init(eventNameBytes: Array(eventName.utf8)[...], serial: serial, poolSerial: poolSerial)
    }

    init(eventNameBytes: ArraySlice<UInt8>, serial: UInt64, poolSerial: UInt64?) {
        self.eventNameBytes = eventNameBytes
        self.serial = serial
        self.poolSerial = poolSerial
    }
}

extension ProcessState {
    private static let names: [(state: ProcessState, name: [UInt8])] = allCases.map { ($0, Array($0.rawValue.utf8)) }

    /// The state named by `bytes`, as `init(rawValue:)` but without making a String.
    init?(name bytes: ArraySlice<UInt8>) {
        guard let match = Self.names.first(where: { $0.name.elementsEqual(bytes) }) else { return nil }
        self = match.state
    }
}

/// A PROCESS_STATE_* event for some program.
package struct ProcessStateEvent: Equatable, Sendable {
    package var serial: UInt64
    package var state: ProcessState
    package var processName: String
    package var groupName: String
    package var fromState: ProcessState
    /// EXITED only: whether the exit status was in the program's `exitcodes`.
    package var expected: Bool?
    /// RUNNING, STOPPING, STOPPED and EXITED carry the pid.
    package var pid: Int?
    /// STARTING and BACKOFF carry the number of tries so far.
    package var tries: Int?

    package init(
        serial: UInt64, state: ProcessState, processName: String, groupName: String,
        fromState: ProcessState, expected: Bool? = nil, pid: Int? = nil, tries: Int? = nil
    ) {
        self.serial = serial
        self.state = state
        self.processName = processName
        self.groupName = groupName
        self.fromState = fromState
        self.expected = expected
        self.pid = pid
        self.tries = tries
    }
}

/// What a framed event turned out to be.
package enum ListenerEvent: Equatable, Sendable {
    case processState(ProcessStateEvent)
    /// TICK_* events: a chance to retry a status write that failed, and to
    /// reconcile. `when` is supervisord's clock (whole seconds) when it
    /// queued the tick, nil if the payload lacks it.
    case tick(when: Int?)
    /// SUPERVISOR_STATE_CHANGE_STOPPING: supervisord began a shutdown or a
    /// reload; the listener (priority -1, stopped last) hears it first.
    case supervisorStopping
    /// Any other event the listener was sent; it is acknowledged and ignored.
    case other(name: String)
}

/// Why a framed event could not be understood. The event is acknowledged
/// (a rejected event is redelivered forever) and logged, and nothing changes.
package enum EventError: Error, Equatable, Sendable, CustomStringConvertible {
    case headerNotUTF8
    case payloadNotUTF8
    case missingHeaderField(String)
    case missingPayloadField(event: String, field: String)
    case invalidField(name: String, value: String)

    package var description: String {
        switch self {
        case .headerNotUTF8: "event header is not valid UTF-8"
        case .payloadNotUTF8: "event payload is not valid UTF-8"
        case .missingHeaderField(let field): "event header has no \(field)"
        case .missingPayloadField(let event, let field): "\(event) payload has no \(field)"
        case .invalidField(let name, let value): "event field \(name) has an invalid value: \(value)"
        }
    }
}

extension ListenerEvent {
    private static let processStatePrefix = Array("PROCESS_STATE_".utf8)
    private static let tickPrefix = Array("TICK_".utf8)
    private static let supervisorStoppingName = Array("SUPERVISOR_STATE_CHANGE_STOPPING".utf8)

    /// Interprets a frame. Unknown payload fields are ignored, so that a newer
    /// supervisord adding one does not break the listener.
    ///
    /// Works on bytes: the listener parses every event of every program, and
    /// Character-level String splitting costs ten times more.
    package static func parse(_ frame: Frame) throws(EventError) -> (EventHeader, ListenerEvent) {
        guard isValidUTF8(frame.header) else { throw .headerNotUTF8 }
        let headerFields = Fields(frame.header)
        guard let eventNameBytes = headerFields[.eventname] else { throw .missingHeaderField("eventname") }
        guard let serialBytes = headerFields[.serial] else { throw .missingHeaderField("serial") }
        guard let serial = UInt64(decimal: serialBytes) else { throw .invalidField(name: "serial", value: text(serialBytes)) }
        var poolSerial: UInt64?
        if let bytes = headerFields[.poolserial] {
            guard let value = UInt64(decimal: bytes) else { throw .invalidField(name: "poolserial", value: text(bytes)) }
            poolSerial = value
        }
        let header = EventHeader(eventNameBytes: eventNameBytes, serial: serial, poolSerial: poolSerial)

        if eventNameBytes.starts(with: tickPrefix) {
            let when = Fields(frame.payload)[.when].flatMap { UInt64(decimal: $0) }.flatMap { $0 <= UInt64(Int.max) ? Int($0) : nil }
            return (header, .tick(when: when))
        }
        if eventNameBytes.elementsEqual(supervisorStoppingName) { return (header, .supervisorStopping) }
        guard eventNameBytes.starts(with: processStatePrefix),
            let state = ProcessState(name: eventNameBytes.dropFirst(processStatePrefix.count))
        else { return (header, .other(name: header.eventName)) }

        guard isValidUTF8(frame.payload) else { throw .payloadNotUTF8 }
        let payload = Fields(frame.payload)
        func required(_ field: Fields.Key) throws(EventError) -> ArraySlice<UInt8> {
            guard let value = payload[field] else { throw .missingPayloadField(event: header.eventName, field: "\(field.name)") }
            return value
        }
        func integer(_ field: Fields.Key) throws(EventError) -> Int {
            let bytes = try required(field)
            guard let value = UInt64(decimal: bytes), value <= UInt64(Int.max) else { throw .invalidField(name: "\(field.name)", value: text(bytes)) }
            return Int(value)
        }
        let fromBytes = try required(.fromState)
        guard let fromState = ProcessState(name: fromBytes) else {
            throw .invalidField(name: "from_state", value: text(fromBytes))
        }
        var event = ProcessStateEvent(
            serial: serial, state: state, processName: text(try required(.processname)),
            groupName: text(try required(.groupname)), fromState: fromState)
        switch state {
        case .exited:
            let expected = try required(.expected)
            guard expected.count == 1, expected.first == UInt8(ascii: "0") || expected.first == UInt8(ascii: "1") else {
                throw .invalidField(name: "expected", value: text(expected))
            }
            event.expected = expected.first == UInt8(ascii: "1")
            event.pid = try integer(.pid)
        case .running, .stopping, .stopped:
            event.pid = try integer(.pid)
        case .starting, .backoff:
            event.tries = try integer(.tries)
        case .fatal, .unknown:
            break
        }
        return (header, .processState(event))
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
}

/// The fields the listener reads from space-separated `key:value` tokens,
/// found in one pass. Names cannot hold space or `:`, so each token splits on
/// its first colon; a token without one, or with a key the listener does not
/// read, is skipped; of repeated keys the last counts.
///
/// One pass and no allocation: every event of every program goes through
/// this, where a table of tokens, or a scan per key, would be most of the
/// listener's work per event.
struct Fields {
    enum Key: Int {
        case len, eventname, serial, poolserial, processname, groupname, fromState, expected, pid, tries, when

        /// The key `bytes` name, by length first: the names' lengths nearly all differ.
        init?(_ bytes: UnsafeBufferPointer<UInt8>) {
            let candidates: (Key, Key?)
            switch bytes.count {
            case 3: candidates = (.len, .pid)
            case 4: candidates = (.when, nil)
            case 5: candidates = (.tries, nil)
            case 6: candidates = (.serial, nil)
            case 8: candidates = (.expected, nil)
            case 9: candidates = (.eventname, .groupname)
            case 10: candidates = (.fromState, .poolserial)
            case 11: candidates = (.processname, nil)
            default: return nil
            }
            if candidates.0.isNamed(bytes) {
                self = candidates.0
            } else if let second = candidates.1, second.isNamed(bytes) {
                self = second
            } else {
                return nil
            }
        }

        var name: StaticString {
            switch self {
            case .len: "len"
            case .eventname: "eventname"
            case .serial: "serial"
            case .poolserial: "poolserial"
            case .when: "when"
            case .processname: "processname"
            case .groupname: "groupname"
            case .fromState: "from_state"
            case .expected: "expected"
            case .pid: "pid"
            case .tries: "tries"
            }
        }

        private func isNamed(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            let name = self.name
            guard name.utf8CodeUnitCount == bytes.count else { return false }
            for offset in 0..<bytes.count where bytes[offset] != name.utf8Start[offset] { return false }
            return true
        }
    }

    private let bytes: ArraySlice<UInt8>
    /// Where each key's value is, as offsets into `bytes`; indexed by `Key.rawValue`.
    private var values: (
        Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?,
        Range<Int>?
    ) = (nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        bytes.withUnsafeBufferPointer { tokens in
            var index = 0
            while index < tokens.count {
                let end = tokens.firstIndex(of: UInt8(ascii: " "), from: index, to: tokens.count) ?? tokens.count
                if let colon = tokens.firstIndex(of: UInt8(ascii: ":"), from: index, to: end),
                    let key = Key(UnsafeBufferPointer(rebasing: tokens[index..<colon]))
                {
                    set(key, (colon + 1)..<end)
                }
                index = end + 1
            }
        }
    }

    /// The value of the last token named `key`.
    subscript(key: Key) -> ArraySlice<UInt8>? {
        guard let range = value(key) else { return nil }
        return bytes[(bytes.startIndex + range.lowerBound)..<(bytes.startIndex + range.upperBound)]
    }

    private func value(_ key: Key) -> Range<Int>? {
        switch key {
        case .len: values.0
        case .eventname: values.1
        case .serial: values.2
        case .processname: values.3
        case .groupname: values.4
        case .fromState: values.5
        case .expected: values.6
        case .pid: values.7
        case .tries: values.8
        case .poolserial: values.9
        case .when: values.10
        }
    }

    private mutating func set(_ key: Key, _ range: Range<Int>) {
        switch key {
        case .len: values.0 = range
        case .eventname: values.1 = range
        case .serial: values.2 = range
        case .processname: values.3 = range
        case .groupname: values.4 = range
        case .fromState: values.5 = range
        case .expected: values.6 = range
        case .pid: values.7 = range
        case .tries: values.8 = range
        case .poolserial: values.9 = range
        case .when: values.10 = range
        }
    }
}
