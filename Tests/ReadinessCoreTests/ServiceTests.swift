import Testing

@testable import ReadinessCore

/// `--service` specs, sd_notify messages, and the per-service rule "ready
/// only for the current run", without processes.
@Suite struct ServiceTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_795_387_133_000)

    func event(_ serial: UInt64, _ state: ProcessState, _ name: String = "redis", group: String? = nil, from: ProcessState = .stopped, pid: Int? = nil) -> ProcessStateEvent {
        ProcessStateEvent(serial: serial, state: state, processName: name, groupName: group ?? name, fromState: from, pid: pid)
    }

    func tracker(_ specs: String...) throws -> ServiceTracker {
        ServiceTracker(specs: try specs.map { try ServiceSpec(parsing: $0) }, at: t0)
    }

    // MARK: - Specs

    @Test func specsParse() throws {
        #expect(try ServiceSpec(parsing: "redis=notify").check == .notify)
        #expect(try ServiceSpec(parsing: "web=tcp:8080").check == .tcp(host: "127.0.0.1", port: 8080))
        #expect(try ServiceSpec(parsing: "web=tcp:10.0.0.2:80").check == .tcp(host: "10.0.0.2", port: 80))
        #expect(try ServiceSpec(parsing: "web=tcp:[::1]:80").check == .tcp(host: "::1", port: 80))
        #expect(try ServiceSpec(parsing: "db=exec:pg_isready -q").check == .exec("pg_isready -q"))
        #expect(try ServiceSpec(parsing: "cron=running").check == .running)
        #expect(try ServiceSpec(parsing: "apps:*=running").programs.description == "apps:*")
        #expect(try ServiceSpec(parsing: "apps:web=tcp:80").description == "apps:web=tcp:127.0.0.1:80")
        for bad in ["redis", "redis=", "=notify", "redis=tcp:", "redis=tcp:0", "redis=tcp:70000", "redis=tcp:localhost:80", "redis=exec:", "redis=ping", "a:b:c=notify"] {
            #expect(throws: UsageError.self, "\(bad)") { try ServiceSpec(parsing: bad) }
        }
    }

    // MARK: - Messages

    @Test func messagesAreSplitOnNewlinesAndMatchedWhole() throws {
        let redis = try NotifyMessage(parsing: Array("STATUS=Ready to accept connections\nREADY=1\n".utf8), length: 43)
        #expect(redis == NotifyMessage(signal: .ready, status: "Ready to accept connections"))
        #expect(try NotifyMessage(parsing: Array("READY=10".utf8), length: 8).signal == nil)
        #expect(try NotifyMessage(parsing: Array("XREADY=1".utf8), length: 8).signal == nil)
        #expect(try NotifyMessage(parsing: Array("READY=1\nMAINPID=4242".utf8), length: 20) == NotifyMessage(signal: .ready, mainPID: 4242))
        #expect(try NotifyMessage(parsing: Array("RELOADING=1".utf8), length: 11).signal == .reloading)
        #expect(try NotifyMessage(parsing: Array("READY=1\nSTOPPING=1".utf8), length: 18).signal == .stopping)
        #expect(try NotifyMessage(parsing: Array("RELOADING=1\nREADY=1".utf8), length: 19).signal == .ready)
        #expect(try NotifyMessage(parsing: Array("MAINPID=-3\nMAINPID=x".utf8), length: 20).mainPID == nil)
        #expect(try NotifyMessage(parsing: Array("STATUS=a\tb\rc".utf8), length: 12).status == "a b c")
        let long = try NotifyMessage(parsing: Array(("STATUS=" + String(repeating: "x", count: 500)).utf8), length: 507)
        #expect(long.status?.count == NotifyMessage.statusLimit + 1)
    }

    @Test func badDatagramsAreRejected() {
        #expect(throws: NotifyMessage.Rejection.tooLarge(8192)) { try NotifyMessage(parsing: [UInt8](repeating: 65, count: 4097), length: 8192) }
        #expect(throws: NotifyMessage.Rejection.tooLarge(4097)) { try NotifyMessage(parsing: [UInt8](repeating: 65, count: 4097), length: 4097) }
        #expect(throws: NotifyMessage.Rejection.containsNUL) { try NotifyMessage(parsing: Array("READY=1\u{0}".utf8), length: 8) }
        #expect(throws: NotifyMessage.Rejection.notUTF8) { try NotifyMessage(parsing: [0xFF, 0x0A], length: 2) }
        #expect(throws: NotifyMessage.Rejection.empty) { try NotifyMessage(parsing: [], length: 0) }
    }

    // MARK: - The rule

    @Test func aNotifyServiceIsReadyOnlyWhenRunningWithItsRunsReady() throws {
        var services = try tracker("redis=notify")
        #expect(services.services.map(\.process) == ["redis"])
        #expect(!services.services[0].ready)
        #expect(services.services[0].notReadyReason == "service redis has not been seen yet")
        _ = services.apply(event(1, .starting), at: t0)
        _ = services.apply(event(2, .running, from: .starting, pid: 40), at: t0)
        #expect(services.services.map(\.process) == ["redis:redis"])
        #expect(!services.services[0].ready)
        #expect(services.deliver(NotifyMessage(status: "Redis is loading..."), from: 40, ancestry: [40, 1], at: t0) == .applied(service: "redis", change: nil, news: false))
        #expect(services.services[0].notReadyReason == "service redis is RUNNING but has not sent READY=1 (STATUS=Redis is loading...)")
        let change = services.deliver(NotifyMessage(signal: .ready), from: 40, ancestry: [40, 1], at: t0)
        guard case .applied(_, let moved?, true, nil) = change else { Issue.record("no change: \(change)"); return }
        #expect(moved.becameReady == true)
        #expect(services.services[0].ready)
        // A restart: the new run must notify again.
        _ = services.apply(event(3, .exited, from: .running, pid: 40), at: t0)
        #expect(!services.services[0].ready)
        _ = services.apply(event(4, .starting, from: .exited), at: t0)
        _ = services.apply(event(5, .running, from: .starting, pid: 41), at: t0)
        #expect(!services.services[0].ready)
        #expect(services.services[0].notReadyReason == "service redis is RUNNING but has not sent READY=1")
    }

    @Test func aReadyBeforeRunningCountsOnceRunning() throws {
        var services = try tracker("redis=notify")
        _ = services.apply(event(1, .starting), at: t0)
        // supervisord's answer while STARTING gives the pid.
        _ = services.learn([NamedProcessInfo(group: "redis", name: "redis", info: .init(state: .starting, start: 5, pid: 50))], at: t0)
        _ = services.deliver(NotifyMessage(signal: .ready), from: 50, ancestry: [50, 1], at: t0)
        #expect(!services.services[0].ready)
        #expect(services.services[0].notReadyReason == "service redis is STARTING (READY=1 received, waiting for RUNNING)")
        _ = services.apply(event(2, .running, from: .starting, pid: 50), at: t0)
        #expect(services.services[0].ready)
    }

    /// The new run's datagram is handled before the old run's EXITED event:
    /// the old event must not take the new run's readiness away.
    @Test func aNewRunsReadySurvivesTheOldRunsLateEvents() throws {
        var services = try tracker("redis=notify")
        _ = services.apply(event(1, .running, from: .starting, pid: 40), at: t0)
        _ = services.deliver(NotifyMessage(signal: .ready), from: 40, ancestry: [40], at: t0)
        #expect(services.services[0].ready)
        #expect(services.deliver(NotifyMessage(signal: .ready), from: 41, ancestry: [41, 1], at: t0) == .unattributed)
        _ = services.learn([NamedProcessInfo(group: "redis", name: "redis", info: .init(state: .starting, start: 9, pid: 41))], at: t0)
        #expect(!services.services[0].ready)
        _ = services.deliver(NotifyMessage(signal: .ready), from: 41, ancestry: [41, 1], at: t0)
        _ = services.apply(event(2, .exited, from: .running, pid: 40), at: t0)
        _ = services.apply(event(3, .starting, from: .exited), at: t0)
        _ = services.apply(event(4, .running, from: .starting, pid: 41), at: t0)
        #expect(services.services[0].ready)
    }

    @Test func onlyTheRunItsDescendantsAndItsMainPIDAreHeard() throws {
        var services = try tracker("haproxy=notify")
        _ = services.apply(event(1, .running, "haproxy", from: .starting, pid: 60), at: t0)
        #expect(services.deliver(NotifyMessage(signal: .ready), from: 99, ancestry: [99, 1], at: t0) == .unattributed)
        #expect(!services.services[0].ready)
        // A child of the run (a worker) is heard, and may name the main pid,
        // a descendant of the run.
        _ = services.deliver(NotifyMessage(signal: .reloading, mainPID: 77), from: 61, ancestry: [61, 60, 1], mainPIDAncestry: [77, 61, 60, 1], at: t0)
        #expect(services.services[0].notReadyReason == "service haproxy sent RELOADING=1 and no READY=1 since")
        _ = services.deliver(NotifyMessage(signal: .ready), from: 77, ancestry: [], at: t0)
        #expect(services.services[0].ready)
        _ = services.deliver(NotifyMessage(signal: .stopping), from: 60, ancestry: [60], at: t0)
        #expect(!services.services[0].ready)
        #expect(services.services[0].notReadyReason == "service haproxy sent STOPPING=1")
        // A forged MAINPID from a stranger is not taken.
        #expect(services.deliver(NotifyMessage(signal: .ready, mainPID: 99), from: 99, ancestry: [99], at: t0) == .unattributed)
    }

    /// The run itself names as its MAINPID a process outside the run
    /// (supervisord, pid 1 here, or a sibling): refused, the rest of the
    /// message taken, so that a sibling (a child of supervisord's, as every
    /// program is) cannot then make the service ready (issue 23). systemd
    /// takes a MAINPID only inside the service's cgroup.
    @Test func aMainPIDOutsideTheRunIsRefused() throws {
        var services = try tracker("app=notify")
        _ = services.apply(event(1, .running, "app", from: .starting, pid: 60), at: t0)
        let refused = services.deliver(NotifyMessage(status: "up", mainPID: 1), from: 60, ancestry: [60, 1], mainPIDAncestry: [1], at: t0)
        #expect(refused == .applied(service: "app", change: nil, news: false, refusedMainPID: 1))
        #expect(services.services[0].mainPID == nil)
        #expect(services.services[0].detail == "up")
        // A sibling: not heard.
        #expect(services.deliver(NotifyMessage(signal: .ready), from: 70, ancestry: [70, 1], at: t0) == .unattributed)
        #expect(!services.services[0].ready)
        // A sibling named while /proc showed it; one it could not read (gone): neither is the run.
        for (named, ancestry) in [(70, [70, 1]), (71, [])] {
            let delivery = services.deliver(NotifyMessage(mainPID: named), from: 60, ancestry: [60, 1], mainPIDAncestry: ancestry, at: t0)
            #expect(delivery == .applied(service: "app", change: nil, news: false, refusedMainPID: named))
        }
        #expect(services.services[0].mainPID == nil)
        // The run itself (even unread), and a grandchild of it, are taken.
        #expect(services.deliver(NotifyMessage(mainPID: 60), from: 60, ancestry: [60, 1], at: t0) == .applied(service: "app", change: nil, news: true))
        #expect(services.deliver(NotifyMessage(mainPID: 62), from: 61, ancestry: [61, 60, 1], mainPIDAncestry: [62, 61, 60, 1], at: t0)
            == .applied(service: "app", change: nil, news: true))
        #expect(services.services[0].mainPID == 62)
        // The main pid, reparented since (its parent exited), is heard through MAINPID.
        let ready = services.deliver(NotifyMessage(signal: .ready), from: 62, ancestry: [62, 1], at: t0)
        guard case .applied("app", let change?, true, nil) = ready else { Issue.record("not applied: \(ready)"); return }
        #expect(change.becameReady == true)
    }

    /// `/proc` walked up from a pid: a "parent" that started after its
    /// child is a reused pid, not an ancestor (its real parent exited and
    /// the pid went to a newer process): the walk stops there.
    @Test func anAncestryStopsAtAParentYoungerThanItsChild() {
        let proc: [Int: (parent: Int, startTicks: UInt64)] = [
            62: (61, 500), 61: (60, 400), 60: (1, 400), 1: (0, 1),
            // 80's parent 79 exited; pid 79 now names a process started later.
            80: (79, 300), 79: (1, 900),
        ]
        #expect(Ancestry.walk(from: 62) { proc[$0] } == [62, 61, 60, 1])
        #expect(Ancestry.walk(from: 80) { proc[$0] } == [80])
        #expect(Ancestry.walk(from: 62, limit: 2) { proc[$0] } == [62, 61])
        #expect(Ancestry.walk(from: 99) { proc[$0] } == [])
        #expect(Ancestry.walk(from: 0) { proc[$0] } == [])
    }

    @Test func everyStateButRunningWithdrawsReadiness() throws {
        for state in [ProcessState.stopping, .stopped, .exited, .backoff, .fatal, .starting, .unknown] {
            var services = try tracker("redis=notify")
            _ = services.apply(event(1, .running, from: .starting, pid: 40), at: t0)
            _ = services.deliver(NotifyMessage(signal: .ready), from: 40, ancestry: [40], at: t0)
            #expect(services.services[0].ready)
            let change = services.apply(event(2, state, from: .running, pid: 40), at: t0)
            #expect(change?.becameReady == false, "\(state)")
            // (supervisord never goes from RUNNING to STARTING; the old run's READY=1 still shows there.)
            if state != .starting { #expect(services.services[0].notReadyReason == "service redis is \(state.rawValue)") }
        }
    }

    @Test func checksHaveThresholdsAndBelongToTheirRun() throws {
        var timing = CheckTiming()
        timing.successThreshold = 2
        var services = ServiceTracker(specs: [try ServiceSpec(parsing: "web=tcp:8080")], timing: timing, at: t0)
        #expect(services.checkable.isEmpty)
        _ = services.apply(event(1, .running, "web", from: .starting, pid: 70), at: t0)
        #expect(services.checkable.map(\.pid) == [70])
        #expect(services.services[0].notReadyReason == "service web is RUNNING; its first tcp check has not finished")
        _ = services.checked("web:web", pid: 70, passed: false, detail: "tcp 127.0.0.1:8080: connection refused", at: t0)
        #expect(services.services[0].notReadyReason == "service web: tcp 127.0.0.1:8080: connection refused (1 check failed)")
        _ = services.checked("web:web", pid: 70, passed: true, detail: "tcp 127.0.0.1:8080: connected", at: t0)
        #expect(!services.services[0].ready)
        #expect(services.services[0].notReadyReason == "service web: tcp 127.0.0.1:8080: connected (1 check passed, not yet enough)")
        _ = services.checked("web:web", pid: 70, passed: true, detail: "tcp 127.0.0.1:8080: connected", at: t0)
        #expect(services.services[0].ready)
        // Two failures are not three.
        for _ in 1...2 { _ = services.checked("web:web", pid: 70, passed: false, detail: "tcp 127.0.0.1:8080: connection refused", at: t0) }
        #expect(services.services[0].ready)
        _ = services.checked("web:web", pid: 70, passed: false, detail: "tcp 127.0.0.1:8080: connection refused", at: t0)
        #expect(!services.services[0].ready)
        #expect(services.services[0].notReadyReason == "service web: tcp 127.0.0.1:8080: connection refused (3 checks failed)")
        // A result for an older run is not taken.
        _ = services.apply(event(2, .running, "web", from: .starting, pid: 71), at: t0)
        #expect(services.checked("web:web", pid: 70, passed: true, detail: "late", at: t0) == nil)
        #expect(services.services[0].detail == nil)
    }

    @Test func runningIsEnoughForRunningServices() throws {
        var services = try tracker("cron=running")
        _ = services.apply(event(1, .starting, "cron"), at: t0)
        #expect(!services.services[0].ready)
        _ = services.apply(event(2, .running, "cron", from: .starting, pid: 5), at: t0)
        #expect(services.services[0].ready)
    }

    @Test func groupSpecsCoverEveryProcessAndNamesNoneAsAbsent() throws {
        var services = try tracker("apps:*=running", "missing=notify")
        _ = services.learn([
            NamedProcessInfo(group: "apps", name: "a", info: .init(state: .running, start: 1, pid: 11)),
            NamedProcessInfo(group: "apps", name: "b", info: .init(state: .starting, start: 1, pid: 12)),
        ], at: t0)
        #expect(services.services.map(\.process) == ["apps:a", "apps:b", "missing"])
        #expect(services.services.map(\.ready) == [true, false, false])
        #expect(services.services[2].notReadyReason == "service missing: supervisord has no such program")
        #expect(Verdict.servicesCheck(services.services, after: Verdict(.ready, "x")).line == "not ready: 108 SERVICE_NOT_READY: service apps:b is STARTING")
    }

    @Test func notifyServicesToStartAreTheNeverStartedOnes() throws {
        let services = try tracker("redis=notify", "web=tcp:80")
        let programs = [
            NamedProcessInfo(group: "redis", name: "redis", info: .init(state: .stopped, start: 0)),
            NamedProcessInfo(group: "web", name: "web", info: .init(state: .stopped, start: 0)),
        ]
        #expect(services.notifyServicesToStart(among: programs) == ["redis:redis"])
        // Stopped by someone after it ran: not the listener's to start.
        #expect(services.notifyServicesToStart(among: [NamedProcessInfo(group: "redis", name: "redis", info: .init(state: .stopped, start: 7))]).isEmpty)
        #expect(services.notifyServicesStartedEarly(among: [NamedProcessInfo(group: "redis", name: "redis", info: .init(state: .running, start: 7, pid: 3))]) == ["redis:redis"])
    }

    // MARK: - The verdict and the file

    @Test func theVerdictNamesTheFirstServiceNotReady() throws {
        var record = StatusRecord(program: "start", state: .process(.exited), expected: true, exitStatus: 0, listenerPID: 2, supervisordPID: 1)
        #expect(Verdict.commonCheck(record).line == "ready: 0 READY: program start exited with status 0")
        var services = try tracker("redis=notify", "web=tcp:8080")
        _ = services.apply(event(1, .running, from: .starting, pid: 40), at: t0)
        _ = services.deliver(NotifyMessage(status: "Redis is loading..."), from: 40, ancestry: [40], at: t0)
        record.services = services.services
        #expect(Verdict.commonCheck(record).line == "not ready: 108 SERVICE_NOT_READY: service redis is RUNNING but has not sent READY=1 (STATUS=Redis is loading...)")
        _ = services.deliver(NotifyMessage(signal: .ready), from: 40, ancestry: [40], at: t0)
        _ = services.apply(event(2, .running, "web", from: .starting, pid: 70), at: t0)
        _ = services.checked("web:web", pid: 70, passed: true, detail: "tcp 127.0.0.1:8080: connected", at: t0)
        record.services = services.services
        #expect(Verdict.commonCheck(record).line == "ready: 0 READY: program start exited with status 0; 2 services ready")
        // start.sh comes first.
        record.expected = false
        record.exitStatus = 3
        #expect(Verdict.commonCheck(record).code == .startFailed)
    }

    @Test func servicesRoundTripThroughTheStatusFile() throws {
        var record = StatusRecord(program: "start", listenerPID: 2, supervisordPID: 1)
        var services = try tracker("redis=notify", "web=tcp:8080", "apps:*=running")
        _ = services.apply(event(1, .running, from: .starting, pid: 40), at: t0)
        _ = services.deliver(NotifyMessage(signal: .ready, status: "Ready to accept connections", mainPID: 41), from: 40, ancestry: [40], mainPIDAncestry: [41, 40], at: t0)
        _ = services.apply(event(2, .running, "web", from: .starting, pid: 70), at: t0)
        _ = services.checked("web:web", pid: 70, passed: false, detail: "tcp 127.0.0.1:8080: connection refused", at: t0)
        record.services = services.services
        let text = String(decoding: record.encoded, as: UTF8.self)
        #expect(text.contains("\nservice=redis:redis check=notify state=RUNNING ready=1 since=2026-11-22T"))
        #expect(text.contains(" run=40 signal=ready main_pid=41 passes=0 failures=0 passing=0 detail=Ready to accept connections\n"))
        #expect(text.contains("\nservice=apps:* check=running state=NOT_SEEN ready=0 "))
        #expect(try StatusRecord.parse(record.encoded) == record)
        // A file without services has no service lines, exactly as before.
        #expect(!String(decoding: StatusRecord(program: "start", listenerPID: 2, supervisordPID: 1).encoded, as: UTF8.self).contains("service"))
        // A malformed service line is a malformed file.
        let broken = text.replacing("check=notify", with: "check=magic")
        #expect(throws: StatusParseError.self) { try StatusRecord.parse(Array(broken.utf8)) }
    }
}

/// The listener's handling of datagrams and services through a port that
/// records what it was asked to do.
@Suite struct ListenerServiceTests {
    typealias Port = RecordingPort

    func core(_ specs: String...) throws -> ListenerCore {
        let tracker = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 9, supervisordPID: 1, supervisordStartTicks: 7, previous: nil,
            at: Timestamp(millisecondsSinceEpoch: 0))
        return ListenerCore(
            configuration: ListenerConfiguration(selector: ProcessPattern(program: "start"), statusPath: "/s", services: try specs.map { try ServiceSpec(parsing: $0) }),
            tracker: tracker, at: Timestamp(millisecondsSinceEpoch: 0))
    }

    func program(_ name: String, _ state: ProcessState, start: Int = 0, pid: Int = 0) -> NamedProcessInfo {
        NamedProcessInfo(group: name, name: name, info: .init(state: state, start: start, pid: pid))
    }

    func header(_ serial: UInt64) -> EventHeader { EventHeader(eventName: "X", serial: serial, poolSerial: serial) }

    @Test func startUpStartsNeverStartedNotifyServicesAndWarnsOfEarlyOnes() throws {
        var core = try core("redis=notify", "haproxy=notify", "web=tcp:8080")
        var port = Port()
        port.programs = [program("start", .exited, start: 1), program("redis", .stopped), program("haproxy", .running, start: 3, pid: 33), program("web", .stopped)]
        core.start(&port)
        #expect(port.started == ["redis:redis"])
        #expect(port.count("notify service started before the listener bound its socket: its READY=1 may have been lost, and it is not ready until it sends one") == 1)
        #expect(port.written.last?.services.map(\.process) == ["redis:redis", "haproxy:haproxy", "web:web"])
        #expect(port.written.last?.services[1].run == 33)
    }

    @Test func aDatagramFromARunNotYetReportedIsAttributedByAskingSupervisord() throws {
        var core = try core("redis=notify")
        var port = Port()
        port.programs = [program("start", .exited, start: 1), program("redis", .stopped)]
        core.start(&port)
        let asked = port.allProcessInfoCalls
        // supervisord started it; the STARTING event is still queued.
        port.programs = [program("start", .exited, start: 1), program("redis", .starting, start: 5, pid: 50)]
        core.turn(datagram: Array("READY=1".utf8), length: 7, sender: 50, ancestry: [50, 1], passedDescriptors: 0, &port)
        #expect(port.allProcessInfoCalls == asked + 1)
        #expect(core.record.services[0].signal == .ready)
        #expect(!core.record.services[0].ready)
        core.turn(header(2), .processState(ProcessStateEvent(serial: 2, state: .starting, processName: "redis", groupName: "redis", fromState: .stopped)), &port)
        core.turn(header(3), .processState(ProcessStateEvent(serial: 3, state: .running, processName: "redis", groupName: "redis", fromState: .starting, pid: 50)), &port)
        #expect(core.record.services[0].ready)
        #expect(port.written.last?.services[0].ready == true)
        #expect(port.count("service ready") == 1)
    }

    @Test func strangersAreNeverHeardAndAFloodCostsOneLogLineAndFewQuestions() throws {
        var core = try core("redis=notify")
        var port = Port()
        port.programs = [program("start", .exited, start: 1), program("redis", .running, start: 5, pid: 50)]
        core.start(&port)
        let asked = port.allProcessInfoCalls
        for _ in 0..<1000 {
            core.turn(datagram: Array("READY=1".utf8), length: 7, sender: 66, ancestry: [66, 1], passedDescriptors: 0, &port)
        }
        #expect(!core.record.services[0].ready)
        // The clock of the recording port stands still: the budget's burst, no more.
        #expect(port.allProcessInfoCalls == asked + QueryBudget.burst)
        #expect(core.services.held.count == ServiceTracker.holdLimit)
        // One line per kind: not attributed once asked, pushed out of the held ones.
        #expect(port.count("dropped a notify message") == 2)
        for _ in 0..<10 {
            core.turn(datagram: Array("READY=1".utf8), length: 9000, sender: 50, ancestry: [50], passedDescriptors: 0, &port)
            core.turn(datagram: Array("READY=1".utf8), length: 7, sender: 50, ancestry: [50], passedDescriptors: 2, &port)
            core.turn(datagram: Array("READY=1".utf8), length: 7, sender: nil, ancestry: [], passedDescriptors: 0, &port)
        }
        // And once each for too large and without credentials, once for the descriptors.
        #expect(port.count("dropped a notify message") == 4)
        #expect(port.count("closed file descriptors passed with a notify message (nothing here keeps them)") == 1)
        // The passed descriptors were closed, the message itself is heard.
        #expect(core.record.services[0].ready)
    }

    @Test func withoutServicesNothingChanges() throws {
        var core = try core()
        var port = Port()
        core.start(&port)
        #expect(port.started.isEmpty)
        #expect(core.record.services.isEmpty)
        #expect(!String(decoding: core.record.encoded, as: UTF8.self).contains("service"))
    }

    /// A MAINPID's ancestry is read (through the port, from /proc) when
    /// the datagram arrives: one outside the run is refused and said so.
    @Test func aMainPIDIsJudgedByItsAncestryAtReception() throws {
        var core = try core("app=notify")
        var port = Port()
        port.programs = [program("start", .exited, start: 1), program("app", .running, start: 5, pid: 50)]
        core.start(&port)
        // supervisord (pid 1 here) named by the run.
        port.ancestries = [1: [1]]
        core.turn(datagram: Array("MAINPID=1".utf8), length: 9, sender: 50, ancestry: [50, 1], passedDescriptors: 0, &port)
        #expect(core.record.services[0].mainPID == nil)
        #expect(port.count("refused a MAINPID: it is not the service's run nor a descendant of it") == 1)
        port.ancestries = [51: [51, 50, 1]]
        core.turn(datagram: Array("MAINPID=51".utf8), length: 10, sender: 50, ancestry: [50, 1], passedDescriptors: 0, &port)
        #expect(core.record.services[0].mainPID == 51)
        #expect(port.count("refused a MAINPID: it is not the service's run nor a descendant of it") == 1)
    }
}
