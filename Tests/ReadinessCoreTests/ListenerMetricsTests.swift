import Testing

@testable import ReadinessCore

/// `/metrics`' values, as the listener counts them from events and answers.
/// The format itself is read by real clients in `MetricsTests` (prometheus-client, promtool).
@Suite struct ListenerMetricsTests {
    static let time = Timestamp(millisecondsSinceEpoch: 1_795_387_133_123)

    static func event(_ name: String, _ state: ProcessState, expected: Bool? = nil, group: String? = nil, pid: Int? = nil) -> ProcessStateEvent {
        ProcessStateEvent(serial: 1, state: state, processName: name, groupName: group ?? name, fromState: .stopped, expected: expected, pid: pid)
    }

    static func text(_ metrics: ListenerMetrics, record: StatusRecord = StatusRecord(program: "start", state: .notSeen, listenerPID: 2, supervisordPID: 1))
        -> String
    {
        String(decoding: metrics.exposition(record: record, probeCode: .startPending, xmlrpcCalls: .init(), version: "1.2.3"), as: UTF8.self)
    }

    static func lines(_ metrics: ListenerMetrics, _ prefix: String) -> [String] {
        text(metrics).split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    /// Written over the last scrape's bytes, longer or shorter than it,
    /// the exposition is the same as written afresh.
    @Test func anExpositionWrittenOverOldBytesIsTheSameAsAFreshOne() {
        var metrics = ListenerMetrics()
        metrics.count(Self.event("app", .running, pid: 7), at: Self.time)
        let record = StatusRecord(program: "start", state: .notSeen, listenerPID: 2, supervisordPID: 1)
        let fresh = metrics.exposition(record: record, probeCode: .startPending, xmlrpcCalls: .init(), version: "1.2.3")
        for old in [[UInt8](repeating: UInt8(ascii: "x"), count: 100_000), Array(fresh.prefix(10))] {
            #expect(metrics.exposition(record: record, probeCode: .startPending, xmlrpcCalls: .init(), version: "1.2.3", reusing: old) == fresh)
        }
    }

    /// Every STARTING is a start; every EXITED an exit, expected or not;
    /// a BACKOFF (it died before startsecs) an unexpected one. The state
    /// gauge is the latest, its time when it changed.
    @Test func eventsCountStartsAndExits() {
        var metrics = ListenerMetrics()
        for (offset, (state, expected)) in [
            (ProcessState.starting, nil), (.backoff, nil), (.starting, nil), (.running, nil), (.exited, false), (.starting, nil), (.running, nil),
            (.exited, true), (.starting, nil), (.running, nil), (.running, nil),
        ].enumerated() {
            metrics.count(Self.event("app", state, expected: expected), at: Timestamp(millisecondsSinceEpoch: Int64(offset) * 1000))
        }
        let app = metrics.program("app", "app")
        #expect(app?.starts == 4 && app?.unexpectedExits == 2 && app?.expectedExits == 1)
        #expect(app?.state == .running && app?.stateSince.millisecondsSinceEpoch == 9000, "a repeated state keeps its start")
        #expect(Self.lines(metrics, "readiness_program_exits_total{") == [
            "readiness_program_exits_total{group=\"app\",program=\"app\",expected=\"true\"} 1",
            "readiness_program_exits_total{group=\"app\",program=\"app\",expected=\"false\"} 2",
        ])
        #expect(Self.lines(metrics, "readiness_program_state{") == ["readiness_program_state{group=\"app\",program=\"app\"} 20"])
        #expect(Self.lines(metrics, "readiness_program_state_since_seconds{") == ["readiness_program_state_since_seconds{group=\"app\",program=\"app\"} 9.000"])
    }

    /// supervisord's answer adds programs no event named yet, corrects a
    /// state events lost, and brings the exit status, only while the
    /// process is EXITED (a spawn clears it, a BACKOFF has none).
    @Test func answersBringExitStatusesAndMissedStates() {
        var metrics = ListenerMetrics()
        #expect(metrics.wantsProgramList)
        metrics.count(Self.event("app", .running), at: Self.time)
        metrics.learn([
            NamedProcessInfo(group: "app", name: "app", info: .init(state: .exited, start: 100, stop: 200, exitStatus: 3)),
            NamedProcessInfo(group: "web", name: "nginx", info: .init(state: .running, start: 150, exitStatus: 0)),
            NamedProcessInfo(group: "web", name: "php", info: .init(state: .backoff, start: 160, exitStatus: 0)),
        ], at: Self.time)
        #expect(!metrics.wantsProgramList)
        #expect(metrics.program("app", "app")?.state == .exited && metrics.program("app", "app")?.lastExitStatus == 3)
        #expect(metrics.program("app", "app")?.stateSince.millisecondsSinceEpoch == 200_000)
        #expect(metrics.program("web", "nginx")?.lastExitStatus == nil && metrics.program("web", "nginx")?.stateSince.millisecondsSinceEpoch == 150_000)
        #expect(metrics.program("web", "php")?.lastExitStatus == nil, "a BACKOFF's exitstatus is supervisord's None")
        #expect(metrics.program("app", "app")?.starts == 0, "an answer counts nothing: supervisord keeps no count")
        #expect(Self.lines(metrics, "readiness_program_last_exit_status{") == [
            "readiness_program_last_exit_status{group=\"app\",program=\"app\"} 3",
        ])
        metrics.count(Self.event("nginx", .exited, expected: false, group: "web"), at: Self.time)
        #expect(metrics.exitsWithoutStatus == ["web:nginx"], "its exit status is in no event")
        metrics.learn(.init(state: .exited, stop: 300, exitStatus: 2), group: "web", name: "nginx", at: Self.time)
        #expect(metrics.exitsWithoutStatus.isEmpty && metrics.program("web", "nginx")?.lastExitStatus == 2)
    }

    /// The service's time from its process's RUNNING to its readiness, once
    /// per run (readiness lost and regained is not a start), in cumulative
    /// buckets ending in +Inf, with sum and count.
    @Test func timeToReadyIsAHistogram() {
        var metrics = ListenerMetrics()
        metrics.count(Self.event("redis", .running, pid: 10), at: Timestamp(millisecondsSinceEpoch: 1000))
        metrics.serviceBecameReady("redis", process: "redis:redis", run: 10, at: Timestamp(millisecondsSinceEpoch: 1300))
        metrics.serviceBecameReady("redis", process: "redis:redis", run: 10, at: Timestamp(millisecondsSinceEpoch: 3000))
        metrics.count(Self.event("redis", .exited, expected: false, pid: 10), at: Timestamp(millisecondsSinceEpoch: 4000))
        metrics.count(Self.event("redis", .starting), at: Timestamp(millisecondsSinceEpoch: 4500))
        metrics.count(Self.event("redis", .running, pid: 11), at: Timestamp(millisecondsSinceEpoch: 5000))
        metrics.serviceBecameReady("redis", process: "redis:redis", run: 11, at: Timestamp(millisecondsSinceEpoch: 405_000))
        metrics.serviceBecameReady("never", process: "never:never", run: 12, at: Timestamp(millisecondsSinceEpoch: 405_000))
        metrics.learn(.init(state: .running, start: 100, pid: 13), group: "learnt", name: "learnt", at: Timestamp(millisecondsSinceEpoch: 200_000))
        metrics.serviceBecameReady("learnt", process: "learnt:learnt", run: 13, at: Timestamp(millisecondsSinceEpoch: 200_000))
        let lines = Self.lines(metrics, "readiness_service_time_to_ready_seconds")
        #expect(lines.contains("readiness_service_time_to_ready_seconds_bucket{service=\"redis\",le=\"0.250\"} 0"))
        #expect(lines.contains("readiness_service_time_to_ready_seconds_bucket{service=\"redis\",le=\"0.500\"} 1"))
        #expect(lines.contains("readiness_service_time_to_ready_seconds_bucket{service=\"redis\",le=\"300.000\"} 1"))
        #expect(lines.contains("readiness_service_time_to_ready_seconds_bucket{service=\"redis\",le=\"+Inf\"} 2"))
        #expect(lines.contains("readiness_service_time_to_ready_seconds_sum{service=\"redis\"} 400.300"))
        #expect(lines.contains("readiness_service_time_to_ready_seconds_count{service=\"redis\"} 2"))
        #expect(!lines.contains { $0.contains("never") }, "no RUNNING seen, no time")
        #expect(!lines.contains { $0.contains("learnt") }, "a RUNNING learnt from an answer has no event's time")
    }

    /// Label values keep what the format cannot: backslash, quote, newline.
    @Test func labelValuesAreEscaped() {
        var metrics = ListenerMetrics()
        metrics.count(Self.event("a\"b\\c\nd", .stopped, group: "g"), at: Self.time)
        #expect(Self.lines(metrics, "readiness_program_state{") == ["readiness_program_state{group=\"g\",program=\"a\\\"b\\\\c\\nd\"} 0"])
    }

    /// A listener core following start.sh, with `/metrics` unless told otherwise.
    static func core(metrics: Bool = true, services: [ServiceSpec] = []) -> ListenerCore {
        let tracker = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 9, supervisordPID: 1, supervisordStartTicks: 7, previous: nil, at: time)
        return ListenerCore(
            configuration: ListenerConfiguration(selector: ProcessPattern(program: "start"), statusPath: "/s", services: services, metrics: metrics),
            tracker: tracker, at: time)
    }

    /// Through the core: events and poolserial gaps counted, supervisord
    /// asked for every program at start-up, and at a TICK for each program
    /// that exited (for all of them when more than a few did).
    @Test func theCoreCountsEventsAndAsksOnlyWhenAnExitStatusIsMissing() {
        var core = Self.core()
        var port = RecordingPort()
        core.start(&port)
        let afterStart = port.allProcessInfoCalls
        #expect(afterStart >= 1 && core.metrics?.wantsProgramList == false)
        core.turn(EventHeader(eventName: "TICK_5", serial: 1, poolSerial: 1), .tick(when: 0), &port)
        #expect(port.allProcessInfoCalls == afterStart, "nothing exited")
        core.turn(EventHeader(eventName: "PROCESS_STATE_EXITED", serial: 2, poolSerial: 2), .processState(Self.event("start", .exited, expected: true)), &port)
        core.turn(EventHeader(eventName: "PROCESS_STATE_EXITED", serial: 3, poolSerial: 3), .processState(Self.event("gone", .exited, expected: false)), &port)
        #expect(core.metrics?.exitsWithoutStatus == ["gone:gone"], "start.sh's status is asked at its EXITED already")
        core.turn(EventHeader(eventName: "TICK_5", serial: 4, poolSerial: 4), .tick(when: 0), &port)
        #expect(port.allProcessInfoCalls == afterStart && core.metrics?.exitsWithoutStatus.isEmpty == true, "one getProcessInfo; gone is no program")
        #expect(core.metrics?.program("start", "start")?.lastExitStatus == 0, "learnt from the answer")
        // Three events lost: every program's state is asked again at the next TICK.
        core.turn(EventHeader(eventName: "PROCESS_STATE_RUNNING", serial: 8, poolSerial: 8), .processState(Self.event("web", .running, pid: 5)), &port)
        #expect(core.metrics?.events == 5 && core.metrics?.eventsLost == 3 && core.metrics?.wantsProgramList == true)
        core.turn(EventHeader(eventName: "TICK_5", serial: 9, poolSerial: 9), .tick(when: 0), &port)
        #expect(port.allProcessInfoCalls == afterStart + 1 && core.metrics?.wantsProgramList == false)
        for serial in UInt64(10)...UInt64(10 + ListenerCore.exitStatusQueriesPerTick) {
            core.turn(
                EventHeader(eventName: "PROCESS_STATE_EXITED", serial: serial, poolSerial: serial),
                .processState(Self.event("worker_\(serial)", .exited, expected: false, group: "workers")), &port)
        }
        core.turn(EventHeader(eventName: "TICK_5", serial: 19, poolSerial: 19), .tick(when: 0), &port)
        #expect(port.allProcessInfoCalls == afterStart + 2 && core.metrics?.exitsWithoutStatus.isEmpty == true, "many exits: one getAllProcessInfo")
    }

    /// supervisord not answering: the first question of a TICK (the followed
    /// program's reconcile) fails, and the exit-status questions wait for
    /// the next TICK rather than each failing in turn.
    @Test func anUnansweredExitStatusQuestionEndsTheTicksQuestions() {
        var core = Self.core()
        var port = RecordingPort()
        core.start(&port)
        for serial in UInt64(1)...3 {
            core.turn(
                EventHeader(eventName: "PROCESS_STATE_EXITED", serial: serial, poolSerial: serial),
                .processState(Self.event("worker_\(serial)", .exited, expected: false, group: "workers")), &port)
        }
        let workers = (1...3).map { NamedProcessInfo(group: "workers", name: "worker_\($0)", info: .init(state: .exited, start: 1, stop: 2, exitStatus: 1)) }
        port.programs = nil
        core.turn(EventHeader(eventName: "TICK_5", serial: 4, poolSerial: 4), .tick(when: 0), &port)
        #expect(port.askedAbout == ["start:start"])
        #expect(core.metrics?.exitsWithoutStatus.count == 3)
        port.programs = workers
        core.turn(EventHeader(eventName: "TICK_5", serial: 5, poolSerial: 5), .tick(when: 5), &port)
        #expect(port.askedAbout == ["start:start", "start:start", "workers:worker_1", "workers:worker_2", "workers:worker_3"])
        #expect(core.metrics?.exitsWithoutStatus.isEmpty == true)
        #expect(core.metrics?.program("workers", "worker_2")?.lastExitStatus == 1)
    }

    /// Through the core: a datagram is counted by its fate, one label per kind.
    @Test func theCoreCountsDatagramsByFate() {
        var core = Self.core(services: [try! ServiceSpec(parsing: "redis=notify")])
        var port = RecordingPort()
        core.start(&port)
        core.turn(datagram: Array("READY=1".utf8), length: 7, sender: nil, ancestry: [], passedDescriptors: 0, &port)
        core.turn(datagram: [0xFF], length: 1, sender: 50, ancestry: [50, 1], passedDescriptors: 0, &port)
        core.turn(datagram: Array("READY=1".utf8), length: 7, sender: 60, ancestry: [60, 77], passedDescriptors: 0, &port)
        #expect(core.metrics?.datagrams.counts.map { "\($0.labels) \($0.count)" } == [
            "result=\"anonymous\" 1", "result=\"malformed\" 1", "result=\"stranger\" 1",
        ])
    }

    /// Without `/metrics` nothing is counted and supervisord is never asked
    /// for an exit status: events cost what they did before metrics.
    @Test func withoutMetricsNothingIsCountedOrAsked() {
        var core = Self.core(metrics: false)
        var port = RecordingPort()
        core.start(&port)
        let afterStart = port.allProcessInfoCalls
        core.turn(EventHeader(eventName: "PROCESS_STATE_EXITED", serial: 1, poolSerial: 1), .processState(Self.event("gone", .exited, expected: false)), &port)
        core.turn(EventHeader(eventName: "TICK_5", serial: 2, poolSerial: 2), .tick(when: 0), &port)
        #expect(core.metrics == nil)
        #expect(port.allProcessInfoCalls == afterStart && !port.askedAbout.contains("gone:gone"), "no exit status asked for metrics")
    }

    /// Requests and datagrams are tallied by a few fixed label sets.
    @Test func requestsAndDatagramsAreTallied() {
        var metrics = ListenerMetrics()
        metrics.countRequest(path: "/readyz", status: 200)
        metrics.countRequest(path: "/readyz", status: 200)
        metrics.countRequest(path: "other", status: 404)
        metrics.countDatagram("malformed")
        #expect(Self.lines(metrics, "readiness_http_requests_total{") == [
            "readiness_http_requests_total{path=\"/readyz\",code=\"200\"} 2", "readiness_http_requests_total{path=\"other\",code=\"404\"} 1",
        ])
        #expect(Self.lines(metrics, "readiness_notify_datagrams_total{") == ["readiness_notify_datagrams_total{result=\"malformed\"} 1"])
        #expect(Self.lines(metrics, "readiness_probe_code ") == ["readiness_probe_code 100"])
        #expect(Self.lines(metrics, "readiness_build_info{") == ["readiness_build_info{version=\"1.2.3\"} 1"])
    }
}
