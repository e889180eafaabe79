import Dispatch
import Glibc
import Testing

@testable import ReadinessPlatform

/// The listener's one poll: what it answers, by tag, and when it wakes.
@Suite struct EventLoopTests {
    /// A pipe: (read end, write end).
    func pipe() throws -> (Int32, Int32) {
        var ends: [Int32] = [0, 0]
        try #require(Glibc.pipe(&ends) == 0)
        return (ends[0], ends[1])
    }

    @Test func aReadyDescriptorIsAnsweredByItsTagAndNoOther() throws {
        let (quietRead, quietWrite) = try pipe()
        let (busyRead, busyWrite) = try pipe()
        defer { for fd in [quietRead, quietWrite, busyRead, busyWrite] { close(fd) } }
        #expect(write(busyWrite, "x", 1) == 1)
        var loop = EventLoop()
        loop.watch(quietRead, as: .events)
        loop.watch(busyRead, as: .check(3))
        let found = try loop.wait()
        #expect(found.contains(.check(3)))
        #expect(!found.contains(.check(2)))
        #expect(!found.contains(.events))
        #expect(found.revents(of: .check(3)) & Int16(POLLIN) != 0)
    }

    /// Nothing ready: the wait ends at the earliest wake-up of the turn, which
    /// says whose it is, and not before it.
    @Test func theEarliestWakeUpEndsTheWait() throws {
        let (readEnd, writeEnd) = try pipe()
        defer { for fd in [readEnd, writeEnd] { close(fd) } }
        var loop = EventLoop()
        let start = Clock.monotonicMilliseconds()
        loop.watch(readEnd, as: .events)
        loop.wake(at: start + 60_000, for: .hook)
        loop.wake(at: start + 50, for: .httpListener)
        loop.wake(at: nil, for: .notify)
        loop.wake(at: start + 90, for: .check(0))
        #expect(loop.wake?.at == start + 50)
        #expect(loop.wake?.source == .httpListener)
        let found = try loop.wait()
        #expect(Clock.monotonicMilliseconds() >= start + 50)
        #expect(!found.contains(.events))
        #expect(loop.wake == nil)
    }

    /// A wake-up already past (a due check, started after the wait) returns
    /// at once rather than blocking on the descriptors (which a byte ends
    /// five seconds later, should the wait block).
    @Test func aWakeUpAlreadyPastReturnsAtOnce() throws {
        let (readEnd, writeEnd) = try pipe()
        defer { for fd in [readEnd, writeEnd] { close(fd) } }
        let written = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 5) {
            _ = write(writeEnd, "x", 1)
            written.signal()
        }
        defer { written.wait() }
        var loop = EventLoop()
        loop.watch(readEnd, as: .events)
        loop.wake(at: Clock.monotonicMilliseconds() - 1000, for: .check(0))
        let found = try loop.wait()
        #expect(!found.contains(.events))
    }

    /// supervisord's events alone, no wake-up: no poll, answered ready, so
    /// the caller's read blocks as before (the plain listener's fast path).
    /// A poll would see nothing to read, then the pipe's end (POLLHUP) once
    /// its write end closes a second later.
    @Test func eventsAloneNeedNoPoll() throws {
        let (readEnd, writeEnd) = try pipe()
        defer { close(readEnd) }
        let closed = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) {
            close(writeEnd)
            closed.signal()
        }
        defer { closed.wait() }
        var loop = EventLoop()
        loop.watch(readEnd, as: .events)
        #expect(try loop.wait().revents(of: .events) == Int16(POLLIN))
    }

    /// A closed write end counts as ready (its end), as poll(2) says.
    @Test func anEndedPipeIsReady() throws {
        let (readEnd, writeEnd) = try pipe()
        defer { close(readEnd) }
        close(writeEnd)
        var loop = EventLoop()
        loop.watch(readEnd, as: .hook)
        loop.wake(at: Clock.monotonicMilliseconds() + 60_000, for: .hook)
        #expect(try loop.wait().contains(.hook))
    }
}
