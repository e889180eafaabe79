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

    /// Received bytes are `buffer[start..<end]`; the rest is room for the next
    /// read, which goes straight in (`append(reading:)`), copying nothing.
    private var buffer: [UInt8] = []
    private var start = 0
    private var end = 0

    package init() {}

    /// Bytes received but not yet taken out as frames.
    package var pendingByteCount: Int { end - start }

    package mutating func append(_ bytes: some Collection<UInt8>) {
        makeRoom(for: bytes.count)
        var index = end
        for byte in bytes {
            buffer[index] = byte
            index += 1
        }
        end = index
    }

    /// Lets `read` fill free space at the end of the buffer (at least
    /// `minimum` bytes of it) and keeps what it says it read.
    package mutating func append<Failure: Error>(
        reading read: (UnsafeMutableRawBufferPointer) throws(Failure) -> Int, minimum: Int = 16 * 1024
    ) throws(Failure) -> Int {
        makeRoom(for: minimum)
        let result = buffer.withUnsafeMutableBytes { [end] bytes in
            Result { () throws(Failure) in try read(UnsafeMutableRawBufferPointer(rebasing: bytes[end...])) }
        }
        let count = try result.get()
        end += count
        return count
    }

    /// Moves pending bytes to the front when that frees half the buffer, and
    /// grows it when `count` more bytes would not fit.
    private mutating func makeRoom(for count: Int) {
        if start > 0, start >= end / 2 || buffer.count - end < count {
            buffer.withUnsafeMutableBytes { bytes in
                bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + start, byteCount: end - start)
            }
            end -= start
            start = 0
        }
        if buffer.count - end < count {
            buffer.append(contentsOf: repeatElement(0, count: max(count, buffer.count)))
        }
    }

    /// The next complete frame, or nil when more bytes are needed.
    ///
    /// A thrown error means the stream cannot be framed any more: where the
    /// next event starts is unknown, so the caller must stop reading.
    package mutating func next() throws(FramingError) -> Frame? {
        guard let newline = Self.firstNewline(in: buffer, from: start, to: end) else {
            if pendingByteCount > Self.maximumHeaderBytes { throw .headerTooLong }
            return nil
        }
        if newline - start > Self.maximumHeaderBytes { throw .headerTooLong }
        let header = buffer[start..<newline]
        let length = try Self.payloadLength(in: header)
        guard let payloadEnd = Self.endOfCharacters(length, in: buffer[..<end], from: newline + 1) else {
            return nil
        }
        start = payloadEnd
        return Frame(header: header, payload: buffer[(newline + 1)..<payloadEnd])
    }

    private static func firstNewline(in bytes: [UInt8], from index: Int, to end: Int) -> Int? {
        bytes.withUnsafeBufferPointer { $0.firstIndex(of: UInt8(ascii: "\n"), from: index, to: end) }
    }

    /// The value of the header's `len` token.
    static func payloadLength(in header: ArraySlice<UInt8>) throws(FramingError) -> Int {
        guard let digits = Fields(header)[.len] else { throw .missingLength }
        guard let value = UInt64(decimal: digits) else { throw .invalidLength(String(decoding: digits, as: UTF8.self)) }
        guard value <= UInt64(maximumPayloadCharacters) else { throw .lengthTooLarge(Int(clamping: value)) }
        return Int(value)
    }

    /// The index just past `count` UTF-8 encoded characters starting at `index`,
    /// or nil when the buffer does not hold them all yet. A byte that cannot
    /// start a UTF-8 sequence counts as one character, so invalid input still
    /// frames and is rejected later, by the payload parser.
    static func endOfCharacters(_ count: Int, in bytes: ArraySlice<UInt8>, from index: Int) -> Int? {
        bytes.withUnsafeBufferPointer { bytes in
            // ASCII, one byte per character, is every payload supervisord
            // writes for ASCII program names: count bytes until there is more.
            var position = bytes.asciiPrefixEnd(from: index, to: Swift.min(bytes.count, index + count))
            var remaining = count - (position - index)
            while remaining > 0 {
                guard position < bytes.count else { return nil }
                let width = sequenceWidth(leadByte: bytes[position])
                var end = position + 1
                while end < position + width {
                    guard end < bytes.count else { return nil }
                    guard bytes[end] & 0xC0 == 0x80 else { break }
                    end += 1
                }
                position = end
                remaining -= 1
            }
            return position
        }
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

/// One event as it came off the wire, not yet interpreted. Both parts share
/// the framer's buffer, so framing copies nothing; a frame kept past the next
/// `append` makes that append copy the buffer instead.
package struct Frame: Equatable, Sendable {
    package var header: ArraySlice<UInt8>
    package var payload: ArraySlice<UInt8>

    package init(header: ArraySlice<UInt8>, payload: ArraySlice<UInt8>) {
        self.header = header
        self.payload = payload
    }

    package init(header: [UInt8], payload: [UInt8]) {
        self.init(header: header[...], payload: payload[...])
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
