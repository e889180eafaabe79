import Foundation
import Glibc
import Testing

@testable import ReadinessPlatform

/// Commands run through `/bin/sh -c`, as exec checks will run them, driven by
/// a poll loop like the listener's.
@Suite struct BackgroundCommandTests {
    static func shell(_ script: String, environment: [String] = [], timeoutMilliseconds: Int64 = 10_000) throws -> BackgroundCommand {
        try BackgroundCommand.start(arguments: ["/bin/sh", "-c", script], environment: environment, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Drives the command as the listener's loop does: polls its output and
    /// exit until `wakeAt`, then `step`, until it ends; also the longest a
    /// single `step` took.
    static func run(_ command: consuming BackgroundCommand) -> (ended: BackgroundCommand.Ended, longestReadMilliseconds: Int64) {
        var command = command
        var longest: Int64 = 0
        while true {
            let now = Clock.monotonicMilliseconds()
            var fds = [
                pollfd(fd: command.outputDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: command.exitDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            let woken = poll(&fds, 2, Int32(max(0, command.wakeAt(now: now) - now))) > 0
            let before = Clock.monotonicMilliseconds()
            let ended = command.step(woken: woken, now: before)
            longest = max(longest, Clock.monotonicMilliseconds() - before)
            if let ended { return (ended, longest) }
        }
    }

    /// Whether `pid` is gone (or a zombie awaiting its reaper), within a second.
    static func isGone(_ pid: Int32) -> Bool {
        let deadline = Clock.monotonicMilliseconds() + 1000
        while Clock.monotonicMilliseconds() < deadline {
            if kill(pid, 0) != 0 { return true }
            if case .contents(let stat) = Files.readBounded("/proc/\(pid)/stat", limit: 4096),
                let close = stat.lastIndex(of: UInt8(ascii: ")")), stat.count > close + 2, stat[close + 2] == UInt8(ascii: "Z")
            {
                return true
            }
            usleep(10_000)
        }
        return false
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The shell exits 0 at once, its `sleep 100` keeps the output pipe
    /// open: the exit is seen through the pidfd, and the group kill ends the sleep.
    @Test func backgroundChildOfACommandThatExitedIsKilled() throws {
        let (ended, _) = Self.run(try Self.shell("sleep 100 & echo $!; exit 0"))
        #expect(ended.termination == .exited(0))
        let sleeper = try #require(Int32(Self.text(ended.outputTail).split(separator: "\n").first ?? ""))
        #expect(Self.isGone(sleeper), "sleep \(sleeper) outlived its command")
    }

    @Test func hangingCommandIsKilledAtItsDeadline() throws {
        let started = Clock.monotonicMilliseconds()
        let command = try Self.shell("echo started; sleep 100", timeoutMilliseconds: 300)
        let shellPID = command.pid
        let (ended, _) = Self.run(command)
        #expect(ended.termination == .timedOut)
        #expect(Self.text(ended.outputTail) == "started\n")
        #expect(Clock.monotonicMilliseconds() - started < 3000)
        #expect(Self.isGone(shellPID))
    }

    /// 10 MB of output: only the first and last 4096 bytes are kept, and no
    /// single read holds the loop (each takes a bounded amount).
    @Test func floodOfOutputKeepsABoundedTailAndDoesNotBlock() throws {
        let (ended, longest) = Self.run(try Self.shell("yes | head -c 10000000; printf end", timeoutMilliseconds: 60_000))
        #expect(ended.termination == .exited(0))
        #expect(ended.outputByteCount == 10_000_003)
        #expect(ended.outputTail.count == BackgroundCommand.tailLimit)
        #expect(Self.text(ended.outputTail).hasSuffix("y\ny\nend"))
        #expect(ended.outputHead.count == BackgroundCommand.tailLimit)
        #expect(Self.text(ended.outputHead).hasPrefix("y\ny\n"))
        #expect(longest < 1000)
    }

    @Test func exitCodeSignalAndEnvironment() throws {
        #expect(Self.run(try Self.shell("exit 3")).ended.termination == .exited(3))
        #expect(Self.run(try Self.shell("kill -TERM $$")).ended.termination == .signaled(SIGTERM))
        let greeting = Self.run(try Self.shell("echo \"$GREETING\" >&2", environment: ["GREETING=hello=world"])).ended
        #expect(Self.text(greeting.outputTail) == "hello=world\n")
    }

    /// A command that closes its output and goes on: still waited for,
    /// through the pidfd, without blocking.
    @Test func commandThatClosesItsOutputEarly() throws {
        let (ended, longest) = Self.run(try Self.shell("echo bye; exec >&- 2>&-; sleep 0.3; exit 4"))
        #expect(ended.termination == .exited(4))
        #expect(Self.text(ended.outputTail) == "bye\n")
        #expect(longest < 200)
    }

    /// Where pidfd_open is missing (kernels before 5.3), a command that
    /// closes its output and goes on has nothing left to poll: `readOutput`
    /// must not wait for its exit (that froze the loop past `killAt`, issue
    /// 23). It answers at once, and the loop comes back every few
    /// milliseconds to look (`wakeAt`): a command that exits is seen then,
    /// not at its deadline; one that hangs is killed at the deadline.
    @Test func withoutAPidfdNothingWaitsPastTheDeadline() throws {
        let (hanging, quitting) = try Self.withoutPidfd {
            let hanging = try Self.shell("echo bye; exec >&- 2>&-; sleep 5", timeoutMilliseconds: 500)
            let started = Clock.monotonicMilliseconds()
            let hangingPID = hanging.pid
            let noPidfd = hanging.exitDescriptor == -1
            let (ended, longest) = Self.run(hanging)
            let hangingResult = (noPidfd, ended, longest, Clock.monotonicMilliseconds() - started, Self.isGone(hangingPID))
            let quitting = try Self.shell("echo bye; exec >&- 2>&-; sleep 0.3; exit 4", timeoutMilliseconds: 10_000)
            let quitStarted = Clock.monotonicMilliseconds()
            let quit = Self.run(quitting).ended
            return (hangingResult, (quitting.exitDescriptor == -1, quit, Clock.monotonicMilliseconds() - quitStarted))
        }
        #expect(hanging.0, "pidfd_open was not refused")
        #expect(hanging.1.termination == .timedOut)
        #expect(Self.text(hanging.1.outputTail) == "bye\n")
        #expect(hanging.2 < 200, "a step took \(hanging.2) ms")
        #expect(hanging.3 < 2000, "ended after \(hanging.3) ms")
        #expect(hanging.4)
        #expect(quitting.0)
        #expect(quitting.1.termination == .exited(4))
        #expect(Self.text(quitting.1.outputTail) == "bye\n")
        // Its exit is looked for, not left to its deadline (10 s).
        #expect(quitting.2 < 5000, "seen to exit after \(quitting.2) ms")
    }

    /// Runs `body` on a thread of its own on which pidfd_open(2) fails with
    /// ENOSYS, as on a kernel before 5.3: a seccomp filter (with
    /// no_new_privs, both per thread) that ends with the thread.
    static func withoutPidfd<Value>(_ body: @escaping @Sendable () throws -> Value) throws -> Value {
        let box = ResultBox<Value>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
            guard let symbol = dlsym(nil, "prctl") else {
                box.result = .failure(Errno(rawValue: ENOSYS))
                return
            }
            let prctl = unsafeBitCast(symbol, to: Prctl.self)
            // struct sock_filter { u16 code; u8 jt, jf; u32 k }, little-endian:
            // load the syscall number; pidfd_open (434 on every Linux
            // architecture) returns ENOSYS; everything else is allowed.
            let filter: [UInt64] = [
                0x20,
                0x15 | (1 << 24) | (434 << 32),
                0x06 | (UInt64(0x0005_0000 | ENOSYS) << 32),
                0x06 | (0x7FFF_0000 << 32),
            ]
            let installed = filter.withUnsafeBufferPointer { instructions -> Bool in
                // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
                let program: [UInt64] = [UInt64(instructions.count), UInt64(UInt(bitPattern: instructions.baseAddress))]
                // PR_SET_NO_NEW_PRIVS (38), then PR_SET_SECCOMP (22) with SECCOMP_MODE_FILTER (2).
                return program.withUnsafeBufferPointer { pointer in
                    prctl(38, 1, 0, 0, 0) == 0 && prctl(22, 2, UInt(bitPattern: pointer.baseAddress), 0, 0) == 0
                }
            }
            guard installed else {
                box.result = .failure(Errno.current)
                return
            }
            box.result = Result { try body() }
        }
        thread.start()
        done.wait()
        return try box.result!.get()
    }

    /// Once reaped, the command answers with its ending again and signals
    /// nothing: its pid may be another process's by then.
    @Test func endedCommandAnswersAgain() throws {
        var command = try Self.shell("exit 5")
        var first: BackgroundCommand.Ended?
        while first == nil {
            _ = TestSockets.isReady(command.exitDescriptor, for: POLLIN, within: 5000)
            first = command.readOutput()
        }
        #expect(first?.termination == .exited(5))
        #expect(command.readOutput() == first)
        #expect(command.kill() == first)
    }

    @Test func programThatDoesNotExist() {
        #expect(throws: BackgroundCommand.StartFailure.spawn(call: "execve", errno: .noSuchFileOrDirectory)) {
            let command = try BackgroundCommand.start(arguments: ["/nonexistent/check"], timeoutMilliseconds: 1000)
            _ = command.kill()
        }
    }
}

/// What a thread of its own computed, read once it has ended.
final class ResultBox<Value>: @unchecked Sendable {
    var result: Result<Value, any Error>?
}
