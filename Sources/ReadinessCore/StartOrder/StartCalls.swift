/// The calls that start one program, a call at a time: each process it
/// names (the program and what it waits for) asked about again, since an
/// event can be older than what supervisord has now; then, if every
/// condition still holds, startProcess. An event on one of those processes
/// before startProcess is made makes the answers suspect (the event may be
/// newer or older than an answer), and the start is looked at again afresh.
struct StartCalls: Sendable {
    let program: String
    /// The program and the processes it waits for.
    let processes: [String]
    /// The processes still to ask about: the first one is asked next, or now.
    private(set) var toAsk: [String]
    /// The next call has been handed to the loop; its answer has not come.
    var inFlight = false
    /// An event on one of `processes` came, or events were lost, before
    /// startProcess was made.
    private(set) var eventSinceAsking = false

    init(program: String, dependencies: [String]) {
        self.program = program
        processes = [program] + dependencies
        toAsk = processes
    }

    /// The call to make next.
    var next: SupervisorCall { toAsk.first.map { .processInfo($0) } ?? .start(program) }

    /// An event on `process` was applied.
    mutating func noteEvent(on process: String) {
        if !isStartMade, processes.contains(process) { eventSinceAsking = true }
    }

    /// Events were lost (a gap in the pool's serials): any may have been
    /// on these processes.
    mutating func noteEventsLost() {
        if !isStartMade { eventSinceAsking = true }
    }

    /// getProcessInfo's answer arrived: the process it was about.
    mutating func asked() -> String { toAsk.removeFirst() }

    /// Every process has been asked about: startProcess comes next.
    var isConfirmed: Bool { toAsk.isEmpty }

    /// startProcess has been made: later events are the start's own.
    private var isStartMade: Bool { isConfirmed && inFlight }
}
