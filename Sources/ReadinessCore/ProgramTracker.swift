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

        /// What the listener does next: the one place that decides which
        /// states need supervisord's details (exit status after EXITED, spawn
        /// error after FATAL or BACKOFF), which no event carries.
        package var followUp: FollowUp {
            switch self {
            case .otherProgram, .duplicate: .retryPendingWrite
            case .transition(_, .exited, _), .transition(_, .fatal, _), .transition(_, .backoff, _): .fetchDetailsThenWrite
            case .transition: .write
            }
        }
    }

    /// The listener's work after an event, as `Outcome.followUp` decides it.
    package enum FollowUp: Equatable, Sendable {
        /// The record did not change: write it only if an earlier write failed.
        case retryPendingWrite
        case write
        /// Ask supervisord for what the event lacks (`learnDetails`), then write.
        case fetchDetailsThenWrite
    }

    /// Starts from `previous` when it was written by this same supervisord
    /// (same pid, and same start time where both are known) for this program:
    /// the listener was restarted. Else from NOT_SEEN.
    package init(
        selector: ProgramSelector, listenerPID: Int, supervisordPID: Int, supervisordStartTicks: UInt64? = nil,
        previous: StatusRecord?
    ) {
        self.selector = selector
        let sameStart = previous?.supervisordStartTicks == nil || supervisordStartTicks == nil
            || previous?.supervisordStartTicks == supervisordStartTicks
        if var previous, previous.supervisordPID == supervisordPID, sameStart, previous.program == selector.description {
            previous.listenerPID = listenerPID
            previous.supervisordStartTicks = supervisordStartTicks ?? previous.supervisordStartTicks
            record = previous
        } else {
            record = StatusRecord(program: selector.description, listenerPID: listenerPID, supervisordPID: supervisordPID)
            record.supervisordStartTicks = supervisordStartTicks
        }
    }

    /// `time` is asked only when the event changes the record.
    package mutating func apply(_ event: ProcessStateEvent, at time: @autoclosure () -> Timestamp) -> Outcome {
        guard selector.matches(processName: event.processName, groupName: event.groupName) else { return .otherProgram }
        if let applied = record.serial, event.serial <= applied { return .duplicate }
        let recorded = record.state
        enter(event.state, from: event.fromState, expected: event.state == .exited ? event.expected : nil,
              pid: event.pid.flatMap { $0 > 0 ? $0 : nil }, serial: event.serial, at: time())
        let gap = recorded == event.fromState || recorded == .notSeen || recorded == .absent ? nil : recorded
        return .transition(from: event.fromState, to: event.state, gap: gap)
    }

    private mutating func enter(_ state: ProcessState, from: ProcessState, expected: Bool?, pid: Int?, serial: UInt64?, at time: Timestamp) {
        record.previousState = from
        record.state = state
        record.expected = expected
        record.pid = pid
        record.exitStatus = nil
        record.spawnError = nil
        if serial != nil { record.serial = serial }
        record.since = time
        record.history.append(.init(time: time, from: from, to: state, serial: serial))
        if record.history.count > StatusRecord.historyLimit {
            record.history.removeFirst(record.history.count - StatusRecord.historyLimit)
        }
    }

    /// Brings the record in line with what supervisord says now: after events
    /// were lost (buffer overflow, a reload, a listener restart) or when the
    /// program does not exist. Returns the transition it made, if any; with no
    /// answer (XML-RPC unavailable) there is nothing to reconcile with.
    ///
    /// getProcessInfo answers with the live state, which is ahead of any
    /// events still queued for the listener; applying it and then those events
    /// would make the record go backwards. So while events may still be queued
    /// (`eventsMayBeQueued`, at start-up) only what no queued event can
    /// contradict is applied: the program is absent, or supervisord has not
    /// spawned it since it (re)started, so a resumed record is of an earlier
    /// run. The full reconcile runs on TICK events, which arrive after every
    /// event queued before them.
    ///
    /// An EXITED state learnt this way has no event's `expected`; it is taken
    /// to be expected when the exit status is 0 (the recommended `exitcodes=0`).
    package mutating func reconcile(with answer: SupervisorAnswer, eventsMayBeQueued: Bool, at time: Timestamp) -> Outcome? {
        let info: SupervisorProcessInfo
        switch answer {
        case .unavailable:
            return nil
        case .noSuchProgram:
            guard record.state != .absent else { return nil }
            let from = record.state
            enter(.absent, from: from, expected: nil, pid: nil, serial: nil, at: time)
            return .transition(from: from, to: .absent, gap: nil)
        case .info(let answered):
            info = answered
        }
        record.stdoutLogfile = info.stdoutLogfile.isEmpty ? nil : info.stdoutLogfile
        record.stderrLogfile = info.stderrLogfile.isEmpty ? nil : info.stderrLogfile
        // STOPPED with no start time: supervisord has not spawned it yet (it
        // spawns listeners first, or it was just reloaded): "not seen yet".
        let live: ProcessState = info.state == .stopped && info.start == 0 ? .notSeen : info.state
        guard live != record.state, !eventsMayBeQueued || live == .notSeen else {
            learnDetails(from: info, eventsDrained: !eventsMayBeQueued)
            return nil
        }
        let from = record.state
        let expected: Bool? = live == .exited ? info.exitStatus == 0 : nil
        enter(live, from: from, expected: expected, pid: info.pid > 0 ? info.pid : nil, serial: nil, at: time)
        if live == .exited, info.exitStatus >= 0 { record.exitStatus = info.exitStatus }
        learnDetails(from: info, eventsDrained: !eventsMayBeQueued)
        return .transition(from: from, to: live, gap: nil)
    }

    /// Records the exit status or spawn error supervisord reports, when they
    /// describe the run the record describes; otherwise leaves them unknown.
    ///
    /// getProcessInfo's values are live, so a newer run may already have
    /// started: the run matches only when supervisord is in the recorded state,
    /// stopped no later than the listener saw the program stop, and started no
    /// later than the STARTING the listener saw for this run. Once every event
    /// emitted before the question has been applied (`eventsDrained`, on a
    /// TICK), a newer run would have shown in the record, so the STARTING
    /// (which a buffer overflow may have dropped) is not needed.
    package mutating func learnDetails(from info: SupervisorProcessInfo, eventsDrained: Bool = false) {
        guard info.state == record.state else { return }
        switch info.state {
        case .exited:
            // Exit statuses are 0 to 255; -1 stands for a signal, not a status.
            guard record.exitStatus == nil, info.exitStatus >= 0, let since = record.since,
                Int64(info.stop) <= since.millisecondsSinceEpoch / 1000
            else { return }
            if !eventsDrained {
                guard let started = record.history.last(where: { $0.to == .starting })?.time,
                    Int64(info.start) <= started.millisecondsSinceEpoch / 1000
                else { return }
            }
            record.exitStatus = info.exitStatus
        case .fatal, .backoff:
            if !info.spawnError.isEmpty { record.spawnError = info.spawnError }
        default:
            break
        }
    }
}

// MARK: - Essential programs

extension ProgramTracker {
    /// Records `failure` unless one is recorded already: the first end of an
    /// essential program is the reason for the shutdown, and it is never
    /// replaced or forgotten. True when it is new: the caller must shut down.
    package mutating func recordEssentialFailure(_ failure: EssentialFailure?) -> Bool {
        guard let failure, record.essentialFailure == nil else { return false }
        record.essentialFailure = failure
        return true
    }

    /// Applies `event` to the essential rule: true when it is the first
    /// essential failure (then recorded).
    package mutating func applyEssential(_ event: ProcessStateEvent, rule: EssentialRule, at time: @autoclosure () -> Timestamp) -> Bool {
        guard record.essentialFailure == nil else { return false }
        return recordEssentialFailure(rule.failure(for: event, at: time()))
    }

    /// The recorded failure's exit status or spawn error, from supervisord.
    package mutating func learnEssentialDetails(from info: SupervisorProcessInfo) {
        record.essentialFailure?.learnDetails(from: info)
    }

    package mutating func markEssentialShutdown(_ shutdown: EssentialFailure.Shutdown) {
        record.essentialFailure?.shutdown = shutdown
    }
}

