#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import ReadinessCore

/// Bounded, seeded fuzzing of the five parsers that read bytes from outside:
/// the event framer (supervisord's stream), the status file parser (a file
/// anyone may write), the XML-RPC answer parser, the HTTP request head
/// parser (anything on the cluster network) and the sd_notify message
/// parser (any local process). Each gets mutated valid
/// inputs and random bytes; none may crash, hang or grow without bound.
/// READINESS_FUZZ_ITERATIONS changes the count; `make fuzz` runs libFuzzer on the same parsers.
@Suite struct FuzzTests {
    static let iterations = Int(Environment.value("READINESS_FUZZ_ITERATIONS") ?? "") ?? 100_000

    static let interesting: [[UInt8]] = ["len:", "len:-1", "len:99999999", "\n", ":", " ", "\r\n\r\n", "<member>", "</member>", "<value>", "&amp;", "&", "=", "end=1\n", "history=", "\u{0}", "é", "\u{FFFF}"].map { Array($0.utf8) }

    static func mutate(_ seed: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = seed
        for _ in 0..<Int.random(in: 1...8, using: &random) {
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty: bytes.remove(at: Int.random(in: 0..<bytes.count, using: &random))
            case 2: bytes.insert(contentsOf: interesting.randomElement(using: &random)!, at: Int.random(in: 0...bytes.count, using: &random))
            case 3 where !bytes.isEmpty: bytes.removeLast(Int.random(in: 0...bytes.count, using: &random))
            case 4 where bytes.count > 1:
                let from = Int.random(in: 0..<bytes.count, using: &random)
                let to = Int.random(in: from...bytes.count, using: &random)
                bytes.insert(contentsOf: bytes[from..<to], at: Int.random(in: 0...bytes.count, using: &random))
            default: bytes += (0..<Int.random(in: 0...16, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
        }
        return bytes
    }

    static func inputs(seeds: [[UInt8]], seed: UInt64, body: ([UInt8]) -> Void) {
        var random = SeededGenerator(seed: seed)
        for iteration in 0..<iterations {
            let input = iteration % 10 == 9
                ? (0..<Int.random(in: 0...512, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                : mutate(seeds[iteration % seeds.count], &random)
            body(input)
        }
    }

    @Test func eventFramer() {
        var frames = 0
        Self.inputs(seeds: [recordedStream, Array(ListenerProtocolFixtures.tick.utf8)], seed: 1) { input in
            var framer = EventFramer()
            var random = SeededGenerator(seed: UInt64(input.count) + 1)
            var offset = 0
            var framed: [UInt8] = []
            while offset < input.count {
                let size = Int.random(in: 1...max(1, input.count - offset), using: &random)
                framer.append(input[offset..<min(input.count, offset + size)])
                offset += size
                do {
                    while let frame = try framer.next() {
                        frames += 1
                        framed += frame.header + [UInt8(ascii: "\n")] + frame.payload
                        _ = try? ListenerEvent.parse(frame)
                    }
                } catch {
                    return  // unframeable: the listener exits; nothing more to read
                }
                // However the reads split the stream, the frames are the stream's
                // bytes in order, and only the rest is still pending.
                #expect(Array(input.prefix(framed.count)) == framed)
                #expect(framer.pendingByteCount == offset - framed.count)
            }
        }
        #expect(frames > 0, "the mutations kept some inputs valid")
    }

    @Test func statusFileParser() {
        var parsed = 0
        var withFailure = sampleRecord
        withFailure.essentialFailure = EssentialFailure(program: "web:nginx", state: .fatal, spawnError: "can't find command", shutdown: .requested)
        var withServices = sampleRecord
        var redis = ServiceState(process: "redis:redis", kind: .notify)
        redis.state = .running
        redis.run = 42
        redis.signal = .ready
        redis.ready = true
        redis.detail = "Ready to accept connections"
        withServices.services = [redis, ServiceState(process: "web:*", kind: .tcp)]
        Self.inputs(seeds: [sampleRecord.encoded, withFailure.encoded, withServices.encoded], seed: 2) { input in
            if let record = try? StatusRecord.parse(input) {
                parsed += 1
                // Whatever parses must survive its own round trip.
                #expect((try? StatusRecord.parse(record.encoded)) == record, "\(String(decoding: input, as: UTF8.self).debugDescription)")
            }
        }
        #expect(parsed > 0)
    }

    @Test func xmlRPCParser() {
        var parsed = 0
        let seeds = [RecordedAnswers.processInfo, RecordedAnswers.badName].map { Array($0.utf8) }
        Self.inputs(seeds: seeds, seed: 3) { input in
            if let response = try? HTTP.parse(input, complete: true), (try? XMLRPC.parse(response.body)) != nil { parsed += 1 }
            _ = try? XMLRPC.parse(input)
            _ = try? ArrayAnswer(reading: input)
        }
        #expect(parsed > 0)
    }
}

extension FuzzTests {
    @Test func httpRequestParser() {
        var complete = 0
        let answers = ProbeEndpoint.Answers(
            record: StatusRecord(program: "start", state: .notSeen, listenerPID: 2, supervisordPID: 1), hook: nil)
        let seeds = ["GET /readyz HTTP/1.1\r\nHost: 10.0.0.7:8080\r\nUser-Agent: kube-probe/1.30\r\n\r\n", "HEAD /livez HTTP/1.0\n\n"]
        Self.inputs(seeds: seeds.map { Array($0.utf8) }, seed: 4) { input in
            let request = ProbeEndpoint.request(input)
            if case .complete = request { complete += 1 }
            // Bytes after a decided head change nothing: the verdict is the
            // head's, whichever read completed it.
            let split = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
            let early = ProbeEndpoint.request(input[..<split])
            if early != .incomplete { #expect(early == request, "\(String(decoding: input, as: UTF8.self).debugDescription)") }
            if request != .incomplete {
                var memory = ProbeEndpoint.ScrapeMemory()
                let response = ProbeEndpoint.response(to: request, answers: answers, metrics: { _ in Array("readiness_events_total 0\n".utf8) }, memory: &memory)
                #expect(response.bytes.starts(with: "HTTP/1.1 \(response.status) ".utf8) && response.bytes.count < 1024)
            }
        }
        #expect(complete > 0)
    }
}

extension FuzzTests {
    /// sd_notify datagrams: whatever parses says at most one signal, a
    /// bounded one-line STATUS, and the same for the same bytes read whole.
    @Test func notifyMessageParser() {
        var parsed = 0
        let seeds = ["STATUS=Redis is loading...\n", "READY=1\nMAINPID=4242", "RELOADING=1", "STOPPING=1\nSTATUS=bye\nWATCHDOG=1"]
        Self.inputs(seeds: seeds.map { Array($0.utf8) }, seed: 5) { input in
            guard let message = try? NotifyMessage(parsing: input, length: input.count) else { return }
            parsed += 1
            if let status = message.status {
                #expect(!status.utf8.contains { $0 < 0x20 } && status.count <= NotifyMessage.statusLimit + 1)
            }
            #expect(message.mainPID.map { $0 > 0 } ?? true)
        }
        #expect(parsed > 0)
    }
}

enum ListenerProtocolFixtures {
    static let tick = "ver:3.0 server:supervisor serial:9 pool:readiness_listener poolserial:9 eventname:TICK_5 len:15\nwhen:1795389208"
}

/// The environment, read without Foundation.
enum Environment {
    static func value(_ name: String) -> String? {
        guard let pointer = getenv(name) else { return nil }
        return String(cString: pointer)
    }
}
