/// The loop's calls with a fixed-size answer (`SupervisorCall`), one at a
/// time: the start or stop under way first (a program waits for it), then the
/// handlers' questions about one process (a few a TICK: the followed
/// program, up to 8 exits for `/metrics`; after lost events, the programs
/// under `--start-after` and their dependencies).
extension ListenerCore {
    /// Whether a call is in flight: its answer has not been handed over.
    private var isCalling: Bool { processQuestions.asked != nil || programCalls?.inFlight == true }

    /// The call the loop is to make next; nil when one is in flight or none is wanted.
    package var wantedCall: SupervisorCall? {
        guard !isCalling else { return nil }
        return programCalls?.next ?? processQuestions.wanted.first.map { .processInfo($0.process) }
    }

    /// The loop makes `wantedCall` now: in flight from here.
    @discardableResult
    package mutating func callingSupervisor() -> SupervisorCall? {
        guard !isCalling else { return nil }
        if let call = callingForProgram() { return call }
        return processQuestions.ask().map { .processInfo($0) }
    }

    /// The answer to the call in flight, in a turn of its own.
    package mutating func answered<Port: ListenerPort & ~Copyable>(call answer: SupervisorCallAnswer, _ port: inout Port) {
        guard let (question, eventSince) = processQuestions.answered() else { return answered(programCall: answer, &port) }
        guard case .processInfo(let answer) = answer else { return }
        if answer == .unavailable { processQuestions.dropThoseTheNextTickAsks() }
        if case .info(let info) = answer, metrics != nil, !eventSince { learnForMetrics(info, of: question.process, at: port.now) }
        if question.reasons.contains(.metrics), answer == .noSuchProgram { metrics?.forgetExit(of: question.process) }
        if question.reasons.contains(.startOrder) { learnForStartOrder(answer, of: question.process, eventSince: eventSince) }
        guard question.process == tracker.processName else { return }
        if question.reasons.contains(.details), !eventSince, case .info(let info) = answer { learnDetails(info, &port) }
        if question.reasons.contains(.tick) { reconcileAtTick(answer, of: question.process, queuedAt: question.tick, &port) }
    }
}
