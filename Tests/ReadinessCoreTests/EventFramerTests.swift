import Testing

@testable import ReadinessCore

/// Bytes exactly as supervisord 4.3.0 writes them: header line, payload without newline.
let recordedStream: [UInt8] = Array(
    ("ver:3.0 server:supervisor serial:21 pool:readiness_listener poolserial:10 eventname:PROCESS_STATE_STARTING len:60\n"
        + "processname:start groupname:start from_state:STOPPED tries:0"
        + "ver:3.0 server:supervisor serial:22 pool:readiness_listener poolserial:11 eventname:PROCESS_STATE_RUNNING len:60\n"
        + "processname:start groupname:start from_state:STARTING pid:77"
        + "ver:3.0 server:supervisor serial:23 pool:readiness_listener poolserial:12 eventname:PROCESS_STATE_EXITED len:70\n"
        + "processname:start groupname:start from_state:RUNNING expected:1 pid:77").utf8)

func frames(of stream: [UInt8], chunks: [Int]) throws -> [Frame] {
    var framer = EventFramer()
    var result: [Frame] = []
    var offset = 0
    for size in chunks {
        framer.append(stream[offset..<(offset + size)])
        offset += size
        while let frame = try framer.next() { result.append(frame) }
    }
    return result
}

@Suite struct EventFramerTests {
    @Test func recordedEventsFrameInOneRead() throws {
        let result = try frames(of: recordedStream, chunks: [recordedStream.count])
        #expect(result.count == 3)
        #expect(String(decoding: result[2].payload, as: UTF8.self) == "processname:start groupname:start from_state:RUNNING expected:1 pid:77")
        #expect(result.map(\.payload.count) == [60, 60, 70])
    }

    @Test func everySplitPointGivesTheSameFrames() throws {
        let whole = try frames(of: recordedStream, chunks: [recordedStream.count])
        for split in 1..<recordedStream.count {
            let parts = try frames(of: recordedStream, chunks: [split, recordedStream.count - split])
            #expect(parts == whole, "split at \(split)")
        }
    }

    @Test func byteByByteGivesTheSameFrames() throws {
        let whole = try frames(of: recordedStream, chunks: [recordedStream.count])
        #expect(try frames(of: recordedStream, chunks: Array(repeating: 1, count: recordedStream.count)) == whole)
    }

    @Test func incompletePayloadWaitsForMoreBytes() throws {
        var framer = EventFramer()
        framer.append(recordedStream.prefix(130))
        #expect(try framer.next() == nil)
        #expect(framer.pendingByteCount == 130)
    }

    /// `len` counts characters (Python's len(str)), so a program named "démarrage"
    /// has more payload bytes than len says; the frame must still end at the right byte.
    @Test func lengthCountsCharactersNotBytes() throws {
        let payload = "processname:démarrage-日本 groupname:démarrage-日本 from_state:STOPPED tries:0"
        let next = "ver:3.0 server:supervisor serial:2 pool:p poolserial:2 eventname:TICK_5 len:15\nwhen:1700000000"
        let stream = Array(
            ("ver:3.0 server:supervisor serial:1 pool:p poolserial:1 eventname:PROCESS_STATE_STARTING len:\(payload.count)\n"
                + payload + next).utf8)
        #expect(payload.utf8.count > payload.count)
        for split in 1..<stream.count {
            let result = try frames(of: stream, chunks: [split, stream.count - split])
            #expect(result.count == 2)
            #expect(String(decoding: result[0].payload, as: UTF8.self) == payload)
            #expect(String(decoding: result[1].payload, as: UTF8.self) == "when:1700000000")
        }
    }

    @Test func zeroLengthPayload() throws {
        let stream = Array("ver:3.0 serial:1 eventname:TICK_5 len:0\nver:3.0 serial:2 eventname:TICK_5 len:0\n".utf8)
        #expect(try frames(of: stream, chunks: [stream.count]).count == 2)
    }

    @Test(arguments: [
        ("ver:3.0 serial:1 eventname:TICK_5\n", FramingError.missingLength),
        ("ver:3.0 serial:1 eventname:TICK_5 len:abc\n", FramingError.invalidLength("abc")),
        ("ver:3.0 serial:1 eventname:TICK_5 len:-5\n", FramingError.invalidLength("-5")),
        ("ver:3.0 serial:1 eventname:TICK_5 len:\n", FramingError.invalidLength("")),
        ("ver:3.0 serial:1 eventname:TICK_5 len:99999999999999999999\n", FramingError.invalidLength("99999999999999999999")),
        ("ver:3.0 serial:1 eventname:TICK_5 len:1048577\n", FramingError.lengthTooLarge(1_048_577)),
    ])
    func malformedHeadersAreUnrecoverable(header: String, error: FramingError) {
        var framer = EventFramer()
        framer.append(Array(header.utf8))
        #expect(throws: error) { try framer.next() }
    }

    @Test func largestAcceptedLengthIsOneMebicharacter() throws {
        var framer = EventFramer()
        framer.append(Array("ver:3.0 serial:1 eventname:TICK_5 len:1048576\n".utf8))
        #expect(try framer.next() == nil)
    }

    @Test func headerWithoutNewlineIsBounded() {
        var framer = EventFramer()
        framer.append([UInt8](repeating: UInt8(ascii: "a"), count: EventFramer.maximumHeaderBytes + 1))
        #expect(throws: FramingError.headerTooLong) { try framer.next() }
    }

    @Test func invalidUTF8StillFramesByCountingBadBytesAsCharacters() throws {
        var stream = Array("ver:3.0 serial:1 eventname:PROCESS_STATE_STARTING len:4\n".utf8)
        stream += [0xFF, 0xC3, 0x41, 0x42]
        stream += Array("ver:3.0 serial:2 eventname:TICK_5 len:0\n".utf8)
        let result = try frames(of: stream, chunks: [stream.count])
        #expect(result.count == 2)
        #expect(result[0].payload == [0xFF, 0xC3, 0x41, 0x42])
    }
}
