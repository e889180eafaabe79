import CReadiness
package import ReadinessCore

/// Runs the image's readiness hook under a deadline and makes sure nothing it
/// started outlives the probe.
///
/// The hook gets its own process group, stdin from /dev/null, and one pipe for
/// stdout and stderr that the probe drains (keeping a bounded tail), so a
/// chatty hook neither blocks nor floods kubelet's 10 KiB. The probe is a child
/// subreaper, so processes that leave the group (`setsid`, double forks) are
/// reparented to it and killed as well.
package struct HookRunner: Sendable {
    package var path: String
    package var timeoutMilliseconds: Int64
    /// Added to the inherited environment.
    package var environment: [String: String] = [:]

    /// Between SIGTERM and SIGKILL to the hook's process group: short, since
    /// the whole probe must fit kubelet's default timeoutSeconds of 1.
    static let terminationGraceMilliseconds: Int64 = 100
    /// How much of the end of the hook's output is kept.
    static let tailLimit = 4096
    /// exec fails with ETXTBSY while the hook file is held open for writing
    /// (being replaced in place): so many tries, so far apart, about 50 ms in all.
    static let busyFileTries = 5
    static let busyFileRetryMilliseconds: Int64 = 10
    /// Without a pidfd (kernels before 5.3) an exit is noticed by asking
    /// waitpid this often.
    static let exitPollMilliseconds: Int64 = 5
    /// Killing escaped descendants goes one generation a round (a killed
    /// process's children are reparented to the probe); a bound on rounds.
    static let descendantRounds = 1000

    package init(path: String, timeoutMilliseconds: Int64) {
        self.path = path
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Whether the hook file can be run, checked before spawning it.
    package enum Usability: Equatable, Sendable {
        case absent
        case usable
        case unusable(String)
    }

    package func usability() -> Usability {
        let link: stat
        do { link = try system_lstat(path) } catch {
            return error == .noSuchFileOrDirectory ? .absent : .unusable("cannot stat \(path): \(error)")
        }
        let info: stat
        if link.isSymbolicLink {
            do { info = try system_stat(path) } catch { return .unusable("\(path) is a symbolic link to nothing usable: \(error)") }
        } else {
            info = link
        }
        let mode = info.st_mode & 0o7777
        guard info.isRegularFile else { return .unusable("\(path) is not a regular file") }
        guard mode & 0o022 == 0 else { return .unusable("\(path) is writable by group or others (mode \(String(mode, radix: 8)))") }
        guard info.st_uid == 0 || info.st_uid == system_geteuid() else {
            return .unusable("\(path) is owned by uid \(info.st_uid), neither root nor the probe's user")
        }
        guard mode & 0o111 != 0, system_access(path, X_OK) else { return .unusable("\(path) is not executable") }
        return .usable
    }

    package struct Outcome: Equatable, Sendable {
        package var termination: HookTermination
        /// The last `tailLimit` bytes of stdout and stderr, interleaved as written.
        package var outputTail: [UInt8]
        package var outputByteCount: Int
    }

    /// Spawns the hook, waits for it until its deadline or until one of
    /// `interruptions` arrives, then tears its processes down.
    package func run(interruptions: Interruptions) -> Outcome {
        // Without a subreaper, escaped processes go to PID 1 and cannot be
        // found; the group kill still covers everything that stayed in it.
        try? system_set_child_subreaper()
        var hook: RunningHook
        do throws(SpawnError) { hook = try spawn() } catch {
            return Outcome(termination: error.termination, outputTail: [], outputByteCount: 0)
        }
        let termination = wait(for: &hook, interruptions: interruptions)
        Self.tearDown(hook, after: termination)
        return Outcome(termination: termination, outputTail: hook.output.bytes, outputByteCount: hook.output.total)
    }

    /// Why the hook could not be started: exec failed (`spawnFailed`, the
    /// hook's fault) or the probe could not set it up (`probeFailed`).
    struct SpawnError: Error {
        var termination: HookTermination
    }

    /// Starts the hook with its output on a pipe the probe reads.
    func spawn() throws(SpawnError) -> RunningHook {
        let overrides = environment.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        let pipe: Pipe
        do { pipe = try Pipe(flags: O_CLOEXEC) } catch { throw SpawnError(termination: .probeFailed("pipe: \(error)")) }
        do { try system_set_nonblocking(pipe.read.rawValue) } catch {
            throw SpawnError(termination: .probeFailed("fcntl O_NONBLOCK: \(error)"))
        }
        var tries = 0
        while true {
            do throws(SpawnFailure) {
                let pid = try system_spawn_in_new_group(path, [path], overrides, outputFD: pipe.write.rawValue)
                let exit = try? system_pidfd_open(pid)
                return RunningHook(pid: pid, outputFD: pipe.read, exitFD: exit.map { FileDescriptor(rawValue: $0) })
            } catch {
                guard error.isExecFailure else { throw SpawnError(termination: .probeFailed("\(error.call): \(error.errno)")) }
                tries += 1
                guard error.errno == .textFileBusy, tries < Self.busyFileTries else {
                    throw SpawnError(termination: .spawnFailed(error.errno.description))
                }
            }
            system_sleep(milliseconds: Self.busyFileRetryMilliseconds)
        }
    }

    /// Drains the hook's output until it exits, its deadline passes or a
    /// signal arrives, whichever is first. Each round reads a bounded amount
    /// and the deadline is checked between rounds, so endless output cannot
    /// hold the probe past it.
    func wait(for hook: inout RunningHook, interruptions: Interruptions) -> HookTermination {
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        var outputOpen = true
        while !deadline.hasPassed {
            var fds = [pollfd(fd: interruptions.fd, events: Int16(POLLIN), revents: 0)]
            if let exitFD = hook.exitFD { fds.append(pollfd(fd: exitFD, events: Int16(POLLIN), revents: 0)) }
            if outputOpen { fds.append(pollfd(fd: hook.outputFD.rawValue, events: Int16(POLLIN), revents: 0)) }
            let timeout = hook.exitFD == nil ? deadline.pollTimeout(atMost: Self.exitPollMilliseconds) : deadline.pollTimeout()
            do { _ = try system_poll(&fds, timeout) } catch { return .probeFailed("poll: \(error)") }
            if fds[0].revents != 0, let signal = interruptions.take() { return .interrupted(signal) }
            if outputOpen, fds.last!.revents != 0 { outputOpen = hook.output.drain(hook.outputFD.rawValue) }
            let exit: HookTermination?
            do { exit = try Self.reap(hook.pid, blocking: false) } catch {
                // ECHILD: the exit status is gone (reaped elsewhere); that is not a timeout.
                return .probeFailed("waitpid \(hook.pid): \(error)")
            }
            if let exit {
                if outputOpen { hook.output.drainAvailable(hook.outputFD.rawValue) }
                // A signal that came with the exit still stops the probe.
                if let signal = interruptions.take() { return .interrupted(signal) }
                return exit
            }
        }
        return .timedOut
    }

    /// Ends what is left of the hook: unless it was reaped, SIGTERM to its
    /// process group, a grace period, then SIGKILL; then every descendant
    /// that escaped the group. ESRCH from kill means the group is already gone.
    static func tearDown(_ hook: borrowing RunningHook, after termination: HookTermination) {
        var reaped =
            switch termination {
            case .exited, .signaled: true
            case .timedOut, .interrupted, .spawnFailed, .probeFailed: false
            }
        if !reaped {
            try? system_kill(-hook.pid, SIGTERM)
            reaped = reap(hook, within: Deadline.after(milliseconds: terminationGraceMilliseconds))
        }
        try? system_kill(-hook.pid, SIGKILL)
        if !reaped { _ = try? reap(hook.pid, blocking: true) }
        killEscapedDescendants()
    }

    /// Waits until `deadline` for the hook to exit, reaping it; true once reaped.
    private static func reap(_ hook: borrowing RunningHook, within deadline: Deadline) -> Bool {
        repeat {
            switch Result(catching: { () throws(Errno) in try reap(hook.pid, blocking: false) }) {
            case .success(.some): return true
            case .failure: return false  // ECHILD: nothing left to wait for here
            case .success(.none): break
            }
            var fds = [pollfd(fd: hook.exitFD ?? -1, events: Int16(POLLIN), revents: 0)]
            // With no pidfd (fd -1) poll only sleeps; if it fails, SIGKILL comes sooner.
            guard (try? system_poll(&fds, deadline.pollTimeout(atMost: exitPollMilliseconds))) != nil else { return false }
        } while !deadline.hasPassed
        return (try? reap(hook.pid, blocking: false)) != nil
    }

    /// Reaps the hook; nil while it still runs (non-blocking).
    private static func reap(_ pid: pid_t, blocking: Bool) throws(Errno) -> HookTermination? {
        let (reaped, status) = try system_waitpid(pid, blocking ? 0 : WNOHANG)
        guard reaped == pid else { return nil }
        let decoded = system_wait_status(status)
        if let code = decoded.exitCode { return .exited(code) }
        if let signal = decoded.signal { return .signaled(signal) }
        return nil
    }

    /// Kills and reaps every remaining child of the probe. Each killed process's
    /// own children are then reparented here (subreaper), so repeat until none
    /// is left. `waitpid` answering ECHILD ends it without reading /proc.
    static func killEscapedDescendants() {
        for _ in 0..<descendantRounds {
            let reaped: pid_t
            do { reaped = try system_waitpid(-1, WNOHANG).pid } catch { return }
            if reaped > 0 { continue }
            for child in Processes.children() {
                try? system_kill(-child, SIGKILL)
                try? system_kill(child, SIGKILL)
                _ = try? system_waitpid(child, 0)
            }
        }
    }
}

/// A spawned hook: its pid, which is also its process group, the read end of
/// its output pipe, and a pidfd that becomes readable when it exits (nil on
/// kernels without pidfd_open).
struct RunningHook: ~Copyable {
    let pid: pid_t
    let outputFD: FileDescriptor
    private let exit: FileDescriptor?
    var output = OutputTail(limit: HookRunner.tailLimit)

    init(pid: pid_t, outputFD: consuming FileDescriptor, exitFD: consuming FileDescriptor?) {
        self.pid = pid
        self.outputFD = outputFD
        self.exit = exitFD
    }

    /// The pidfd to poll, if there is one.
    var exitFD: Int32? {
        switch exit {
        case .some(let fd): fd.rawValue
        case .none: nil
        }
    }
}

/// The last `limit` bytes written to a pipe, and how many there were in all;
/// also the first `headLimit` bytes, for a caller that reads the first line.
struct OutputTail {
    let limit: Int
    let headLimit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var head: [UInt8] = []
    private(set) var total = 0

    init(limit: Int, headLimit: Int = 0) {
        self.limit = limit
        self.headLimit = headLimit
    }

    /// One read's room, on the stack: Embedded Swift puts a temporary
    /// allocation of up to 1 KiB there. Larger, it came from the heap, and
    /// even uninitialized its header faulted in a fresh page: a cost every
    /// hook run paid, against a few more reads for a chatty hook.
    static let chunkBytes = 1024

    /// At most so many reads per `drain`: 64 KiB, a pipe's default capacity,
    /// so ordinary output still drains in one round.
    static let chunksPerDrain = 64

    /// Reads what the non-blocking pipe holds, up to `chunksPerDrain` reads;
    /// false at end of file. Bounded because a hook that writes without end
    /// (`yes`), faster than the probe reads, never lets the pipe run empty:
    /// reading until EAGAIN kept the caller from checking its deadline.
    mutating func drain(_ fd: Int32) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: Self.chunkBytes, alignment: 1) { chunk in
            for _ in 0..<Self.chunksPerDrain {
                let count: Int
                do throws(Errno) {
                    count = try system_read(fd, chunk)
                } catch {
                    return error == .wouldBlock
                }
                if count == 0 { return false }
                append(UnsafeRawBufferPointer(rebasing: chunk[..<count]))
            }
            return true
        }
    }

    /// After the hook exited, takes what is already in the pipe and no more:
    /// up to its capacity (what the hook left when it exited, which a slow
    /// reader may find full), so a background child still writing cannot
    /// keep the probe reading.
    mutating func drainAvailable(_ fd: Int32) {
        withUnsafeTemporaryAllocation(byteCount: Self.chunkBytes, alignment: 1) { chunk in
            for _ in 0..<Self.chunksPerDrain {
                guard let count = try? system_read(fd, chunk), count > 0 else { return }
                append(UnsafeRawBufferPointer(rebasing: chunk[..<count]))
            }
        }
    }

    private mutating func append(_ chunk: UnsafeRawBufferPointer) {
        total += chunk.count
        if head.count < headLimit { head.append(contentsOf: chunk.prefix(headLimit - head.count)) }
        bytes.append(contentsOf: chunk.suffix(limit))
        if bytes.count > limit { bytes.removeFirst(bytes.count - limit) }
    }
}
