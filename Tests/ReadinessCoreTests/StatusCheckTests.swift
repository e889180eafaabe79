import Testing

@testable import ReadinessCore

/// The probe's first step as a plain function: every way reading the status
/// file can end, against every answer about the supervisord that wrote it.
@Suite struct StatusCheckTests {
    static let path = "/run/readiness/status"
    static let ready = StatusRecord(program: "start", state: .exited, expected: true, listenerPID: 41, supervisordPID: 7)
    static let alive = ListenerPresence(lock: .held, fileAgeMilliseconds: 1000)
    static let pending = StatusRecord(program: "start", state: .running, listenerPID: 41, supervisordPID: 7)

    static let reads: [(StatusFileRead, ProbeCode, String)] = [
        (.missing, .noStatus, "no status file at \(path), though a live listener holds \(path).lock: the file was removed, and its next TICK_5 writes it again"),
        (.notRegularFile, .badStatus, "status file \(path) is not a regular file (symbolic links are not followed)"),
        (.tooLarge(70_000), .badStatus, "status file \(path) is 70000 bytes, more than 65536"),
        (.unreadable("cannot open \(path): Permission denied"), .badStatus, "cannot open \(path): Permission denied"),
        (.malformed(.incomplete), .badStatus, "\(path): status file is incomplete (no final end=1 line)"),
        (.malformed(.unsupportedFormat("2")), .badStatus, "\(path): status file format 2 is not supported (this probe reads format 1)"),
    ]

    /// A file that says nothing usable gives its own code whatever the
    /// supervisord: there is no pid to ask about, and none is asked about.
    @Test(arguments: reads, [SupervisordIdentity.sameProcess, .gone, .pidReused])
    func unusableFileIgnoresTheSupervisord(read: (StatusFileRead, ProbeCode, String), identity: SupervisordIdentity) {
        var asked = false
        let verdict = Verdict.statusCheck(read.0, path: Self.path, listener: { Self.alive }) { _ in
            asked = true
            return identity
        }
        #expect(verdict == Verdict(read.1, read.2))
        #expect(!asked)
    }

    @Test(arguments: [ready, pending])
    func recordOfTheRunningSupervisordGivesTheCommonCheck(record: StatusRecord) {
        var asked: StatusRecord?
        let verdict = Verdict.statusCheck(.record(record), path: Self.path, listener: { Self.alive }) {
            asked = $0
            return .sameProcess
        }
        #expect(verdict == Verdict.commonCheck(record))
        #expect(asked == record)
    }

    @Test(arguments: [ready, pending])
    func recordOfAGoneSupervisordIsStale(record: StatusRecord) {
        let verdict = Verdict.statusCheck(.record(record), path: Self.path, listener: { Self.alive }) { _ in .gone }
        #expect(verdict == Verdict(.staleStatus, "status file \(Self.path) was written under supervisord pid 7, which is not running"))
    }

    @Test(arguments: [ready, pending])
    func recordOfAnEarlierProcessWithTheSamePidIsStale(record: StatusRecord) {
        let verdict = Verdict.statusCheck(.record(record), path: Self.path, listener: { Self.alive }) { _ in .pidReused }
        #expect(verdict == Verdict(.staleStatus, "status file \(Self.path) was written under an earlier process with supervisord's pid 7 (a restarted container?)"))
    }

    @Test func parsingGivesARecordOrWhyNot() {
        #expect(StatusFileRead(parsing: Self.ready.encoded) == .record(Self.ready))
        #expect(StatusFileRead(parsing: Array("format=1\n".utf8)) == .malformed(.incomplete))
        #expect(StatusFileRead(parsing: Self.ready.encoded).record == Self.ready)
        #expect(StatusFileRead.missing.record == nil)
    }
}
