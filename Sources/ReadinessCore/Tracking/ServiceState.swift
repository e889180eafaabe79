/// How a service's readiness is known, as the status file names it.
package enum ServiceKind: String, Equatable, Sendable {
    case notify
    case tcp
    case exec
    case running
}

extension ServiceCheck {
    package var kind: ServiceKind {
        switch self {
        case .notify: .notify
        case .tcp: .tcp
        case .exec: .exec
        case .running: .running
        }
    }
}

/// One service as the listener knows it: supervisord's state of its current
/// run, the readiness signal or check results that belong to that run, and
/// whether it is ready. Kept in the status file, one line per service.
///
/// **A run is its pid.** Whatever readiness says (READY=1, MAINPID=, check
/// results) belongs to `run`, the pid it was learnt for; the service is ready
/// only while supervisord has it RUNNING with that pid. A restart is another
/// pid, so it must notify or pass its checks again; no event has to clear
/// anything for that, which matters because a datagram of the new run can
/// arrive before the listener has handled the old run's EXITED.
package struct ServiceState: Equatable, Sendable {
    /// `GROUP:NAME`; while no process of the spec has been seen, the spec itself (`redis`, `web:*`).
    package var process: String
    package var kind: ServiceKind
    /// supervisord's state; nil while not seen.
    package var state: ProcessState?
    /// supervisord has no program of that name (from XML-RPC).
    package var absent = false
    /// The pid of the run that readiness is about: from a RUNNING event, or
    /// from supervisord's answer while STARTING.
    package var run: Int?
    /// Of `run`: the last readiness signal it sent.
    package var signal: NotifyMessage.Signal?
    /// Of `run`: `MAINPID=`, a process whose messages are accepted too.
    package var mainPID: Int?
    /// Of `run`: the last `STATUS=`, or the last check's result.
    package var detail: String?
    /// Of `run`: checks passed and failed in a row.
    package var passes = 0
    package var failures = 0
    /// Of `run`: whether the checks' thresholds made it ready (and not yet not ready).
    package var passing = false
    package var ready = false
    /// When `ready` last changed, or the service was first recorded.
    package var since: Timestamp?

    package init(process: String, kind: ServiceKind) {
        self.process = process
        self.kind = kind
    }

    /// `redis` for `redis:redis` (a program outside any group), else `GROUP:NAME`.
    package var name: String { Self.shortName(process) }

    /// `redis` for `redis:redis`, else `GROUP:NAME` as given.
    @inline(never) package static func shortName(_ process: String) -> String {
        let parts = process.split(separator: ":", maxSplits: 1)
        return parts.count == 2 && parts[0] == parts[1] ? String(parts[0]) : process
    }

    /// Its state as the status file and `--explain` spell it: ABSENT when
    /// supervisord has no such program, NOT_SEEN before any word of it.
    package var stateName: String { absent ? "ABSENT" : state?.rawValue ?? "NOT_SEEN" }

    /// The rule: RUNNING, and this run's signal or checks say so.
    var isReadyNow: Bool {
        guard state == .running, run != nil else { return false }
        switch kind {
        case .running: return true
        case .notify: return signal == .ready
        case .tcp, .exec: return passing
        }
    }

    /// Why it is not ready, in one line without times or pids (kubelet
    /// merges events with equal messages).
    package var notReadyReason: String {
        let service = "service \(name)"
        if absent { return "\(service): supervisord has no such program" }
        guard let state else { return "\(service) has not been seen yet" }
        guard state == .running else {
            if state == .starting && kind == .notify && signal == .ready { return "\(service) is STARTING (READY=1 received, waiting for RUNNING)" }
            return "\(service) is \(state.rawValue)"
        }
        let status = detail.map { " (STATUS=\($0))" } ?? ""
        switch kind {
        case .running:
            return "\(service) is RUNNING"
        case .notify:
            switch signal {
            case .ready: return "\(service) is ready"
            case .reloading: return "\(service) sent RELOADING=1 and no READY=1 since\(status)"
            case .stopping: return "\(service) sent STOPPING=1\(status)"
            case nil: return "\(service) is RUNNING but has not sent READY=1\(status)"
            }
        case .tcp, .exec:
            guard let detail else { return "\(service) is RUNNING; its first \(kind.rawValue) check has not finished" }
            if failures > 0 { return "\(service): \(detail) (\(failures) check\(failures == 1 ? "" : "s") failed)" }
            return "\(service): \(detail) (\(passes) check\(passes == 1 ? "" : "s") passed, not yet enough)"
        }
    }
}

extension Verdict {
    /// The services' part of the common check: the first service that is not
    /// ready, once start.sh's part passed.
    static func servicesCheck(_ services: [ServiceState], after start: Verdict) -> Verdict {
        guard !services.isEmpty else { return start }
        if let waiting = services.first(where: { !$0.ready }) {
            return Verdict(.serviceNotReady, waiting.notReadyReason)
        }
        return Verdict(.ready, "\(start.message); \(services.count) service\(services.count == 1 ? "" : "s") ready")
    }

    /// One service's probe: every recorded process (or service not seen
    /// yet) that `spec` can name.
    static func serviceCheck(_ services: [ServiceState], _ spec: ProcessPattern) -> Verdict {
        let named = services.filter { service in (try? ProcessPattern(parsing: service.process)).map(spec.overlaps) ?? false }
        guard !named.isEmpty else {
            var known: [String] = []
            for service in services where !known.contains(service.name) { known.append(service.name) }
            let list = known.isEmpty ? "the listener follows no service" : "the listener's services are \(known.joined(separator: ", "))"
            return Verdict(.unknownService, "no service \(spec): \(list) (start names start.sh's own check)")
        }
        if let waiting = named.first(where: { !$0.ready }) {
            return Verdict(.serviceNotReady, waiting.notReadyReason)
        }
        return Verdict(.ready, named.count == 1 ? "service \(named[0].name) is ready" : "\(named.count) services of \(spec) ready")
    }
}

// MARK: - Status file

extension ServiceState {
    /// `service=redis:redis check=notify state=RUNNING ready=1 since=… run=42
    /// signal=ready main_pid=unknown passes=0 failures=0 passing=0 detail=…`:
    /// one line, `detail` last since it is free text. A key of format 1 that
    /// older probes ignore.
    func write(into text: inout ByteText) {
        text.write("service=")
        text.write(string: process)
        text.write(" check=")
        text.write(string: kind.rawValue)
        text.write(" state=")
        text.write(string: stateName)
        text.write(" ready=")
        text.write(orUnknown: ready)
        text.write(" since=")
        text.write(orUnknown: since)
        text.write(" run=")
        text.write(orUnknown: run)
        text.write(" signal=")
        text.write(string: signal?.rawValue ?? "none")
        text.write(" main_pid=")
        text.write(orUnknown: mainPID)
        text.write(" passes=")
        text.write(passes)
        text.write(" failures=")
        text.write(failures)
        text.write(" passing=")
        text.write(orUnknown: passing)
        text.write(" detail=")
        text.writeOneLine(detail ?? "")
        text.write("\n")
    }

    /// A `service=` line's value; nil when it is not one this listener writes.
    /// The fields come in the order `write` puts them.
    init?(parsing bytes: ArraySlice<UInt8>) {
        let detailKey = " detail=".utf8
        guard let detailStart = bytes.firstIndex(ofBytes: detailKey) else { return nil }
        let fields = bytes[..<detailStart].split(separator: UInt8(ascii: " "))
        let keys = ["check", "state", "ready", "since", "run", "signal", "main_pid", "passes", "failures", "passing"]
        guard fields.count == keys.count + 1, !fields[0].contains(UInt8(ascii: "=")) else { return nil }
        var values: [String] = []
        for (field, key) in zip(fields.dropFirst(), keys) {
            guard field.starts(with: key.utf8), field.dropFirst(key.utf8.count).first == UInt8(ascii: "=") else { return nil }
            values.append(String(decoding: field.dropFirst(key.utf8.count + 1), as: UTF8.self))
        }
        func flag(_ text: String) -> Bool? { text == "1" ? true : text == "0" ? false : nil }
        /// A number, or `unknown` (nil inside); nil when neither.
        func number(_ text: String) -> Int?? {
            if text == "unknown" { return .some(nil) }
            return UInt64(decimal: text.utf8).map { .some(Int($0)) }
        }
        guard let kind = ServiceKind(rawValue: values[0]), let ready = flag(values[2]), let run = number(values[4]),
            let mainPID = number(values[6]), let passes = number(values[7]) ?? nil, let failures = number(values[8]) ?? nil,
            let passing = flag(values[9])
        else { return nil }
        self.init(process: String(decoding: fields[0], as: UTF8.self), kind: kind)
        switch values[1] {
        case "NOT_SEEN": break
        case "ABSENT": absent = true
        default:
            guard let state = ProcessState(rawValue: values[1]) else { return nil }
            self.state = state
        }
        if values[3] != "unknown" {
            guard let since = Timestamp(rfc3339: values[3]) else { return nil }
            self.since = since
        }
        if values[5] != "none" {
            guard let signal = NotifyMessage.Signal(rawValue: values[5]) else { return nil }
            self.signal = signal
        }
        self.ready = ready
        self.passing = passing
        self.run = run
        self.mainPID = mainPID
        self.passes = passes
        self.failures = failures
        let detail = bytes[(detailStart + detailKey.count)...]
        self.detail = detail.isEmpty ? nil : String(decoding: detail, as: UTF8.self)
    }
}
