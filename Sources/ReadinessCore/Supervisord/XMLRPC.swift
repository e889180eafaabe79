/// The small part of XML-RPC the listener speaks to supervisord:
/// `supervisor.getProcessInfo(name)`, whose answer is a flat struct or a fault;
/// `supervisor.getAllProcessInfo()`, an array of such structs;
/// `supervisor.getAllConfigInfo()`, an array of structs with an array inside;
/// `supervisor.shutdown()` and `supervisor.startProcess(name, false)`, a boolean.
package enum XMLRPC {
    /// A value of a struct member; supervisord sends ints, strings and
    /// booleans, and in getAllConfigInfo one array (`exitcodes`).
    package enum Value: Equatable, Sendable {
        case int(Int)
        case string(String)
        case bool(Bool)
        /// Its items are not read: no caller needs them.
        case array
    }

    package enum Response: Equatable, Sendable {
        case structure([String: Value])
        case fault(code: Int, message: String)
    }

    /// The largest answer accepted from a call about one program
    /// (getProcessInfo's is about 1 KiB) or from shutdown.
    package static let maximumResponseBytes = 256 * 1024

    /// The largest getAllProcessInfo answer accepted: each process is a
    /// struct of about 1.2 KiB, so 1,000 processes (`numprocs=1000`) take
    /// about 1.2 MiB, and this bound leaves room for about 3,000.
    package static let maximumArrayResponseBytes = 4 * 1024 * 1024

    /// An answer that is one plain value (startProcess's boolean), or a fault.
    package enum ValueResponse: Equatable, Sendable {
        case value(Value)
        case fault(code: Int, message: String)
    }

    /// The request body for `method` with these arguments, as bytes: the
    /// names and strings with `&`, `<` and `>` escaped.
    package static func call(_ method: String, _ arguments: [Value]) -> [UInt8] {
        var text = ByteText(capacity: 256)
        text.write("<?xml version='1.0'?><methodCall><methodName>")
        text.write(string: method, escaping: escape)
        text.write("</methodName><params>")
        for argument in arguments {
            text.write("<param><value>")
            switch argument {
            case .string(let string):
                text.write("<string>")
                text.write(string: string, escaping: escape)
                text.write("</string>")
            case .int(let number):
                text.write("<int>")
                text.write(string: String(number))
                text.write("</int>")
            case .bool(let flag): text.write(flag ? "<boolean>1</boolean>" : "<boolean>0</boolean>")
            case .array: text.write("<array><data></data></array>")
            }
            text.write("</value></param>")
        }
        text.write("</params></methodCall>")
        return text.finished()
    }

    private static func escape(_ byte: UInt8) -> StaticString? {
        switch byte {
        case UInt8(ascii: "&"): "&amp;"
        case UInt8(ascii: "<"): "&lt;"
        case UInt8(ascii: ">"): "&gt;"
        default: nil
        }
    }

    /// Parses a methodResponse holding one flat struct, or a fault.
    package static func parse(_ bytes: some Collection<UInt8>) throws(XMLRPCError) -> Response {
        try Markup.reading(bytes, limit: maximumResponseBytes) { markup throws(XMLRPCError) in
            let body = try markup.methodResponse()
            if let fault = try markup.fault(in: body) { return .fault(code: fault.code, message: fault.message) }
            return .structure(try markup.members(in: body))
        }
    }

    /// A methodResponse holding an array of flat structs, read a part at a
    /// time: getAllProcessInfo's answer of 1,000 processes takes over 10 ms
    /// to read, and the listener's loop handles events between the parts.
    package struct ArrayReader: Sendable {
        package enum Start: Sendable {
            case reader(ArrayReader)
            case fault(code: Int, message: String)
        }

        private let bytes: [UInt8]
        /// Where the structs not read yet are.
        private var rest: Range<Int>

        /// The answer checked (its size, UTF-8, a methodResponse, an array or
        /// a fault), its structs left to `next`.
        package static func start(_ bytes: [UInt8]) throws(XMLRPCError) -> Start {
            try Markup.reading(bytes, limit: maximumArrayResponseBytes) { markup throws(XMLRPCError) in
                let body = try markup.methodResponse()
                if let fault = try markup.fault(in: body) { return .fault(code: fault.code, message: fault.message) }
                guard let array = markup.after("<array>", in: body) else { throw .malformed("no array") }
                return .reader(ArrayReader(bytes: bytes, rest: array..<body.upperBound))
            }
        }

        package var isFinished: Bool { rest.isEmpty }

        /// The next structs, at most `count`; the last part may be empty.
        package mutating func next(upTo count: Int) throws(XMLRPCError) -> [[String: Value]] {
            var rest = rest
            defer { self.rest = rest }
            return try bytes.withUnsafeBufferPointer { buffer throws(XMLRPCError) in
                let markup = Markup(bytes: buffer)
                var structures: [[String: Value]] = []
                while structures.count < count {
                    guard let open = markup.after("<struct>", in: rest) else {
                        rest = rest.upperBound..<rest.upperBound
                        break
                    }
                    guard let close = markup.find("</struct>", in: open..<rest.upperBound) else { throw .malformed("unclosed struct") }
                    structures.append(try markup.members(in: open..<close))
                    rest = close..<rest.upperBound
                }
                return structures
            }
        }
    }

    /// Parses a methodResponse holding one plain value, or a fault.
    package static func parseValue(_ bytes: some Collection<UInt8>) throws(XMLRPCError) -> ValueResponse {
        try Markup.reading(bytes, limit: maximumResponseBytes) { markup throws(XMLRPCError) in
            let body = try markup.methodResponse()
            if let fault = try markup.fault(in: body) { return .fault(code: fault.code, message: fault.message) }
            guard let parameter = markup.element("<param>", "</param>", in: body),
                let value = markup.element("<value>", "</value>", in: parameter)
            else { throw .malformed("no param value") }
            return .value(try markup.value(in: value))
        }
    }
}

/// An answer's bytes, searched by byte and a machine word at a time, not
/// through String's indices: getAllProcessInfo's answer is over a megabyte
/// at 1,000 processes, and events wait while the loop reads it. Ranges are
/// byte offsets; the markup searched for is ASCII.
private struct Markup {
    let bytes: UnsafeBufferPointer<UInt8>

    /// `body` as markup, once checked: at most `limit` bytes, and UTF-8 (so
    /// that any run between two ASCII tags is UTF-8 too).
    static func reading<Parsed>(
        _ body: some Collection<UInt8>, limit: Int, _ parse: (Markup) throws(XMLRPCError) -> Parsed
    ) throws(XMLRPCError) -> Parsed {
        guard body.count <= limit else { throw .tooLarge(body.count, limit: limit) }
        let bytes = Array(body)
        return try bytes.withUnsafeBufferPointer { buffer throws(XMLRPCError) in
            guard buffer.asciiPrefixEnd(from: 0, to: buffer.count) == buffer.count || String(validating: buffer, as: UTF8.self) != nil
            else { throw .malformed("not UTF-8") }
            return try parse(Markup(bytes: buffer))
        }
    }

    /// What follows `<methodResponse>`.
    func methodResponse() throws(XMLRPCError) -> Range<Int> {
        guard let start = after("<methodResponse>", in: 0..<bytes.count) else { throw .malformed("no methodResponse") }
        return start..<bytes.count
    }

    /// The fault's code and message; nil when the answer is not a fault
    /// (a `<fault>` comes before any `<params>`).
    func fault(in body: Range<Int>) throws(XMLRPCError) -> (code: Int, message: String)? {
        let beforeParams = body.lowerBound..<(find("<params>", in: body) ?? body.upperBound)
        guard find("<fault>", in: beforeParams) != nil else { return nil }
        let members = try members(in: body)
        guard case .int(let code)? = members["faultCode"], case .string(let message)? = members["faultString"] else {
            throw .malformed("fault without faultCode and faultString")
        }
        return (code, message)
    }

    func members(in range: Range<Int>) throws(XMLRPCError) -> [String: XMLRPC.Value] {
        var members: [String: XMLRPC.Value] = [:]
        var rest = range
        while let start = after("<member>", in: rest) {
            guard let end = find("</member>", in: start..<rest.upperBound) else { throw .malformed("unclosed member") }
            let body = start..<end
            guard let name = element("<name>", "</name>", in: body), let value = memberValue(in: body) else {
                throw .malformed("member without name or value")
            }
            guard let key = unescaped(name) else { throw .malformed("bad entity in a name") }
            members[key] = try self.value(in: value)
            rest = end..<rest.upperBound
        }
        return members
    }

    /// A member's value: from its `<value>` to the member's last `</value>`,
    /// so that an array's own values stay inside it.
    private func memberValue(in body: Range<Int>) -> Range<Int>? {
        let trimmed = trimmingSpaces(body)
        let close = "</value>".utf8.count
        guard let start = after("<value>", in: body), trimmed.upperBound - close >= start,
            matches("</value>", at: trimmed.upperBound - close..<trimmed.upperBound)
        else { return nil }
        return start..<trimmed.upperBound - close
    }

    /// A value's content: `<int>`, `<i4>`, `<i8>`, `<boolean>`, `<string>`,
    /// `<string/>`, `<array>` (not read), or text without a type element,
    /// which is a string.
    func value(in range: Range<Int>) throws(XMLRPCError) -> XMLRPC.Value {
        let trimmed = trimmingSpaces(range)
        guard trimmed.lowerBound < trimmed.upperBound, bytes[trimmed.lowerBound] == UInt8(ascii: "<") else {
            guard let string = unescaped(range) else { throw .malformed("bad entity in a string") }
            return .string(string)
        }
        guard let nameEnd = bytes.firstIndex(of: UInt8(ascii: ">"), from: trimmed.lowerBound, to: trimmed.upperBound) else {
            throw .malformed("unsupported value \(text(trimmed.prefix(20)))")
        }
        let type = trimmed.lowerBound + 1..<nameEnd
        if matches("string/", at: type) { return .string("") }
        if matches("array", at: type) {
            // Structs inside would end the member at their own `</member>`.
            guard find("<struct>", in: trimmed) == nil else { throw .malformed("unsupported value: an array of structs") }
            return .array
        }
        let content = nameEnd + 1..<(bytes.firstIndex(of: UInt8(ascii: "<"), from: nameEnd + 1, to: trimmed.upperBound) ?? trimmed.upperBound)
        guard closes(type, at: content.upperBound, before: trimmed.upperBound) else {
            throw .malformed("unsupported value \(text(trimmed.prefix(20)))")
        }
        if matches("int", at: type) || matches("i4", at: type) || matches("i8", at: type) {
            guard let number = integer(trimmingSpaces(content)) else { throw .malformed("bad int \(text(content.prefix(20)))") }
            return .int(number)
        }
        if matches("boolean", at: type) {
            let flag = trimmingSpaces(content)
            guard flag.count == 1, bytes[flag.lowerBound] == UInt8(ascii: "0") || bytes[flag.lowerBound] == UInt8(ascii: "1") else {
                throw .malformed("bad boolean")
            }
            return .bool(bytes[flag.lowerBound] == UInt8(ascii: "1"))
        }
        guard matches("string", at: type) else { throw .malformed("unsupported value \(text(trimmed.prefix(20)))") }
        guard let string = unescaped(content) else { throw .malformed("bad entity in a string") }
        return .string(string)
    }

    /// The range between `open` and the next `close` in `range`.
    func element(_ open: StaticString, _ close: StaticString, in range: Range<Int>) -> Range<Int>? {
        guard let start = after(open, in: range), let end = find(close, in: start..<range.upperBound) else { return nil }
        return start..<end
    }

    /// Where `tag` ends, at its first occurrence in `range`.
    func after(_ tag: StaticString, in range: Range<Int>) -> Int? {
        find(tag, in: range).map { $0 + tag.utf8CodeUnitCount }
    }

    /// Where `tag` first starts in `range`.
    func find(_ tag: StaticString, in range: Range<Int>) -> Int? {
        let tag = UnsafeBufferPointer(start: tag.utf8Start, count: tag.utf8CodeUnitCount)
        guard let first = tag.first else { return nil }
        let lastStart = range.upperBound - tag.count + 1
        var position = range.lowerBound
        while let found = bytes.firstIndex(of: first, from: position, to: lastStart) {
            if matches(tag, at: found) { return found }
            position = found + 1
        }
        return nil
    }

    private func matches(_ tag: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        guard start + tag.count <= bytes.count else { return false }
        for offset in 0..<tag.count where bytes[start + offset] != tag[offset] { return false }
        return true
    }

    /// Whether `range` holds exactly `name`.
    private func matches(_ name: StaticString, at range: Range<Int>) -> Bool {
        range.count == name.utf8CodeUnitCount && matches(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), at: range.lowerBound)
    }

    /// Whether `</` + the bytes of `type` + `>` start at `index`, before `end`.
    private func closes(_ type: Range<Int>, at index: Int, before end: Int) -> Bool {
        guard index + type.count + 3 <= end, bytes[index] == UInt8(ascii: "<"), bytes[index + 1] == UInt8(ascii: "/"),
            bytes[index + 2 + type.count] == UInt8(ascii: ">")
        else { return false }
        for offset in 0..<type.count where bytes[index + 2 + offset] != bytes[type.lowerBound + offset] { return false }
        return true
    }

    private func trimmingSpaces(_ range: Range<Int>) -> Range<Int> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        var start = range.lowerBound
        var end = range.upperBound
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return start..<end
    }

    /// An optionally signed decimal that fits an Int.
    private func integer(_ range: Range<Int>) -> Int? {
        guard let first = range.first else { return nil }
        let negative = bytes[first] == UInt8(ascii: "-")
        let digits = negative || bytes[first] == UInt8(ascii: "+") ? first + 1..<range.upperBound : range
        guard let magnitude = UInt64(decimal: UnsafeBufferPointer(rebasing: bytes[digits])), magnitude <= UInt64(Int.max) else { return nil }
        return negative ? -Int(magnitude) : Int(magnitude)
    }

    private func text(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }

    /// The text of `range` with its entities replaced; nil for an unknown entity.
    private func unescaped(_ range: Range<Int>) -> String? {
        guard var ampersand = bytes.firstIndex(of: UInt8(ascii: "&"), from: range.lowerBound, to: range.upperBound) else { return text(range) }
        var result: [UInt8] = []
        result.reserveCapacity(range.count)
        var plain = range.lowerBound
        while true {
            result.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plain..<ampersand]))
            guard let semicolon = bytes.firstIndex(of: UInt8(ascii: ";"), from: ampersand, to: range.upperBound) else { return nil }
            let entity = ampersand + 1..<semicolon
            if matches("amp", at: entity) {
                result.append(UInt8(ascii: "&"))
            } else if matches("lt", at: entity) {
                result.append(UInt8(ascii: "<"))
            } else if matches("gt", at: entity) {
                result.append(UInt8(ascii: ">"))
            } else if matches("quot", at: entity) {
                result.append(UInt8(ascii: "\""))
            } else if matches("apos", at: entity) {
                result.append(UInt8(ascii: "'"))
            } else {
                return nil
            }
            plain = semicolon + 1
            guard let next = bytes.firstIndex(of: UInt8(ascii: "&"), from: plain, to: range.upperBound) else { break }
            ampersand = next
        }
        result.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plain..<range.upperBound]))
        return String(decoding: result, as: UTF8.self)
    }
}

package enum XMLRPCError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLarge(Int, limit: Int)
    case malformed(String)

    package var description: String {
        switch self {
        case .tooLarge(let size, let limit): "XML-RPC answer of \(size) bytes is larger than \(limit)"
        case .malformed(let why): "malformed XML-RPC answer: \(why)"
        }
    }
}
