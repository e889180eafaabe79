import CReadiness

/// A moment on the monotonic clock by which a loop must be done: the one
/// place where "how long is left" is computed.
package struct Deadline: Sendable {
    private let milliseconds: Int64

    package static func after(milliseconds: Int64) -> Deadline {
        Deadline(milliseconds: Clock.monotonicMilliseconds() + milliseconds)
    }

    /// The moment itself, on `Clock.monotonicMilliseconds`'s scale.
    package var monotonicMilliseconds: Int64 { milliseconds }

    package var remainingMilliseconds: Int64 { max(0, milliseconds - Clock.monotonicMilliseconds()) }

    package var hasPassed: Bool { remainingMilliseconds == 0 }

    /// Waits until `fd` is ready for `events` (true) or the deadline passes
    /// (false). A failed poll is thrown, never retried until the deadline.
    func wait(for events: Int32, on fd: Int32) throws(Errno) -> Bool {
        while !hasPassed {
            var fds = [pollfd(fd: fd, events: Int16(events), revents: 0)]
            if try system_poll(&fds, pollTimeout()) > 0 { return true }
        }
        return false
    }

    /// poll(2)'s timeout: what remains, and at most `limit`.
    func pollTimeout(atMost limit: Int64 = .max) -> Int32 { Int32(clamping: min(remainingMilliseconds, limit)) }
}
