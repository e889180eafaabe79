#ifndef C_READINESS_H
#define C_READINESS_H

// The package's gateway to the C library, in both build modes. Embedded Swift
// has no `Glibc` module, so ReadinessPlatform imports exactly these headers
// through this module instead, and what Swift cannot call directly (variadic
// functions, `errno`, `environ`, function-like macros) is wrapped below.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

/// open(2) and fcntl(2) are variadic, which Swift cannot call without Glibc's overlay.
/// openat for open: musl's open follows O_CLOEXEC with an fcntl(F_SETFD)
/// for kernels before 2.6.23, a syscall more per file; its openat does not.
static inline int readiness_open(const char *path, int flags, mode_t mode) { return openat(AT_FDCWD, path, flags, mode); }
static inline int readiness_openat(int directory, const char *name, int flags, mode_t mode) { return openat(directory, name, flags, mode); }
static inline int readiness_fcntl(int fd, int command, int argument) { return fcntl(fd, command, argument); }

/// `errno` is a macro over a thread-local location.
static inline int readiness_errno(void) { return errno; }

/// The process environment (`environ` is not declared without _GNU_SOURCE).
char **readiness_environ(void);

/// File-type tests of a `st_mode`: the S_IS* macros are not imported into Swift.
static inline int readiness_s_isreg(mode_t mode) { return S_ISREG(mode); }
static inline int readiness_s_isdir(mode_t mode) { return S_ISDIR(mode); }
static inline int readiness_s_islnk(mode_t mode) { return S_ISLNK(mode); }
static inline int readiness_s_issock(mode_t mode) { return S_ISSOCK(mode); }

/// SIG_IGN is a cast macro Swift does not import.
static inline int readiness_ignore_signal(int signo) { return signal(signo, SIG_IGN) == SIG_ERR ? -1 : 0; }

/// The process's arguments in the Embedded release build, which has no
/// `CommandLine`: its C `main` (EmbeddedMain.c) hands them over before the
/// Swift code runs. The SwiftPM build reads `CommandLine` and sets none.
void readiness_set_arguments(int argc, char **argv);
int readiness_argc(void);
char **readiness_argv(void);

/// Socket types and flags: glibc declares them in an enum (a Swift type of its
/// own), musl as macros (Int32), so Swift sees them through these constants.
static const int readiness_sock_stream = SOCK_STREAM;
static const int readiness_sock_dgram = SOCK_DGRAM;
static const int readiness_sock_cloexec = SOCK_CLOEXEC;
static const int readiness_sock_nonblock = SOCK_NONBLOCK;

/// Makes the calling process a child subreaper, so that orphans of its
/// descendants are reparented to it instead of to PID 1. Returns 0 or -1 (errno).
int readiness_set_child_subreaper(void);

/// pidfd_open(2) through syscall(2): glibc in Debian 12 has no wrapper Swift sees.
int readiness_pidfd_open(int pid);

/// Decoding of a wait(2) status; the macros are not imported into Swift.
int readiness_wifexited(int status);
int readiness_wexitstatus(int status);
int readiness_wifsignaled(int status);
int readiness_wtermsig(int status);

/// SIGTERM, SIGINT and SIGHUP end the process at once with status 0 through
/// `_exit`, which is async-signal-safe, unless the exit is deferred.
int readiness_exit_zero_on_termination(void);

/// Between these two, a termination signal only notes the exit, and
/// `readiness_resume_exit` carries it out: work that must not be cut short
/// (an atomic file replacement) runs between them. A flag, not the signal
/// mask: two sigprocmask calls per status write cost more than the write.
void readiness_defer_exit(void);
void readiness_resume_exit(void);

/// What `readiness_forward_termination` replaced, to put back exactly.
typedef struct {
    struct sigaction termination[3];
    struct sigaction child;
    int forward_fd;
} readiness_saved_signals;

/// SIGTERM, SIGINT and SIGHUP write their number as one byte to `fd` (a
/// non-blocking pipe), so a poll loop notices them without races; SIGCHLD is
/// set to its default so that the kernel keeps children's exit statuses for
/// waitpid even when the parent left it ignored. The previous dispositions go
/// to `saved`. Returns 0, or -1 (errno) with nothing changed.
int readiness_forward_termination(int fd, readiness_saved_signals *saved);

/// Puts back what `readiness_forward_termination` saved. Returns 0 or -1 (errno).
int readiness_restore_signals(const readiness_saved_signals *saved);

/// Adds SIGTERM, SIGINT and SIGHUP to the calling thread's signal mask; the
/// mask before goes to `previous`. Returns 0 or -1 (errno).
int readiness_block_termination(sigset_t *previous);

/// Removes SIGTERM, SIGINT and SIGHUP from the calling thread's signal mask.
int readiness_unblock_termination(void);

/// Sets the calling thread's signal mask, as a `previous` mask from above.
int readiness_set_signal_mask(const sigset_t *mask);

/// Why `readiness_spawn` failed: the call (a C string constant) and its errno.
typedef struct {
    const char *call;
    int error;
} readiness_spawn_failure;

/// Starts `path` with clone(CLONE_VM|CLONE_VFORK), as vfork(2) does, and
/// execve(2): in a process group of its own, stdin from /dev/null, stdout and
/// stderr onto `output_fd`, no signal blocked and every signal at its default.
/// Returns the pid, or -1 with `failure` set (`call` is "execve" when the
/// program itself could not run). posix_spawn(3) did the same with a child
/// stack of its own (mmap, its page faults, munmap) and a check of every
/// descriptor against the open-file limit; this is measurably cheaper per hook run.
pid_t readiness_spawn(const char *path, char *const argv[], char *const envp[], int output_fd, readiness_spawn_failure *failure);

/// pipe2(2), which is declared only with _GNU_SOURCE.
int readiness_pipe2(int fds[2], int flags);

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC, declared only with _GNU_SOURCE.
int readiness_accept(int fd);

/// One non-blocking recvmsg(2) of a datagram into `buffer`, for an sd_notify
/// socket with SO_PASSCRED set: cmsg parsing needs the CMSG_* macros. `pid`
/// gets the sender's pid from SCM_CREDENTIALS (0 when none came);
/// every descriptor passed with SCM_RIGHTS is closed at once (no one asked
/// for it, as systemd does) and counted in `descriptors_closed`. Returns the
/// datagram's real length, even when it was longer than `size` (MSG_TRUNC),
/// or -1 (errno; EAGAIN when nothing is waiting). EINTR is retried.
ssize_t readiness_receive_notify(int fd, void *buffer, size_t size, int *pid, int *descriptors_closed);

/// Whether child `pid` has exited, without reaping it (waitid(2) with
/// WNOWAIT): 1 or 0, or -1 (errno). Blocks until it exits when `block` is
/// set. Its process group can then still be signalled safely: the pid (the
/// group's id) cannot be reused before it is reaped.
int readiness_child_exited(pid_t pid, int block);

/// The C name of an error number ("ENOENT"), or NULL for an unknown one, as
/// glibc's strerrorname_np(3) gives it, from a table of our own (musl has none).
const char *readiness_errno_name(int error);

#endif
