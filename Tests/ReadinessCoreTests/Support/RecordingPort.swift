@testable import ReadinessCore

/// The listener core's port for unit tests: supervisord's answers are set
/// beforehand, and everything the core asks (writes, heartbeats, retries,
/// log lines, starts, shutdowns) is recorded for the test to read.
struct RecordingPort: ListenerPort {
    var programs: [NamedProcessInfo]? = [NamedProcessInfo(group: "start", name: "start", info: .init(state: .exited, start: 1, stop: 2))]
    var shutdownAnswer: String? = "XML-RPC fault 6: SHUTDOWN_STATE"
    var signalAnswer: String? = "supervisord pid 1 is not this listener's parent (9)"
    var written: [StatusRecord] = []
    var logged: [(LogLine.Level, String, [(String, String)])] = []
    var allProcessInfoCalls = 0
    /// The processes `processInfo` was asked about, in order.
    var askedAbout: [String] = []
    var shutdownCalls = 0

    mutating func processInfo(_ process: String) -> SupervisorAnswer {
        askedAbout.append(process)
        guard let programs else { return .unavailable }
        return programs.first { "\($0.group):\($0.name)" == process }.map { .info($0.info) } ?? .noSuchProgram
    }
    mutating func allProcessInfo() -> [NamedProcessInfo]? {
        allProcessInfoCalls += 1
        return programs
    }
    /// getAllConfigInfo's answer: nil unless a test sets it.
    var configs: [ProgramConfig]?
    mutating func programConfigs() -> [ProgramConfig]? { configs }
    /// The last record written, and the retries asked, when supervisord was asked to shut down.
    var writtenAtShutdown: StatusRecord?
    var retriesAtShutdown = 0
    mutating func requestShutdown() -> String? {
        shutdownCalls += 1
        writtenAtShutdown = written.last
        retriesAtShutdown = retries
        return shutdownAnswer
    }
    mutating func signalSupervisord(pid: Int, startTicks: UInt64?) -> String? { signalAnswer }
    /// What /proc would say of a pid's ancestry; unknown pids cannot be read.
    var ancestries: [Int: [Int]] = [:]
    mutating func ancestry(of pid: Int) -> [Int] { ancestries[pid] ?? [] }
    var started: [String] = []
    mutating func startProcess(_ process: String) -> String? {
        started.append(process)
        return nil
    }
    var stopped: [String] = []
    mutating func stopProcess(_ process: String) -> String? {
        stopped.append(process)
        return nil
    }
    mutating func write(_ record: StatusRecord) { written.append(record) }
    var retries = 0
    mutating func retryPendingWrite(_ record: StatusRecord) { retries += 1 }
    var heartbeats: [StatusRecord] = []
    mutating func heartbeat(_ record: StatusRecord) { heartbeats.append(record) }
    mutating func log(_ level: LogLine.Level, _ message: String, _ fields: [(String, String)]) { logged.append((level, message, fields)) }
    var now: Timestamp { Timestamp(millisecondsSinceEpoch: 1_795_387_133_000) }

    func count(_ message: String) -> Int { logged.filter { $0.1 == message }.count }
}
