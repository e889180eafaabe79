@testable import ReadinessCore

/// The executable's loop turns, for tests that drive the core: a handler,
/// then the turn's end (`finishTurn`), where the record is written; then,
/// when the turn wanted every process, the turn of its answer, with no
/// event between (`answerEveryProcess`).
extension ListenerCore {
    /// A turn with one event.
    mutating func turn<Port: ListenerPort & ~Copyable>(_ header: EventHeader, _ event: ListenerEvent, _ port: inout Port) {
        handle(header, event, &port)
        finishTurn(&port)
        answerEveryProcess(&port)
    }

    /// What the loop does once a turn wanted every process: asks, and hands
    /// the port's answer over in a turn of its own.
    mutating func answerEveryProcess<Port: ListenerPort & ~Copyable>(_ port: inout Port) {
        guard !wantedEveryProcess.isEmpty, !isAskingEveryProcess else { return }
        _ = askingEveryProcess()
        answered(everyProcess: port.allProcessInfo(), &port)
        finishTurn(&port)
    }

    /// A turn with one datagram.
    mutating func turn<Port: ListenerPort & ~Copyable>(
        datagram bytes: [UInt8], length: Int, sender: Int?, ancestry: [Int], passedDescriptors: Int, _ port: inout Port
    ) {
        receive(datagram: bytes, length: length, sender: sender, ancestry: ancestry, passedDescriptors: passedDescriptors, &port)
        finishTurn(&port)
        answerEveryProcess(&port)
    }
}
