#ifndef C_READINESS_H
#define C_READINESS_H



/// Makes the calling process a child subreaper, so that orphans of its
/// descendants are reparented to it instead of to PID 1. Returns 0 or -1 (errno).
int readiness_set_child_subreaper(void);

/// pidfd_open(2) through syscall(2): glibc in Debian 12 has no wrapper Swift sees.
int readiness_pidfd_open(int pid);

/// Decoding of a wait(2) status; Swift's Glibc module does not import the macros.
int readiness_wifexited(int status);
int readiness_wexitstatus(int status);
int readiness_wifsignaled(int status);
int readiness_wtermsig(int status);

#include <signal.h>

/// SIGTERM, SIGINT and SIGHUP end the process at once with status 0 through
/// `_exit`, which is async-signal-safe. Callers block them around work that
/// must not be cut short (an atomic file replacement).
int readiness_exit_zero_on_termination(void);

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

/// pipe2(2), which Swift's Glibc module hides behind _GNU_SOURCE.
int readiness_pipe2(int fds[2], int flags);

/// The C name of an error number ("ENOENT"), or NULL for an unknown one:
/// strerrorname_np(3), which glibc declares only under _GNU_SOURCE.
const char *readiness_errno_name(int error);

#endif
