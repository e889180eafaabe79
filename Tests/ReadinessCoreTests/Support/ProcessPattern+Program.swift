@testable import ReadinessCore

extension ProcessPattern {
    /// `--program text`, for tests that name a valid program.
    init(program text: String) {
        do { self = try ProcessPattern(parsing: text, option: "--program", groups: false) } catch { fatalError("\(error)") }
    }
}
