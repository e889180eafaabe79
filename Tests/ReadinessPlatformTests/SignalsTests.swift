import Glibc
import Testing

@testable import ReadinessPlatform

/// Counts SIGHUP deliveries for the tests below; touched only by them (serialized).
nonisolated(unsafe) var hangupsDelivered = 0

/// The signal scopes change process-wide dispositions: these tests run one at
/// a time, and each puts back what it changed.
@Suite(.serialized) struct SignalsTests {
    static func mask() -> sigset_t {
        var current = sigset_t()
        sigprocmask(SIG_BLOCK, nil, &current)
        return current
    }

    static func isBlocked(_ signal: Int32) -> Bool {
        var current = mask()
        return sigismember(&current, signal) == 1
    }

    /// The signal's handler as a number: SIG_DFL is 0, SIG_IGN 1, else a function's address.
    static func disposition(_ signal: Int32) -> Int {
        var action = sigaction()
        sigaction(signal, nil, &action)
        return unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
    }

    static let ignored = unsafeBitCast(SIG_IGN, to: Int.self)
    static let byDefault = unsafeBitCast(SIG_DFL, to: Int.self)

    /// Runs `body` with `signal` set to `handler` and, when `blocked`, in the
    /// thread's mask; puts both back afterwards.
    static func with(_ signal: Int32, handler: sighandler_t?, blocked: Bool, _ body: () throws -> Void) rethrows {
        var before = sigaction()
        var action = sigaction()
        action.__sigaction_handler.sa_handler = handler
        // Other tests' threads run alongside: let their system calls resume.
        action.sa_flags = SA_RESTART
        sigaction(signal, &action, &before)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        var previousMask = sigset_t()
        sigprocmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &set, &previousMask)
        defer {
            sigprocmask(SIG_SETMASK, &previousMask, nil)
            sigaction(signal, &before, nil)
        }
        try body()
    }

    @Test func catchingDeliversSignalsAsBytesAndPutsTheMaskBackExactly() throws {
        try Self.with(SIGTERM, handler: SIG_IGN, blocked: false) {
        try Self.with(SIGHUP, handler: SIG_IGN, blocked: true) {
            let seen = try Signals.catchingTermination { interruptions in
                // Unblocked for the scope, so that the signal arrives at once.
                let unblocked = !Self.isBlocked(SIGHUP)
                raise(SIGTERM)
                raise(SIGHUP)
                return (unblocked, interruptions.take(), interruptions.take(), interruptions.take())
            }
            #expect(seen.0)
            #expect(seen.1 == SIGTERM)
            #expect(seen.2 == SIGHUP)
            #expect(seen.3 == nil)
            #expect(Self.isBlocked(SIGHUP), "the mask found (SIGHUP blocked) is back")
            #expect(!Self.isBlocked(SIGTERM), "and nothing more is blocked")
            #expect(Self.disposition(SIGHUP) == Self.ignored, "the disposition found is back")
        }
        }
    }

    /// A signal caught but not taken by the body is raised again under the
    /// disposition that was there before, once.
    @Test func aSignalLeftUntakenIsDeliveredToThePreviousHandler() throws {
        hangupsDelivered = 0
        try Self.with(SIGHUP, handler: { _ in hangupsDelivered += 1 }, blocked: false) {
            try Signals.catchingTermination { _ in
                raise(SIGHUP)
                #expect(hangupsDelivered == 0, "caught into the pipe while the scope runs")
            }
            #expect(hangupsDelivered == 1)
        }
    }

    /// SIGCHLD ignored by a parent is inherited across exec: the kernel would
    /// then discard the hook's exit status. The scope sets the default, and
    /// puts back what it found. (Shown here with a handler: ignoring SIGCHLD
    /// in this process would reap the children of tests running alongside;
    /// ProbeSignalTests runs the probe under an ignored SIGCHLD.)
    @Test func childSignalIsAtItsDefaultInsideAndPutBackAfter() throws {
        try Self.with(SIGCHLD, handler: { _ in }, blocked: false) {
            let found = Self.disposition(SIGCHLD)
            let inside = try Signals.catchingTermination { _ in Self.disposition(SIGCHLD) }
            #expect(inside == Self.byDefault)
            #expect(Self.disposition(SIGCHLD) == found)
        }
    }
}
