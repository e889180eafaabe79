/// The small part of XML-RPC the listener speaks to supervisord:
/// `supervisor.getProcessInfo(name)`, whose answer is a flat struct or a fault;
/// `supervisor.getAllProcessInfo()`, an array of such structs;
/// `supervisor.shutdown()` and `supervisor.startProcess(name, false)`, a boolean.
package enum XMLRPC {
    /// A value of a struct member; supervisord sends ints, strings and booleans.
    package enum Value: Equatable, Sendable {
        case int(Int)
        case string(String)
        case bool(Bool)
    }

    package enum Response: Equatable, Sendable {
        case structure([String: Value])
        case fault(code: Int, message: String)
    }

    /// An answer that is an array of flat structs, or a fault.
    package enum ArrayResponse: Equatable, Sendable {
        case structures([[String: Value]])
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

    /// The request body for `method` with string arguments.
    package static func call(_ method: String, _ arguments: [String]) -> String {
        call(method, arguments.map { .string($0) })
    }

    /// The request body for `method` with these arguments.
    package static func call(_ method: String, _ arguments: [Value]) -> String {
        let parameters = arguments.map { "<param><value>\(encoded($0))</value></param>" }.joined()
        return "<?xml version='1.0'?><methodCall><methodName>\(escaped(method))</methodName><params>\(parameters)</params></methodCall>"
    }

    private static func encoded(_ value: Value) -> String {
        switch value {
        case .string(let text): "<string>\(escaped(text))</string>"
        case .int(let number): "<int>\(number)</int>"
        case .bool(let flag): "<boolean>\(flag ? 1 : 0)</boolean>"
        }
    }

    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            default: result.append(character)
            }
        }
        return result
    }

    static func unescaped(_ text: Substring) -> String? {
        guard text.utf8.contains(UInt8(ascii: "&")) else { return String(text) }
        var result = ""
        var rest = text[...]
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            guard let semicolon = rest[ampersand...].firstIndex(of: ";") else { return nil }
            switch rest[rest.index(after: ampersand)..<semicolon] {
            case "amp": result += "&"
            case "lt": result += "<"
            case "gt": result += ">"
            case "quot": result += "\""
            case "apos": result += "'"
            default: return nil
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return result + rest
    }

    /// Parses a methodResponse holding one flat struct, or a fault.
    package static func parse(_ bytes: some Collection<UInt8>) throws(XMLRPCError) -> Response {
        let text = try methodResponse(bytes, limit: maximumResponseBytes)
        if let fault = try fault(in: text) { return .fault(code: fault.code, message: fault.message) }
        return .structure(try members(of: text))
    }

    /// Parses a methodResponse holding an array of flat structs, or a fault.
    package static func parseArray(_ bytes: some Collection<UInt8>) throws(XMLRPCError) -> ArrayResponse {
        let text = try methodResponse(bytes, limit: maximumArrayResponseBytes)
        if let fault = try fault(in: text) { return .fault(code: fault.code, message: fault.message) }
        guard text.range(of: "<array>") != nil else { throw .malformed("no array") }
        var structures: [[String: Value]] = []
        var rest = text
        while let open = rest.range(of: "<struct>") {
            guard let close = rest[open.upperBound...].range(of: "</struct>") else { throw .malformed("unclosed struct") }
            structures.append(try members(of: rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return .structures(structures)
    }

    /// Parses a methodResponse holding one plain value, or a fault.
    package static func parseValue(_ bytes: some Collection<UInt8>) throws(XMLRPCError) -> ValueResponse {
        let text = try methodResponse(bytes, limit: maximumResponseBytes)
        if let fault = try fault(in: text) { return .fault(code: fault.code, message: fault.message) }
        guard let parameter = element("param", in: text), let value = element("value", in: parameter) else {
            throw .malformed("no param value")
        }
        return .value(try Self.value(value))
    }

    /// The answer as text, once checked: at most `limit` bytes, UTF-8, a methodResponse.
    private static func methodResponse(_ bytes: some Collection<UInt8>, limit: Int) throws(XMLRPCError) -> Substring {
        guard bytes.count <= limit else { throw .tooLarge(bytes.count, limit: limit) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformed("not UTF-8") }
        guard text[...].range(of: "<methodResponse>") != nil else { throw .malformed("no methodResponse") }
        return text[...]
    }

    /// The fault's code and message; nil when the answer is not a fault.
    private static func fault(in text: Substring) throws(XMLRPCError) -> (code: Int, message: String)? {
        guard text.range(of: "<fault>") != nil else { return nil }
        let members = try members(of: text)
        guard case .int(let code)? = members["faultCode"], case .string(let message)? = members["faultString"] else {
            throw .malformed("fault without faultCode and faultString")
        }
        return (code, message)
    }

    private static func members(of text: Substring) throws(XMLRPCError) -> [String: Value] {
        var members: [String: Value] = [:]
        var rest = text
        while let member = rest.range(of: "<member>") {
            guard let end = rest[member.upperBound...].range(of: "</member>") else { throw .malformed("unclosed member") }
            let body = rest[member.upperBound..<end.lowerBound]
            guard let name = element("name", in: body), let value = element("value", in: body) else {
                throw .malformed("member without name or value")
            }
            guard let key = unescaped(name) else { throw .malformed("bad entity in a name") }
            members[key] = try Self.value(value)
            rest = rest[end.upperBound...]
        }
        return members
    }

    private static func value(_ text: Substring) throws(XMLRPCError) -> Value {
        let trimmed = text.trimmingSpaces
        for tag in ["int", "i4", "i8"] {
            if let number = element(tag, in: trimmed) {
                guard let value = Int(number.trimmingSpaces) else { throw .malformed("bad int \(number.prefix(20))") }
                return .int(value)
            }
        }
        if let flag = element("boolean", in: trimmed) {
            switch flag.trimmingSpaces {
            case "1": return .bool(true)
            case "0": return .bool(false)
            default: throw .malformed("bad boolean")
            }
        }
        if trimmed == "<string/>" { return .string("") }
        // A value without a type element is a string.
        let raw = element("string", in: trimmed) ?? (trimmed.hasPrefix("<") ? nil : text)
        guard let raw else { throw .malformed("unsupported value \(trimmed.prefix(20))") }
        guard let string = unescaped(raw) else { throw .malformed("bad entity in a string") }
        return .string(string)
    }

    /// The text between `<tag>` and the next `</tag>`.
    private static func element(_ tag: String, in text: Substring) -> Substring? {
        guard let open = text.range(of: "<\(tag)>"), let close = text[open.upperBound...].range(of: "</\(tag)>") else { return nil }
        return text[open.upperBound..<close.lowerBound]
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
