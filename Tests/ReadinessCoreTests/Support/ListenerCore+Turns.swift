@testable import ReadinessCore

/// The executable's loop turns, for tests that drive the core: a handler,
/// then the turn's end (`finishTurn`), where the record is written.
extension ListenerCore {
    /// A turn with one event.
    mutating func turn<Port: ListenerPort & ~Copyable>(_ header: EventHeader, _ event: ListenerEvent, _ port: inout Port) {
        handle(header, event, &port)
        finishTurn(&port)
    }

    /// A turn with one datagram.
    mutating func turn<Port: ListenerPort & ~Copyable>(
        datagram bytes: [UInt8], length: Int, sender: Int?, ancestry: [Int], passedDescriptors: Int, _ port: inout Port
    ) {
        receive(datagram: bytes, length: length, sender: sender, ancestry: ancestry, passedDescriptors: passedDescriptors, &port)
        finishTurn(&port)
    }
}
