/// The HTTP/1.1 request the listener sends supervisord's XML-RPC server and
/// the parsing of its answer, as plain bytes.
package enum HTTP {
    /// A POST to `/RPC2` that asks the server to close the connection after answering.
    package static func post(body: [UInt8], authorization: (user: String, password: String)?) -> [UInt8] {
        var request = ByteText(capacity: 256 + body.count)
        request.write("POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nConnection: close\r\nContent-Length: ")
        request.write(string: String(body.count))
        if let authorization {
            request.write("\r\nAuthorization: Basic ")
            request.write(string: Base64.encode(Array((authorization.user + ":" + authorization.password).utf8)))
        }
        request.write("\r\n\r\n")
        request.write(bytes: body)
        return request.finished()
    }

    package struct Response: Equatable, Sendable {
        package var status: Int
        package var body: [UInt8]
    }

    /// Parses a complete response; nil while more bytes are needed (the body
    /// is shorter than Content-Length, or the head is not complete).
    package static func parse(_ bytes: [UInt8], complete: Bool) throws(XMLRPCError) -> Response? {
        guard let headEnd = bytes.firstIndex(ofBytes: "\r\n\r\n".utf8) else {
            if complete { throw .malformed("no HTTP header end") }
            return nil
        }
        // Split on bytes: in a String, "\r\n" is one Character.
        let lines = bytes[..<headEnd].split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self)[...].trimmingSpaces }
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw .malformed("bad HTTP status line")
        }
        var length: Int?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].utf8.elementsEqual("content-length".utf8, by: { $0 | 0x20 == $1 }) {
                guard let value = Int(line[line.index(after: colon)...].trimmingSpaces), value >= 0 else {
                    throw .malformed("bad Content-Length")
                }
                length = value
            }
        }
        // The body is copied only once it is all there: the reader asks after
        // every read, and copying a partial body each time would be quadratic
        // in a large answer (getAllProcessInfo with many processes).
        let bodyStart = headEnd + 4
        if let length {
            if bytes.count - bodyStart < length {
                if complete { throw .malformed("body shorter than Content-Length") }
                return nil
            }
            return Response(status: status, body: Array(bytes[bodyStart..<bodyStart + length]))
        }
        return complete ? Response(status: status, body: Array(bytes[bodyStart...])) : nil
    }
}

/// Base64 for the Basic authorization header.
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    package static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0..<4 {
                output.append(position <= chunk.count ? alphabet[Int(value >> (18 - 6 * UInt32(position)) & 0x3F)] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
