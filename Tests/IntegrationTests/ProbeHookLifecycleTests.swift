import Foundation
import Testing

/// Pids of live processes whose command line contains `marker`.
func processes(containing marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry in
        guard let pid = Int32(entry), pid != getpid(),
            let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
            String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ").contains(marker)
        else { return nil }
        // A zombie has an empty command line; one still listed here is alive.
        return pid
    }
}

/// Hooks that hang, leave children behind or escape their process group:
/// the probe ends with the right code and no process of theirs survives it.
@Suite(.serialized) struct ProbeHookLifecycleTests {
    /// A unique `sleep` duration marks each test's processes in /proc.
    static func marker() -> String { "30\(Int.random(in: 0...9)).\(Int.random(in: 100_000...999_999))" }

    func probeWithHook(_ body: String, timeout: String = "0.5") throws -> (Completed, ProbeTests.Fixture) {
        let fixture = ProbeTests.Fixture()
        fixture.hook(body)
        return (try fixture.probe(["--hook-timeout", timeout]), fixture)
    }

    @Test func hookSleepingForever() throws {
        let marker = Self.marker()
        let (result, fixture) = try probeWithHook("echo working; exec sleep \(marker)")
        #expect(result.status == 110)
        #expect(result.stderr == "not ready: 110 HOOK_TIMEOUT: hook \(fixture.hook) did not finish within 0.5 s; its processes were killed: working\n")
        #expect(result.seconds < Slowness.scaled(0.5 + 0.1 + 2), "ends at the deadline plus grace, not when sleep would")
        #expect(processes(containing: marker).isEmpty)
    }

    /// A hook that writes without end, itself or through children, faster
    /// than the probe reads: the probe still ends at its deadline, and its
    /// whole process group is killed. strace delays each of the probe's reads
    /// by 200 µs (the hook is not traced), as a probe short of CPU on a busy
    /// node would be, so the pipe never runs empty.
    @Test(arguments: ["exec yes MARKER", "yes MARKER & yes MARKER; wait"])
    func hookWritingWithoutEnd(body: String) throws {
        let strace = "/usr/bin/strace"
        try #require(FileManager.default.isExecutableFile(atPath: strace), "this test slows the probe's reads with strace")
        let marker = Self.marker()
        let fixture = ProbeTests.Fixture()
        fixture.hook(body.replacingOccurrences(of: "MARKER", with: marker))
        let started = Date()
        let probe = try Child(strace, [
            "-o", "/dev/null", "-e", "trace=read", "-e", "inject=read:delay_enter=200",
        ] + Paths.command(Paths.probe) + [
            "--status-file", fixture.statusFile, "--hook", fixture.hook, "--hook-timeout", "0.3",
        ], stdout: "\(fixture.scratch.path)/out", stderr: "\(fixture.scratch.path)/err")
        let status = probe.wait(seconds: 15)
        let seconds = Date().timeIntervalSince(started)
        if status == nil {
            probe.signal(SIGKILL)
            processes(containing: fixture.hook).forEach { kill($0, SIGKILL) }
        }
        let left = processes(containing: marker)
        left.forEach { kill($0, SIGKILL) }
        #expect(status == 110)
        #expect(seconds < Slowness.scaled(3), "ends at the deadline plus grace (0.4 s), not when the output ends")
        #expect(left.isEmpty, "no process of the hook's group is left")
        let stderr = try String(contentsOfFile: "\(fixture.scratch.path)/err", encoding: .utf8)
        #expect(stderr.hasPrefix("not ready: 110 HOOK_TIMEOUT: hook \(fixture.hook) did not finish within 0.3 s; its processes were killed: "), "\(stderr)")
    }

    /// Runs the probe in the background with `body` as its hook, checks that
    /// the hook really started `expected` marked processes, and returns the
    /// probe's exit status once it ended.
    func probeObserving(_ body: String, marker: String, expected: Int, timeout: String = "1.5") throws -> Int32? {
        let fixture = ProbeTests.Fixture()
        fixture.hook(body)
        let probe = try Child(Paths.probe, ["--status-file", fixture.statusFile, "--hook", fixture.hook, "--hook-timeout", timeout],
                              stdout: "/dev/null", stderr: "/dev/null")
        #expect(eventually(within: 10) { processes(containing: marker).count == expected }, "the hook's processes ran")
        return probe.wait(seconds: 10)
    }

    @Test func hookWithBackgroundChildrenThenWait() throws {
        let marker = Self.marker()
        let status = try probeObserving("sleep \(marker) & sleep \(marker) & (sleep \(marker) &) ; wait", marker: marker, expected: 3)
        #expect(status == 110)
        #expect(processes(containing: marker).isEmpty)
    }

    /// A child that leaves the hook's process group and session: only the
    /// subreaper can find it once its parent is gone.
    @Test func hookWhoseChildCallsSetsid() throws {
        let marker = Self.marker()
        let status = try probeObserving("setsid sh -c 'sleep \(marker) & exec sleep \(marker)' & wait", marker: marker, expected: 2)
        #expect(status == 110)
        #expect(processes(containing: marker).isEmpty)
    }

    /// A hook that passes but leaves a daemon behind: still READY, and the daemon is gone.
    @Test func hookExitingZeroWithABackgroundChild() throws {
        let marker = Self.marker()
        let (result, _) = try probeWithHook("setsid sleep \(marker) & sleep \(marker) & exit 0", timeout: "5")
        #expect(result.status == 0)
        #expect(result.seconds < Slowness.scaled(5), "does not wait for the children's pipe ends")
        #expect(processes(containing: marker).isEmpty)
    }

    /// The default deadline (0.7 s plus 0.1 s grace) keeps the whole probe
    /// inside kubelet's default timeoutSeconds of 1.
    @Test func defaultDeadlineFitsKubeletsDefaultTimeout() throws {
        let marker = Self.marker()
        let fixture = ProbeTests.Fixture()
        fixture.hook("exec sleep \(marker)")
        let result = try fixture.probe()
        #expect(result.status == 110)
        #expect(result.stderr == "not ready: 110 HOOK_TIMEOUT: hook \(fixture.hook) did not finish within 0.7 s; its processes were killed\n")
        #expect(processes(containing: marker).isEmpty)
    }

    /// A hook that ignores SIGTERM is killed after the grace period.
    @Test func hookIgnoringSigterm() throws {
        let marker = Self.marker()
        let (result, _) = try probeWithHook("trap '' TERM; sleep \(marker)")
        #expect(result.status == 110)
        #expect(processes(containing: marker).isEmpty)
    }

    /// SIGTERM to the probe while its hook runs: the hook's group is killed
    /// before the probe exits, with its own code.
    @Test func probeSentSigtermWhileItsHookRuns() throws {
        let marker = Self.marker()
        let fixture = ProbeTests.Fixture()
        let started = "\(fixture.scratch.path)/started"
        fixture.hook("touch \(started); setsid sleep \(marker) & sleep \(marker)")
        let probe = try Child(Paths.probe, ["--status-file", fixture.statusFile, "--hook", fixture.hook, "--hook-timeout", "30"],
                              stdout: "\(fixture.scratch.path)/out", stderr: "\(fixture.scratch.path)/err")
        #expect(eventually(within: 10) { FileManager.default.fileExists(atPath: started) && processes(containing: marker).count == 2 })
        probe.signal(SIGTERM)
        #expect(probe.wait(seconds: 10) == 114)
        let stderr = try String(contentsOfFile: "\(fixture.scratch.path)/err", encoding: .utf8)
        #expect(stderr.hasPrefix("not ready: 114 INTERRUPTED: probe got signal 15 (SIGTERM) while hook"))
        #expect(processes(containing: marker).isEmpty)
    }
}
