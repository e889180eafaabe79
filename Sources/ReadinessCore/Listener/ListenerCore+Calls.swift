/// The loop's calls with a fixed-size answer (`SupervisorCall`), one at a
/// time: an essential program's shutdown first, then the start or stop
/// under way (a program waits for it), then the handlers' questions about
/// one process (a few a TICK: the followed program, up to 8 exits for
/// `/metrics`; after lost events, the programs under `--start-after` and
/// their dependencies; a failed dependency's or an ended essential
/// program's exit status or spawn error).
extension ListenerCore {
    /// Whether a call is in flight: its answer has not been handed over.
    private var isCalling: Bool { processQuestions.asked != nil || programCalls?.inFlight == true || shutdownCall == .inFlight }

    /// The shutdown is wanted, and the essential end it is for still pending.
    private var isShutdownDue: Bool { shutdownCall == .wanted && tracker.record.essentialFailure?.shutdown == .pending }

    /// The call the loop is to make next; nil when one is in flight or none is wanted.
    package var wantedCall: SupervisorCall? {
        guard !isCalling else { return nil }
        if isShutdownDue { return .shutdown }
        return programCalls?.next ?? processQuestions.wanted.first.map { .processInfo($0.process) }
    }

    /// The loop makes `wantedCall` now: in flight from here.
    @discardableResult
    package mutating func callingSupervisor() -> SupervisorCall? {
        guard !isCalling else { return nil }
        if shutdownCall == .wanted {
            // A reload since it was wanted took the failure with its generation.
            shutdownCall = isShutdownDue ? .inFlight : nil
            if shutdownCall == .inFlight { return .shutdown }
        }
        if let call = callingForProgram() { return call }
        return processQuestions.ask().map { .processInfo($0) }
    }

    /// The answer to the call in flight, in a turn of its own.
    package mutating func answered<Port: ListenerPort & ~Copyable>(call answer: SupervisorCallAnswer, _ port: inout Port) {
        if case .shutDown(let failure) = answer { return answeredShutdown(failure: failure, &port) }
        guard let (question, eventSince) = processQuestions.answered() else { return answered(programCall: answer, &port) }
        guard case .processInfo(let answer) = answer else { return }
        if answer == .unavailable { processQuestions.dropThoseTheNextTickAsks() }
        if case .info(let info) = answer, metrics != nil, !eventSince { learnForMetrics(info, of: question.process, at: port.now) }
        if question.reasons.contains(.metrics), answer == .noSuchProgram { metrics?.forgetExit(of: question.process) }
        if !question.reasons.isDisjoint(with: [.startOrder, .dependencyFailure]) { learnForStartOrder(answer, of: question.process, eventSince: eventSince) }
        if question.reasons.contains(.essentialDetails) { learnEssentialDetails(answer, &port) }
        guard question.process == tracker.processName else { return }
        if question.reasons.contains(.details), !eventSince, case .info(let info) = answer { learnDetails(info, &port) }
        if question.reasons.contains(.tick) { reconcileAtTick(answer, of: question.process, queuedAt: question.tick, &port) }
    }
}
