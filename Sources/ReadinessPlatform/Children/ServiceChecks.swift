import CReadiness
package import ReadinessCore

/// The checks of `tcp:` and `exec:` services, run on the listener's poll
/// loop: a non-blocking connect, or a contained command (own process group,
/// deadline, output tail, no process left), at most one at a time per
/// service, the first as soon as its run is RUNNING, then every period.
/// Nothing here blocks: the loop watches what `watch` gives it and hands back
/// what it found.
package struct ServiceChecks {
    private enum Running {
        case tcp(TCPConnect, deadline: Int64)
        case exec(BackgroundCommand)
    }

    private struct Slot {
        let process: String
        let pid: Int
        let check: ServiceCheck
        var nextAt: Int64
        var running: Running?
    }

    /// A finished check, for `ListenerCore.checked`.
    package struct Result: Equatable, Sendable {
        package var process: String
        package var pid: Int
        package var passed: Bool
        package var detail: String
    }

    private let timing: CheckTiming
    private var slots: [Slot] = []

    package init(timing: CheckTiming) { self.timing = timing }

    /// Follows the runs that are checkable now: a slot per run, made when a
    /// run becomes RUNNING (checked at once), dropped (its check abandoned)
    /// when it no longer is. Asked only when the runs may have changed.
    package mutating func follow(_ checkable: [(process: String, pid: Int, check: ServiceCheck)], now: Int64) {
        var kept: [Slot] = []
        for slot in slots {
            if checkable.contains(where: { $0.process == slot.process && $0.pid == slot.pid }) {
                kept.append(slot)
            } else {
                Self.abandon(slot.running)
            }
        }
        for run in checkable where !kept.contains(where: { $0.process == run.process && $0.pid == run.pid }) {
            kept.append(Slot(process: run.process, pid: run.pid, check: run.check, nextAt: now))
        }
        slots = kept
    }

    /// Starts the checks that are due; a check that cannot even start is a failed one.
    package mutating func startDue(now: Int64) -> [Result] {
        var results: [Result] = []
        for index in slots.indices where slots[index].running == nil && now >= slots[index].nextAt {
            slots[index].nextAt = now + timing.periodMilliseconds
            switch start(slots[index].check, now: now) {
            case .success(let running): slots[index].running = running
            case .failure(let detail): results.append(Result(process: slots[index].process, pid: slots[index].pid, passed: detail.passed, detail: detail.text))
            }
        }
        return results
    }

    private struct Immediate: Error {
        var passed: Bool
        var text: String
    }

    private func start(_ check: ServiceCheck, now: Int64) -> Swift.Result<Running, Immediate> {
        switch check {
        case .tcp(let host, let port):
            switch TCPConnect.start(host: host, port: port) {
            case .connected: return .failure(Immediate(passed: true, text: "\(check.target): connected"))
            case .failed(let error): return .failure(Immediate(passed: false, text: "\(check.target): \(error.message.lowercasedFirst)"))
            case .inProgress(let connect): return .success(.tcp(connect, deadline: now + timing.timeoutMilliseconds))
            }
        case .exec(let command):
            do throws(BackgroundCommand.StartFailure) {
                return .success(.exec(try BackgroundCommand.start(arguments: ["/bin/sh", "-c", command], timeoutMilliseconds: timing.timeoutMilliseconds)))
            } catch {
                return .failure(Immediate(passed: false, text: "exec: cannot run /bin/sh: \(error)"))
            }
        case .notify, .running:
            return .failure(Immediate(passed: false, text: "not a checked service"))
        }
    }

    private static func abandon(_ running: Running?) {
        switch running {
        case .tcp(let connect, _): connect.cancel()
        case .exec(let command): _ = command.kill()
        case nil: break
        }
    }

    /// Watches the running checks' descriptors this turn, each tagged with
    /// its slot, and wakes the loop for the next due check or a running
    /// one's deadline (sooner for a command whose exit it cannot watch).
    /// A due check is started after the wait (`startDue`), so its moment
    /// may be `now`: the wait then returns at once.
    package func watch(in loop: inout EventLoop, now: Int64) {
        for (index, slot) in slots.enumerated() {
            switch slot.running {
            case .tcp(let connect, let deadline):
                loop.watch(connect.descriptor, forOutput: true, as: .check(index))
                loop.wake(at: deadline, for: .check(index))
            case .exec(let command):
                for fd in [command.outputDescriptor, command.exitDescriptor] where fd >= 0 { loop.watch(fd, as: .check(index)) }
                loop.wake(at: command.wakeAt(now: now), for: .check(index))
            case nil:
                loop.wake(at: slot.nextAt, for: .check(index))
            }
        }
    }

    /// What the loop's wait found (as `watch` tagged it), and the deadlines
    /// that passed: the checks that ended.
    package mutating func collect(_ found: EventLoop.Found, now: Int64) -> [Result] {
        var results: [Result] = []
        for index in slots.indices {
            guard let running = slots[index].running else { continue }
            let woken = found.contains(.check(index))
            let slot = slots[index]
            switch running {
            case .tcp(let connect, let deadline):
                if woken {
                    slots[index].running = nil
                    let error = connect.finish()
                    results.append(Result(process: slot.process, pid: slot.pid, passed: error == nil,
                                          detail: "\(slot.check.target): \(error.map { $0.message.lowercasedFirst } ?? "connected")"))
                } else if now >= deadline {
                    slots[index].running = nil
                    connect.cancel()
                    results.append(Result(process: slot.process, pid: slot.pid, passed: false,
                                          detail: "\(slot.check.target): no answer within \(Verdict.seconds(timing.timeoutMilliseconds)) s"))
                }
            case .exec(var command):
                if let ended = command.step(woken: woken, now: now) {
                    slots[index].running = nil
                    results.append(Result(process: slot.process, pid: slot.pid, passed: ended.termination == .exited(0), detail: Self.describe(ended, timing: timing)))
                } else {
                    slots[index].running = .exec(command)
                }
            }
        }
        return results
    }

    /// `exec: exited with status 1: <its last line>`.
    private static func describe(_ ended: BackgroundCommand.Ended, timing: CheckTiming) -> String {
        let said = HookOutput.lastLine(of: ended.outputTail).map { ": \($0)" } ?? ""
        switch ended.termination {
        case .exited(let status): return "exec: exited with status \(status)\(said)"
        case .signaled(let signal): return "exec: killed by signal \(signal)\(said)"
        case .timedOut: return "exec: did not finish within \(Verdict.seconds(timing.timeoutMilliseconds)) s; its processes were killed\(said)"
        }
    }
}

extension String {
    /// `connection refused` from strerror's `Connection refused`.
    var lowercasedFirst: String {
        guard let first = utf8.first, first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z") else { return self }
        return String(decoding: [first + 32] + Array(utf8.dropFirst()), as: UTF8.self)
    }
}
