import Testing

@testable import ReadinessCore

func frame(_ header: String, _ payload: String) -> Frame {
    Frame(header: Array(header.utf8), payload: Array(payload.utf8))
}

@Suite struct EventParsingTests {
    /// What supervisord sends when a shutdown or reload begins.
    @Test func supervisorStoppingEvent() throws {
        let (header, event) = try ListenerEvent.parse(frame(
            "ver:3.0 server:supervisor serial:40 pool:readiness_listener poolserial:12 eventname:SUPERVISOR_STATE_CHANGE_STOPPING len:0\n", ""))
        #expect(event == .supervisorStopping)
        #expect(header.poolSerial == 12)
        #expect(throws: EventError.invalidField(name: "poolserial", value: "x")) {
            try ListenerEvent.parse(frame("ver:3.0 serial:1 poolserial:x eventname:TICK_5 len:0\n", ""))
        }
    }

    /// supervisord's RUNNING_STATES (`supervisor/states.py`), which the
    /// start order, the services and the metrics take for a run under way.
    @Test func theStatesOfARunUnderWayAreSupervisordsRunningStates() {
        #expect(ProcessState.allCases.filter(\.isUnderWay) == [.starting, .running, .backoff])
    }

    @Test func recordedEventsParse() throws {
        let parsed = try frames(of: recordedStream, chunks: [recordedStream.count]).map { try ListenerEvent.parse($0) }
        #expect(parsed[0].0 == EventHeader(eventName: "PROCESS_STATE_STARTING", serial: 21, poolSerial: 10))
        #expect(parsed[0].1 == .processState(ProcessStateEvent(serial: 21, state: .starting, processName: "start", groupName: "start", fromState: .stopped, tries: 0)))
        #expect(parsed[1].1 == .processState(ProcessStateEvent(serial: 22, state: .running, processName: "start", groupName: "start", fromState: .starting, pid: 77)))
        #expect(parsed[2].1 == .processState(ProcessStateEvent(serial: 23, state: .exited, processName: "start", groupName: "start", fromState: .running, expected: true, pid: 77)))
    }

    @Test(arguments: [
        ("STOPPED", "from_state:STOPPING pid:5", ProcessState.stopped),
        ("STOPPING", "from_state:RUNNING pid:5", .stopping),
        ("BACKOFF", "from_state:STARTING tries:1", .backoff),
        ("FATAL", "from_state:BACKOFF", .fatal),
        ("UNKNOWN", "from_state:RUNNING", .unknown),
    ])
    func everyStateParses(name: String, rest: String, state: ProcessState) throws {
        let (_, event) = try ListenerEvent.parse(frame("ver:3.0 serial:5 eventname:PROCESS_STATE_\(name) len:1", "processname:start groupname:start \(rest)"))
        guard case .processState(let change) = event else { Issue.record("not a process state"); return }
        #expect(change.state == state)
    }

    @Test func stoppedFromBackoffHasPidZero() throws {
        let (_, event) = try ListenerEvent.parse(frame("serial:5 eventname:PROCESS_STATE_STOPPED", "processname:start groupname:start from_state:BACKOFF pid:0"))
        #expect(event == .processState(ProcessStateEvent(serial: 5, state: .stopped, processName: "start", groupName: "start", fromState: .backoff, pid: 0)))
    }

    @Test func ticksAndOtherEvents() throws {
        #expect(try ListenerEvent.parse(frame("serial:9 eventname:TICK_5 len:15", "when:1700000000")).1 == .tick(when: 1_700_000_000))
        #expect(try ListenerEvent.parse(frame("serial:9 eventname:SUPERVISOR_STATE_CHANGE_RUNNING len:0", "")).1 == .other(name: "SUPERVISOR_STATE_CHANGE_RUNNING"))
        #expect(try ListenerEvent.parse(frame("serial:9 eventname:PROCESS_STATE_SLEEPING len:0", "")).1 == .other(name: "PROCESS_STATE_SLEEPING"))
        #expect(try ListenerEvent.parse(frame("serial:9 eventname:PROCESS_STATE_NOT_SEEN len:0", "")).1 == .other(name: "PROCESS_STATE_NOT_SEEN"))
    }

    /// Newer supervisord versions may add fields; they must not break the listener.
    @Test func extraPayloadFieldsAreIgnored() throws {
        let (_, event) = try ListenerEvent.parse(frame("serial:5 eventname:PROCESS_STATE_EXITED", "processname:start groupname:start from_state:RUNNING expected:0 pid:9 exitstatus:3 junk"))
        #expect(event == .processState(ProcessStateEvent(serial: 5, state: .exited, processName: "start", groupName: "start", fromState: .running, expected: false, pid: 9)))
    }

    @Test(arguments: [
        ("serial:5 eventname:PROCESS_STATE_EXITED", "processname:start groupname:start from_state:RUNNING pid:9", EventError.missingPayloadField(event: "PROCESS_STATE_EXITED", field: "expected")),
        ("serial:5 eventname:PROCESS_STATE_EXITED", "processname:start groupname:start from_state:RUNNING expected:2 pid:9", .invalidField(name: "expected", value: "2")),
        ("serial:5 eventname:PROCESS_STATE_RUNNING", "processname:start groupname:start from_state:STARTING pid:x", .invalidField(name: "pid", value: "x")),
        ("serial:5 eventname:PROCESS_STATE_RUNNING", "processname:start groupname:start from_state:STARTING pid:-1", .invalidField(name: "pid", value: "-1")),
        ("serial:5 eventname:PROCESS_STATE_RUNNING", "groupname:start from_state:STARTING pid:1", .missingPayloadField(event: "PROCESS_STATE_RUNNING", field: "processname")),
        ("serial:5 eventname:PROCESS_STATE_RUNNING", "processname:start from_state:STARTING pid:1", .missingPayloadField(event: "PROCESS_STATE_RUNNING", field: "groupname")),
        ("serial:5 eventname:PROCESS_STATE_RUNNING", "processname:start groupname:start pid:1", .missingPayloadField(event: "PROCESS_STATE_RUNNING", field: "from_state")),
        ("serial:5 eventname:PROCESS_STATE_RUNNING", "processname:start groupname:start from_state:BOGUS pid:1", .invalidField(name: "from_state", value: "BOGUS")),
        ("serial:5 eventname:PROCESS_STATE_STARTING", "processname:start groupname:start from_state:STOPPED", .missingPayloadField(event: "PROCESS_STATE_STARTING", field: "tries")),
        ("eventname:TICK_5", "", .missingHeaderField("serial")),
        ("serial:x eventname:TICK_5", "", .invalidField(name: "serial", value: "x")),
        ("serial:5 len:0", "", .missingHeaderField("eventname")),
    ])
    func malformedEventsAreRejectedWithAReason(header: String, payload: String, error: EventError) {
        #expect(throws: error) { try ListenerEvent.parse(frame(header, payload)) }
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: EventError.payloadNotUTF8) {
            try ListenerEvent.parse(Frame(header: Array("serial:1 eventname:PROCESS_STATE_RUNNING".utf8), payload: [0x70, 0xFF, 0xFE]))
        }
        #expect(throws: EventError.headerNotUTF8) {
            try ListenerEvent.parse(Frame(header: [0xC3, 0x28], payload: []))
        }
    }

    @Test func nonASCIINamesParse() throws {
        let (_, event) = try ListenerEvent.parse(frame("serial:1 eventname:PROCESS_STATE_FATAL", "processname:démarrage groupname:g from_state:BACKOFF"))
        #expect(event == .processState(ProcessStateEvent(serial: 1, state: .fatal, processName: "démarrage", groupName: "g", fromState: .backoff)))
    }
}
