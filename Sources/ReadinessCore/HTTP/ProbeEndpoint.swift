/// The listener's HTTP endpoint for kubelet's httpGet probes, as plain values:
/// the request head as far as it has arrived, and the response to it. The
/// decision is the probe's own (`Verdict.commonCheck`), taken from the
/// listener's record in memory, so an httpGet probe and the exec probe
/// cannot disagree.
package enum ProbeEndpoint {
    /// The most bytes of request line and headers read; more is refused (431).
    package static let maximumRequestBytes = 8192

    /// What the bytes received so far are.
    package enum Request: Equatable, Sendable {
        /// The head has not ended yet, and is within the limit.
        case incomplete
        /// `query`: what follows the path's `?`, as sent (empty without one).
        case complete(method: String, path: String, query: String)
        /// Refused with this status (400, 431 or 505).
        case refused(status: Int)
    }

    /// The request head in `bytes`: the request line, then header lines up to
    /// an empty line (CRLF or bare LF). Headers are not interpreted: one
    /// request per connection, no body wanted.
    package static func request(_ bytes: some Collection<UInt8>) -> Request {
        let bytes = Array(bytes.prefix(maximumRequestBytes + 1))
        guard let headEnd = endOfHead(bytes) else {
            return bytes.count > maximumRequestBytes ? .refused(status: 431) : .incomplete
        }
        guard headEnd <= maximumRequestBytes else { return .refused(status: 431) }
        let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? headEnd
        var line = bytes[..<lineEnd]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte), parts[1].first == UInt8(ascii: "/"),
            parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return .refused(status: 400) }
        guard parts[2].elementsEqual("HTTP/1.1".utf8) || parts[2].elementsEqual("HTTP/1.0".utf8) else {
            return parts[2].starts(with: "HTTP/".utf8) ? .refused(status: 505) : .refused(status: 400)
        }
        let target = parts[1]
        let pathAndQuery = target.split(separator: UInt8(ascii: "?"), maxSplits: 1, omittingEmptySubsequences: false)
        return .complete(
            method: String(decoding: parts[0], as: UTF8.self), path: String(decoding: pathAndQuery[0], as: UTF8.self),
            query: pathAndQuery.count > 1 ? String(decoding: pathAndQuery[1], as: UTF8.self) : "")
    }

    /// Where the head ends (the index after its empty line), if it has.
    private static func endOfHead(_ bytes: [UInt8]) -> Int? {
        var index = 0
        var lineStart = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                let line = bytes[lineStart..<index]
                if line.isEmpty || (line.count == 1 && line.first == UInt8(ascii: "\r")) {
                    // The request line itself cannot be empty.
                    if lineStart > 0 { return index + 1 }
                }
                lineStart = index + 1
            }
            index += 1
        }
        return nil
    }

    /// RFC 9110's token characters, for the method.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    /// The first `name=` parameter of `query`, percent-decoded, `+` read as
    /// a space (a `%` not followed by two hex digits stays as it is); nil
    /// when there is none.
    package static func parameter(_ name: String, in query: String) -> String? {
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard pair.starts(with: (name + "=").utf8) else { continue }
            let raw = Array(pair.dropFirst(name.utf8.count + 1))
            var decoded: [UInt8] = []
            var index = 0
            while index < raw.count {
                if raw[index] == UInt8(ascii: "%"), index + 2 < raw.count, let high = hexValue(raw[index + 1]), let low = hexValue(raw[index + 2]) {
                    decoded.append(high << 4 | low)
                    index += 3
                } else {
                    decoded.append(raw[index] == UInt8(ascii: "+") ? UInt8(ascii: " ") : raw[index])
                    index += 1
                }
            }
            return String(decoding: decoded, as: UTF8.self)
        }
        return nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The two endpoints' answers for one record.
    package struct Answers: Equatable, Sendable {
        /// What the exec probe would answer, the hook included.
        package let readiness: Verdict
        /// Nil while no essential program has ended; else why the container must go.
        package let livenessFailure: Verdict?
        private let record: StatusRecord
        private let unwritten: String?

        /// The common check of `record`, and `hook` when that passed: the
        /// exec probe's order. `hook` is nil when no hook is installed.
        /// `unwritten` (why the status file could not be written, nil when
        /// it was) takes READY away, as the exec probe, which then finds no
        /// live listener keeping the file, does: the two never disagree.
        package init(record: StatusRecord, hook: Verdict?, unwritten: String? = nil) {
            self.record = record
            self.unwritten = unwritten
            let common = Verdict.commonCheck(record)
            readiness = Self.unlessUnwritten(common.isReady ? hook ?? Verdict(.ready, "\(common.message); no hook") : common, unwritten)
            livenessFailure = record.essentialFailure.map { failure in
                Verdict(.essentialDown, failure.shutdown == .dryRun ? "\(failure.summary); dry run, supervisord is not shut down" : failure.summary)
            }
        }

        /// What the exec probe would answer for `subject`: `readiness` for
        /// the container, else `readiness_probe --service`'s answer (no hook).
        package func readiness(of subject: ProbeSubject) -> Verdict {
            subject == .container ? readiness : Self.unlessUnwritten(Verdict.check(record, of: subject), unwritten)
        }

        private static func unlessUnwritten(_ verdict: Verdict, _ unwritten: String?) -> Verdict {
            guard verdict.isReady, let unwritten else { return verdict }
            return Verdict(.listenerGone, "the listener cannot write its status file, so the exec probe finds none kept: \(unwritten)")
        }
    }

    /// A response's status, and the response as sent.
    package struct Response: Equatable, Sendable {
        package var status: Int
        package var bytes: [UInt8]
    }

    /// The last `/metrics` scrape's exposition and response, each written
    /// over by the next scrape: their pages stay mapped. Fresh buffers of a
    /// scrape of 100 programs (64 KiB and 42 KiB) cost about 50 page faults,
    /// most of its CPU. A response still being sent keeps its bytes: the
    /// next scrape then writes a copy.
    package struct ScrapeMemory: Sendable {
        var exposition: [UInt8] = []
        var response: [UInt8] = []

        package init() {}
    }

    /// The paths served; `readiness_http_requests_total` counts any other as `other`.
    package static let paths = ["/readyz", "/livez", "/metrics"]

    /// `request`'s path as the request counter labels it.
    package static func pathLabel(of request: Request) -> String {
        guard case .complete(_, let path, _) = request, paths.contains(path) else { return "other" }
        return path
    }

    /// The complete response to `request` (a `.complete` or `.refused` one):
    /// status line, a few headers, and a one-line body, or for `/metrics`
    /// the exposition `metrics` writes over the bytes it is given (asked
    /// only then). `Connection: close` always: one request per connection.
    package static func response(
        to request: Request, answers: Answers, metrics: (_ reusing: consuming [UInt8]) -> [UInt8], memory: inout ScrapeMemory
    ) -> Response {
        switch request {
        case .incomplete:
            return response(status: 408, body: "request not complete")
        case .refused(let status):
            return response(status: status, body: reason(status))
        case .complete(let method, let path, let query):
            guard paths.contains(path) else {
                return response(status: 404, body: "not found: the listener serves /readyz, /readyz?service=NAME, /livez and /metrics", head: method == "HEAD")
            }
            guard method == "GET" || method == "HEAD" else {
                return response(status: 405, body: "method not allowed: GET or HEAD", extraHeaders: "Allow: GET, HEAD\r\n")
            }
            if path == "/metrics" {
                memory.exposition = metrics(taken(&memory.exposition))
                let response = response(
                    status: 200, body: memory.exposition, contentType: ListenerMetrics.contentType, head: method == "HEAD",
                    reusing: taken(&memory.response))
                memory.response = response.bytes
                return response
            }
            let body: String
            let ready: Bool
            if path == "/readyz" {
                var subject = ProbeSubject.container
                if let service = parameter("service", in: query) {
                    do throws(UsageError) {
                        subject = try ProbeSubject(service: service)
                    } catch {
                        return response(status: 400, body: "bad request: \(error)", head: method == "HEAD")
                    }
                }
                let readiness = answers.readiness(of: subject)
                ready = readiness.isReady
                body = readiness.line
            } else {
                ready = answers.livenessFailure == nil
                body = answers.livenessFailure.map { "not alive: \($0.code.rawValue) \($0.code.name): \($0.message)" }
                    ?? "alive: no essential program has ended"
            }
            return response(status: ready ? 200 : 503, body: body, head: method == "HEAD")
        }
    }

    private static func response(status: Int, body: String, head: Bool = false, extraHeaders: String = "") -> Response {
        response(status: status, body: Array((body + "\n").utf8), contentType: "text/plain; charset=utf-8", head: head, extraHeaders: extraHeaders)
    }

    private static func response(
        status: Int, body: [UInt8], contentType: String, head: Bool, extraHeaders: String = "", reusing storage: consuming [UInt8] = []
    ) -> Response {
        var text = "HTTP/1.1 \(status) \(reason(status))\r\nContent-Type: \(contentType)\r\n"
        text += "Content-Length: \(body.count)\r\nCache-Control: no-store\r\nConnection: close\r\n\(extraHeaders)\r\n"
        // One copy of a body as large as /metrics', with memcpy.
        var bytes = ByteText(reusing: storage, capacity: text.utf8.count + (head ? 0 : body.count))
        bytes.write(string: text)
        if !head { bytes.write(bytes: body) }
        return Response(status: status, bytes: bytes.finished())
    }

    /// `bytes`' value, left empty: the only reference, so writing over it
    /// needs no copy.
    private static func taken(_ bytes: inout [UInt8]) -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        return taken
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 431: "Request Header Fields Too Large"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }
}

/// `--http`'s address: `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (every
/// address). Numeric only: the listener resolves no names. The IPv6 form is
/// checked for its characters only; the bind finds the rest.
package struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    /// Empty for every address.
    package var host: String
    package var port: UInt16
    package var isIPv6: Bool

    package init(parsing text: String) throws(UsageError) {
        let problem = UsageError("--http takes HOST:PORT, [IPV6]:PORT or :PORT with a numeric host and a port from 1 to 65535, not \(text)")
        guard let colon = text.lastIndex(of: ":") else { throw problem }
        var host = String(text[..<colon])
        guard let port = UInt16(text[text.index(after: colon)...]), port > 0 else { throw problem }
        isIPv6 = host.hasPrefix("[")
        if isIPv6 {
            guard host.hasSuffix("]"), host.count > 2 else { throw problem }
            host = String(host.dropFirst().dropLast())
            guard host.contains(":"), host.utf8.allSatisfy({ Array("0123456789abcdefABCDEF:.".utf8).contains($0) }) else {
                throw problem
            }
        } else if !host.isEmpty {
            let parts = host.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && (UInt8($0) != nil) }) else { throw problem }
        }
        self.host = host
        self.port = port
    }

    package var description: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension Verdict {
    /// The verdict readiness_probe gave as a child of the listener: its exit
    /// status says the code, its one line the message.
    package init(probeExit status: Int32, output: some Collection<UInt8>) {
        let line = String(decoding: output.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let code = ProbeCode.all.first { $0.rawValue == status && $0 != .hookFailed } ?? ProbeCode.forHookExit(status)
        let prefix = "\(status == 0 ? "ready" : "not ready"): \(code.rawValue) \(code.name): "
        guard line.hasPrefix(prefix) else {
            self.init(.internalError, "readiness_probe exited \(status) without its line (printed: \(line.prefix(200)))")
            return
        }
        self.init(code, String(line.dropFirst(prefix.count)))
    }
}
