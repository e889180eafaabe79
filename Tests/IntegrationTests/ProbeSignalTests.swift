import Foundation
import ReadinessCore
import Testing

/// `--wait` told to stop: SIGTERM or SIGINT ends the built probe at once with
/// 114 and a line saying so, whether a hook is running or the probe is
/// between two checks, and no hook process outlives it.
@Suite(.serialized) struct ProbeSignalTests {
    static let names: [Int32: String] = [SIGTERM: "SIGTERM", SIGINT: "SIGINT"]

    /// Whether `pid` has a handler for `signal` (SigCgt in /proc/PID/status):
    /// the probe is then inside its signal scope.
    static func catches(_ pid: pid_t, _ signal: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
            let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << UInt64(signal - 1)) != 0
    }

    /// Sends `signal`, expects the probe to end with 114 within 0.5 s, and
    /// returns the line it wrote.
    static func interrupt(_ probe: Child, with signal: Int32, fixture: ProbeTests.Fixture) -> String {
        let sent = Date()
        probe.signal(signal)
        let status = probe.wait(seconds: 10)
        let seconds = Date().timeIntervalSince(sent)
        #expect(status == 114)
        #expect(seconds < Slowness.scaled(0.5), "stopped \(seconds) s after the signal")
        return (try? String(contentsOfFile: "\(fixture.scratch.path)/err", encoding: .utf8)) ?? ""
    }

    /// Starts `--wait` on `fixture`, with `hook` as its hook when given, and
    /// returns once `ready` holds for it.
    static func waitingProbe(
        _ fixture: ProbeTests.Fixture, hook: String? = nil, _ extra: [String] = [], once ready: (Child) -> Bool
    ) throws -> Child {
        if let hook { fixture.hook(hook) }
        let probe = try Child(
            Paths.probe, ["--status-file", fixture.statusFile, "--hook", fixture.hook, "--wait", "--timeout", "60", "--interval", "0.2"] + extra,
            stdout: "\(fixture.scratch.path)/out", stderr: "\(fixture.scratch.path)/err")
        #expect(eventually(within: 10) { ready(probe) })
        return probe
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalWhileAHookRuns(signal: Int32) throws {
        let marker = ProbeHookLifecycleTests.marker()
        let fixture = ProbeTests.Fixture()
        let started = "\(fixture.scratch.path)/started"
        let probe = try Self.waitingProbe(fixture, hook: "touch \(started); setsid sleep \(marker) & exec sleep \(marker)", ["--hook-timeout", "30"]) { _ in
            FileManager.default.fileExists(atPath: started) && processes(containing: marker).count == 2
        }
        #expect(Self.interrupt(probe, with: signal, fixture: fixture) == "not ready: 114 INTERRUPTED: probe got signal \(signal) (\(Self.names[signal]!)) while hook \(fixture.hook) ran; its processes were killed\n")
        #expect(processes(containing: marker).isEmpty)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalBetweenChecks(signal: Int32) throws {
        let fixture = ProbeTests.Fixture(.process(.running), expected: nil)
        let probe = try Self.waitingProbe(fixture) { Self.catches($0.pid, signal) }
        #expect(Self.interrupt(probe, with: signal, fixture: fixture) == "not ready: 114 INTERRUPTED: probe got signal \(signal) (\(Self.names[signal]!)) while waiting to check again; last check: 100 START_PENDING\n")
    }

    /// The case the issue reproduced: after a hook ran (and its scope ended),
    /// a later signal in the same `--wait` still stops it.
    @Test(arguments: [SIGTERM, SIGINT])
    func signalAfterHooksRanInTheSameWait(signal: Int32) throws {
        let marker = ProbeHookLifecycleTests.marker()
        let fixture = ProbeTests.Fixture()
        let runs = "\(fixture.scratch.path)/runs"
        let probe = try Self.waitingProbe(fixture, hook: "echo run >> \(runs); sleep \(marker) & exit 3") { _ in
            ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").count >= "run\nrun\n".count
        }
        #expect(Self.interrupt(probe, with: signal, fixture: fixture).hasPrefix("not ready: 114 INTERRUPTED: probe got signal \(signal) (\(Self.names[signal]!)) while "))
        #expect(processes(containing: marker).isEmpty)
    }

    /// A parent that ignores SIGCHLD passes that on across exec; the kernel
    /// would then reap the hook itself and its status would be lost (ECHILD).
    /// The probe's scope sets SIGCHLD to its default: the hook's code stands.
    @Test func hookStatusSurvivesAParentIgnoringSigchld() throws {
        let fixture = ProbeTests.Fixture()
        fixture.hook("exit 7")
        let result = try run("\(Paths.venv)/python", [
            "-c", "import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])",
        ] + Paths.command(Paths.probe) + ["--status-file", fixture.statusFile, "--hook", fixture.hook])
        #expect(result.status == 7)
        #expect(result.stderr == "not ready: 7 HOOK_FAILED: hook \(fixture.hook) exited with status 7\n")
    }

    /// Ignored signals also survive exec, so a parent that ignores some would
    /// hand them to the hook: it starts with them, and every other signal, at
    /// their default. The same script run directly under that parent shows
    /// they are ignored there.
    @Test func hookStartsWithTheParentsIgnoredSignalsAtDefault() throws {
        let fixture = ProbeTests.Fixture()
        let report = "sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status"
        fixture.hook("\(report); exit 3")
        let signals = [SIGPIPE, SIGTERM, SIGUSR1, SIGHUP]
        let ignoring = [
            "-c", "import os, signal, sys; [signal.signal(s, signal.SIG_IGN) for s in (signal.SIGPIPE, signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP)]; os.execv(sys.argv[1], sys.argv[1:])",
        ]
        func ignored(_ mask: String) throws -> [Int32] {
            let bits = try #require(UInt64(mask.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16), "mask \(mask)")
            return signals.filter { bits & (1 << UInt64($0 - 1)) != 0 }
        }
        let direct = try run("\(Paths.venv)/python", ignoring + ["/bin/sh", "-c", report])
        #expect(try ignored(direct.stdout) == signals)
        let result = try run("\(Paths.venv)/python", ignoring + Paths.command(Paths.probe) + ["--status-file", fixture.statusFile, "--hook", fixture.hook])
        #expect(result.status == 3)
        let prefix = "not ready: 3 HOOK_FAILED: hook \(fixture.hook) exited with status 3: "
        #expect(result.stderr.hasPrefix(prefix))
        #expect(try ignored(String(result.stderr.dropFirst(prefix.count))) == [])
        // None other either: glibc's posix_spawn left its internal signals 32 and 33 ignored.
        #expect(result.stderr == prefix + "0000000000000000\n")
    }
}
