@preconcurrency import Glibc
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
    /// Between SIGTERM and SIGKILL to the hook's process group.
    package var graceMilliseconds: Int64 = 100
    /// How much of the end of the hook's output is kept.
    package var tailLimit = 4096
    /// Added to the inherited environment.
    package var environment: [String: String] = [:]

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
        if link.st_mode & S_IFMT == S_IFLNK {
            do { info = try system_stat(path) } catch { return .unusable("\(path) is a symbolic link to nothing usable: \(error)") }
        } else {
            info = link
        }
        let mode = info.st_mode & 0o7777
        guard info.st_mode & S_IFMT == S_IFREG else { return .unusable("\(path) is not a regular file") }
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

    package func run() -> Outcome {
        var output = OutputTail(limit: tailLimit)
        // Without a subreaper, escaped processes go to PID 1 and cannot be
        // found; the group kill still covers everything that stayed in it.
        try? system_set_child_subreaper()
        let signals: (read: Int32, write: Int32)
        let pipe: (read: Int32, write: Int32)
        do {
            signals = try system_pipe(O_CLOEXEC | O_NONBLOCK)
            do { pipe = try system_pipe(O_CLOEXEC) } catch {
                system_close(signals.read)
                system_close(signals.write)
                throw error
            }
        } catch {
            return Outcome(termination: .probeFailed("pipe: \(error)"), outputTail: [], outputByteCount: 0)
        }
        system_forward_termination(to: signals.write)
        defer {
            system_forward_termination(to: -1)
            system_close(signals.read)
            system_close(signals.write)
        }

        let pid: pid_t
        do {
            pid = try spawn(outputFD: pipe.write)
        } catch {
            system_close(pipe.read)
            system_close(pipe.write)
            return Outcome(termination: .spawnFailed(error.description), outputTail: [], outputByteCount: 0)
        }
        system_close(pipe.write)
        system_set_nonblocking(pipe.read)
        defer { system_close(pipe.read) }
        let exitFD = try? system_pidfd_open(pid)
        defer { if let exitFD { system_close(exitFD) } }

        let deadline = Clock.monotonicMilliseconds() + timeoutMilliseconds
        var termination: HookTermination?
        var outputOpen = true
        while termination == nil {
            let remaining = deadline - Clock.monotonicMilliseconds()
            if remaining <= 0 {
                termination = .timedOut
                break
            }
            var fds = [pollfd(fd: signals.read, events: Int16(POLLIN), revents: 0)]
            if outputOpen { fds.append(pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)) }
            if let exitFD { fds.append(pollfd(fd: exitFD, events: Int16(POLLIN), revents: 0)) }
            // Without a pidfd, exits are noticed by polling waitpid every few milliseconds.
            let wait = exitFD == nil ? min(remaining, 5) : remaining
            _ = try? system_poll(&fds, Int32(wait))
            if fds[0].revents != 0, let signal = Self.readSignal(signals.read) {
                termination = .interrupted(signal)
                break
            }
            if outputOpen, fds[1].revents != 0 {
                outputOpen = output.drain(pipe.read)
            }
            if let status = try? Self.reap(pid, blocking: false) {
                termination = status
                output.drainAvailable(pipe.read)
            }
        }

        let result = termination ?? .timedOut
        var reaped =
            switch result {
            case .exited, .signaled: true
            case .timedOut, .interrupted, .spawnFailed, .probeFailed: false
            }
        if !reaped {
            try? system_kill(-pid, SIGTERM)
            reaped = reap(pid, within: graceMilliseconds)
        }
        try? system_kill(-pid, SIGKILL)
        if !reaped { _ = try? Self.reap(pid, blocking: true) }
        Self.killEscapedDescendants()
        return Outcome(termination: result, outputTail: output.bytes, outputByteCount: output.total)
    }

    private func spawn(outputFD: Int32) throws(Errno) -> pid_t {
        var environment = system_environment().filter { entry in
            !self.environment.keys.contains { entry.hasPrefix("\($0)=") }
        }
        environment += self.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        // ETXTBSY: the hook is being written (an image update replacing it); try again shortly.
        for _ in 0..<5 {
            do { return try system_spawn_in_new_group(path, [path], environment, outputFD: outputFD) } catch {
                guard error == .textFileBusy else { throw error }
            }
            system_sleep(milliseconds: 10)
        }
        return try system_spawn_in_new_group(path, [path], environment, outputFD: outputFD)
    }

    /// Waits up to `milliseconds` for the hook to exit, reaping it; true once reaped.
    private func reap(_ pid: pid_t, within milliseconds: Int64) -> Bool {
        let deadline = Clock.monotonicMilliseconds() + milliseconds
        while true {
            if (try? Self.reap(pid, blocking: false)) != nil { return true }
            let remaining = deadline - Clock.monotonicMilliseconds()
            if remaining <= 0 { return false }
            system_sleep(milliseconds: min(remaining, 2))
        }
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

    private static func readSignal(_ fd: Int32) -> Int32? {
        var byte: UInt8 = 0
        let count = try? withUnsafeMutableBytes(of: &byte) { (buffer) throws(Errno) in try system_read(fd, buffer) }
        return count == 1 ? Int32(byte) : nil
    }

    /// Kills and reaps every remaining child of the probe. Each killed process's
    /// own children are then reparented here (subreaper), so repeat until none
    /// is left. `waitpid` answering ECHILD ends it without reading /proc.
    static func killEscapedDescendants() {
        for _ in 0..<1000 {
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

/// The last `limit` bytes written to a pipe, and how many there were in all.
struct OutputTail {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var total = 0

    init(limit: Int) { self.limit = limit }

    /// Reads what the non-blocking pipe holds; false at end of file.
    mutating func drain(_ fd: Int32) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count: Int
            do {
                count = try system_read(fd, into: &chunk)
            } catch {
                return error == .wouldBlock
            }
            if count == 0 { return false }
            append(chunk[..<count])
        }
    }

    /// After the hook exited, takes what is already in the pipe and no more:
    /// a background child still writing must not keep the probe reading.
    mutating func drainAvailable(_ fd: Int32) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<16 {
            guard let count = try? system_read(fd, into: &chunk),
                count > 0
            else { return }
            append(chunk[..<count])
        }
    }

    private mutating func append(_ chunk: ArraySlice<UInt8>) {
        total += chunk.count
        bytes.append(contentsOf: chunk.suffix(limit))
        if bytes.count > limit { bytes.removeFirst(bytes.count - limit) }
    }
}
