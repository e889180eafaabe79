/// A point in UTC time with millisecond precision, written as RFC 3339
/// (`2026-11-22T22:40:01.123Z`) without Foundation or the C library's locale.
package struct Timestamp: Equatable, Sendable, CustomStringConvertible {
    package var millisecondsSinceEpoch: Int64

    package init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    package var description: String {
        var text = ByteText(capacity: Self.maximumLength)
        text.write(self)
        return String(decoding: text.finished(), as: UTF8.self)
    }

    /// The longest form `write` writes: a year of any Int64 and the rest.
    static let maximumLength = 20 + 20

    /// Writes the RFC 3339 form at `start`, digit by digit in place (the
    /// listener stamps every transition and history line of each status
    /// write), and returns where it ends. `bytes` has `maximumLength` bytes of room.
    func write(into bytes: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        let (days, millisecondOfDay) = millisecondsSinceEpoch.floorDividedBy(86_400_000)
        let (year, month, day) = Self.civilDate(daysSinceEpoch: days)
        let seconds = millisecondOfDay / 1000
        var dash = start + 4  // the `-` after the year
        if (0..<10_000).contains(year) {
            Self.writeDigits(year, width: 4, into: bytes, end: dash)
        } else {
            // A wild clock: the year keeps all its characters.
            for byte in String(year).utf8 {
                bytes[dash - 4] = byte
                dash += 1
            }
            dash -= 4
        }
        bytes[dash] = UInt8(ascii: "-")
        bytes[dash + 3] = UInt8(ascii: "-")
        bytes[dash + 6] = UInt8(ascii: "T")
        bytes[dash + 9] = UInt8(ascii: ":")
        bytes[dash + 12] = UInt8(ascii: ":")
        bytes[dash + 15] = UInt8(ascii: ".")
        bytes[dash + 19] = UInt8(ascii: "Z")
        Self.writeDigits(month, width: 2, into: bytes, end: dash + 3)
        Self.writeDigits(day, width: 2, into: bytes, end: dash + 6)
        Self.writeDigits(seconds / 3600, width: 2, into: bytes, end: dash + 9)
        Self.writeDigits(seconds / 60 % 60, width: 2, into: bytes, end: dash + 12)
        Self.writeDigits(seconds % 60, width: 2, into: bytes, end: dash + 15)
        Self.writeDigits(millisecondOfDay % 1000, width: 3, into: bytes, end: dash + 19)
        return dash + 20
    }

    /// Writes `value`'s decimal digits, zero-padded to `width`, before `end`; `value` fits.
    private static func writeDigits(_ value: Int64, width: Int, into bytes: UnsafeMutableBufferPointer<UInt8>, end: Int) {
        var remaining = value
        for index in stride(from: end - 1, through: end - width, by: -1) {
            bytes[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
    }

    /// Howard Hinnant's `civil_from_days`: proleptic Gregorian date of a day count.
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    func floorDividedBy(_ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = (self >= 0 ? self : self - divisor + 1) / divisor
        return (quotient, self - quotient * divisor)
    }
}

extension Timestamp {
    /// Parses exactly the form `description` writes: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    package init?(rfc3339 text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 24, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            bytes[19] == UInt8(ascii: "."), bytes[23] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? { UInt64(decimal: bytes[range]).map { Int64($0) } }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            let millisecond = number(20..<23), (1...12).contains(month), (1...31).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        // days_from_civil counts 2026-02-31 as 2026-03-03; only a real date maps back to itself.
        guard Self.civilDate(daysSinceEpoch: days) == (year, month, day) else { return nil }
        self.init(millisecondsSinceEpoch: ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millisecond)
    }

    /// Howard Hinnant's `days_from_civil`, the inverse of `civilDate`.
    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
