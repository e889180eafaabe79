/// The calls that start one program, or (`--restart-dependents`) stop one
/// whose dependency stopped, a call at a time: each process it names (the
/// program and what it waits for) asked about again, since an event can be
/// older than what supervisord has now; then, if the start's conditions
/// still hold (or the stop's reason still stands), startProcess or
/// stopProcess. An event on one of those processes before that last call is
/// made makes the answers suspect (the event may be newer or older than an
/// answer), and the program is looked at again afresh.
struct ProgramCalls: Sendable {
    let program: String
    /// Why the program is to be stopped (the `why` of its log line); nil
    /// for a start.
    var stopping: String?
    /// The program and the processes it waits for.
    let processes: [String]
    /// The processes still to ask about: the first one is asked next, or now.
    private(set) var toAsk: [String]
    /// The next call has been handed to the loop; its answer has not come.
    var inFlight = false
    /// An event on one of `processes` came, or events were lost, before
    /// the start or stop was made.
    private(set) var eventSinceAsking = false

    init(program: String, dependencies: [String], stopping: String? = nil) {
        self.program = program
        self.stopping = stopping
        processes = [program] + dependencies
        toAsk = processes
    }

    /// The call to make next.
    var next: SupervisorCall {
        if let process = toAsk.first { return .processInfo(process) }
        return stopping == nil ? .start(program) : .stop(program)
    }

    /// An event on `process` was applied.
    mutating func noteEvent(on process: String) {
        if !isMade, processes.contains(process) { eventSinceAsking = true }
    }

    /// Events were lost (a gap in the pool's serials): any may have been
    /// on these processes.
    mutating func noteEventsLost() {
        if !isMade { eventSinceAsking = true }
    }

    /// getProcessInfo's answer arrived: the process it was about.
    mutating func asked() -> String { toAsk.removeFirst() }

    /// The questions left are not asked: the stop is made on the events' word.
    mutating func skipToTheCall() { toAsk = [] }

    /// Every process has been asked about: the start or stop comes next.
    var isConfirmed: Bool { toAsk.isEmpty }

    /// The start or stop has been made: later events are its own.
    private var isMade: Bool { isConfirmed && inFlight }
}
