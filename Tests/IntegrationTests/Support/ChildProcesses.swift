import Foundation

/// The result of running a command to completion.
struct Completed {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double
}

/// A child process with stdin from /dev/null (or a file) and stdout and stderr
/// appended to files, so no pipe can fill up. Spawned and reaped here rather
/// than through Foundation.Process, whose exit monitoring is not reliable on Linux.
final class Child {
    let pid: pid_t
    private(set) var exitStatus: Int32?

    init(_ executable: String, _ arguments: [String], stdout: String, stderr: String, stdin: String = "/dev/null",
         environment: [String: String]? = nil, newProcessGroup: Bool = false) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let command = Paths.command(executable)
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        self.pid = pid
    }

    /// Reaps the child if it has exited; true once it has.
    @discardableResult
    func poll() -> Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return true
    }

    var isRunning: Bool { !poll() }

    /// Waits for the exit; an exit by signal N is reported as 128+N.
    @discardableResult
    func wait(seconds: Double = 60) -> Int32? {
        _ = eventually(within: seconds, poll)
        return exitStatus
    }

    /// Waits `seconds` as given, unscaled: for a timeout that is itself
    /// under test (kubelet's timeoutSeconds), not a bound on something that
    /// must happen.
    func wait(exactly seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while !poll() && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        _ = poll()
        return exitStatus
    }

    func signal(_ signal: Int32) { if !poll() { kill(pid, signal) } }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    func stop(grace: Double = 15) {
        signal(SIGTERM)
        if wait(seconds: grace) == nil {
            signal(SIGKILL)
            wait()
        }
    }
}

/// Runs a command to completion, stdout and stderr captured.
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: String = "/dev/null") throws -> Completed {
    let scratch = ScratchDirectory()
    let started = Date()
    let child = try Child(executable, arguments, stdout: "\(scratch.path)/out", stderr: "\(scratch.path)/err", stdin: stdin, environment: environment)
    let status = child.wait(seconds: 120) ?? -1
    return Completed(
        status: status,
        stdout: (try? String(contentsOfFile: "\(scratch.path)/out", encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: "\(scratch.path)/err", encoding: .utf8)) ?? "",
        seconds: Date().timeIntervalSince(started))
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
func startTicks(of pid: pid_t) -> UInt64? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    return fields.count > 19 ? UInt64(fields[19]) : nil
}
