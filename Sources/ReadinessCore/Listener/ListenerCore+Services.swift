/// The listener's logic for `--service` programs: starting notify services
/// once the socket is bound, following their events, attributing sd_notify
/// datagrams, taking check results.
extension ListenerCore {
    /// At start-up, the notify socket bound: what supervisord has of the
    /// services, a warning for each notify service that started before the
    /// socket existed, and a start for each one supervisord never started
    /// (`autostart=false`).
    mutating func startServices<Port: ListenerPort & ~Copyable>(_ everyProcess: [NamedProcessInfo]?, _ port: inout Port) {
        guard !configuration.services.isEmpty else { return }
        guard let programs = everyProcess else {
            if services.hasNotifyServices {
                port.log(.error, "cannot ask supervisord which notify services to start: they stay not ready until started by hand", [])
            }
            return
        }
        serviceEventsMayBeLost = false
        for process in services.notifyServicesStartedEarly(among: programs) {
            port.log(.error, "notify service started before the listener bound its socket: its READY=1 may have been lost, and it is not ready until it sends one", [
                ("service", process),
                ("fix", "set autostart=false in its [program:x] section: the listener starts it once the socket is bound"),
            ])
        }
        logChanges(services.learn(programs, at: port.now), reason: "start-up", &port)
        for process in services.notifyServicesToStart(among: programs) where !startOrder.starts(process: process) {
            if let failure = port.startProcess(process) {
                port.log(.error, "cannot start notify service", [("service", process), ("error", failure)])
            } else {
                port.log(.info, "started notify service, its socket bound", [("service", process)])
            }
        }
    }

    /// A PROCESS_STATE event, for the services.
    mutating func applyToServices<Port: ListenerPort & ~Copyable>(_ event: ProcessStateEvent, _ port: inout Port) {
        guard !configuration.services.isEmpty else { return }
        if let change = services.apply(event, at: port.now) { logChanges([change], reason: "event", &port) }
        redeliverHeld(&port)
    }

    /// What supervisord had when asked, after events may have been lost or
    /// for held datagrams: the held ones are tried again, and those still
    /// unplaced that were held when it was asked, from a sender /proc
    /// placed, are dropped (their sender is no service's run).
    mutating func learnServices<Port: ListenerPort & ~Copyable>(
        _ programs: [NamedProcessInfo], reason: String, dropUnplaced: Bool, _ port: inout Port
    ) {
        guard !configuration.services.isEmpty else { return }
        logChanges(services.learn(programs, at: port.now), reason: reason, &port)
        redeliverHeld(&port)
        guard dropUnplaced else { return services.markHeldAsked(false) }
        for message in services.dropAskedAbout() {
            drop("its sender is not a notify service's current run, a descendant of one, nor its MAINPID", kind: "unattributed", sender: message.sender, at: port.now, &port)
        }
    }

    /// Held datagrams, tried again now that a run may be known; those held
    /// too long are dropped, and said so.
    mutating func redeliverHeld<Port: ListenerPort & ~Copyable>(_ port: inout Port) {
        guard !services.held.isEmpty else { return }
        let (delivered, expired) = services.redeliverHeld(at: port.now)
        for (held, delivery) in delivered {
            guard case .applied(let service, let change, let news, let refused) = delivery else { continue }
            if let refused { refuseMainPID(refused, of: service, at: port.now, &port) }
            logNotifyMessage(held.message, from: held.sender, to: service, news: news, refused: refused != nil, &port)
            if let change { logChanges([change], reason: "notify", &port) }
        }
        for message in expired {
            port.log(.warning, "dropped a notify message: no notify service's current run has its sender's pid, MAINPID or an ancestor of it", [
                ("sender_pid", "\(message.sender)"), ("held_ms", "\(ServiceTracker.holdMilliseconds)"),
            ])
        }
    }

    /// One datagram from the notify socket. `sender` is its SCM_CREDENTIALS
    /// pid (nil: none), `ancestry` the sender and its ancestors as /proc
    /// showed them at reception (empty when the sender was already gone).
    /// The ancestry of a `MAINPID=` it names is asked of the port now, at
    /// reception, and kept with the message if it is held.
    package mutating func receive<Port: ListenerPort & ~Copyable>(
        datagram bytes: [UInt8], length: Int, sender: Int?, ancestry: [Int], passedDescriptors: Int, _ port: inout Port
    ) {
        let now = port.now
        if passedDescriptors > 0 {
            logThrottled("closed file descriptors passed with a notify message (nothing here keeps them)", [
                ("descriptors", "\(passedDescriptors)"), ("sender_pid", sender.map { "\($0)" } ?? "unknown"),
            ], kind: "descriptors", at: now, &port)
        }
        let message: NotifyMessage
        do throws(NotifyMessage.Rejection) {
            message = try NotifyMessage(parsing: bytes, length: length)
        } catch {
            return drop(error.description, kind: "malformed", sender: sender, at: now, &port)
        }
        guard let sender else { return drop("it carries no sender credentials", kind: "anonymous", sender: nil, at: now, &port) }
        let mainPIDAncestry = message.mainPID.map { port.ancestry(of: $0) } ?? []
        let delivery = services.deliver(message, from: sender, ancestry: ancestry, mainPIDAncestry: mainPIDAncestry, at: now)
        // Only a process of supervisord's can be a service's run; /proc
        // tells for a sender still alive (not for one already gone).
        let ofSupervisord = ancestry.isEmpty || ancestry.contains(record.supervisordPID)
        switch delivery {
        case .applied(let service, let change, let news, let refused):
            metrics?.countDatagram("accepted")
            if let refused { refuseMainPID(refused, of: service, sender: sender, at: now, &port) }
            logNotifyMessage(message, from: sender, to: service, news: news, refused: refused != nil, &port)
            if let change { logChanges([change], reason: "notify", &port) }
            redeliverHeld(&port)
        case .unattributed where !ofSupervisord:
            drop("its sender is not a process of supervisord's", kind: "stranger", sender: sender, at: now, &port)
        case .unattributed:
            // Its sender may be a run that started after the last event
            // handled (supervisord knows its pid already, and is asked, as
            // often as the budget allows), or gone before /proc could tell
            // its parent: kept for a while, never dropped silently.
            metrics?.countDatagram("held")
            if let pushedOut = services.hold(message, from: sender, ancestry: ancestry, mainPIDAncestry: mainPIDAncestry, at: now) {
                drop("more than \(ServiceTracker.holdLimit) messages waited for their sender's run to be known", kind: "pushed_out", sender: pushedOut.sender, at: now, &port)
            }
            if !wantedEveryProcess.contains(.datagrams), refreshBudget.take(at: now) { wantedEveryProcess.insert(.datagrams) }
        }
    }

    /// A datagram a service took, when it was delivered or later, once its
    /// sender's run was known: logged at info when it said something new.
    private func logNotifyMessage<Port: ListenerPort & ~Copyable>(
        _ message: NotifyMessage, from sender: Int, to service: String, news: Bool, refused: Bool, _ port: inout Port
    ) {
        guard news || configuration.verbose else { return }
        var fields = [("service", service), ("sender_pid", "\(sender)")]
        if let signal = message.signal { fields.append(("sent", signal.assignment)) }
        if let mainPID = message.mainPID, !refused { fields.append(("main_pid", "\(mainPID)")) }
        if let status = message.status { fields.append(("status", status)) }
        port.log(news ? .info : .debug, "sd_notify message", fields)
    }

    /// A check's result for the run `pid` of `process`.
    package mutating func checked<Port: ListenerPort & ~Copyable>(_ process: String, pid: Int, passed: Bool, detail: String, _ port: inout Port) {
        if let change = services.checked(process, pid: pid, passed: passed, detail: detail, at: port.now) {
            logChanges([change], reason: "check", &port)
        }
    }

    /// Logs a `MAINPID=` not taken (throttled: any process of the service's may send one).
    private mutating func refuseMainPID<Port: ListenerPort & ~Copyable>(
        _ mainPID: Int, of service: String, sender: Int? = nil, at time: Timestamp, _ port: inout Port
    ) {
        var fields = [("service", service), ("main_pid", "\(mainPID)")]
        if let sender { fields.append(("sender_pid", "\(sender)")) }
        logThrottled("refused a MAINPID: it is not the service's run nor a descendant of it", fields, kind: "mainpid", at: time, &port)
    }

    /// Logs a dropped datagram; `kind` (one of a few words) is what the log
    /// throttles by, and the metrics count by (a pushed-out one was counted held).
    private mutating func drop<Port: ListenerPort & ~Copyable>(_ reason: String, kind: String, sender: Int?, at time: Timestamp, _ port: inout Port) {
        if kind != "pushed_out" { metrics?.countDatagram(kind) }
        logThrottled("dropped a notify message", [("reason", reason), ("sender_pid", sender.map { "\($0)" } ?? "unknown")], kind: kind, at: time, &port)
    }

    /// A warning about the notify socket's traffic: the first of its kind,
    /// then at most one per `LogThrottle.intervalMilliseconds`, with how many
    /// were not logged.
    private mutating func logThrottled<Port: ListenerPort & ~Copyable>(
        _ message: String, _ fields: [(String, String)], kind: String, at time: Timestamp, _ port: inout Port
    ) {
        guard let suppressed = drops.admit(kind, at: time) else { return }
        var fields = fields
        if suppressed > 0 { fields.append(("not_logged_since_last", "\(suppressed)")) }
        port.log(.warning, message, fields)
    }

    private mutating func logChanges<Port: ListenerPort & ~Copyable>(_ changes: [ServiceTracker.Change], reason: String, _ port: inout Port) {
        for change in changes {
            let service = change.service
            if change.becameReady == true {
                metrics?.serviceBecameReady(service.name, process: service.process, run: service.run, at: port.now)
                port.log(.info, "service ready", [
                    ("service", service.name), ("check", service.kind.rawValue), ("pid", service.run.map { "\($0)" } ?? "unknown"),
                    ("learnt_from", reason), ("detail", service.detail ?? ""),
                ])
            } else {
                port.log(.warning, "service not ready", [
                    ("service", service.name), ("check", service.kind.rawValue), ("state", service.stateName),
                    ("learnt_from", reason), ("why", service.notReadyReason),
                ])
            }
        }
    }
}

/// Lets the first log line of each kind through, then at most one per
/// `intervalMilliseconds` of that kind, saying how many were held back.
/// Kinds are a handful of fixed words: a list, not a hash table.
package struct LogThrottle: Sendable {
    package static let intervalMilliseconds: Int64 = 10_000
    private var kinds: [(kind: String, lastLogged: Int64, suppressed: Int)] = []

    package init() {}

    /// The number of `kind` held back since its last line, when this one may
    /// be logged; nil when it may not.
    package mutating func admit(_ kind: String, at time: Timestamp) -> Int? {
        let now = time.millisecondsSinceEpoch
        guard let index = kinds.firstIndex(where: { $0.kind == kind }) else {
            kinds.append((kind, now, 0))
            return 0
        }
        guard now - kinds[index].lastLogged >= Self.intervalMilliseconds else {
            kinds[index].suppressed += 1
            return nil
        }
        defer { kinds[index] = (kind, now, 0) }
        return kinds[index].suppressed
    }
}
