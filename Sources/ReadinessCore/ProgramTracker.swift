/// Which supervisord program the listener follows: `name` matches a process
/// of that name in any group, `group:name` only that group's process.
package struct ProgramSelector: Equatable, Sendable, CustomStringConvertible {
    package var group: String?
    package var name: String

    package init(_ text: String) {
        if let colon = text.firstIndex(of: ":") {
            group = String(text[..<colon])
            name = String(text[text.index(after: colon)...])
        } else {
            group = nil
            name = text
        }
    }

    package func matches(processName: String, groupName: String) -> Bool {
        processName == name && (group == nil || group == groupName)
    }

    package var description: String { group.map { "\($0):\(name)" } ?? name }
}

/// Follows one program through PROCESS_STATE events: the listener's logic,
/// with no I/O, so that every sequence of events can be tested directly.
package struct ProgramTracker: Sendable {
    package let selector: ProgramSelector
    package private(set) var record: StatusRecord

    /// What applying an event did.
    package enum Outcome: Equatable, Sendable {
        /// The event is about another program (the listener's own included).
        case otherProgram
        /// Already applied: supervisord redelivers an event whose handler crashed.
        case duplicate
        /// The program changed state. `gap` is the state the listener had last
        /// recorded when it differs from the event's `from_state`: events were lost.
        case transition(from: ProcessState, to: ProcessState, gap: ProcessState?)
    }

    package init(selector: ProgramSelector, record: StatusRecord) {
        self.selector = selector
        self.record = record
    }

    /// Starts from `previous` when it was written by this same supervisord for
    /// this program (the listener was restarted), else from NOT_SEEN.
    package init(selector: ProgramSelector, listenerPID: Int, supervisordPID: Int, previous: StatusRecord?) {
        self.selector = selector
        if var previous, previous.supervisordPID == supervisordPID, previous.program == selector.description {
            previous.listenerPID = listenerPID
            record = previous
        } else {
            record = StatusRecord(program: selector.description, listenerPID: listenerPID, supervisordPID: supervisordPID)
        }
    }

    /// `time` is asked only when the event changes the record.
    package mutating func apply(_ event: ProcessStateEvent, at time: @autoclosure () -> Timestamp) -> Outcome {
        guard selector.matches(processName: event.processName, groupName: event.groupName) else { return .otherProgram }
        if let applied = record.serial, event.serial <= applied { return .duplicate }
        let time = time()
        let recorded = record.state
        record.previousState = event.fromState
        record.state = event.state
        record.expected = event.state == .exited ? event.expected : nil
        record.pid = event.pid.flatMap { $0 > 0 ? $0 : nil }
        record.exitStatus = nil
        record.serial = event.serial
        record.since = time
        record.history.append(.init(time: time, from: event.fromState, to: event.state, serial: event.serial))
        if record.history.count > StatusRecord.historyLimit {
            record.history.removeFirst(record.history.count - StatusRecord.historyLimit)
        }
        let gap = recorded == event.fromState || recorded == .notSeen ? nil : recorded
        return .transition(from: event.fromState, to: event.state, gap: gap)
    }
}
