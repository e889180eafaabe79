/// What a reader of the status file sees of the listener that keeps it: the
/// lock beside the file, and how long ago the file was last refreshed.
///
/// The listener holds an exclusive flock on `<status file>.lock` from its
/// first successful write for as long as it lives and its writes succeed; the
/// kernel releases it when the listener dies, however it dies. A frozen
/// listener (SIGSTOP, a hung loop) keeps the lock, so it also refreshes the
/// file's modification time on every TICK_5: a file older than
/// `heartbeatLimitMilliseconds` is taken as left by a frozen listener.
package struct ListenerPresence: Equatable, Sendable {
    /// The lock file, as a reader trying a shared lock without waiting finds it.
    package enum Lock: Equatable, Sendable {
        /// Someone holds it: a live listener.
        case held
        /// The shared lock was granted: no live listener holds it.
        case free
        /// No lock file beside the status file.
        case missing
        /// The lock file could not be opened or locked; the operating system's reason.
        case unreadable(String)
    }

    package var lock: Lock
    /// Now minus the status file's modification time, in milliseconds
    /// (negative when the wall clock stepped back); nil when it cannot be read.
    package var fileAgeMilliseconds: Int64?

    package init(lock: Lock, fileAgeMilliseconds: Int64?) {
        self.lock = lock
        self.fileAgeMilliseconds = fileAgeMilliseconds
    }

    /// How old the file may be when the record says the listener refreshes it.
    /// supervisord emits TICK_5 at each 5-second boundary of its clock, from
    /// a loop that wakes at least once a second, and delivers it once the
    /// listener answered the events before it: refreshes come about every
    /// 5 s, up to about a second late. Twice the period lets one refresh come
    /// a whole period late (a busy or loaded machine, a burst of events ahead
    /// of the TICK) without a false "frozen", and keeps a frozen listener's
    /// file from reading READY more than 10 s after its last refresh. A single
    /// late refresh costs at most one failed probe: kubelet needs three in a row.
    package static let heartbeatLimitMilliseconds: Int64 = 10_000

    /// The lock file of the status file at `statusPath`.
    package static func lockPath(for statusPath: String) -> String { statusPath + ".lock" }
}

extension Verdict {
    /// Whether a live listener keeps the file `record` was read from, as far
    /// as the record says its listener can show it; nil when nothing says it
    /// is gone. A record without `listener_lock` (an older listener's, or one
    /// written by hand) is taken as before: by what it says alone.
    package static func listenerCheck(_ record: StatusRecord, path: String, presence: ListenerPresence) -> Verdict? {
        guard record.listenerLock else { return nil }
        let lockPath = ListenerPresence.lockPath(for: path)
        switch presence.lock {
        case .held:
            break
        case .free:
            return Verdict(
                .listenerGone,
                "no live listener keeps status file \(path) (nothing holds \(lockPath)): the listener stopped, exited, or cannot write the file")
        case .missing:
            return Verdict(.listenerGone, "no live listener keeps status file \(path) (no lock file \(lockPath))")
        case .unreadable(let reason):
            return Verdict(.listenerGone, "cannot tell whether a live listener keeps status file \(path): \(reason)")
        }
        guard record.heartbeat else { return nil }
        let limit = ListenerPresence.heartbeatLimitMilliseconds
        guard let age = presence.fileAgeMilliseconds, age <= limit, age >= -limit else {
            return Verdict(
                .listenerGone,
                "status file \(path) was not refreshed for more than \(limit / 1000) s: the listener is frozen (stopped by a signal?) or gets no TICK_5 events")
        }
        return nil
    }

    /// No status file: a lock file beside it that nobody holds means a
    /// listener ran and is gone, or could not write the file and removed it;
    /// one that is held, a live listener whose file was removed (its next
    /// TICK_5 writes it again).
    package static func missingFileCheck(path: String, presence: ListenerPresence) -> Verdict {
        let lockPath = ListenerPresence.lockPath(for: path)
        switch presence.lock {
        case .free:
            return Verdict(.listenerGone, "no status file at \(path) and nothing holds \(lockPath): the listener stopped, exited, or cannot write the file")
        case .held:
            return Verdict(.noStatus, "no status file at \(path), though a live listener holds \(lockPath): the file was removed, and its next TICK_5 writes it again")
        case .missing, .unreadable:
            return Verdict(.noStatus, "no status file at \(path): the listener never ran")
        }
    }
}
