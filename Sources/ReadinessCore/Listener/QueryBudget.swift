/// How often datagrams from senders the listener cannot place may make it
/// ask supervisord for every process (`getAllProcessInfo`: about a second of
/// supervisord's time with 1,000 processes, while events wait). Any local
/// process can write to the notify socket and exit before /proc shows its
/// parent, so the cost is bounded, not the senders: `burst` queries at once,
/// then one per `refillMilliseconds`, at most 15 a minute.
package struct QueryBudget: Equatable, Sendable {
    package static let burst = 3
    package static let refillMilliseconds: Int64 = 5000
    private var tokens = burst
    /// When the last token was earned (wall clock, milliseconds); nil before the first query.
    private var earnedAt: Int64?

    package init() {}

    /// Whether a query may be made at `time`; if so, it is counted.
    package mutating func take(at time: Timestamp) -> Bool {
        let now = time.millisecondsSinceEpoch
        if let last = earnedAt, now >= last {
            let earned = (now - last) / Self.refillMilliseconds
            tokens = min(Self.burst, tokens + Int(earned))
            earnedAt = last + earned * Self.refillMilliseconds
        } else {
            // The first query, or the clock stepped back: count from now.
            earnedAt = now
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}
