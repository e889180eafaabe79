/// Splits the byte stream supervisord writes to an event listener's stdin into
/// events: one header line, then a payload whose `len` counts characters
/// (Python's `len(str)`, Supervisor/supervisor#1243), not bytes.
///
/// Reads may split a header or payload anywhere or carry several events at
/// once, so bytes are buffered and frames are taken out only when complete.
package struct EventFramer: Sendable {
    /// A header longer than this is not one supervisord wrote.
    package static let maximumHeaderBytes = 8 * 1024
    /// The largest payload accepted, in characters; far above any PROCESS_STATE payload.
    package static let maximumPayloadCharacters = 1024 * 1024

    private var buffer: [UInt8] = []
    private var start = 0

    package init() {}

    /// Bytes received but not yet taken out as frames.
    package var pendingByteCount: Int { buffer.count - start }

    package mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil when more bytes are needed.
    ///
    /// A thrown error means the stream cannot be framed any more: where the
    /// next event starts is unknown, so the caller must stop reading.
    package mutating func next() throws(FramingError) -> Frame? {
        guard let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) else {
            if pendingByteCount > Self.maximumHeaderBytes { throw .headerTooLong }
            return nil
        }
        if newline - start > Self.maximumHeaderBytes { throw .headerTooLong }
        let headerBytes = buffer[start..<newline]
        let length = try Self.payloadLength(in: headerBytes)
        guard let payloadEnd = Self.endOfCharacters(length, in: buffer, from: newline + 1) else {
            return nil
        }
        let frame = Frame(header: Array(headerBytes), payload: Array(buffer[(newline + 1)..<payloadEnd]))
        start = payloadEnd
        return frame
    }

    /// The value of the header's `len` token.
    static func payloadLength(in header: ArraySlice<UInt8>) throws(FramingError) -> Int {
        guard let digits = Fields(header)["len"] else { throw .missingLength }
        guard let value = UInt64(decimal: digits) else { throw .invalidLength(String(decoding: digits, as: UTF8.self)) }
        guard value <= UInt64(maximumPayloadCharacters) else { throw .lengthTooLarge(Int(clamping: value)) }
        return Int(value)
    }

    /// The index just past `count` UTF-8 encoded characters starting at `index`,
    /// or nil when the buffer does not hold them all yet. A byte that cannot
    /// start a UTF-8 sequence counts as one character, so invalid input still
    /// frames and is rejected later, by the payload parser.
    static func endOfCharacters(_ count: Int, in bytes: [UInt8], from index: Int) -> Int? {
        var position = index
        for _ in 0..<count {
            guard position < bytes.count else { return nil }
            let width = sequenceWidth(leadByte: bytes[position])
            var end = position + 1
            while end < position + width {
                guard end < bytes.count else { return nil }
                guard bytes[end] & 0xC0 == 0x80 else { break }
                end += 1
            }
            position = end
        }
        return position
    }

    private static func sequenceWidth(leadByte: UInt8) -> Int {
        switch leadByte {
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 1
        }
    }
}

/// One event as it came off the wire, not yet interpreted.
package struct Frame: Equatable, Sendable {
    package var header: [UInt8]
    package var payload: [UInt8]

    package init(header: [UInt8], payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }
}

/// Why the event stream cannot be framed. Each is fatal for the listener:
/// supervisord restarts it rather than let it answer the wrong event.
package enum FramingError: Error, Equatable, Sendable, CustomStringConvertible {
    case headerTooLong
    case missingLength
    case invalidLength(String)
    case lengthTooLarge(Int)

    package var description: String {
        switch self {
        case .headerTooLong:
            "event header longer than \(EventFramer.maximumHeaderBytes) bytes"
        case .missingLength:
            "event header has no len token"
        case .invalidLength(let text):
            "event header len is not a non-negative integer: \(text)"
        case .lengthTooLarge(let value):
            "event header len \(value) exceeds \(EventFramer.maximumPayloadCharacters)"
        }
    }
}
