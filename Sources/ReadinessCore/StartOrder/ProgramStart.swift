/// One program under `--start-after`, as the status file keeps it: what it
/// waits for, which of those conditions held at the last look, and why it
/// is not started yet.
package struct ProgramStart: Equatable, Sendable {
    /// `GROUP:NAME`.
    package var process: String
    /// Its conditions, as given: `start:exited,redis:ready`.
    package var after: String
    package var started: Bool
    /// Stopped by the listener for a dependency (`--restart-dependents`):
    /// not started, and started again once it is down and its conditions
    /// hold, by a restarted listener too.
    package var restarting = false
    /// Per condition, in order, whether it held at the last look: `1,0`;
    /// empty once started.
    package var holds = ""
    /// Why it waits, in one line without times or pids; empty once started.
    package var detail = ""

    package init(process: String, after: String, started: Bool) {
        self.process = process
        self.after = after
        self.started = started
    }
}

// MARK: - Status file

extension ProgramStart {
    /// `start_after=app:app started=0 after=start:exited,redis:ready
    /// holds=1,0 detail=…`: one line, `detail` last since it is free text;
    /// `started=restart` for a program `restarting`. A key of format 1 that
    /// probes from before `--start-after` ignore; a probe that knows the
    /// key but not `started=restart` (no tagged version) rejects the file.
    func write(into text: inout ByteText) {
        text.write("start_after=")
        text.write(string: process)
        text.write(started ? " started=1 after=" : restarting ? " started=restart after=" : " started=0 after=")
        text.write(string: after)
        text.write(" holds=")
        text.write(string: holds.isEmpty ? "none" : holds)
        text.write(" detail=")
        text.writeOneLine(detail)
        text.write("\n")
    }

    /// A `start_after=` line's value; nil when it is not one this listener
    /// writes. The fields come in the order `write` puts them.
    init?(parsing bytes: ArraySlice<UInt8>) {
        guard let line = String(validating: bytes, as: UTF8.self) else { return nil }
        let fields = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false)
        guard fields.count == 5, fields[1] == "started=0" || fields[1] == "started=1" || fields[1] == "started=restart",
            fields[2].hasPrefix("after="), fields[3].hasPrefix("holds="), fields[4].hasPrefix("detail=")
        else { return nil }
        self.init(process: String(fields[0]), after: String(fields[2].dropFirst(6)), started: fields[1] == "started=1")
        restarting = fields[1] == "started=restart"
        holds = fields[3] == "holds=none" ? "" : String(fields[3].dropFirst(6))
        detail = String(fields[4].dropFirst(7))
    }
}

extension Verdict {
    /// The start order's part of the common check: the first program under
    /// `--start-after` not started yet.
    static func startOrderCheck(_ starts: [ProgramStart]) -> Verdict? {
        starts.first { !$0.started }.map { Verdict(.waitingToStart, $0.detail) }
    }
}
