/// What supervisord's XML-RPC interface says of the followed program, found
/// by its real `GROUP:NAME` (a start.sh inside a `[group:x]` is not `start`).
package enum ProgramLookup: Equatable, Sendable {
    /// No usable answer: events only.
    case unavailable
    /// No process of that name in any group it may be in.
    case absent
    case found(process: String, info: SupervisorProcessInfo)
}

/// Follows one program through PROCESS_STATE events and supervisord's answers:
/// the rule "READY only for a run of this generation that exited expected",
/// with no I/O, so that every interleaving can be tested directly.
///
/// What it rests on:
/// - **Run identity.** A run is what one spawn starts; supervisord's
///   `start` (from XML-RPC) names it. A restarted listener keeps a resumed
///   finished state only while supervisord still shows that same run.
/// - **Generation.** A reload keeps supervisord's pid, start time and event
///   serials but starts every program again. It is heard three ways:
///   SUPERVISOR_STATE_CHANGE_STOPPING (when the listener records it before
///   it is stopped), a first event whose `poolserial` went back (a new event
///   pool), and supervisord showing another run at start-up, which resets
///   the program's state but not an essential failure. A new pool alone is
///   not a reload when supervisord still shows the recorded run (by its
///   start, or an exit dated no later than the record's or after
///   supervisord's own `now`, before the clock stepped back) at start-up:
///   `supervisorctl update` of the listener's own section gives it a new
///   pool and leaves every other program running.
/// - **Two-phase reconcile.** A TICK's XML-RPC answer is live, ahead of the
///   events still queued behind the TICK; applied at once it could take the
///   record backwards when they arrive. A disagreement seen at one TICK is
///   applied at a later TICK queued after that answer (its `when` is later
///   than the answer's `now`: ticks queue up behind a busy listener), if no
///   event of the program came in between and supervisord still says the
///   same: then no older event is left to arrive. Runs are told apart by
///   `start`, in whole seconds: two runs started within one second, with
///   every event between them lost, are the limit. Before a TICK named the
///   run, an exit of the same status and verdict is taken for it: times of
///   different clocks' readings cannot tell it apart once the clock steps
///   back, and the verdict is the same.
package struct ProgramTracker: Sendable {
    package let selector: ProcessPattern
    package private(set) var record: StatusRecord
    /// What supervisord said at the last TICK where it disagreed with the record.
    private var disagreement: SupervisorProcessInfo?
    /// Whether an event of the program was applied since the last TICK.
    private var eventSinceTick = false
    /// After `reset`: an event with the recorded serial is applied once more.
    private var redeliveryWelcome = false
    /// A resumed record whose generation the next event's `poolserial`
    /// confirms. Asked with or without XML-RPC: the STOPPING event is not
    /// always recorded (with nothing else to stop, supervisord stops the
    /// listener within a few milliseconds of sending it), and supervisord
    /// showing another run of start.sh does not tell a reload from a
    /// restart of it, but only a reload ends an essential failure.
    private var generationUnconfirmed = false

    /// What applying an event did.
    package enum Outcome: Equatable, Sendable {
        /// The event is about another program (the listener's own included).
        case otherProgram
        /// Already applied: supervisord redelivers an event whose handler crashed.
        case duplicate
        /// The program changed state. `gap` is the state the listener had last
        /// recorded when it differs from the event's `from_state`: events were lost.
        case transition(from: RecordedState, to: RecordedState, gap: RecordedState?)

        /// Whether the listener asks supervisord for what no event carries
        /// (`learnDetails`): the one place that decides which states need it
        /// (exit status after EXITED, spawn error after FATAL or BACKOFF).
        package var needsDetails: Bool {
            switch self {
            case .transition(_, .process(.exited), _), .transition(_, .process(.fatal), _), .transition(_, .process(.backoff), _): true
            case .otherProgram, .duplicate, .transition: false
            }
        }
    }

    /// How the listener's start related to the record it found.
    package enum Resumption: Equatable, Sendable {
        /// No record, or one of another program.
        case fresh
        /// Written under another supervisord, or one whose identity cannot be
        /// told (no /proc): it says nothing of this one's runs.
        case otherSupervisord
        /// The same supervisord, which announced a shutdown or reload since:
        /// a new generation.
        case reloaded
        /// The same supervisord and generation: the listener was restarted.
        case resumed
    }

    package private(set) var resumption: Resumption

    /// Starts from `previous` when it was written by this same supervisord
    /// (same pid and start time, both known) for this program, and
    /// supervisord has not announced a reload since; else from NOT_SEEN.
    package init(
        selector: ProcessPattern, listenerPID: Int, supervisordPID: Int, supervisordStartTicks: UInt64?,
        previous: StatusRecord?, at time: Timestamp
    ) {
        self.selector = selector
        var fresh = StatusRecord(program: selector.description, listenerPID: listenerPID, supervisordPID: supervisordPID)
        fresh.supervisordStartTicks = supervisordStartTicks
        guard var previous, previous.program == selector.description else {
            record = fresh
            resumption = .fresh
            return
        }
        guard previous.supervisordPID == supervisordPID, let ticks = supervisordStartTicks, previous.supervisordStartTicks == ticks else {
            record = fresh
            resumption = .otherSupervisord
            return
        }
        previous.listenerPID = listenerPID
        record = previous
        if previous.supervisordStopping {
            resumption = .reloaded
            startGeneration(at: time)
        } else {
            resumption = .resumed
            generationUnconfirmed = true
        }
    }

    /// The record of a new generation: nothing of the last one's runs counts,
    /// its essential failure included (the new generation starts every
    /// program again, and its configuration may differ). History is kept for
    /// people reading the file.
    private mutating func startGeneration(at time: Timestamp) {
        let from = record.state
        record.essentialFailure = nil
        record.supervisordStopping = false
        record.poolSerial = nil
        record.process = nil
        enter(.notSeen, from: from, expected: nil, pid: nil, serial: nil, at: time)
        disagreement = nil
        generationUnconfirmed = false
    }

    /// Whether the program has been seen in this generation: only before
    /// that may "no such program" mean ABSENT (a `supervisorctl update` that
    /// re-adds its group passes through BAD_NAME for a moment).
    private var seen: Bool { record.state.processState != nil }

    // MARK: - Events

    /// `time` is asked only when the event changes the record; `poolSerial`
    /// is the event header's.
    package mutating func apply(_ event: ProcessStateEvent, poolSerial: UInt64? = nil, at time: @autoclosure () -> Timestamp) -> Outcome {
        guard selector.matches(processName: event.processName, groupName: event.groupName) else { return .otherProgram }
        if let applied = record.serial, event.serial < applied || (event.serial == applied && !redeliveryWelcome) { return .duplicate }
        redeliveryWelcome = false
        let recorded = record.state
        record.process = "\(event.groupName):\(event.processName)"
        enter(.process(event.state), from: .process(event.fromState), expected: event.state == .exited ? event.expected : nil,
              pid: event.pid.flatMap { $0 > 0 ? $0 : nil }, serial: event.serial, at: time())
        record.poolSerial = poolSerial
        eventSinceTick = true
        disagreement = nil
        let gap = recorded == .process(event.fromState) || recorded == .notSeen || recorded == .absent ? nil : recorded
        return .transition(from: .process(event.fromState), to: .process(event.state), gap: gap)
    }

    /// Whether this is known to be the generation the record was written
    /// in (or a new one): false for a resumed record until supervisord
    /// showed the recorded run or the first event's `poolserial` spoke.
    package var generationConfirmed: Bool { !generationUnconfirmed }

    /// The first event after a restart says whether the pool
    /// is the one that wrote the record: a pool's `poolserial` only grows,
    /// and a redelivered event has the recorded serial too. A lower one, or
    /// the same with another serial, comes from a new pool: a reload.
    /// True when that started a new generation.
    @discardableResult
    package mutating func confirmGeneration(by header: EventHeader, at time: @autoclosure () -> Timestamp) -> Bool {
        guard generationUnconfirmed else { return false }
        generationUnconfirmed = false
        guard let recorded = record.poolSerial, let current = header.poolSerial else { return false }
        guard current < recorded || (current == recorded && header.serial != record.serial) else { return false }
        startGeneration(at: time())
        return true
    }

    /// SUPERVISOR_STATE_CHANGE_STOPPING: the current run no longer counts;
    /// a new listener after a reload starts a new generation from it. True
    /// when the record changed.
    package mutating func supervisordStopping() -> Bool {
        guard !record.supervisordStopping else { return false }
        record.supervisordStopping = true
        return true
    }

    private mutating func enter(_ state: RecordedState, from: RecordedState, expected: Bool?, pid: Int?, serial: UInt64?, at time: Timestamp) {
        record.previousState = from
        record.state = state
        record.expected = expected
        record.pid = pid
        record.exitStatus = nil
        record.spawnError = nil
        record.runStart = nil
        if serial != nil { record.serial = serial }
        record.since = time
        record.history.append(.init(time: time, from: from, to: state, serial: serial))
        if record.history.count > StatusRecord.historyLimit {
            record.history.removeFirst(record.history.count - StatusRecord.historyLimit)
        }
    }

    // MARK: - supervisord's answers

    /// What the listener asks supervisord for: the `GROUP:NAME` once known.
    package var processName: String? { record.process }

    /// At start-up, while events may still be queued: only what no queued
    /// event can contradict. A resumed state is kept only when supervisord
    /// shows the same run (a reload, or a run started while the listener was
    /// down, makes it another); ABSENT only before the program was seen.
    /// Returns the transition made, if any.
    package mutating func startUp(with lookup: ProgramLookup, at time: Timestamp) -> Outcome? {
        switch lookup {
        case .unavailable:
            return nil
        case .absent:
            if seen { return reset(at: time) }
            return enterAbsent(at: time)
        case .found(let process, let info):
            record.process = process
            learnLogfiles(from: info)
            guard seen else {
                // ABSENT resumed, but the program exists now: wait for its events.
                return record.state == .absent ? reset(at: time) : nil
            }
            guard isSameRun(info) else { return reset(at: time) }
            // The very run the record names, by its start, or an exit
            // supervisord dates no later than the listener recorded it (or
            // before the clock stepped back): a reload would have started a
            // new run, so a new pool is only the listener's. That exit's
            // start names the run from here, for a listener restarted once
            // the clock is past it. A run still going proves nothing without
            // its start.
            if record.runStart != nil {
                generationUnconfirmed = false
            } else if info.state == .exited, stoppedNoLaterThanRecorded(info) || Self.stoppedBeforeAClockStep(info) {
                generationUnconfirmed = false
                record.runStart = info.start
            }
            learnDetails(from: info)
            return nil
        }
    }

    /// On a TICK, once every event queued before it was applied: the
    /// two-phase reconcile (see the type's comment). Returns the transition
    /// made, if any.
    package mutating func tick(with lookup: ProgramLookup, queuedAt tickTime: Int?, at time: Timestamp) -> Outcome? {
        defer { eventSinceTick = false }
        switch lookup {
        case .unavailable:
            return nil
        case .absent:
            disagreement = nil
            return seen ? nil : enterAbsent(at: time)
        case .found(let process, let info):
            record.process = process
            learnLogfiles(from: info)
            // STOPPED and never started: supervisord has not spawned it yet.
            if info.state == .stopped && info.start == 0 && !seen {
                disagreement = nil
                return record.state == .absent ? reset(at: time) : nil
            }
            // The same answer as at an earlier TICK, with no event of the
            // program since, and this tick queued after that answer (its
            // `when` later than the answer's `now`; ticks queue up behind a
            // busy listener): no older event is left to arrive.
            let repeated = !eventSinceTick && disagreement?.state == info.state && disagreement?.start == info.start
            let confirmed = repeated && (tickTime ?? Int.min) > (disagreement?.now ?? Int.max)
            if isSameRun(info) {
                // The same state, and the run known to be the same: what
                // supervisord adds is this run's. With the run unknown, the
                // answer may be of a newer run whose events are queued behind
                // this tick: its details are taken once confirmed, as a
                // change of state is.
                if record.runStart != nil || confirmed {
                    disagreement = nil
                    learnDetails(from: info, eventsDrained: true)
                } else if !repeated {
                    disagreement = info
                }
                return nil
            }
            guard repeated else {
                disagreement = info
                return nil
            }
            guard confirmed else { return nil }
            disagreement = nil
            let from = record.state
            enter(.process(info.state), from: from, expected: info.state == .exited ? info.exitWasExpected : nil,
                  pid: info.pid > 0 ? info.pid : nil, serial: nil, at: time)
            learnDetails(from: info, eventsDrained: true)
            return .transition(from: from, to: record.state, gap: nil)
        }
    }

    /// Whether lost events could hide a newer run behind the recorded one:
    /// it says exited as expected (READY), and a newer run would not be.
    package var readyMayBeStale: Bool { record.state == .process(.exited) && record.expected == true }

    /// Events were lost (a gap in the pool's serials): a recorded READY
    /// stands only while supervisord shows that run. Another run (its
    /// STARTING may be among the lost) sends the record back to NOT_SEEN at
    /// once rather than at the TICKs; events or TICKs then tell what it is.
    /// Returns the transition made, if any.
    package mutating func afterLostEvents(with lookup: ProgramLookup, at time: Timestamp) -> Outcome? {
        guard readyMayBeStale, case .found(_, let info) = lookup, !isSameRun(info) else { return nil }
        disagreement = nil
        return reset(at: time)
    }

    private mutating func enterAbsent(at time: Timestamp) -> Outcome? {
        guard record.state != .absent else { return nil }
        let from = record.state
        enter(.absent, from: from, expected: nil, pid: nil, serial: nil, at: time)
        return .transition(from: from, to: .absent, gap: nil)
    }

    /// Back to NOT_SEEN: the recorded run is not the one supervisord has.
    /// The event that set the record may come again (its listener died
    /// before answering it): it is the newest word on the program, so it is
    /// applied then.
    private mutating func reset(at time: Timestamp) -> Outcome {
        redeliveryWelcome = true
        let from = record.state
        enter(.notSeen, from: from, expected: nil, pid: nil, serial: nil, at: time)
        return .transition(from: from, to: .notSeen, gap: nil)
    }

    /// Whether `info` may describe the run the record describes: the same
    /// state, the same exit (status, expected) for EXITED, and the same
    /// `start` once the record knows it (supervisord was asked about that
    /// run). Without it, the exit's time does not tell: the wall clock may
    /// have stepped back since, and a newer run's identical exit gets the
    /// same verdict.
    private func isSameRun(_ info: SupervisorProcessInfo) -> Bool {
        guard info.state == record.state.processState else { return false }
        if info.state == .exited {
            if let status = record.exitStatus, info.exitStatus >= 0, status != info.exitStatus { return false }
            if let expected = record.expected, expected != info.exitWasExpected { return false }
        }
        if let runStart = record.runStart { return runStart == info.start }
        return true
    }

    /// Whether supervisord dates the exit no later than the listener recorded
    /// it: then it is this run's, not a newer one's, unless the wall clock
    /// stepped back in between.
    private func stoppedNoLaterThanRecorded(_ info: SupervisorProcessInfo) -> Bool {
        guard let since = record.since else { return false }
        return Int64(info.stop) <= since.millisecondsSinceEpoch / 1000
    }

    /// Whether supervisord dates the exit after its own `now`: the wall
    /// clock stepped back since, and the exit's time cannot be set against
    /// the record's.
    private static func stoppedBeforeAClockStep(_ info: SupervisorProcessInfo) -> Bool {
        info.now > 0 && info.stop > info.now
    }

    private mutating func learnLogfiles(from info: SupervisorProcessInfo) {
        record.stdoutLogfile = info.stdoutLogfile.isEmpty ? nil : info.stdoutLogfile
        record.stderrLogfile = info.stderrLogfile.isEmpty ? nil : info.stderrLogfile
    }

    /// Records the run's identity, exit status or spawn error that supervisord
    /// reports, when they describe the run the record describes; otherwise
    /// leaves them unknown.
    ///
    /// getProcessInfo's values are live, so a newer run may already have
    /// started: the exit status or spawn error is taken only when supervisord
    /// is in the recorded state, stopped no later than the listener saw the
    /// program stop, and started no later than the STARTING (or RUNNING) the
    /// listener saw. The run's identity (`runStart`), which decides whether a
    /// READY is kept, is taken only from an answer a later TICK confirmed
    /// (`eventsDrained`): the listener sees a STARTING when it handles it, not
    /// when the run began, so times alone can take a newer run for this one.
    package mutating func learnDetails(from info: SupervisorProcessInfo, eventsDrained: Bool = false) {
        guard info.state == record.state.processState else { return }
        learnLogfiles(from: info)
        // This run's STARTING, or its RUNNING when the STARTING was lost: a
        // later run started after both.
        let startedNoLater: Bool
        if eventsDrained {
            startedNoLater = true
        } else if let started = record.history.last(where: { $0.to == .process(.starting) || $0.to == .process(.running) })?.time {
            startedNoLater = Int64(info.start) <= started.millisecondsSinceEpoch / 1000
        } else {
            startedNoLater = false
        }
        switch info.state {
        case .exited:
            // Exit statuses are 0 to 255; -1 stands for a signal, not a status.
            let status = info.exitStatus >= 0 ? info.exitStatus : nil
            if eventsDrained {
                // The latest run, whichever the events named: its status too.
                record.runStart = info.start
                record.exitStatus = status
            } else if startedNoLater, stoppedNoLaterThanRecorded(info), record.exitStatus == nil {
                record.exitStatus = status
            }
        case .fatal:
            if eventsDrained { record.runStart = info.start }
            if !info.spawnError.isEmpty { record.spawnError = info.spawnError }
        case .backoff:
            if !info.spawnError.isEmpty { record.spawnError = info.spawnError }
        default:
            if eventsDrained { record.runStart = info.start }
        }
    }
}

// MARK: - Essential programs

extension ProgramTracker {
    /// Records `failure` unless one is recorded already: the first end of an
    /// essential program is the reason for the shutdown, and it is never
    /// replaced or forgotten within a generation. True when it is new: the
    /// caller must shut down.
    package mutating func recordEssentialFailure(_ failure: EssentialFailure?) -> Bool {
        guard let failure, record.essentialFailure == nil else { return false }
        record.essentialFailure = failure
        return true
    }

    /// Applies `event` to the essential rule: true when it is the first
    /// essential failure (then recorded). A dry run's failure is cleared when
    /// that program runs again, so that its next end is reported too.
    package mutating func applyEssential(_ event: ProcessStateEvent, rule: EssentialRule, at time: @autoclosure () -> Timestamp) -> Bool {
        if let failure = record.essentialFailure {
            if failure.shutdown == .dryRun, event.state == .running, failure.program == "\(event.groupName):\(event.processName)" {
                record.essentialFailure = nil
            }
            return false
        }
        return recordEssentialFailure(rule.failure(for: event, at: time()))
    }

    /// The recorded failure's exit status or spawn error, from supervisord.
    package mutating func learnEssentialDetails(from info: SupervisorProcessInfo) {
        record.essentialFailure?.learnDetails(from: info)
    }

    /// Drops the recorded failure of a program the listener's `--essential`
    /// no longer names (its section was changed and updated).
    package mutating func forgetEssentialFailure() {
        record.essentialFailure = nil
    }

    package mutating func markEssentialShutdown(_ shutdown: EssentialFailure.Shutdown) {
        record.essentialFailure?.shutdown = shutdown
    }
}
