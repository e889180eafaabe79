import Testing

@testable import ReadinessCore

/// Whether a live listener keeps the status file (issue 23, item 2): the
/// probe's decision from the record, the lock beside the file and the file's age.
@Suite struct ListenerPresenceTests {
    static let path = "/run/readiness/status"
    static let gone = Verdict(
        .listenerGone,
        "no live listener keeps status file \(path) (nothing holds \(path).lock): the listener stopped, exited, or cannot write the file")
    static let frozen = Verdict(
        .listenerGone,
        "status file \(path) was not refreshed for more than 10 s: the listener is frozen (stopped by a signal?) or gets no TICK_5 events")

    static func record(_ state: RecordedState = .process(.exited), expected: Bool? = true, lock: Bool = true, heartbeat: Bool = true) -> StatusRecord {
        var record = StatusRecord(program: "start", state: state, expected: expected, exitStatus: 0, listenerPID: 41, supervisordPID: 7)
        record.listenerLock = lock
        record.heartbeat = heartbeat
        return record
    }

    func check(_ record: StatusRecord, _ presence: ListenerPresence) -> Verdict {
        Verdict.statusCheck(.record(record), path: Self.path, listener: { presence }) { _ in .sameProcess }
    }

    static let ready = Verdict(.ready, "program start exited with status 0")

    @Test(arguments: [
        (ListenerPresence(lock: .held, fileAgeMilliseconds: 0), ready),
        (ListenerPresence(lock: .held, fileAgeMilliseconds: 10_000), ready),
        (ListenerPresence(lock: .held, fileAgeMilliseconds: -10_000), ready),
        (ListenerPresence(lock: .held, fileAgeMilliseconds: 10_001), frozen),
        (ListenerPresence(lock: .held, fileAgeMilliseconds: -10_001), frozen),
        (ListenerPresence(lock: .held, fileAgeMilliseconds: nil), frozen),
        (ListenerPresence(lock: .free, fileAgeMilliseconds: 0), gone),
        (ListenerPresence(lock: .missing, fileAgeMilliseconds: 0),
         Verdict(.listenerGone, "no live listener keeps status file \(path) (no lock file \(path).lock)")),
        (ListenerPresence(lock: .unreadable("cannot open \(path).lock: Permission denied (EACCES)"), fileAgeMilliseconds: 0),
         Verdict(.listenerGone, "cannot tell whether a live listener keeps status file \(path): cannot open \(path).lock: Permission denied (EACCES)")),
    ])
    func readyNeedsALiveListener(presence: ListenerPresence, verdict: Verdict) {
        #expect(check(Self.record(), presence) == verdict)
    }

    /// A listener that never got a TICK_5 has not promised a heartbeat: the
    /// lock alone counts, however old the file.
    @Test func withoutTheHeartbeatOnlyTheLockCounts() {
        #expect(check(Self.record(heartbeat: false), ListenerPresence(lock: .held, fileAgeMilliseconds: 3_600_000)) == Self.ready)
        #expect(check(Self.record(heartbeat: false), ListenerPresence(lock: .free, fileAgeMilliseconds: 0)) == Self.gone)
    }

    /// An older listener's file, or one written by hand: no promise, nothing asked.
    @Test func aRecordWithoutTheLockIsTakenAsBefore() {
        var asked = false
        let verdict = Verdict.statusCheck(.record(Self.record(lock: false)), path: Self.path, listener: {
            asked = true
            return ListenerPresence(lock: .missing, fileAgeMilliseconds: nil)
        }) { _ in .sameProcess }
        #expect(verdict == Self.ready)
        #expect(!asked)
    }

    /// Only READY is taken away: a not-ready record keeps its own code.
    @Test func notReadyKeepsItsCode() {
        let pending = Self.record(.process(.running), expected: nil)
        #expect(check(pending, ListenerPresence(lock: .free, fileAgeMilliseconds: 0)).code == .startPending)
        let failed = Self.record(.process(.exited), expected: false)
        #expect(check(failed, ListenerPresence(lock: .free, fileAgeMilliseconds: 99_000)).code == .startFailed)
    }

    /// No file: a lock nobody holds means a listener ran and is gone (or
    /// removed the file it could not replace); a held one, a live listener
    /// whose file was removed; no lock file, it never ran.
    @Test func missingFile() {
        func verdict(_ lock: ListenerPresence.Lock) -> Verdict {
            Verdict.statusCheck(.missing, path: Self.path, listener: { ListenerPresence(lock: lock, fileAgeMilliseconds: nil) }) { _ in .sameProcess }
        }
        #expect(verdict(.free) == Verdict(
            .listenerGone, "no status file at \(Self.path) and nothing holds \(Self.path).lock: the listener stopped, exited, or cannot write the file"))
        #expect(verdict(.missing) == Verdict(.noStatus, "no status file at \(Self.path): the listener never ran"))
        #expect(verdict(.held) == Verdict(
            .noStatus, "no status file at \(Self.path), though a live listener holds \(Self.path).lock: the file was removed, and its next TICK_5 writes it again"))
    }

    /// The promises are part of the file; a file without them (format 1's
    /// older listeners) makes none.
    @Test func thePromisesRoundTrip() throws {
        let record = Self.record()
        let text = String(decoding: record.encoded, as: UTF8.self)
        #expect(text.contains("\nlistener_lock=1\nheartbeat=1\n"))
        #expect(try StatusRecord.parse(record.encoded) == record)
        let older = Self.record(lock: false, heartbeat: false)
        #expect(!String(decoding: older.encoded, as: UTF8.self).contains("listener_lock"))
        #expect(try StatusRecord.parse(older.encoded) == older)
        #expect(ProbeCode.table.contains("| 109 | LISTENER_GONE |"))
    }

    /// The listener promises the lock from the start and the heartbeat from
    /// its first TICK_5 on, writing it then; later TICKs refresh the file.
    /// A listener restarted by the same supervisord keeps the promise.
    @Test func theListenerPromisesTheHeartbeatFromItsFirstTick() throws {
        let tracker = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 9, supervisordPID: 1, supervisordStartTicks: 7, previous: nil,
            at: Timestamp(millisecondsSinceEpoch: 0))
        let configuration = ListenerConfiguration(selector: ProcessPattern(program: "start"), statusPath: "/s")
        var core = ListenerCore(configuration: configuration, tracker: tracker, at: Timestamp(millisecondsSinceEpoch: 0))
        var port = RecordingPort()
        core.start(&port)
        #expect(port.written.last?.listenerLock == true)
        #expect(port.written.last?.heartbeat == false)
        let header = { (serial: UInt64) in EventHeader(eventName: "TICK_5", serial: serial, poolSerial: serial) }
        core.turn(header(1), .tick(when: 5), &port)
        #expect(port.written.last?.heartbeat == true)
        #expect(port.heartbeats.isEmpty, "the first TICK wrote the file")
        // Every later TICK's own turn refreshes the file (its reconcile
        // comes with supervisord's answer, in a turn of its own, which
        // writes the record if it changed).
        for serial in UInt64(2)...5 {
            let beats = port.heartbeats.count
            core.handle(header(serial), .tick(when: Int(serial) * 5), &port)
            core.finishTurn(&port)
            #expect(port.heartbeats.count == beats + 1)
            core.answerCalls(&port)
        }
        #expect(port.heartbeats.count >= 2)
        #expect(port.heartbeats.last == core.record)

        let restarted = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 10, supervisordPID: 1, supervisordStartTicks: 7, previous: port.written.last,
            at: Timestamp(millisecondsSinceEpoch: 0))
        #expect(restarted.resumption == .resumed)
        #expect(ListenerCore(configuration: configuration, tracker: restarted, at: Timestamp(millisecondsSinceEpoch: 0)).record.heartbeat)
        let otherSupervisord = ProgramTracker(
            selector: ProcessPattern(program: "start"), listenerPID: 10, supervisordPID: 2, supervisordStartTicks: 7, previous: port.written.last,
            at: Timestamp(millisecondsSinceEpoch: 0))
        #expect(!ListenerCore(configuration: configuration, tracker: otherSupervisord, at: Timestamp(millisecondsSinceEpoch: 0)).record.heartbeat)
    }
}
