import Glibc
import ReadinessCore
import Testing

@testable import ReadinessPlatform

/// Each libc call whose failure changes what happens, made to fail: a clear
/// error comes out, not a wrong result.
@Suite struct CheckedCallTests {
    /// A descriptor that is not open and never will be: a number above any
    /// open file limit. (Closing a real one here would race with tests running
    /// alongside, whose next open could get its number.)
    static let notOpen = Int32.max

    /// A failed F_GETFL (-1) must not be OR'd into the flags that F_SETFL sets.
    @Test func fcntlOnADescriptorThatIsNotOpen() {
        #expect(throws: Errno(rawValue: EBADF)) { try system_set_nonblocking(Self.notOpen) }
    }

    @Test func closeThatFailsIsReported() {
        let owner = FileDescriptor(rawValue: Self.notOpen)
        do throws(Errno) {
            try owner.close()
            Issue.record("closed a descriptor that is not open without an error")
        } catch {
            #expect(error == Errno(rawValue: EBADF))
        }
    }

    /// A file action that cannot be set up is the probe's failure (INTERNAL),
    /// not an exec failure blamed on the hook.
    @Test func spawnFileActionWithABadDescriptor() {
        do {
            _ = try system_spawn_in_new_group("/bin/true", ["/bin/true"], [], outputFD: -1)
            Issue.record("spawned with output descriptor -1")
        } catch {
            #expect(error.call == "dup2")
            #expect(error.errno == Errno(rawValue: EBADF))
            #expect(!error.isExecFailure)
        }
    }

    @Test func execFailureIsTheHooks() {
        do {
            _ = try system_spawn_in_new_group("/nonexistent/hook", ["/nonexistent/hook"], [], outputFD: STDERR_FILENO)
            Issue.record("spawned a program that does not exist")
        } catch {
            #expect(error.isExecFailure)
            #expect(error.errno == .noSuchFileOrDirectory)
        }
    }

    /// ECHILD while waiting for the hook (here: someone else reaped it) is a
    /// clear internal failure at once, not a HOOK_TIMEOUT at the deadline.
    @Test func reapingAnAlreadyReapedHook() throws {
        let runner = HookRunner(path: "/bin/true", timeoutMilliseconds: 10_000)
        var hook = try runner.spawn()
        var status: Int32 = 0
        #expect(waitpid(hook.pid, &status, 0) == hook.pid)
        let (read, write) = try system_pipe(O_CLOEXEC | O_NONBLOCK)
        defer {
            try? system_close(read)
            try? system_close(write)
        }
        let started = Clock.monotonicMilliseconds()
        // No tearDown here: it kills and reaps every child of this process,
        // those of tests running alongside included.
        let termination = runner.wait(for: &hook, interruptions: Interruptions(fd: read))
        #expect(termination == .probeFailed("waitpid \(hook.pid): No child processes (ECHILD)"))
        #expect(Clock.monotonicMilliseconds() - started < 5000, "long before the deadline")
        let verdict = Verdict.afterHook(Verdict(.ready, "ok"), path: "/bin/true", termination: termination, output: [], timeoutMilliseconds: 10_000)
        #expect(verdict.code == .internalError)
    }

    /// A wait on a descriptor that is not open fails at once (poll says so only
    /// in revents) instead of spinning until its deadline.
    @Test func pollOnADescriptorThatIsNotOpen() throws {
        let started = Clock.monotonicMilliseconds()
        #expect(throws: Errno(rawValue: EBADF)) { try Interruptions(fd: Self.notOpen).wait(until: Deadline.after(milliseconds: 5000)) }
        #expect(throws: Errno(rawValue: EBADF)) { try Deadline.after(milliseconds: 5000).wait(for: POLLOUT, on: Self.notOpen) }
        #expect(Clock.monotonicMilliseconds() - started < 2500, "long before the deadline")
    }

    /// The same inside the hook's wait: a clear internal failure, not HOOK_TIMEOUT.
    @Test func hookWaitWithABrokenSignalPipe() throws {
        let runner = HookRunner(path: "/bin/cat", timeoutMilliseconds: 5000)
        var hook = try runner.spawn()
        defer {
            kill(hook.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(hook.pid, &status, 0)
        }
        let started = Clock.monotonicMilliseconds()
        #expect(runner.wait(for: &hook, interruptions: Interruptions(fd: Self.notOpen)) == .probeFailed("poll: Bad file descriptor (EBADF)"))
        #expect(Clock.monotonicMilliseconds() - started < 2500, "long before the deadline")
    }
}
