import Glibc
import ReadinessCore
import Testing

@testable import ReadinessPlatform

/// Each libc call whose failure changes what happens, made to fail: a clear
/// error comes out, not a wrong result.
@Suite struct CheckedCallTests {
    /// A failed F_GETFL (-1) must not be OR'd into the flags that F_SETFL sets.
    @Test func fcntlOnAClosedDescriptor() throws {
        let (read, write) = try system_pipe(O_CLOEXEC)
        try system_close(read)
        try system_close(write)
        #expect(throws: Errno(rawValue: EBADF)) { try system_set_nonblocking(read) }
    }

    @Test func closeOfADescriptorClosedBehindItsBack() throws {
        let (read, write) = try system_pipe(O_CLOEXEC)
        try system_close(write)
        let owner = FileDescriptor(rawValue: write)
        do throws(Errno) {
            try owner.close()
            Issue.record("closed a descriptor twice without an error")
        } catch {
            #expect(error == Errno(rawValue: EBADF))
        }
        try system_close(read)
    }

    /// A file action that cannot be set up is the probe's failure (INTERNAL),
    /// not an exec failure blamed on the hook.
    @Test func spawnFileActionWithABadDescriptor() {
        do {
            _ = try system_spawn_in_new_group("/bin/true", ["/bin/true"], [], outputFD: -1)
            Issue.record("spawned with output descriptor -1")
        } catch {
            #expect(error.call == "posix_spawn_file_actions_adddup2")
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
}
