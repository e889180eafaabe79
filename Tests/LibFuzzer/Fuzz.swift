// libFuzzer entry point for `make fuzz`: compiled with ReadinessCore's sources
// into one binary (swiftc -sanitize=fuzzer,address), not a SwiftPM target.
// READINESS_FUZZ_TARGET picks the parser: framer, status, xmlrpc, http or notify.

import Glibc

private let target = getenv("READINESS_FUZZ_TARGET").map { String(cString: $0) } ?? "framer"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    switch target {
    case "status":
        // Whatever parses must survive its own round trip.
        if let record = try? StatusRecord.parse(bytes), (try? StatusRecord.parse(record.encoded)) != record {
            fatalError("status record does not survive its round trip")
        }
    case "http":
        // Bytes after a decided head change nothing.
        let request = ProbeEndpoint.request(bytes)
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        let early = ProbeEndpoint.request(bytes[..<split])
        if early != .incomplete && early != request { fatalError("the verdict changed after the head was decided") }
        if request != .incomplete {
            let answers = ProbeEndpoint.Answers(record: StatusRecord(program: "start", state: .notSeen, listenerPID: 2, supervisordPID: 1), hook: nil)
            var memory = ProbeEndpoint.ScrapeMemory()
            let response = ProbeEndpoint.response(to: request, answers: answers, metrics: { _ in [] }, memory: &memory)
            if !response.bytes.starts(with: "HTTP/1.1 ".utf8) { fatalError("not an HTTP response") }
        }
    case "notify":
        // A STATUS is one bounded line; a MAINPID is a pid.
        if let message = try? NotifyMessage(parsing: bytes, length: bytes.count) {
            if let status = message.status, status.utf8.contains(where: { $0 < 0x20 }) || status.count > NotifyMessage.statusLimit + 1 {
                fatalError("STATUS is not one bounded line")
            }
            if let pid = message.mainPID, pid <= 0 { fatalError("MAINPID is not a pid") }
        }
    case "xmlrpc":
        if let response = try? HTTP.parse(bytes, complete: true) { _ = try? XMLRPC.parse(response.body) }
        _ = try? XMLRPC.parse(bytes)
        if case .reader(var reader)? = try? XMLRPC.ArrayReader.start(bytes) {
            while !reader.isFinished, (try? reader.next(upTo: 2)) != nil {}
        }
    default:
        // The first byte splits the input into two reads, as a pipe might.
        var framer = EventFramer()
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        for part in [bytes[..<split], bytes[split...]] {
            framer.append(part)
            do {
                while let frame = try framer.next() { _ = try? ListenerEvent.parse(frame) }
            } catch {
                return 0
            }
        }
    }
    return 0
}
