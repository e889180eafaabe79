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
}

/// The parsed header line of an event.
package struct EventHeader: Equatable, Sendable {
    package var eventName: String
    package var serial: UInt64
    package var pool: String
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
    private static let processStatePrefix = "PROCESS_STATE_"

    /// Interprets a frame. Unknown payload fields are ignored, so that a newer
    /// supervisord adding one does not break the listener.
    package static func parse(_ frame: Frame) throws(EventError) -> (EventHeader, ListenerEvent) {
        guard let headerText = String(validating: frame.header, as: UTF8.self) else { throw .headerNotUTF8 }
        let headerFields = Self.fields(of: headerText)
        guard let eventName = headerFields["eventname"] else { throw .missingHeaderField("eventname") }
        guard let serialText = headerFields["serial"] else { throw .missingHeaderField("serial") }
        guard let serial = UInt64(serialText) else { throw .invalidField(name: "serial", value: serialText) }
        let header = EventHeader(eventName: eventName, serial: serial, pool: headerFields["pool"] ?? "")

        if eventName.hasPrefix("TICK_") { return (header, .tick) }
        guard eventName.hasPrefix(processStatePrefix),
            let state = ProcessState(rawValue: String(eventName.dropFirst(processStatePrefix.count))),
            state != .notSeen
        else { return (header, .other(name: eventName)) }

        guard let payloadText = String(validating: frame.payload, as: UTF8.self) else { throw .payloadNotUTF8 }
        let payload = Self.fields(of: payloadText)
        func required(_ field: String) throws(EventError) -> String {
            guard let value = payload[field] else { throw .missingPayloadField(event: eventName, field: field) }
            return value
        }
        let fromText = try required("from_state")
        guard let fromState = ProcessState(rawValue: fromText), fromState != .notSeen else {
            throw .invalidField(name: "from_state", value: fromText)
        }
        var event = ProcessStateEvent(
            serial: serial, state: state, processName: try required("processname"),
            groupName: try required("groupname"), fromState: fromState)
        switch state {
        case .exited:
            let expected = try required("expected")
            guard expected == "0" || expected == "1" else { throw .invalidField(name: "expected", value: expected) }
            event.expected = expected == "1"
            event.pid = try Self.integer("pid", try required("pid"))
        case .running, .stopping, .stopped:
            event.pid = try Self.integer("pid", try required("pid"))
        case .starting, .backoff:
            event.tries = try Self.integer("tries", try required("tries"))
        case .fatal, .unknown, .notSeen:
            break
        }
        return (header, .processState(event))
    }

    private static func integer(_ name: String, _ text: String) throws(EventError) -> Int {
        guard let value = Int(text), value >= 0 else { throw .invalidField(name: name, value: text) }
        return value
    }

    /// Space-separated `key:value` tokens; names cannot hold space or `:`, so
    /// each token splits on its first colon.
    static func fields(of text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for token in text.split(separator: " ") {
            guard let colon = token.firstIndex(of: ":") else { continue }
            fields[String(token[..<colon])] = String(token[token.index(after: colon)...])
        }
        return fields
    }
}
