import Foundation
import Testing

/// A status file that no live listener keeps stops reading READY (issue 23,
/// item 2): the listener stopped, exited at start-up, frozen, or unable to
/// write; while a listener restarted by supervisord (SIGKILL, autorestart)
/// does not cost a Ready pod its readiness under kubelet's defaults.
@Suite(.serialized) struct ListenerGoneTests {
    /// start.sh exits 0 on its first run and 5 on every later one.
    static let zeroThenFive = "dir=$(dirname \"$0\"); if [ -e \"$dir/ran\" ]; then exit 5; fi; touch \"$dir/ran\"; exit 0"

    static func gone(_ statusFile: String) -> String {
        "not ready: 109 LISTENER_GONE: no live listener keeps status file \(statusFile) (nothing holds \(statusFile).lock): the listener stopped, exited, or cannot write the file"
    }

    static func frozen(_ statusFile: String) -> String {
        "not ready: 109 LISTENER_GONE: status file \(statusFile) was not refreshed for more than 10 s: the listener is frozen (stopped by a signal?) or gets no TICK_5 events"
    }

    /// `supervisorctl stop readiness_listener`, then start.sh runs again and
    /// fails: the file still says the first run's READY (no listener saw the
    /// second), and the probe no longer takes it. Started again, the listener
    /// learns the failure from supervisord.
    @Test func stoppedListenerThenFailedStart() throws {
        let supervisord = try Supervisord(start: Self.zeroThenFive)
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        _ = try supervisord.ctl("stop", "readiness_listener")
        _ = try supervisord.ctl("start", "start")
        #expect(eventually { (try? supervisord.state(of: "start")) == "EXITED" })
        #expect(supervisord.status?["state"] == "EXITED" && supervisord.status?["expected"] == "1", "the file still holds the first run")
        // Within the bound; with the lock, at once.
        #expect(supervisord.probeSays(Self.gone(supervisord.statusFile), within: 10), "\((try? supervisord.probeLine()) ?? "")")
        _ = try supervisord.ctl("start", "readiness_listener")
        #expect(supervisord.probeSays("not ready: 101 START_FAILED: program start exited with status 5"))
    }

    /// The listener restarted (kill -9 here) into a start-up exit (64, bad
    /// arguments): no listener holds the lock, and READY is gone.
    @Test func listenerExitingAtStartUp() throws {
        let directory = ScratchDirectory()
        let flag = "\(directory.path)/broken"
        let listener = Paths.command(Paths.listener).joined(separator: " ")
        let command = "/bin/sh -c 'if [ -e \(flag) ]; then exec \(listener) --no-such-option; fi; exec \(listener) --program start --status-file \(directory.path)/status'"
        let supervisord = try Supervisord(
            start: "exit 0", listenerSettings: ["command": command, "startsecs": "1", "startretries": "1"], statusDirectory: directory.path)
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        let pid = try #require(supervisord.listenerPID)
        _ = directory.write("broken", "")
        kill(pid, SIGKILL)
        #expect(eventually { supervisord.log.contains("exit status 64") }, "\(supervisord.log)")
        #expect(supervisord.status?["state"] == "EXITED" && supervisord.status?["expected"] == "1", "the old READY file stays")
        #expect(supervisord.probeSays(Self.gone(supervisord.statusFile), within: 10), "\((try? supervisord.probeLine()) ?? "")")
    }

    /// The status file removed by hand under a live listener: the probe
    /// says whose lock is held rather than "the listener never ran", and
    /// the next TICK_5's heartbeat writes the file again.
    @Test func aRemovedFileUnderALiveListener() throws {
        let supervisord = try Supervisord(start: "exit 0")
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        let removed = "not ready: 104 NO_STATUS: no status file at \(supervisord.statusFile), though a live listener holds \(supervisord.statusFile).lock: the file was removed, and its next TICK_5 writes it again"
        // Removed again should a TICK have written it back before the probe looked.
        #expect(eventually {
            try? FileManager.default.removeItem(atPath: supervisord.statusFile)
            return (try? supervisord.probeLine()) == removed
        })
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook", within: 15))
    }

    /// SIGSTOP: the frozen listener still holds the lock, but no longer
    /// refreshes the file on TICK_5; within 10 s of its last refresh the
    /// probe says so. SIGCONT: the next TICK refreshes it, READY again.
    @Test func frozenListener() throws {
        let supervisord = try Supervisord(start: "exit 0")
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        // The heartbeat is promised once the first TICK_5 arrived.
        #expect(eventually(within: 15) { supervisord.status?["heartbeat"] == "1" })
        let pid = try #require(supervisord.listenerPID)
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        let stopped = Date()
        // 10 s after the last refresh at most; 2 s more for this loop's own
        // probes on a loaded machine.
        #expect(supervisord.probeSays(Self.frozen(supervisord.statusFile), within: 12), "\((try? supervisord.probeLine()) ?? "")")
        let seconds = Date().timeIntervalSince(stopped)
        #expect(seconds <= 12, "not ready after \(seconds) s")
        print("frozen listener: not ready \(String(format: "%.1f", seconds)) s after SIGSTOP")
        kill(pid, SIGCONT)
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook", within: 15))
    }

    /// kill -9 of the listener: supervisord starts another at once. kubelet
    /// (periodSeconds 10, failureThreshold 3) withdraws readiness only after
    /// three failed probes in a row, 10 s apart: a not-ready span of 20 s or
    /// more. Probing every half second across the restart, the answers hold
    /// at most one not-ready span, all LISTENER_GONE, and even bounded by the
    /// ready answers around it, it lasts less than 20 s (about a second here).
    @Test func killedListenerRestartKeepsAReadyPodReady() throws {
        let supervisord = try Supervisord(start: "exit 0")
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        #expect(eventually(within: 15) { supervisord.status?["heartbeat"] == "1" })
        let pid = try #require(supervisord.listenerPID)
        var samples: [(time: Date, status: Int32)] = [(Date(), try supervisord.probe().status)]
        kill(pid, SIGKILL)
        let killed = Date()
        // Past two TICKs of the new listener: its heartbeat keeps the file fresh.
        while Date().timeIntervalSince(killed) < 15 {
            samples.append((Date(), try supervisord.probe().status))
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(eventually { supervisord.listenerPID.map { $0 != pid } ?? false }, "supervisord restarted the listener")
        #expect(samples.allSatisfy { $0.status == 0 || $0.status == 109 }, "\(samples.map(\.status))")
        #expect(samples.first?.status == 0 && samples.last?.status == 0, "\(samples.map(\.status))")
        let notReady = samples.indices.filter { samples[$0].status != 0 }
        if let first = notReady.first, let last = notReady.last {
            #expect(last - first + 1 == notReady.count, "one contiguous not-ready span: \(samples.map(\.status))")
            let span = samples[last + 1].time.timeIntervalSince(samples[first - 1].time)
            #expect(span < 20, "not ready for up to \(span) s")
            print("killed listener: \(notReady.count) not-ready answers, within \(String(format: "%.1f", span)) s")
        }
    }

    /// The status directory made read-only after READY: the next write fails,
    /// the old READY file cannot even be removed, and the listener lets go of
    /// its lock: the probe does not read that READY. Writable again, the
    /// next TICK writes the file and READY is back.
    /// And `/readyz` agrees: it answers from the listener's memory, where
    /// the record is READY, but the write that failed takes that away.
    @Test func failedWriteTakesReadyAway() throws {
        let mount = try TmpfsMount(kilobytes: 1024)
        let port = TestPorts.unused()
        let supervisord = try Supervisord(
            start: "exit 0", statusDirectory: "\(mount.path)/readiness", listenerArguments: "--http 127.0.0.1:\(port) --hook /nonexistent-hook")
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook"))
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.status == 200 })
        try mount.remount(readOnly: true)
        _ = try supervisord.ctl("start", "start")
        #expect(supervisord.logged("Read-only file system (EROFS)"))
        #expect(supervisord.status?["state"] == "EXITED", "the old file stays on a read-only file system")
        #expect(supervisord.probeSays(Self.gone(supervisord.statusFile), within: 10), "\((try? supervisord.probeLine()) ?? "")")
        // start.sh's new run is RUNNING, then EXITED in the listener's memory:
        // never READY there either while the file cannot be written.
        var answers: [String] = []
        #expect(eventually {
            answers.append(HTTPClient.get(port: port, "/readyz").map { "\($0.status) \($0.body)" } ?? "none")
            return answers.last?.hasPrefix("503 not ready: 109 LISTENER_GONE: the listener cannot write its status file") == true
        }, "\(answers.suffix(3))")
        #expect(!answers.contains { $0.hasPrefix("200 ") }, "\(answers)")
        try mount.remount(readOnly: false)
        #expect(supervisord.probeSays("ready: 0 READY: program start exited with status 0; no hook", within: 15))
        #expect(eventually { HTTPClient.get(port: port, "/readyz")?.status == 200 })
    }
}
