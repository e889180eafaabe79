import Foundation
import Testing

/// How much longer than on an idle machine with native release binaries a
/// wait may take: the one place deadlines are scaled for slow runs. Every
/// wait goes through `eventually`, which applies it, and so do the few bounds
/// that check a deadline is kept; a test states what an idle machine needs
/// and keeps its assertion. A deadline only bounds a wait for something that
/// must happen: scaling it costs time only when the test fails. The factor:
/// - times 3 under the emulator (qemu-user runs the binaries several times slower);
/// - times 2 for the SwiftPM debug binaries;
/// - times `READINESS_TIME_SCALE` (default 1);
/// - times the machine's load per core when above 1 (the 1-minute average
///   from /proc/loadavg, read at each wait): beside a CPU hog, or while
///   the suites run in parallel, every process gets a fraction of a core.
enum Slowness {
    static var factor: Double { fixed * max(1, loadPerCore) }

    static func scaled(_ seconds: Double) -> Double { seconds * factor }

    private static let fixed: Double = {
        var factor = ProcessInfo.processInfo.environment["READINESS_TIME_SCALE"].flatMap(Double.init).map { max($0, 1) } ?? 1
        if Paths.emulator != nil { factor *= 3 }
        if Paths.binaries.hasSuffix("/debug") { factor *= 2 }
        return factor
    }()

    private static var loadPerCore: Double {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
            let load = text.split(separator: " ").first.flatMap({ Double($0) })
        else { return 1 }
        return load / Double(max(1, ProcessInfo.processInfo.activeProcessorCount))
    }
}

/// Polls `condition` every `interval` seconds until it holds or `seconds`
/// (scaled by `Slowness`) pass; false on the deadline, so the caller's
/// `#expect` fails there.
func eventually(within seconds: Double = 20, every interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(Slowness.scaled(seconds))
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}

/// A process's open descriptors (their numbers and what each is) at a moment
/// it is provably idle: asleep in poll (or its read of supervisord's events),
/// where the listener waits with nothing
/// of its own in flight (a status write, an XML-RPC call, a /proc read or a
/// check all happen outside it), and not woken between the two looks around
/// the read (its voluntary context switches unchanged). Compared at such
/// moments, a descriptor count is exact: one leaked descriptor shows, and one
/// about to be closed does not. nil if no such moment came within `seconds`.
func idleDescriptors(of pid: pid_t, within seconds: Double = 20) -> [String]? {
    var seen: [String]?
    _ = eventually(within: seconds) {
        guard let before = IdleLook(pid), before.waitsForInput else { return false }
        let descriptors = openDescriptors(of: pid)
        guard let after = IdleLook(pid), after.waitsForInput, after.switches == before.switches else { return false }
        seen = descriptors
        return true
    }
    return seen
}

/// Whether `pid` sits idle in poll for `quiet` seconds on end (not woken
/// once meanwhile) within `seconds`. For the listener, idle for longer than
/// supervisord's loop takes to turn (1 s) means it has answered every event
/// supervisord had for it.
func staysIdle(_ pid: pid_t, for quiet: Double, within seconds: Double = 20) -> Bool {
    var since: (switches: String, at: Date)?
    return eventually(within: seconds) {
        guard let look = IdleLook(pid), look.waitsForInput else {
            since = nil
            return false
        }
        guard let start = since, start.switches == look.switches else {
            since = (look.switches, Date())
            return false
        }
        return Date().timeIntervalSince(start.at) >= quiet
    }
}

/// What /proc says of a process's main thread: where it sleeps and how often it has yielded.
private struct IdleLook {
    let waitsForInput: Bool
    let switches: String

    init?(_ pid: pid_t) {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"),
            let wchan = try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let switches = status.split(separator: "\n").first(where: { $0.hasPrefix("voluntary_ctxt_switches:") })
        else { return nil }
        // State S (interruptible sleep) where the listener waits for its next
        // input: the kernel's poll (poll, ppoll: do_sys_poll), or, with no
        // source but supervisord's events, a read of its standard input pipe
        // (pipe_read, anon_pipe_read).
        waitsForInput = stat[stat.index(close, offsetBy: 2)] == "S" && (wchan.contains("poll") || wchan.hasSuffix("pipe_read"))
        self.switches = String(switches)
    }
}

/// `/proc/PID/fd`: each open descriptor as `NUMBER -> TARGET`, sorted.
func openDescriptors(of pid: pid_t) -> [String] {
    let directory = "/proc/\(pid)/fd"
    let numbers = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return numbers.compactMap { number in
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(number)")).map { "\(number) -> \($0)" }
    }.sorted()
}
