@testable import ReadinessCore

/// An answer holding an array of structs, read whole a few structs at a time,
/// as the listener reads getAllProcessInfo's answer.
enum ArrayAnswer: Equatable {
    case structures([[String: XMLRPC.Value]])
    case fault(code: Int, message: String)

    init(reading bytes: [UInt8], partSize: Int = 3) throws(XMLRPCError) {
        switch try XMLRPC.ArrayReader.start(bytes) {
        case .fault(let code, let message): self = .fault(code: code, message: message)
        case .reader(var reader):
            var structures: [[String: XMLRPC.Value]] = []
            while !reader.isFinished { structures += try reader.next(upTo: partSize) }
            self = .structures(structures)
        }
    }
}
