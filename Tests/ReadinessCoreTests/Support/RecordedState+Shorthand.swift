@testable import ReadinessCore

/// `.exited` for `.process(.exited)`, and so on: recorded states read as the
/// status file spells them.
extension RecordedState {
    static let stopped = RecordedState.process(.stopped)
    static let starting = RecordedState.process(.starting)
    static let running = RecordedState.process(.running)
    static let backoff = RecordedState.process(.backoff)
    static let stopping = RecordedState.process(.stopping)
    static let exited = RecordedState.process(.exited)
    static let fatal = RecordedState.process(.fatal)
    static let unknown = RecordedState.process(.unknown)
}
