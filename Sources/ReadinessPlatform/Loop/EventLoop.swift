import CReadiness

/// The listener's one `poll`. Each turn its sources say what to watch, each
/// descriptor tagged with whose it is, and when the loop must wake at the
/// latest, and for whom; `wait` sleeps until a descriptor is ready or the
/// earliest wake-up, and says by tag what it found. No other part of the
/// listener waits on these sources, so none can hold the others' turn back
/// (an XML-RPC call inside a handler waits on its own socket, bounded by
/// its timeout; getAllProcessInfo, whose answer grows with the number of
/// processes, and the calls that start a program are the loop's sources
/// instead).
package struct EventLoop {
    /// Whose a descriptor or a wake-up is.
    package enum Source: Equatable, Sendable {
        /// supervisord's events on standard input.
        case events
        /// The sd_notify socket.
        case notify
        /// A getAllProcessInfo exchange with supervisord.
        case supervisor
        /// A call with a fixed-size answer (`SupervisorCall`): a start's, or a question about one process.
        case supervisorCall
        /// The periodic run of the hook (`--hook-interval`).
        case hook
        /// The running check of one service: its index in `ServiceChecks`.
        case check(Int)
        /// The HTTP socket: accepting, or (a wake-up) binding it again.
        case httpListener
        /// One HTTP connection: its index in `ProbeServer`.
        case httpConnection(Int)
    }

    /// The earliest wake-up asked for this turn: when, and for whom.
    package private(set) var wake: (at: Int64, source: Source)?
    private var descriptors: [pollfd] = []
    private var sources: [Source] = []

    package init() {}

    /// Watches `fd` this turn: for input (or its end), or for a non-blocking
    /// connect to complete (`forOutput`).
    package mutating func watch(_ fd: Int32, forOutput: Bool = false, as source: Source) {
        descriptors.append(pollfd(fd: fd, events: Int16(forOutput ? POLLOUT : POLLIN), revents: 0))
        sources.append(source)
    }

    /// Wakes the loop by `moment` (monotonic milliseconds) at the latest;
    /// nil asks nothing. The earliest of the turn wins.
    package mutating func wake(at moment: Int64?, for source: Source) {
        guard let moment else { return }
        if let wake, wake.at <= moment { return }
        wake = (moment, source)
    }

    /// What a `wait` found: the `revents` of each source's descriptors.
    package struct Found {
        fileprivate var ready: [(source: Source, revents: Int16)] = []

        /// Whether a descriptor of `source` is ready (or at its end, or failed).
        package func contains(_ source: Source) -> Bool { revents(of: source) != 0 }

        /// The `revents` of `source`'s descriptors, together; 0 when none is ready.
        package func revents(of source: Source) -> Int16 {
            ready.reduce(0) { $1.source == source ? $0 | $1.revents : $0 }
        }
    }

    /// Sleeps until a watched descriptor is ready or the wake-up comes, then
    /// forgets this turn's descriptors and wake-up. One descriptor and no
    /// wake-up (supervisord's events alone) needs no poll: it is answered
    /// ready at once, and the caller's read blocks as it always did.
    package mutating func wait() throws(Errno) -> Found {
        defer {
            descriptors.removeAll(keepingCapacity: true)
            sources.removeAll(keepingCapacity: true)
            wake = nil
        }
        if descriptors.count == 1, wake == nil { return Found(ready: [(sources[0], Int16(POLLIN))]) }
        let timeout = wake.map { Int32(clamping: max(0, $0.at - Clock.monotonicMilliseconds())) } ?? -1
        _ = try system_poll(&descriptors, timeout)
        var found = Found()
        for index in descriptors.indices where descriptors[index].revents != 0 {
            found.ready.append((sources[index], descriptors[index].revents))
        }
        return found
    }
}
