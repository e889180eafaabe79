/// Small text and byte helpers the parsers and formatters share. ASCII and
/// bytes only: the standard library's Unicode-aware searching and trimming
/// bring the regex engine and Unicode tables, over a megabyte of binary.

extension BinaryInteger {
    /// The number's digits with zeros in front up to `width`: `7.zeroPadded(3)` is `007`.
    func zeroPadded(_ width: Int, radix: Int = 10) -> String {
        let digits = String(self, radix: radix)
        return String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits
    }
}

extension UInt64 {
    /// Parses ASCII decimal digits only: no sign, no spaces, no overflow.
    package init?(decimal bytes: some Collection<UInt8>) {
        guard !bytes.isEmpty, bytes.count <= 19 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        self = value
    }
}

/// Text built as UTF-8 bytes in one growing buffer: what the listener writes
/// at every transition (the status file, a log line) without the allocations
/// of String interpolation. Callers append literals and values, never
/// interpolated Strings.
package struct ByteText: Sendable {
    /// Written bytes are `storage[..<count]`; the rest is room, so that each
    /// write is one memory copy rather than an append per byte.
    private var storage: [UInt8]
    private var count = 0

    package init(capacity: Int) { storage = Array(repeating: 0, count: capacity) }

    /// Writes over `storage`, keeping its memory: a large text built again
    /// and again (a `/metrics` scrape) touches no fresh pages.
    package init(reusing storage: consuming [UInt8], capacity: Int) {
        self.storage = storage
        if self.storage.count < capacity { self.storage += repeatElement(0, count: capacity - self.storage.count) }
    }

    /// What was written: the storage itself, cut in place. Mutating, so the
    /// storage is this value's alone when cut: a consuming call may leave
    /// the caller's copy sharing it, and the cut then copies byte by byte.
    package mutating func finished() -> [UInt8] {
        storage.removeLast(storage.count - count)
        return storage
    }

    package mutating func write(_ literal: StaticString) {
        write(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    package mutating func write(string: String) {
        var string = string
        string.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    package mutating func write(bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// `string`, each byte that `escape` has a replacement for written as
    /// that: runs of other bytes are copied whole, not byte by byte.
    package mutating func write(string: String, escaping escape: (UInt8) -> StaticString?) {
        var string = string
        string.withUTF8 { bytes in
            var plain = 0
            for index in bytes.indices {
                guard let replacement = escape(bytes[index]) else { continue }
                write(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[plain..<index])))
                write(replacement)
                plain = index + 1
            }
            write(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[plain...])))
        }
    }

    private mutating func write(_ source: UnsafeRawBufferPointer) {
        reserve(source.count)
        storage.withUnsafeMutableBytes { [count] storage in
            UnsafeMutableRawBufferPointer(rebasing: storage[count..<(count + source.count)]).copyMemory(from: source)
        }
        count += source.count
    }

    private mutating func reserve(_ more: Int) {
        if storage.count - count < more { storage += repeatElement(0, count: Swift.max(more, storage.count)) }
    }

    private mutating func write(byte: UInt8) {
        reserve(1)
        storage[count] = byte
        count += 1
    }

    /// Free text kept to one line: ASCII control characters become spaces.
    /// (Bytes of multi-byte UTF-8 sequences are all 0x80 or above.)
    package mutating func writeOneLine(_ text: String) {
        for byte in text.utf8 { write(byte: byte < 0x20 || byte == 0x7F ? UInt8(ascii: " ") : byte) }
    }

    package mutating func write(_ value: Int) {
        if value < 0 { write(byte: UInt8(ascii: "-")) }
        write(value.magnitude)
    }

    package mutating func write(_ value: UInt64) { write(UInt(value)) }

    package mutating func write(_ value: UInt) {
        var width = 1
        var rest = value / 10
        while rest > 0 {
            width += 1
            rest /= 10
        }
        reserve(width)
        count += width
        var remaining = value
        var index = count - 1
        repeat {
            storage[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
            index -= 1
        } while remaining > 0
    }

    package mutating func write(_ time: Timestamp) {
        reserve(Timestamp.maximumLength)
        count = storage.withUnsafeMutableBufferPointer { [count] in time.write(into: $0, at: count) }
    }
}

/// Whether `bytes` are valid UTF-8. ASCII, which is what supervisord sends
/// for ASCII names, is checked without making a String.
func isValidUTF8(_ bytes: ArraySlice<UInt8>) -> Bool {
    let ascii = bytes.withUnsafeBufferPointer { $0.asciiPrefixEnd(from: 0, to: $0.count) == $0.count }
    return ascii || String(validating: bytes, as: UTF8.self) != nil
}

/// Byte scans of the listener's hot path, a machine word (eight bytes) at a
/// time: every event is framed and parsed, and a byte-at-a-time loop would
/// cost more than the rest of the listener's work per event.
extension UnsafeBufferPointer<UInt8> {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Where `byte` first occurs in `self[index..<end]`, or nil.
    func firstIndex(of byte: UInt8, from index: Int, to end: Int) -> Int? {
        var position = index
        let pattern = Self.ones &* UInt64(byte)
        while position + 8 <= end {
            // Bytes equal to `byte` become zero; the lowest flagged zero byte
            // is exact (a borrow only flags bytes above a real zero).
            let word = UInt64(littleEndian: UnsafeRawPointer(baseAddress! + position).loadUnaligned(as: UInt64.self)) ^ pattern
            let zeros = (word &- Self.ones) & ~word & Self.highBits
            if zeros != 0 { return position + zeros.trailingZeroBitCount / 8 }
            position += 8
        }
        while position < end {
            if self[position] == byte { return position }
            position += 1
        }
        return nil
    }

    /// The end of the run of ASCII bytes that starts at `index`, at most `end`.
    func asciiPrefixEnd(from index: Int, to end: Int) -> Int {
        var position = index
        while position + 8 <= end {
            let word = UnsafeRawPointer(baseAddress! + position).loadUnaligned(as: UInt64.self)
            if word & Self.highBits != 0 { break }
            position += 8
        }
        while position < end, self[position] < 0x80 { position += 1 }
        return position
    }
}

extension Collection<UInt8> {
    /// Where `needle` first starts, or nil.
    func firstIndex(ofBytes needle: some Collection<UInt8>) -> Index? {
        guard let first = needle.first else { return nil }
        var index = startIndex
        while let found = self[index...].firstIndex(of: first) {
            if self[found...].starts(with: needle) { return found }
            index = self.index(after: found)
        }
        return nil
    }
}

extension StringProtocol {
    /// For a one-line message of text from outside (a hook's output, a
    /// service's STATUS=): control characters become spaces, and past
    /// `limit` Unicode scalars it is cut, with "…". Scalars, not Characters:
    /// the release binaries carry no grapheme tables (EmbeddedUnicode.c).
    package func oneLine(limit: Int) -> String {
        var text = String.UnicodeScalarView()
        for (kept, scalar) in unicodeScalars.enumerated() {
            guard kept < limit else { return String(text) + "…" }
            text.append(scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar)
        }
        return String(text)
    }
}

extension Substring {
    /// Without ASCII spaces, tabs and line ends at either end.
    var trimmingSpaces: Substring {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
