/// What `/metrics` reports, counted from what the listener sees anyway:
/// every PROCESS_STATE event of every program (so no restart and no short
/// BACKOFF spell is missed between polls), the answers supervisord gives it,
/// the datagrams and requests it takes. Plain values: `ListenerCore` updates
/// them, `exposition` writes them out. Counters start from zero with the
/// listener (supervisord keeps no count of starts or exits to resume from),
/// as Prometheus expects of a restarted target.
package struct ListenerMetrics: Sendable {
    /// One program of supervisord's, as its events and answers tell it.
    package struct Program: Equatable, Sendable {
        package var group: String
        package var name: String
        package var state: ProcessState
        /// When `state` began: the event's handling, or for a state learnt
        /// from supervisord's answer its start or stop time (whole seconds).
        package var stateSince: Timestamp
        /// `stateSince` is an event's: a time to ready may be measured from it.
        var sinceEvent = false
        /// The pid of the run whose time to ready was measured: once per run.
        var timedRun: Int?
        package var starts: UInt64 = 0
        package var expectedExits: UInt64 = 0
        package var unexpectedExits: UInt64 = 0
        /// From supervisord's answers (no event carries it), so known only
        /// for a program asked about while EXITED: one that supervisord
        /// restarts at once is spawned again, its status cleared, first.
        package var lastExitStatus: Int?
    }

    /// `time_to_ready`'s buckets, in milliseconds; `+Inf` follows.
    package static let timeToReadyBuckets: [Int64] = [100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000, 300_000]

    /// A service's times from RUNNING to ready.
    package struct Histogram: Equatable, Sendable {
        /// Per bucket of `timeToReadyBuckets` and then `+Inf`, not cumulative.
        package var counts = [UInt64](repeating: 0, count: ListenerMetrics.timeToReadyBuckets.count + 1)
        package var sumMilliseconds: Int64 = 0
        package var count: UInt64 = 0

        mutating func observe(milliseconds: Int64) {
            let bucket = ListenerMetrics.timeToReadyBuckets.firstIndex { milliseconds <= $0 } ?? ListenerMetrics.timeToReadyBuckets.count
            counts[bucket] += 1
            sumMilliseconds += milliseconds
            count += 1
        }
    }

    /// Counts by label set, written as in the exposition (`result="held"`);
    /// the sets are a handful of fixed words, so a list does.
    package struct Tally: Equatable, Sendable {
        package private(set) var counts: [(labels: String, count: UInt64)] = []

        package init() {}

        package mutating func add(_ labels: String) {
            if let index = counts.firstIndex(where: { $0.labels == labels }) {
                counts[index].count += 1
            } else {
                counts.append((labels, 1))
            }
        }

        package static func == (left: Tally, right: Tally) -> Bool {
            left.counts.elementsEqual(right.counts) { $0.labels == $1.labels && $0.count == $1.count }
        }
    }

    /// In the order first seen.
    package private(set) var programs: [Program] = []
    private var programIndex: [String: Int] = [:]
    /// `programs`' indices by group and name, as the exposition lists them:
    /// kept at each (rare) new program, not sorted at every scrape.
    private(set) var sortedIndices: [Int] = []
    package private(set) var events: UInt64 = 0
    /// Events the pool dropped, as `poolserial` gaps count them.
    package private(set) var eventsLost: UInt64 = 0
    package private(set) var datagrams = Tally()
    package private(set) var requests = Tally()
    package private(set) var timeToReady: [(service: String, histogram: Histogram)] = []
    /// Whether supervisord has not been asked for every program yet.
    package private(set) var wantsProgramList = true
    /// `GROUP:NAME` of the programs that exited since supervisord was last
    /// asked about them: their exit status is in no event.
    package private(set) var exitsWithoutStatus: [String] = []

    package init() {}

    package func program(_ group: String, _ name: String) -> Program? {
        programIndex["\(group):\(name)"].map { programs[$0] }
    }

    /// An event came in; `lost` the pool's events missing before it, whose
    /// programs' states are then asked of supervisord again.
    mutating func countEvent(lost: UInt64) {
        events += 1
        eventsLost += lost
        if lost > 0 { wantsProgramList = true }
    }

    mutating func count(_ event: ProcessStateEvent, at time: Timestamp) {
        let index = indexOf(group: event.groupName, name: event.processName, state: event.state, since: time, fromEvent: true)
        if programs[index].state != event.state {
            programs[index].stateSince = time
            programs[index].sinceEvent = true
        }
        programs[index].state = event.state
        switch event.state {
        case .starting:
            programs[index].starts += 1
        case .exited:
            if event.expected ?? false { programs[index].expectedExits += 1 } else { programs[index].unexpectedExits += 1 }
            let process = "\(event.groupName):\(event.processName)"
            if !exitsWithoutStatus.contains(process) { exitsWithoutStatus.append(process) }
        case .backoff:
            // It died before startsecs (or could not be spawned): an exit
            // nobody expected, and one supervisord keeps no status of.
            programs[index].unexpectedExits += 1
        default:
            break
        }
    }

    /// What supervisord says of every program now: those not seen yet, each
    /// one's state (it corrects what lost events left behind; a queued event
    /// older than the answer is followed by the newer ones), exit statuses.
    /// `eventSinceAsked`: the `GROUP:NAME` of processes an event came for
    /// after the question was asked, whose word in the answer may be older.
    mutating func learn(_ all: [NamedProcessInfo], except eventSinceAsked: Set<String> = [], at time: Timestamp) {
        exitsWithoutStatus.removeAll { !eventSinceAsked.contains($0) }
        wantsProgramList = false
        for program in all where eventSinceAsked.isEmpty || !eventSinceAsked.contains("\(program.group):\(program.name)") {
            learn(program.info, group: program.group, name: program.name, at: time)
        }
    }

    mutating func learn(_ info: SupervisorProcessInfo, group: String, name: String, at time: Timestamp) {
        let started = info.state.isUnderWay
        let since = (started ? info.start : info.stop) > 0 ? Timestamp(millisecondsSinceEpoch: Int64(started ? info.start : info.stop) * 1000) : time
        let index = indexOf(group: group, name: name, state: info.state, since: since, fromEvent: false)
        if !exitsWithoutStatus.isEmpty { forgetExit(of: "\(group):\(name)") }
        if programs[index].state != info.state {
            programs[index].state = info.state
            programs[index].stateSince = since
            programs[index].sinceEvent = false
        }
        // supervisord clears the status at a spawn and keeps none after a
        // BACKOFF: it is an exit's only while the process is EXITED.
        if info.state == .exited { programs[index].lastExitStatus = info.exitStatus }
    }

    /// Events were lost after the answer being learnt was asked: ask again.
    mutating func wantProgramList() { wantsProgramList = true }

    /// `process` was asked about (or is gone): its exit is no longer waiting for a status.
    mutating func forgetExit(of process: String) {
        exitsWithoutStatus.removeAll { $0 == process }
    }

    /// `service` (its `ServiceState.name`) became ready: the time since its
    /// process's RUNNING event, for the first readiness of the run `pid` only
    /// (a check that fails and passes again is not a start).
    mutating func serviceBecameReady(_ service: String, process: String, run pid: Int?, at time: Timestamp) {
        guard let programIndex = programIndex[process], programs[programIndex].state == .running, programs[programIndex].sinceEvent,
            let pid, programs[programIndex].timedRun != pid
        else { return }
        programs[programIndex].timedRun = pid
        let program = programs[programIndex]
        let index = timeToReady.firstIndex { $0.service == service } ?? {
            timeToReady.append((service, Histogram()))
            return timeToReady.count - 1
        }()
        timeToReady[index].histogram.observe(milliseconds: max(0, time.millisecondsSinceEpoch - program.stateSince.millisecondsSinceEpoch))
    }

    /// A notify datagram's fate: `accepted`, `held`, or why it was dropped.
    mutating func countDatagram(_ result: String) { datagrams.add("result=\"\(result)\"") }

    /// `path` is one of the listener's paths or `other`, so the series stay few.
    mutating func countRequest(path: String, status: Int) { requests.add("path=\"\(path)\",code=\"\(status)\"") }

    private mutating func indexOf(group: String, name: String, state: ProcessState, since: Timestamp, fromEvent: Bool) -> Int {
        let key = "\(group):\(name)"
        if let index = programIndex[key] { return index }
        let program = Program(group: group, name: name, state: state, stateSince: since, sinceEvent: fromEvent)
        let position = sortedIndices.firstIndex { (programs[$0].group, programs[$0].name) > (group, name) } ?? sortedIndices.count
        programs.append(program)
        programIndex[key] = programs.count - 1
        sortedIndices.insert(programs.count - 1, at: position)
        return programs.count - 1
    }
}

extension ProcessState {
    /// supervisord's own number for the state (`supervisor.states.ProcessStates`).
    package var code: Int {
        switch self {
        case .stopped: 0
        case .starting: 10
        case .running: 20
        case .backoff: 30
        case .stopping: 40
        case .exited: 100
        case .fatal: 200
        case .unknown: 1000
        }
    }
}
