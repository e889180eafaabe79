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
    init?(decimal bytes: some Collection<UInt8>) {
        guard !bytes.isEmpty, bytes.count <= 19 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        self = value
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

extension Substring {
    /// Without ASCII spaces, tabs and line ends at either end.
    var trimmingSpaces: Substring {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }

    /// The first range of `needle`, by bytes (the markup searched for is ASCII).
    func range(of needle: String) -> Range<Index>? {
        guard let found = utf8.firstIndex(ofBytes: needle.utf8) else { return nil }
        return found..<utf8.index(found, offsetBy: needle.utf8.count)
    }
}
