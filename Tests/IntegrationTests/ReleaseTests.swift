import Foundation
import Testing

/// The release binaries in an empty root file system holding nothing but the
/// binary itself (and /proc where the test says): no libc, no loader, no
/// shell; Embedded Swift has no runtime that looks up its own path at start-up. `make test` builds
/// them first and names their directory in READINESS_RELEASE_DIR.
@Suite struct ReleaseTests {
    static let releaseDirectory = ProcessInfo.processInfo.environment["READINESS_RELEASE_DIR"] ?? "\(Paths.repository)/.build/embedded"

    /// A root containing only `binary`, at its top, and the emulator (a
    /// static qemu-user, as `/emulator`) when the binaries are not for this machine.
    func emptyRoot(with binary: String) throws -> ScratchDirectory {
        let root = ScratchDirectory()
        let source = "\(Self.releaseDirectory)/\(binary)"
        try #require(FileManager.default.isExecutableFile(atPath: source), "no release build at \(source): run `make test` or `make release`")
        root.executable(binary, Array(try Data(contentsOf: URL(fileURLWithPath: source))))
        if let emulator = Paths.emulator { root.executable("emulator", Array(try Data(contentsOf: URL(fileURLWithPath: emulator)))) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() == ([binary] + (Paths.emulator == nil ? [] : ["emulator"])).sorted())
        return root
    }

    /// Runs `arguments` chrooted into `root`, with no environment, through
    /// the emulator copied in when there is one.
    func chroot(_ root: ScratchDirectory, _ arguments: [String], stdin: String = "/dev/null") throws -> Completed {
        try run("/usr/sbin/chroot", [root.path] + (Paths.emulator == nil ? [] : ["/emulator"]) + arguments, environment: [:], stdin: stdin)
    }

    /// C-class footprint: each binary at most 512 KiB, static (against musl) and stripped.
    @Test(arguments: ["readiness_listener", "readiness_probe"])
    func binariesAreAtMostHalfAMebibyte(binary: String) throws {
        let size = try #require(try FileManager.default.attributesOfItem(atPath: "\(Self.releaseDirectory)/\(binary)")[.size] as? Int)
        #expect(size <= 512 << 10, "\(binary) is \(size) bytes")
    }

    @Test func probeGivesItsCodesInAnEmptyRoot() throws {
        let root = try emptyRoot(with: "readiness_probe")
        let codes = try chroot(root, ["/readiness_probe", "--codes"])
        #expect(codes.status == 0, "\(codes.stderr)")
        #expect(codes.stdout.contains("| 104 | NO_STATUS |"))
        let missing = try chroot(root, ["/readiness_probe"])
        #expect(missing.status == 104)
        #expect(missing.stderr == "not ready: 104 NO_STATUS: no status file at /run/readiness/status: the listener never ran\n")
        #expect(try chroot(root, ["/readiness_probe", "--bogus"]).status == 120)
    }

    /// Mounts procfs at `root`/proc for `body`: what every container runtime
    /// gives a container, and all the binaries need besides themselves.
    func withProc<T>(in root: ScratchDirectory, _ body: () throws -> T) throws -> T {
        try FileManager.default.createDirectory(atPath: "\(root.path)/proc", withIntermediateDirectories: true)
        let mounted = try run("/bin/mount", ["-t", "proc", "proc", "\(root.path)/proc"])
        try #require(mounted.status == 0, "mount -t proc: \(mounted.stderr)")
        defer { _ = try? run("/bin/umount", ["\(root.path)/proc"]) }
        return try body()
    }

    /// The listener writes its file in its own empty root; the probe, in its
    /// own, reads it (the listener's status directory bind-mounted there, so
    /// the probe sees the listener's lock): READY for exit 0, START_FAILED
    /// for exit 3. Without /proc the probe cannot tell that the supervisord
    /// of the file is the process now running with its pid, and does not take
    /// it for the same (it said READY before). Once the listener has ended
    /// (end of input), nothing holds its lock: READY is gone (109), with no
    /// /proc needed for that; a failure stays what it was.
    @Test func listenerAndProbeWorkTogetherInEmptyRoots() throws {
        for (expected, code, afterExit) in [("1", Int32(0), Int32(109)), ("0", Int32(101), Int32(101))] {
            let listenerRoot = try emptyRoot(with: "readiness_listener")
            let payload = "processname:start groupname:start from_state:RUNNING expected:\(expected) pid:77"
            let outside = ScratchDirectory()
            let events = "\(outside.path)/events"
            try #require(mkfifo(events, 0o600) == 0)
            let probeRoot = try emptyRoot(with: "readiness_probe")
            let shared = "\(probeRoot.path)/run/readiness"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            // Opened here first, read-write (which never blocks on a FIFO):
            // the child's open for reading then finds a writer at once, while
            // posix_spawn waits for its exec. Closing it is the end of input.
            let writer = open(events, O_RDWR | O_CLOEXEC)
            try #require(writer >= 0)
            var writerOpen = true
            defer { if writerOpen { close(writer) } }
            try withProc(in: listenerRoot) {
                let listener = try Child(
                    "/usr/sbin/chroot", [listenerRoot.path] + (Paths.emulator == nil ? [] : ["/emulator"]) + ["/readiness_listener", "--status-file", "/run/readiness/status"],
                    stdout: "\(outside.path)/out", stderr: "\(outside.path)/err", stdin: events, environment: [:])
                defer { listener.stop() }
                let event = "ver:3.0 serial:1 pool:p poolserial:1 eventname:PROCESS_STATE_EXITED len:\(payload.count)\n\(payload)"
                #expect(event.withCString { Glibc.write(writer, $0, strlen($0)) } == event.utf8.count)
                #expect(eventually { StatusFile(path: "\(listenerRoot.path)/run/readiness/status")?["state"] == "EXITED" })
                let mounted = try run("/bin/mount", ["--bind", "\(listenerRoot.path)/run/readiness", shared])
                try #require(mounted.status == 0, "mount --bind: \(mounted.stderr)")
                defer { _ = try? run("/bin/umount", [shared]) }

                let blind = try chroot(probeRoot, ["/readiness_probe"])
                #expect(blind.status == 106, "\(blind.stdout)\(blind.stderr)")
                #expect(blind.stderr.contains("(no start time to compare: is /proc mounted?)"))
                let probed = try withProc(in: probeRoot) { try chroot(probeRoot, ["/readiness_probe"]) }
                #expect(probed.status == code, "\(probed.stdout)\(probed.stderr)")

                close(writer)
                writerOpen = false
                #expect(listener.wait(seconds: 10) == 0)
                #expect((try? String(contentsOfFile: "\(outside.path)/out", encoding: .utf8)) == "READY\nRESULT 2\nOKREADY\n")
                let gone = try withProc(in: probeRoot) { try chroot(probeRoot, ["/readiness_probe"]) }
                #expect(gone.status == afterExit, "\(gone.stdout)\(gone.stderr)")
                if afterExit == 109 {
                    #expect(gone.stderr.contains("nothing holds /run/readiness/status.lock"))
                }
            }
        }
    }
}
