import Foundation
import Testing

/// A small tmpfs mounted for one test, so that read-only and full file systems
/// are real (root in a container can write through any permission bits).
final class TmpfsMount {
    let scratch = ScratchDirectory()
    var path: String { "\(scratch.path)/mnt" }

    init(kilobytes: Int) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let mounted = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=0755", "tmpfs", path])
        try #require(mounted.status == 0, "mounting a tmpfs needs root (CAP_SYS_ADMIN): \(mounted.stderr)")
    }

    func remount(readOnly: Bool) throws {
        let result = try run("/bin/mount", ["-o", "remount,\(readOnly ? "ro" : "rw")", path])
        try #require(result.status == 0, "\(result.stderr)")
    }

    deinit { _ = try? run("/bin/umount", ["-l", path]) }
}

@Suite(.serialized) struct ListenerFaultTests {
    /// The status directory is read-only: the listener keeps answering (it is
    /// never UNKNOWN), and the file is right once the directory is writable.
    @Test func readOnlyStatusDirectoryRecovers() throws {
        let mount = try TmpfsMount(kilobytes: 1024)
        try mount.remount(readOnly: true)
        let supervisord = try Supervisord(start: "exit 0", otherPrograms: 3, statusDirectory: "\(mount.path)/readiness")
        defer { supervisord.stop() }
        #expect(eventually { supervisord.output.contains("to=EXITED") })
        #expect(supervisord.logged("level=error msg=\"cannot write the status file, will retry on the next event\""))
        #expect(supervisord.logged("Read-only file system (EROFS)"))
        #expect(supervisord.status == nil)
        // Events of other programs still flow through the listener.
        _ = try supervisord.ctl("stop", "other1")
        #expect(eventually { (try? supervisord.state(of: "other1")) == "STOPPED" })
        #expect(try supervisord.state(of: "readiness_listener") == "RUNNING")

        try mount.remount(readOnly: false)
        let status = try #require(supervisord.waitForState("EXITED", within: 15))
        #expect(status["expected"] == "1")
        // supervisord relays the listener's stderr in its own loop, after the file is there.
        #expect(eventually { supervisord.output.contains("msg=\"status file written again\"") })
        // The lock the listener holds beside the file (issue 23).
        // Listed once the listener sits idle: mid-write, its temporary file is there too.
        #expect(try supervisord.listenerSitsIdle())
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(mount.path)/readiness").sorted() == ["status", "status.lock"])
        #expect(try supervisord.state(of: "readiness_listener") == "RUNNING")
        #expect(!supervisord.log.contains("UNKNOWN"))
    }

    /// The status directory removed while the listener runs (it keeps the
    /// directory open between writes): the next write creates it again.
    @Test func removedStatusDirectoryIsCreatedAgain() throws {
        let supervisord = try Supervisord(start: "exit 0")
        defer { supervisord.stop() }
        let first = try #require(supervisord.waitForState("EXITED"))
        // Removed between writes: the exit status, asked after the EXITED, is written in a turn of its own.
        #expect(try supervisord.listenerSitsIdle())
        let directory = (supervisord.statusFile as NSString).deletingLastPathComponent
        try FileManager.default.removeItem(atPath: directory)
        _ = try supervisord.ctl("start", "start")
        #expect(eventually {
            guard let status = supervisord.status, let serial = status["serial"].flatMap(Int.init) else { return false }
            return status["state"] == "EXITED" && serial > Int(first["serial"] ?? "") ?? .max
        })
        // Listed once the listener sits idle: mid-write, its temporary file is there too.
        #expect(try supervisord.listenerSitsIdle())
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["status", "status.lock"])
        #expect(!supervisord.output.contains("cannot write the status file"))
    }

    /// The status directory moved away (`mv`) while the listener runs: the
    /// next write notices that its open directory is no longer at the path,
    /// and the file appears at the original path again.
    @Test func renamedStatusDirectoryIsCreatedAgain() throws {
        let supervisord = try Supervisord(start: "exit 0")
        defer { supervisord.stop() }
        let first = try #require(supervisord.waitForState("EXITED"))
        // Moved between writes: the exit status, asked after the EXITED, is written in a turn of its own.
        #expect(try supervisord.listenerSitsIdle())
        let directory = (supervisord.statusFile as NSString).deletingLastPathComponent
        let moved = "\(supervisord.scratch.path)/moved"
        try FileManager.default.moveItem(atPath: directory, toPath: moved)
        _ = try supervisord.ctl("start", "start")
        #expect(eventually {
            guard let status = supervisord.status, let serial = status["serial"].flatMap(Int.init) else { return false }
            return status["state"] == "EXITED" && serial > Int(first["serial"] ?? "") ?? .max
        })
        // Listed once the listener sits idle: mid-write, its temporary file is there too.
        #expect(try supervisord.listenerSitsIdle())
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["status", "status.lock"])
        #expect(StatusFile(path: "\(moved)/status")?["serial"] == first["serial"], "the moved directory is left as it was")
        #expect(!supervisord.output.contains("cannot write the status file"))
    }

    /// A umask of 077 (common hardening), inherited by the listener from
    /// supervisord or set by `umask=077` in the listener's own section: the
    /// directory it creates is still 0755 and the file 0644, so a probe
    /// running as another user (a pod's runAsUser) can read them.
    @Test(arguments: [true, false])
    func restrictiveUmaskLeavesTheFileReadable(inherited: Bool) throws {
        let supervisord = inherited
            ? try Supervisord(start: "exit 0", umask: "077")
            : try Supervisord(start: "exit 0", listenerSettings: ["umask": "077"])
        defer { supervisord.stop() }
        _ = try #require(supervisord.waitForState("EXITED"))
        let listener = try #require(supervisord.status?["listener_pid"])
        let umask = try String(contentsOfFile: "/proc/\(listener)/status", encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("Umask:") }
        #expect(umask == "Umask:\t0077", "the listener runs with umask 077")
        let directory = (supervisord.statusFile as NSString).deletingLastPathComponent
        #expect(permissions(of: directory) == 0o755)
        #expect(permissions(of: supervisord.statusFile) == 0o644)
        let probe = try run("/usr/bin/setpriv", [
            "--reuid=65534", "--regid=65534", "--clear-groups"] + Paths.command(Paths.probe) + [
            "--status-file", supervisord.statusFile, "--hook", "\(supervisord.scratch.path)/no-hook",
        ])
        #expect(probe.status == 0, "\(probe.stdout)\(probe.stderr)")
    }

    func permissions(of path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    /// A full file system: the failed write leaves no temporary file, and the
    /// state is written once space is freed.
    @Test func fullDiskRecovers() throws {
        let mount = try TmpfsMount(kilobytes: 64)
        try FileManager.default.createDirectory(atPath: "\(mount.path)/readiness", withIntermediateDirectories: true)
        let filler = "\(mount.path)/filler"
        _ = try run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=4096"])
        let supervisord = try Supervisord(start: "exit 3", statusDirectory: "\(mount.path)/readiness")
        defer { supervisord.stop() }
        #expect(eventually { supervisord.output.contains("to=EXITED") })
        #expect(supervisord.logged("No space left on device (ENOSPC)"))
        // No temporary file; only the lock file, taken before the write and let go when it failed.
        // Listed once the listener sits idle: mid-write, its temporary file is there too.
        #expect(try supervisord.listenerSitsIdle())
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(mount.path)/readiness") == ["status.lock"])
        #expect(try supervisord.state(of: "readiness_listener") == "RUNNING")

        try FileManager.default.removeItem(atPath: filler)
        let status = try #require(supervisord.waitForState("EXITED", within: 15))
        #expect(status["expected"] == "0")
        // The lock the listener holds beside the file (issue 23).
        // Listed once the listener sits idle: mid-write, its temporary file is there too.
        #expect(try supervisord.listenerSitsIdle())
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(mount.path)/readiness").sorted() == ["status", "status.lock"])
        #expect(try supervisord.probe().status == 101)
    }

    /// Why buffer_size is raised in the shipped config: with supervisord's
    /// default of 10 the same burst overflows and start's events are lost.
    @Test func defaultBufferSizeWouldOverflow() throws {
        let supervisord = try Supervisord(start: "exit 0", otherPrograms: 30, listenerSettings: ["buffer_size": "10"])
        #expect(eventually { supervisord.log.contains("overflowed") })
    }
}
