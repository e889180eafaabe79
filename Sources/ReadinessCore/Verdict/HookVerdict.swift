/// How the readiness hook ended.
package enum HookTermination: Equatable, Sendable {
    case exited(Int32)
    case signaled(Int32)
    case timedOut
    /// The probe got this signal while the hook ran.
    case interrupted(Int32)
    case spawnFailed(String)
    /// The probe itself could not set the hook up (no pipe: out of descriptors).
    case probeFailed(String)
}

extension Verdict {
    /// The verdict once the common check passed with `start` and the hook at
    /// `path` ended with `termination`, having printed `output`.
    package static func afterHook(
        _ start: Verdict, path: String, termination: HookTermination, output: [UInt8], timeoutMilliseconds: Int64
    ) -> Verdict {
        let said = HookOutput.lastLine(of: output).map { ": \($0)" } ?? ""
        switch termination {
        case .exited(0):
            return Verdict(.ready, "\(start.message); hook passed")
        case .exited(let status):
            let code = ProbeCode.forHookExit(status)
            if code == .hookOutOfRange {
                return Verdict(code, "hook \(path) exited with status \(status) (100 and above are the probe's)\(said)")
            }
            return Verdict(code, "hook \(path) exited with status \(status)\(said)")
        case .signaled(let signal):
            return Verdict(.hookSignaled, "hook \(path) was killed by signal \(signal) (\(signalName(signal)))\(said)")
        case .timedOut:
            return Verdict(.hookTimeout, "hook \(path) did not finish within \(seconds(timeoutMilliseconds)) s; its processes were killed\(said)")
        case .interrupted(let signal):
            return Verdict(.interrupted, "probe got signal \(signal) (\(signalName(signal))) while hook \(path) ran; its processes were killed")
        case .spawnFailed(let reason):
            return Verdict(.hookUnusable, "cannot run hook \(path): \(reason)")
        case .probeFailed(let reason):
            return Verdict(.internalError, "cannot set up hook \(path): \(reason)")
        }
    }

    /// Whether `--wait` stops at this verdict rather than check again: it is
    /// ready, or the probe was told to stop.
    package var endsWait: Bool { isReady || code == .interrupted }

    /// `--wait` told to stop between two checks; `last` is what the last check said.
    package static func interruptedWhileWaiting(by signal: Int32, last: Verdict) -> Verdict {
        Verdict(
            .interrupted,
            "probe got signal \(signal) (\(signalName(signal))) while waiting to check again; last check: \(last.code.rawValue) \(last.code.name)")
    }

    /// `0.7`, `2`: milliseconds as the seconds people write on command lines.
    package static func seconds(_ milliseconds: Int64) -> String {
        let fraction = milliseconds % 1000
        guard fraction != 0 else { return "\(milliseconds / 1000)" }
        var digits = fraction.zeroPadded(3)
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(milliseconds / 1000).\(digits)"
    }

    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
            9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
        ]
        return names[signal] ?? "signal \(signal)"
    }
}

/// What of a hook's output goes into the one-line message.
package enum HookOutput {
    package static let lineLimit = 200

    /// The last non-blank line, control characters replaced by spaces, cut to
    /// `lineLimit` Unicode scalars.
    package static func lastLine(of output: [UInt8]) -> String? {
        // Split as bytes: "\r\n" is one Character, equal to neither.
        let lines = output.split(whereSeparator: { $0 == 0x0A || $0 == 0x0D })
        guard let line = lines.last(where: { $0.contains { $0 != 0x20 && $0 != 0x09 } }) else { return nil }
        return Substring(decoding: line, as: UTF8.self).trimmingSpaces.oneLine(limit: lineLimit)
    }
}
