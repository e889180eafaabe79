import CReadiness
import ReadinessCore

/// Questions about other processes, asked of the kernel.
package enum Processes {
    package static var currentPID: Int { system_getpid() }
    package static var parentPID: Int { system_getppid() }

    /// A variable of this process's environment.
    package static func environmentValue(_ name: String) -> String? { system_environment_value(name) }

    /// This process's command line, program name first.
    package static var arguments: [String] { system_arguments() }

    /// Whether a process with this pid exists. EPERM means it exists but
    /// belongs to someone else.
    package static func exists(_ pid: Int) -> Bool {
        do {
            try system_kill(pid_t(pid), 0)
            return true
        } catch {
            return error != .noSuchProcess
        }
    }

    /// The pids whose parent is this process, from
    /// `/proc/self/task/<pid>/children`, or by scanning `/proc` where the
    /// kernel lacks that file.
    static func children() -> [pid_t] {
        let pid = system_getpid()
        if case .contents(let bytes) = Files.readBounded("/proc/self/task/\(pid)/children", limit: 1 << 20) {
            return bytes.split(separator: UInt8(ascii: " ")).compactMap { pid_t(String(decoding: $0, as: UTF8.self)) }
        }
        return (system_list_directory("/proc") ?? []).compactMap { name in
            guard let child = pid_t(name), parentPID(of: child) == pid else { return nil }
            return child
        }
    }

    /// `pid`, its parent, grandparent and so on, from `/proc/PID/stat`: to
    /// tie a notification's sender, or the MAINPID it names, to a program
    /// that may have forked it (a wrapper, a master-worker daemon). Each
    /// process's parent and start time come from one read, and a "parent"
    /// that started after its child (a reused pid) ends the walk
    /// (`Ancestry.walk`); empty when `pid` itself cannot be read.
    package static func ancestry(of pid: Int, limit: Int = 32) -> [Int] {
        Ancestry.walk(from: pid, limit: limit) { pid in
            guard let stat = stat(of: pid), let parent = field(4, of: stat), let start = field(22, of: stat) else { return nil }
            return (parent: Int(parent), startTicks: start)
        }
    }

    static func parentPID(of pid: pid_t) -> Int? {
        stat(of: Int(pid)).flatMap { field(4, of: $0) }.map { Int($0) }
    }

    /// When the process started, in clock ticks since boot: with the pid, an
    /// identity that survives pid reuse. Nil where /proc cannot tell.
    package static func startTicks(of pid: Int) -> UInt64? {
        stat(of: pid).flatMap { field(22, of: $0) }
    }

    /// `/proc/PID/stat` from field 3 on: what follows the parenthesised
    /// command name, which may hold spaces and parentheses. Read once for
    /// all the fields asked of it.
    private static func stat(of pid: Int) -> ArraySlice<UInt8>? {
        guard pid > 0, pid <= Int(Int32.max), case .contents(let bytes) = Files.readBounded("/proc/\(pid)/stat", limit: 4096),
            let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        return bytes[(close + 1)...]
    }

    /// Field `number` (1-based, as in proc(5), 3 or more) of `stat`, a
    /// number. Fields are separated by runs of spaces; walked to, not split
    /// into an array (the probe's ready path reads field 22).
    private static func field(_ number: Int, of stat: ArraySlice<UInt8>) -> UInt64? {
        let space = UInt8(ascii: " ")
        var field = stat.drop { $0 == space }
        for _ in 3..<max(3, number) {
            guard let end = field.firstIndex(of: space) else { return nil }
            field = field[end...].drop { $0 == space }
        }
        return UInt64(decimal: field.prefix { $0 != space })
    }
}

extension Processes {
    /// Why supervisord was not sent SIGTERM.
    package struct SignalFailure: Error, Equatable, Sendable, CustomStringConvertible {
        package var description: String
    }

    /// Sends SIGTERM to supervisord, this process's parent, once it is sure
    /// that is still the supervisord of the status file: same pid, same start
    /// time. SIGTERM is supervisord's graceful shutdown; SIGKILL never.
    package static func terminateSupervisord(pid: Int, startTicks: UInt64?) -> Result<Void, SignalFailure> {
        guard parentPID == pid else {
            return .failure(SignalFailure(description: "supervisord pid \(pid) is not this listener's parent (\(parentPID))"))
        }
        if let startTicks, let current = Processes.startTicks(of: pid), current != startTicks {
            return .failure(SignalFailure(description: "pid \(pid) is no longer the supervisord that started the listener"))
        }
        do {
            try system_kill(pid_t(pid), SIGTERM)
            return .success(())
        } catch {
            return .failure(SignalFailure(description: "cannot send SIGTERM to \(pid): \(error)"))
        }
    }

    /// A listener ignores SIGPIPE (a closed stdout is reported as EPIPE and ends
    /// it cleanly) and exits 0 at once on SIGTERM, SIGINT or SIGHUP, except
    /// while a status file is being replaced. Throws when the handlers cannot
    /// be installed: those signals then end it with their default action.
    package static func prepareListener() throws(Errno) {
        system_ignore_sigpipe()
        try system_exit_zero_on_termination()
    }

    package static func exit(_ code: Int32) -> Never { system_exit(code) }
}
