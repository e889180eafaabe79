package import ReadinessCore

import CReadiness

extension ListenerPresence {
    /// What a reader sees now of the listener that keeps the status file at
    /// `statusPath`: whether its lock is held (a shared flock tried without
    /// waiting, on a descriptor opened read-only: the probe may run as
    /// another user), and the file's age. Needs no /proc.
    package init(observing statusPath: String) {
        let lockPath = Self.lockPath(for: statusPath)
        let lock: Lock
        do throws(Errno) {
            let file = try FileDescriptor.open(lockPath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            do throws(Errno) {
                try system_flock(file.rawValue, LOCK_SH | LOCK_NB)
                lock = .free  // released by the close, when `file` goes
            } catch {
                lock = error == .wouldBlock ? .held : .unreadable(FileError(operation: "lock", path: lockPath, errno: error).description)
            }
        } catch {
            lock = error == .noSuchFileOrDirectory ? .missing : .unreadable(FileError(operation: "open", path: lockPath, errno: error).description)
        }
        let age = (try? system_lstat(statusPath)).map { Clock.now().millisecondsSinceEpoch.subtractingReportingOverflow($0.modificationMilliseconds) }
            .map { $0.overflow ? Int64.min : $0.partialValue }
        self.init(lock: lock, fileAgeMilliseconds: age)
    }
}
