/// How a service's readiness is known (`--service PROGRAM=HOW`).
package enum ServiceCheck: Equatable, Sendable, CustomStringConvertible {
    /// The program sends `READY=1` over the sd_notify protocol.
    case notify
    /// A TCP connect to a numeric address succeeds.
    case tcp(host: String, port: UInt16)
    /// `/bin/sh -c COMMAND` exits 0, with the hook's containment.
    case exec(String)
    /// supervisord's RUNNING is enough.
    case running

    /// `notify`, `running`, `tcp:PORT`, `tcp:HOST:PORT`, `tcp:[IPV6]:PORT`, `exec:COMMAND`.
    package init(parsing text: String) throws(UsageError) {
        let bad = UsageError("a service is known by notify, tcp:[HOST:]PORT, exec:COMMAND or running, not \"\(text)\"")
        if text == "notify" {
            self = .notify
        } else if text == "running" {
            self = .running
        } else if text.hasPrefix("exec:") {
            let command = String(text.dropFirst(5))
            guard !command.isEmpty else { throw bad }
            self = .exec(command)
        } else if text.hasPrefix("tcp:") {
            let address = text.dropFirst(4)
            let host: Substring
            let portText: Substring
            if let colon = address.lastIndex(of: ":") {
                host = address[..<colon]
                portText = address[address.index(after: colon)...]
            } else {
                host = "127.0.0.1"
                portText = address
            }
            guard let port = UInt64(decimal: portText.utf8), (1...65535).contains(port) else { throw bad }
            var hostText = String(host)
            if hostText.hasPrefix("[") && hostText.hasSuffix("]") { hostText = String(hostText.dropFirst().dropLast()) }
            guard !hostText.isEmpty, hostText.utf8.allSatisfy({ Self.isAddressByte($0) }) else { throw bad }
            self = .tcp(host: hostText, port: UInt16(port))
        } else {
            throw bad
        }
    }

    /// Numeric IPv4 or IPv6 addresses only: the listener resolves no names.
    private static func isAddressByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F")) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }

    /// Whether readiness comes from checks the listener runs.
    package var isChecked: Bool {
        switch self {
        case .tcp, .exec: true
        case .notify, .running: false
        }
    }

    /// As given on the command line.
    package var description: String {
        switch self {
        case .notify: "notify"
        case .running: "running"
        case .tcp(let host, let port): "tcp:\(Self.address(host, port))"
        case .exec(let command): "exec:\(command)"
        }
    }

    /// `tcp 127.0.0.1:8080`, as check results name it.
    package var target: String {
        switch self {
        case .tcp(let host, let port): "tcp \(Self.address(host, port))"
        case .exec: "exec"
        case .notify, .running: kind.rawValue
        }
    }

    /// `HOST:PORT`, an IPv6 host in brackets.
    private static func address(_ host: String, _ port: UInt16) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// One `--service PROGRAM=HOW`: which programs, and how their readiness is known.
package struct ServiceSpec: Equatable, Sendable, CustomStringConvertible {
    /// `NAME`, `GROUP:NAME` or `GROUP:*`, as for `--essential`.
    package var programs: ProcessPattern
    package var check: ServiceCheck

    package init(parsing text: String) throws(UsageError) {
        guard let equals = text.firstIndex(of: "=") else {
            throw UsageError("--service takes PROGRAM=HOW (HOW: notify, tcp:[HOST:]PORT, exec:COMMAND or running), not \"\(text)\"")
        }
        programs = try ProcessPattern(parsing: String(text[..<equals]), option: "--service")
        check = try ServiceCheck(parsing: String(text[text.index(after: equals)...]))
    }

    package var description: String { "\(programs)=\(check)" }
}

/// When and how often checked services are checked, with the knobs people
/// know from Kubernetes probes (`--check-period`, `--check-timeout`,
/// `--check-success`, `--check-failure`). The first check runs as soon as
/// supervisord has the program RUNNING.
package struct CheckTiming: Equatable, Sendable {
    package var periodMilliseconds: Int64 = 2000
    package var timeoutMilliseconds: Int64 = 1000
    /// Passes in a row that make a service ready.
    package var successThreshold = 1
    /// Failures in a row that make a ready service not ready.
    package var failureThreshold = 3

    package init() {}
}
