import CReadiness

/// Where SIGTERM, SIGINT and SIGHUP arrive, as bytes, while
/// `Signals.catchingTermination` runs: a poll loop watches `fd` and stops.
/// A view: the scope owns the pipe and closes it.
package struct Interruptions: Sendable {
    /// The read end of the signal pipe (non-blocking), to poll for POLLIN.
    let fd: Int32

    /// The signal that arrived, without waiting; nil when none did.
    package func take() -> Int32? {
        var byte: UInt8 = 0
        let count = try? withUnsafeMutableBytes(of: &byte) { (buffer) throws(Errno) in try system_read(fd, buffer) }
        return count == 1 ? Int32(byte) : nil
    }

    /// Waits for a signal until `deadline`; the signal, or nil when time ran out.
    package func wait(until deadline: Deadline) throws(Errno) -> Int32? {
        while try deadline.wait(for: POLLIN, on: fd) {
            if let signal = take() { return signal }
        }
        return nil
    }
}

package enum Signals {
    /// Runs `body` with SIGTERM, SIGINT and SIGHUP caught into a pipe that
    /// `body` watches, and SIGCHLD at its default (a parent that ignored it
    /// would otherwise have the kernel discard the hook's exit status). Then
    /// puts back exactly what was there: the dispositions and the signal mask.
    /// A signal caught but not taken by `body` is raised again under them, so
    /// it is neither lost nor handled twice.
    ///
    /// Throws when the scope cannot be set up; nothing is changed then.
    package static func catchingTermination<T>(_ body: (Interruptions) -> T) throws(Errno) -> T {
        let pipe = try Pipe(flags: O_CLOEXEC | O_NONBLOCK)
        let interruptions = Interruptions(fd: pipe.read.rawValue)
        let mask = try system_block_termination()
        var saved = readiness_saved_signals()
        do throws(Errno) {
            try system_forward_termination(to: pipe.write.rawValue, saving: &saved)
            do throws(Errno) { try system_unblock_termination() } catch {
                restore(saved, mask: mask, leftover: nil)
                throw error
            }
        } catch {
            restore(mask: mask)
            throw error
        }
        let result = body(interruptions)
        restore(saved, mask: mask, leftover: interruptions.take())
        _ = consume pipe  // closed only now that no handler writes to it
        return result
    }

    /// With the termination signals blocked: the dispositions, then a signal
    /// that arrived unhandled (pending until the mask is restored), then the mask.
    private static func restore(_ saved: readiness_saved_signals, mask: sigset_t, leftover: Int32?) {
        do throws(Errno) {
            _ = try system_block_termination()
            try system_restore_signals(saved)
            if let leftover { try system_raise(leftover) }
        } catch {
            // sigprocmask, sigaction and raise fail only for an invalid
            // signal, `how` or address: a bug, not a condition to handle.
            preconditionFailure("cannot restore signal dispositions")
        }
        restore(mask: mask)
    }

    private static func restore(mask: sigset_t) {
        // sigprocmask fails only for an invalid `how` or address.
        do throws(Errno) { try system_set_signal_mask(mask) } catch { preconditionFailure("cannot restore the signal mask") }
    }

    /// Runs `body` so that a SIGTERM, SIGINT or SIGHUP arriving meanwhile
    /// ends the process (status 0) only when `body` is done: the listener's
    /// handler (`Processes.prepareListener`) checks a flag rather than the
    /// signal mask being changed twice per status write.
    package static func deferringExit<T, Failure: Error>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        system_defer_exit()
        defer { system_resume_exit() }
        return try body()
    }
}
