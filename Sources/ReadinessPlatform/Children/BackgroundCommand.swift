import CReadiness

/// A child process run alongside a poll loop, contained: its own process
/// group, stdin from /dev/null, stdout and stderr into one non-blocking pipe
/// of which a bounded tail is kept, and a deadline (`killAt`). When it exits,
/// its whole process group is killed, so a background child it left behind
/// (`sleep 100 &`) does not outlive it; past the deadline, `kill()` does the
/// same to a command that hangs. (A process that leaves the group with
/// `setsid` escapes this; the probe's `HookRunner` is a subreaper for that.)
///
/// The loop polls `outputDescriptor` and `exitDescriptor` for POLLIN, and
/// after each wait calls `step`: it reads when either is ready and kills at
/// `killAt`. Nothing here blocks. (Without a pidfd, on kernels before 5.3, an exit is seen
/// when the output ends, if the command has exited by then; else nothing is
/// left to poll and the loop comes back at `killAt`: a command that closed
/// its output early, or whose background child holds the pipe, is ended
/// there, and `kill()` reports how it exited if it did.) Copyable, so that a
/// loop can keep many in an array: exactly one copy is ended, through
/// `readOutput` or `kill`.
package struct BackgroundCommand {
    package let pid: Int32
    /// The monotonic time (`Clock.monotonicMilliseconds`) past which the
    /// command is killed.
    package let killAt: Int64
    private var output: Int32
    /// A pidfd, readable once the command exited; -1 on kernels before 5.3.
    package let exitDescriptor: Int32
    private var tail = OutputTail(limit: BackgroundCommand.tailLimit, headLimit: BackgroundCommand.tailLimit)
    /// Set once the command was reaped: later calls answer with it and
    /// never signal its pid, which may belong to another process by then.
    private var ended: Ended?

    /// How much of the end, and of the start, of the output is kept.
    package static let tailLimit = 4096

    /// How a command ended, and the end of what it wrote.
    package struct Ended: Equatable, Sendable {
        package var termination: Termination
        /// The last `tailLimit` bytes of stdout and stderr, interleaved as written.
        package var outputTail: [UInt8]
        /// The first `tailLimit` bytes, where a program's first line is.
        package var outputHead: [UInt8]
        package var outputByteCount: Int
    }

    package enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
        /// Killed at `killAt`.
        case timedOut
    }

    /// Why a command could not be started.
    package enum StartFailure: Error, Equatable, Sendable, CustomStringConvertible {
        /// No pipe for its output (out of descriptors): this process's trouble.
        case pipe(Errno)
        /// `call` failed while spawning; `execve` means the program itself
        /// could not be run.
        case spawn(call: String, errno: Errno)

        package var description: String {
            switch self {
            case .pipe(let errno): "pipe: \(errno)"
            case .spawn(let call, let errno): "\(call): \(errno)"
            }
        }
    }

    private init(pid: pid_t, output: Int32, exitDescriptor: Int32, killAt: Int64) {
        self.pid = pid
        self.output = output
        self.exitDescriptor = exitDescriptor
        self.killAt = killAt
    }

    /// Starts `arguments[0]` (a path) with `arguments`; `environment` holds
    /// `NAME=value` entries that replace or add to the inherited environment.
    package static func start(arguments: [String], environment: [String] = [], timeoutMilliseconds: Int64) throws(StartFailure)
        -> BackgroundCommand
    {
        let overrides = environment.map { entry in
            let name = entry.prefix { $0 != "=" }
            return (name: String(name), value: String(entry.dropFirst(name.count + 1)))
        }
        let pipe = try outputPipe()
        let pid: pid_t
        do throws(SpawnFailure) {
            pid = try system_spawn_in_new_group(arguments[0], arguments, overrides, outputFD: pipe.write.rawValue)
        } catch { throw .spawn(call: error.call, errno: error.errno) }
        // The write end closes here (its owner, `pipe`, ends), so the output
        // ends when the command and everything it started are done with it.
        return BackgroundCommand(
            pid: pid, output: pipe.read.release(), exitDescriptor: (try? system_pidfd_open(pid)) ?? -1,
            killAt: Clock.monotonicMilliseconds() + timeoutMilliseconds)
    }

    private static func outputPipe() throws(StartFailure) -> Pipe {
        do {
            let pipe = try Pipe(flags: O_CLOEXEC)
            try system_set_nonblocking(pipe.read.rawValue)
            return pipe
        } catch { throw .pipe(error) }
    }

    /// The read end of the output pipe to poll; -1 once it ended.
    package var outputDescriptor: Int32 { output }

    /// How soon the loop looks again for the exit of a command it cannot
    /// watch (`exitUnwatched`).
    package static let exitLookMilliseconds: Int64 = 20

    /// Whether nothing is left to poll while it runs: its output ended and
    /// there is no pidfd (kernels before 5.3), so only `readOutput` can see it exit.
    package var exitUnwatched: Bool { ended == nil && output < 0 && exitDescriptor < 0 }

    /// When the loop must come back for it: its deadline, or sooner while its
    /// exit is unwatched, so that an exit is not taken for a hang.
    package func wakeAt(now: Int64) -> Int64 {
        exitUnwatched ? min(killAt, now + Self.exitLookMilliseconds) : killAt
    }

    /// One turn of the loop for it: reads when the wait found its output or
    /// exit ready (`woken`), or when nothing shows its exit, and kills it
    /// past `killAt`; how it ended, once it has.
    package mutating func step(woken: Bool, now: Int64) -> Ended? {
        if woken || exitUnwatched, let ended = readOutput() { return ended }
        return now >= killAt ? kill() : nil
    }

    /// Takes what the command wrote (a bounded amount per call, so endless
    /// output cannot hold the loop) and, once it exited, ends it: its group
    /// killed, it reaped, the descriptors closed. Nil while it runs.
    package mutating func readOutput() -> Ended? {
        if let ended { return ended }
        if output >= 0, !tail.drain(output) {
            try? system_close(output)
            output = -1
        }
        // Never waits: a closed output with no pidfd (kernels before 5.3)
        // leaves nothing to poll, and the loop comes back (`wakeAt`).
        guard (try? system_child_exited(pid, blocking: false)) ?? true else { return nil }
        return end(as: nil)
    }

    /// Kills the command past its deadline, with its process group; one
    /// that exited meanwhile (unseen without a pidfd) is reported as it exited.
    package consuming func kill() -> Ended {
        if let ended { return ended }
        if (try? system_child_exited(pid, blocking: false)) == true { return end(as: nil) }
        try? system_kill(pid, SIGKILL)  // in case it left its group
        return end(as: .timedOut)
    }

    /// Kills what is left of the group (the pid is not reaped yet, so the
    /// group's id cannot have been reused), reaps the command, keeps what is
    /// already in the pipe and closes everything.
    private mutating func end(as termination: Termination?) -> Ended {
        try? system_kill(-pid, SIGKILL)
        let status = try? system_waitpid(pid, 0)
        if output >= 0 {
            tail.drainAvailable(output)
            try? system_close(output)
            output = -1
        }
        if exitDescriptor >= 0 { try? system_close(exitDescriptor) }
        let decoded = status.map { system_wait_status($0.status) }
        // No status (ECHILD: reaped elsewhere) is counted as killed.
        let ending =
            termination
            ?? decoded?.exitCode.map { .exited($0) }
            ?? decoded?.signal.map { .signaled($0) }
            ?? .signaled(SIGKILL)
        let result = Ended(termination: ending, outputTail: tail.bytes, outputHead: tail.head, outputByteCount: tail.total)
        ended = result
        return result
    }
}
