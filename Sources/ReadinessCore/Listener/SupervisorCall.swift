/// One XML-RPC call with an answer of a fixed size, made by the loop beside
/// its other sources, one at a time, and never waited for: events go on
/// being answered meanwhile. Its answer is handed over in a turn of its own
/// (`ListenerCore.answered(call:)`). The calls are an essential program's
/// shutdown, a start's or a stop's (`ProgramCalls`), and the questions
/// handlers have about one process (`ProcessQuestions`).
package enum SupervisorCall: Equatable, Sendable {
    /// `supervisor.getProcessInfo(GROUP:NAME)`.
    case processInfo(String)
    /// `supervisor.startProcess(GROUP:NAME, wait=false)`.
    case start(String)
    /// `supervisor.stopProcess(GROUP:NAME, wait=false)`.
    case stop(String)
    /// `supervisor.shutdown()`: an essential program ended.
    case shutdown
}

/// What a `SupervisorCall` brought.
package enum SupervisorCallAnswer: Equatable, Sendable {
    /// getProcessInfo's answer; `.unavailable` when there was none.
    case processInfo(SupervisorAnswer)
    /// startProcess: nil once accepted (or already started), else why not.
    case started(failure: String?)
    /// stopProcess: nil once accepted (or not running), else why not.
    case stopped(failure: String?)
    /// supervisor.shutdown: nil once accepted, else why not.
    case shutDown(failure: String?)
}

/// What a handler wants to know of one process (`getProcessInfo`) and need
/// not wait for: the answer changes no verdict, or is checked against the
/// record when it comes.
package struct ProcessQuestion: OptionSet, Equatable, Sendable {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The followed program's exit status or spawn error, after its
    /// EXITED, FATAL or BACKOFF (no event carries them).
    package static let details = ProcessQuestion(rawValue: 1 << 0)
    /// The followed program's state, for a TICK's reconcile.
    package static let tick = ProcessQuestion(rawValue: 1 << 1)
    /// An exit status for `/metrics`.
    package static let metrics = ProcessQuestion(rawValue: 1 << 2)
    /// A program under `--start-after`, or one it waits for, after lost events.
    package static let startOrder = ProcessQuestion(rawValue: 1 << 3)
    /// The exit status or spawn error of a program one under
    /// `--start-after` waits for, after its EXITED or FATAL event said it failed.
    package static let dependencyFailure = ProcessQuestion(rawValue: 1 << 4)
    /// An essential program's exit status or spawn error, after its end:
    /// the end is said with them, then supervisord is asked to shut down.
    package static let essentialDetails = ProcessQuestion(rawValue: 1 << 5)
}

/// The questions about single processes that handlers want asked, in order,
/// and the one in flight.
struct ProcessQuestions: Sendable {
    struct Entry: Equatable, Sendable {
        let process: String
        var reasons: ProcessQuestion
        /// With `.tick`: the `when` of the TICK that wants the answer.
        var tick: Int?
    }

    private(set) var wanted: [Entry] = []
    /// The question in flight.
    private(set) var asked: Entry?
    /// An event on the asked process was applied, or events were lost,
    /// since it was asked: the answer may be older than what the listener knows.
    private(set) var eventSinceAsked = false

    /// `process` is to be asked about for `reason` (once, however often wanted before it is asked).
    mutating func want(_ process: String, for reason: ProcessQuestion, tick: Int? = nil) {
        if let index = wanted.firstIndex(where: { $0.process == process }) {
            wanted[index].reasons.insert(reason)
            if let tick { wanted[index].tick = tick }
        } else {
            wanted.append(Entry(process: process, reasons: reason, tick: tick))
        }
    }

    /// The process to ask about now, in flight from here; nil when one is in flight or none is wanted.
    mutating func ask() -> String? {
        guard asked == nil, !wanted.isEmpty else { return nil }
        asked = wanted.removeFirst()
        eventSinceAsked = false
        return asked?.process
    }

    /// An event on `process` was applied.
    mutating func noteEvent(on process: String) {
        if asked?.process == process { eventSinceAsked = true }
    }

    /// Events were lost (a gap in the pool's serials).
    mutating func noteEventsLost() {
        if asked != nil { eventSinceAsked = true }
    }

    /// supervisord did not answer: the questions only `/metrics` and the
    /// start order's refresh want wait for the next TICK, which wants them
    /// again, rather than each failing now.
    mutating func dropThoseTheNextTickAsks() {
        wanted.removeAll { $0.reasons.isSubset(of: [.metrics, .startOrder]) }
    }

    /// The answer came: what was asked, and whether an event came since.
    mutating func answered() -> (question: Entry, eventSince: Bool)? {
        guard let question = asked.take() else { return nil }
        return (question, eventSinceAsked)
    }
}
