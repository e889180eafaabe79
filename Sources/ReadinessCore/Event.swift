/// A supervisord process state, as named in PROCESS_STATE_* event names, plus
/// the two states the listener adds: the program has not been seen yet, and
/// supervisord has no such program.
package enum ProcessState: String, CaseIterable, Equatable, Sendable {
    case stopped = "STOPPED"
    case starting = "STARTING"
    case running = "RUNNING"
    case backoff = "BACKOFF"
    case stopping = "STOPPING"
    case exited = "EXITED"
    case fatal = "FATAL"
    case unknown = "UNKNOWN"
    /// The listener runs but no event for the program has arrived yet.
    case notSeen = "NOT_SEEN"
    /// supervisord has no such program (XML-RPC answered BAD_NAME): the
    /// container has no start.sh, and the common check passes.
    case absent = "ABSENT"
}

/// The parsed header line of an event.
package struct EventHeader: Equatable, Sendable {
    package var eventName: String
    package var serial: UInt64
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
    /// TICK_* events: a chance to retry a status write that failed.
    case tick
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

    /// Interprets a frame. Unknown payload fields are ignored, so that a newer
    /// supervisord adding one does not break the listener.
    ///
    /// Works on bytes: the listener parses every event of every program, and
    /// Character-level String splitting costs ten times more.
    package static func parse(_ frame: Frame) throws(EventError) -> (EventHeader, ListenerEvent) {
        guard String(validating: frame.header, as: UTF8.self) != nil else { throw .headerNotUTF8 }
        let headerFields = Fields(frame.header[...])
        guard let eventNameBytes = headerFields["eventname"] else { throw .missingHeaderField("eventname") }
        guard let serialBytes = headerFields["serial"] else { throw .missingHeaderField("serial") }
        guard let serial = UInt64(decimal: serialBytes) else { throw .invalidField(name: "serial", value: text(serialBytes)) }
        let eventName = text(eventNameBytes)
        let header = EventHeader(eventName: eventName, serial: serial)

        if eventNameBytes.starts(with: tickPrefix) { return (header, .tick) }
        guard eventNameBytes.starts(with: processStatePrefix),
            let state = ProcessState(rawValue: text(eventNameBytes.dropFirst(processStatePrefix.count))),
            state != .notSeen, state != .absent
        else { return (header, .other(name: eventName)) }

        guard String(validating: frame.payload, as: UTF8.self) != nil else { throw .payloadNotUTF8 }
        let payload = Fields(frame.payload[...])
        func required(_ field: StaticString) throws(EventError) -> ArraySlice<UInt8> {
            guard let value = payload[field] else { throw .missingPayloadField(event: eventName, field: "\(field)") }
            return value
        }
        func integer(_ field: StaticString) throws(EventError) -> Int {
            let bytes = try required(field)
            guard let value = UInt64(decimal: bytes), value <= UInt64(Int.max) else { throw .invalidField(name: "\(field)", value: text(bytes)) }
            return Int(value)
        }
        let fromBytes = try required("from_state")
        guard let fromState = ProcessState(rawValue: text(fromBytes)), fromState != .notSeen, fromState != .absent else {
            throw .invalidField(name: "from_state", value: text(fromBytes))
        }
        var event = ProcessStateEvent(
            serial: serial, state: state, processName: text(try required("processname")),
            groupName: text(try required("groupname")), fromState: fromState)
        switch state {
        case .exited:
            let expected = try required("expected")
            guard expected.count == 1, expected.first == UInt8(ascii: "0") || expected.first == UInt8(ascii: "1") else {
                throw .invalidField(name: "expected", value: text(expected))
            }
            event.expected = expected.first == UInt8(ascii: "1")
            event.pid = try integer("pid")
        case .running, .stopping, .stopped:
            event.pid = try integer("pid")
        case .starting, .backoff:
            event.tries = try integer("tries")
        case .fatal, .unknown, .notSeen, .absent:
            break
        }
        return (header, .processState(event))
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
}

/// Space-separated `key:value` tokens. Names cannot hold space or `:`, so each
/// token splits on its first colon; a token without one is ignored.
struct Fields {
    private var tokens: [(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>)] = []

    init(_ bytes: ArraySlice<UInt8>) {
        tokens.reserveCapacity(8)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            var end = index
            var colon: Int?
            while end < bytes.endIndex, bytes[end] != UInt8(ascii: " ") {
                if colon == nil, bytes[end] == UInt8(ascii: ":") { colon = end }
                end += 1
            }
            if let colon { tokens.append((bytes[index..<colon], bytes[(colon + 1)..<end])) }
            index = end + 1
        }
    }

    /// The value of the last token named `key`.
    subscript(key: StaticString) -> ArraySlice<UInt8>? {
        let name = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        return tokens.last { $0.key.elementsEqual(name) }?.value
    }
}
