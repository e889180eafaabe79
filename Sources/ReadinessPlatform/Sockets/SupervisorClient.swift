import CReadiness
package import ReadinessCore

/// Asks supervisord's XML-RPC interface about a program, over the server
/// supervisord names in `SUPERVISOR_SERVER_URL` for its children
/// (`unix:///path` or `http://IPv4:port`), with Basic authorization from
/// `SUPERVISOR_USERNAME` / `SUPERVISOR_PASSWORD` when set.
///
/// Every call is bounded: connect, send and receive together take at most
/// `timeoutMilliseconds`, and an answer larger than 256 KiB is refused; for
/// getAllProcessInfo, whose answer grows with the number of processes,
/// `allProcessInfoTimeoutMilliseconds` (waited for) or
/// `loopAllProcessInfoTimeoutMilliseconds` (the loop's) and 4 MiB.
package struct SupervisorClient: Sendable {
    package enum Endpoint: Equatable, Sendable {
        case unix(path: String)
        case inet(host: String, port: UInt16)
    }

    package let endpoint: Endpoint
    package let authorization: (user: String, password: String)?
    package var timeoutMilliseconds: Int64 = 1000
    /// supervisord takes about a millisecond per process to answer
    /// getAllProcessInfo, more when busy: 0.8 to 4.6 s for 1,000 processes
    /// on a loaded 2-core machine. Waited for only at start-up, before READY;
    /// the loop's question (`startAllProcessInfo`) holds nothing back, and
    /// may take `loopAllProcessInfoTimeoutMilliseconds`.
    package var allProcessInfoTimeoutMilliseconds: Int64 = 5000
    package var loopAllProcessInfoTimeoutMilliseconds: Int64 = 30_000

    /// Why a call got no usable answer; the listener then follows events only.
    package struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    /// The client supervisord's environment describes, or why there is none.
    package static func fromEnvironment() -> Result<SupervisorClient, Failure> {
        guard let url = system_environment_value("SUPERVISOR_SERVER_URL"), !url.isEmpty else {
            return .failure(Failure("SUPERVISOR_SERVER_URL is not set (no [unix_http_server] or [inet_http_server] in supervisord.conf)"))
        }
        guard let endpoint = parse(url) else { return .failure(Failure("unsupported SUPERVISOR_SERVER_URL \(url)")) }
        let user = system_environment_value("SUPERVISOR_USERNAME")
        let password = system_environment_value("SUPERVISOR_PASSWORD")
        return .success(SupervisorClient(endpoint: endpoint, authorization: user.map { ($0, password ?? "") }))
    }

    init(endpoint: Endpoint, authorization: (user: String, password: String)?) {
        self.endpoint = endpoint
        self.authorization = authorization
    }

    static func parse(_ url: String) -> Endpoint? {
        if url.hasPrefix("unix://") { return .unix(path: String(url.dropFirst("unix://".count))) }
        guard url.hasPrefix("http://") else { return nil }
        let hostPort = url.dropFirst("http://".count).prefix { $0 != "/" }
        guard let colon = hostPort.lastIndex(of: ":"), let port = UInt16(hostPort[hostPort.index(after: colon)...]) else { return nil }
        let host = String(hostPort[..<colon])
        return .inet(host: host == "localhost" ? "127.0.0.1" : host, port: port)
    }

    /// `supervisor.getProcessInfo(name)`: the program's info, `.noSuchProgram`
    /// (BAD_NAME), or a failure. Never `.unavailable`: that is the failure.
    package func processInfo(_ name: String) -> Result<SupervisorAnswer, Failure> {
        Self.processInfoAnswer(Self.finish(startProcessInfo(name)))
    }

    /// getProcessInfo's exchange, started for a loop to drive; its answer
    /// goes to `processInfoAnswer`.
    package func startProcessInfo(_ name: String) -> Result<SupervisorExchange, Failure> {
        start("supervisor.getProcessInfo", [.string(name)], limit: XMLRPC.maximumResponseBytes, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// What getProcessInfo's exchange brought, read.
    package static func processInfoAnswer(_ exchanged: Result<[UInt8], Failure>) -> Result<SupervisorAnswer, Failure> {
        exchanged.flatMap(body).flatMap { body in
            switch Result(catching: { () throws(XMLRPCError) in try XMLRPC.parse(body) }) {
            case .failure(let error): return .failure(Failure(error.description))
            case .success(.fault(let code, _)) where code == SupervisorFault.badName: return .success(.noSuchProgram)
            case .success(.fault(let code, let message)): return .failure(Failure("XML-RPC fault \(code): \(message)"))
            case .success(.structure(let fields)):
                guard let info = SupervisorProcessInfo(fields) else {
                    return .failure(Failure("getProcessInfo answer lacks statename, start, stop, pid or exitstatus"))
                }
                return .success(.info(info))
            }
        }
    }

    /// `supervisor.getAllProcessInfo()`: every program, with its group and name.
    package func allProcessInfo() -> Result<[NamedProcessInfo], Failure> {
        EveryProcessAnswer.reading(Self.finish(startAllProcessInfo(timeoutMilliseconds: allProcessInfoTimeoutMilliseconds))).flatMap { answer in
            var answer = answer
            while true {
                if let programs = answer.read(upTo: .max) { return programs }
            }
        }
    }

    /// `supervisor.getAllConfigInfo()`: each process's configuration, asked
    /// once at start-up (about 2 KiB a process).
    package func programConfigs() -> Result<[ProgramConfig], Failure> {
        let limit = XMLRPC.maximumArrayResponseBytes
        return call("supervisor.getAllConfigInfo", [], limit: limit, timeoutMilliseconds: allProcessInfoTimeoutMilliseconds).flatMap { body in
            do throws(XMLRPCError) {
                switch try XMLRPC.ArrayReader.start(body) {
                case .fault(let code, let message): return .failure(Failure("XML-RPC fault \(code): \(message)"))
                case .reader(var reader):
                    var configs: [ProgramConfig] = []
                    for fields in try reader.next(upTo: .max) {
                        guard let config = ProgramConfig(fields) else { return .failure(Failure("getAllConfigInfo answer lacks group, name, autostart or group_prio")) }
                        configs.append(config)
                    }
                    return .success(configs)
                }
            } catch {
                return .failure(Failure(error.description))
            }
        }
    }

    /// getAllProcessInfo's exchange, started for a loop to drive; its
    /// answer goes to `EveryProcessAnswer.reading`.
    package func startAllProcessInfo(timeoutMilliseconds: Int64? = nil) -> Result<SupervisorExchange, Failure> {
        start(
            "supervisor.getAllProcessInfo", [], limit: XMLRPC.maximumArrayResponseBytes,
            timeoutMilliseconds: timeoutMilliseconds ?? loopAllProcessInfoTimeoutMilliseconds)
    }

    /// getAllProcessInfo's answer, read a part at a time so that a loop can
    /// handle events between the parts (1,000 processes take over 10 ms).
    package struct EveryProcessAnswer: Sendable {
        private var reader: XMLRPC.ArrayReader
        private var programs: [NamedProcessInfo] = []

        /// What the exchange brought, checked: HTTP errors, faults and
        /// answers that are no array are failures.
        package static func reading(_ answer: Result<[UInt8], Failure>) -> Result<EveryProcessAnswer, Failure> {
            answer.flatMap(SupervisorClient.body).flatMap { body in
                switch Result(catching: { () throws(XMLRPCError) in try XMLRPC.ArrayReader.start(body) }) {
                case .failure(let error): .failure(Failure(error.description))
                case .success(.fault(let code, let message)): .failure(Failure("XML-RPC fault \(code): \(message)"))
                case .success(.reader(let reader)): .success(EveryProcessAnswer(reader: reader))
                }
            }
        }

        /// Reads at most `count` more processes: nil while some are left,
        /// then every program, or why the answer is unusable.
        package mutating func read(upTo count: Int) -> Result<[NamedProcessInfo], Failure>? {
            do throws(XMLRPCError) {
                for fields in try reader.next(upTo: count) {
                    guard let program = NamedProcessInfo(fields) else {
                        return .failure(Failure("getAllProcessInfo answer lacks group, name, statename, start, stop, pid or exitstatus"))
                    }
                    programs.append(program)
                }
            } catch {
                return .failure(Failure(error.description))
            }
            return reader.isFinished ? .success(programs) : nil
        }
    }

    /// `supervisor.shutdown()`, started for a loop to drive: supervisord
    /// stops every program, in priority order with its stopsignal and
    /// stopwaitsecs, then exits. Its answer goes to `shutdownAnswer`.
    package func startShutdown() -> Result<SupervisorExchange, Failure> {
        start("supervisor.shutdown", [], limit: XMLRPC.maximumResponseBytes, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// What shutdown's exchange brought, read: a fault (SHUTDOWN_STATE: it
    /// is already stopping) is a failure.
    package static func shutdownAnswer(_ exchanged: Result<[UInt8], Failure>) -> Result<Void, Failure> {
        exchanged.flatMap(body).flatMap { body in
            switch Result(catching: { () throws(XMLRPCError) in try XMLRPC.parse(body) }) {
            case .failure(let error): return .failure(Failure(error.description))
            case .success(.fault(let code, let message)): return .failure(Failure("XML-RPC fault \(code): \(message)"))
            case .success(.structure): return .success(())
            }
        }
    }

    /// `supervisor.startProcess(name, false)`: starts a program that is not
    /// running (`autostart=false`, or stopped) without waiting for it to
    /// reach RUNNING. A fault is an answer (`.already`, `.refused`); no
    /// answer is a failure.
    package func startProcess(_ name: String) -> Result<ControlAnswer, Failure> {
        Self.startProcessAnswer(Self.finish(startStartProcess(name)))
    }

    /// startProcess's exchange, started for a loop to drive; its answer goes
    /// to `startProcessAnswer`.
    package func startStartProcess(_ name: String) -> Result<SupervisorExchange, Failure> {
        startControl("supervisor.startProcess", name)
    }

    /// What startProcess's exchange brought, read.
    package static func startProcessAnswer(_ exchanged: Result<[UInt8], Failure>) -> Result<ControlAnswer, Failure> {
        controlAnswer(exchanged, already: SupervisorFault.alreadyStarted)
    }

    /// `supervisor.stopProcess(name, false)`, started for a loop to drive:
    /// supervisord sends the program its stopsignal without waiting for it
    /// to stop. Its answer goes to `stopProcessAnswer`.
    package func startStopProcess(_ name: String) -> Result<SupervisorExchange, Failure> {
        startControl("supervisor.stopProcess", name)
    }

    /// What stopProcess's exchange brought, read: `.already` when the
    /// program was not running.
    package static func stopProcessAnswer(_ exchanged: Result<[UInt8], Failure>) -> Result<ControlAnswer, Failure> {
        controlAnswer(exchanged, already: SupervisorFault.notRunning)
    }

    /// `method(name, false)`: startProcess or stopProcess, not waiting.
    private func startControl(_ method: String, _ name: String) -> Result<SupervisorExchange, Failure> {
        start(method, [.string(name), .bool(false)], limit: XMLRPC.maximumResponseBytes, timeoutMilliseconds: timeoutMilliseconds)
    }

    private static func controlAnswer(_ exchanged: Result<[UInt8], Failure>, already: Int) -> Result<ControlAnswer, Failure> {
        exchanged.flatMap(body).flatMap { body in
            do throws(XMLRPCError) { return .success(try ControlAnswer(response: body, already: already)) } catch { return .failure(Failure(error.description)) }
        }
    }

    /// One call: the answer's XML body (at most `limit` bytes, within
    /// `timeoutMilliseconds`), or why there is none.
    private func call(_ method: String, _ arguments: [XMLRPC.Value], limit: Int, timeoutMilliseconds: Int64) -> Result<[UInt8], Failure> {
        Self.finish(start(method, arguments, limit: limit, timeoutMilliseconds: timeoutMilliseconds)).flatMap(Self.body)
    }

    private func start(_ method: String, _ arguments: [XMLRPC.Value], limit: Int, timeoutMilliseconds: Int64) -> Result<SupervisorExchange, Failure> {
        let request = HTTP.post(body: XMLRPC.call(method, arguments), authorization: authorization)
        return SupervisorExchange.start(to: endpoint, sending: request, limit: limit, deadline: Deadline.after(milliseconds: timeoutMilliseconds))
    }

    /// Drives a started exchange to its end, waiting on its socket alone.
    static func finish(_ started: consuming Result<SupervisorExchange, Failure>) -> Result<[UInt8], Failure> {
        var exchange: SupervisorExchange
        switch consume started {
        case .failure(let failure): return .failure(failure)
        case .success(let started): exchange = started
        }
        while true {
            let ready: Bool
            do throws(Errno) {
                ready = try exchange.deadline.wait(for: exchange.waitsForOutput ? POLLOUT : POLLIN, on: exchange.descriptor)
            } catch {
                return .failure(Failure("cannot wait for supervisord: poll: \(error)"))
            }
            if let result = exchange.advance(ready: ready) { return result }
        }
    }

    /// The body of supervisord's HTTP answer, or why it has none to give.
    private static func body(of answer: [UInt8]) -> Result<[UInt8], Failure> {
        do {
            guard let response = try HTTP.parse(answer, complete: true) else { return .failure(Failure("empty HTTP answer")) }
            guard response.status == 200 else {
                return .failure(Failure(response.status == 401 ? "HTTP 401: supervisord wants credentials (set SUPERVISOR_USERNAME and SUPERVISOR_PASSWORD)" : "HTTP status \(response.status)"))
            }
            return .success(response.body)
        } catch {
            return .failure(Failure(error.description))
        }
    }
}
