/// What the listener wants supervisord's every process for
/// (`getAllProcessInfo`). Its answer grows with the number of processes
/// (about a second of supervisord's time for 1,000), so handlers never wait
/// for it: they add a reason, the loop asks once for all of them, and the
/// answer is handled in a later turn (`ListenerCore.answered`).
package struct EveryProcessQuestion: OptionSet, Equatable, Sendable, CustomStringConvertible {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The followed program, whose real `GROUP:NAME` is not known (or is gone).
    package static let followedProgram = EveryProcessQuestion(rawValue: 1 << 0)
    /// Essential programs' events may have been lost.
    package static let essential = EveryProcessQuestion(rawValue: 1 << 1)
    /// The services' events may have been lost.
    package static let services = EveryProcessQuestion(rawValue: 1 << 2)
    /// `/metrics`: states and exit statuses no event carries.
    package static let metrics = EveryProcessQuestion(rawValue: 1 << 3)
    /// Held sd_notify datagrams whose sender may be a run supervisord knows
    /// and the listener does not yet.
    package static let datagrams = EveryProcessQuestion(rawValue: 1 << 4)

    /// The reasons, for the log: `services,metrics`.
    package var description: String {
        let names: [(EveryProcessQuestion, String)] = [
            (.followedProgram, "followed_program"), (.essential, "essential"), (.services, "services"), (.metrics, "metrics"),
            (.datagrams, "datagrams"),
        ]
        return names.filter { contains($0.0) }.map { $0.1 }.joined(separator: ",")
    }
}
