/// What a probe answers for: the container (start.sh, every service and the
/// hook), start.sh alone, or one service (`--service NAME`, `?service=NAME`).
package enum ProbeSubject: Equatable, Sendable {
    case container
    case start
    case service(ProcessPattern)

    /// `start`, or a service as the listener's `--service` names it:
    /// `NAME`, `GROUP:NAME` or `GROUP:*`.
    package init(service text: String) throws(UsageError) {
        // The name may come from a URL's query: none may break the one-line answer.
        guard !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw UsageError("--service takes NAME, GROUP:NAME or GROUP:*, not a name with control characters")
        }
        self = text == "start" ? .start : .service(try ProcessPattern(parsing: text, option: "--service"))
    }
}
