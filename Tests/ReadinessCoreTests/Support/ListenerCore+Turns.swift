import Testing

@testable import ReadinessCore

/// The executable's loop turns, for tests that drive the core: a handler,
/// then the turn's end (`finishTurn`), where the record is written; then,
/// when the turn wanted every process, the turn of its answer, and the
/// turns of the calls it wanted (a start's, questions about one process),
/// with no event between (`answerEveryProcess`, `answerCalls`).
extension ListenerCore {
    /// A turn with one event.
    mutating func turn(_ header: EventHeader, _ event: ListenerEvent, _ port: inout RecordingPort) {
        handle(header, event, &port)
        finishTurn(&port)
        answerEveryProcess(&port)
        answerCalls(&port)
    }

    /// What the loop does once a turn wanted every process: asks, and hands
    /// the port's answer over in a turn of its own.
    mutating func answerEveryProcess(_ port: inout RecordingPort) {
        guard !wantedEveryProcess.isEmpty, !isAskingEveryProcess else { return }
        _ = askingEveryProcess()
        answered(everyProcess: port.allProcessInfo(), &port)
        finishTurn(&port)
    }

    /// The start's call the loop is to make next, leaving out the questions
    /// about single processes (`wantedCall` has both).
    var wantedStartCall: SupervisorCall? {
        guard let programCalls, !programCalls.inFlight else { return nil }
        return programCalls.next
    }

    /// A turn with one datagram.
    mutating func turn(
        datagram bytes: [UInt8], length: Int, sender: Int?, ancestry: [Int], passedDescriptors: Int, _ port: inout RecordingPort
    ) {
        receive(datagram: bytes, length: length, sender: sender, ancestry: ancestry, passedDescriptors: passedDescriptors, &port)
        finishTurn(&port)
        answerEveryProcess(&port)
        answerCalls(&port)
    }

    /// What the loop does while calls are wanted (a start's, questions about
    /// one process, a shutdown): makes each with the port's answer
    /// (`processInfo`, `startProcess`, `stopProcess`, `requestShutdown`),
    /// each answer in a turn of its own.
    mutating func answerCalls(_ port: inout RecordingPort) {
        var calls = 0
        while let call = callingSupervisor() {
            calls += 1
            guard calls <= 100 else {
                Issue.record("the calls never end")
                return
            }
            switch call {
            case .processInfo(let process): answered(call: .processInfo(port.processInfo(process)), &port)
            case .start(let process): answered(call: .started(failure: port.startProcess(process)), &port)
            case .stop(let process): answered(call: .stopped(failure: port.stopProcess(process)), &port)
            case .shutdown: answered(call: .shutDown(failure: port.requestShutdown()), &port)
            }
            finishTurn(&port)
            answerEveryProcess(&port)
        }
    }
}
