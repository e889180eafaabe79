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

/// SIGTERM, SIGINT and SIGHUP end the process at once with status 0 through
/// `_exit`, which is async-signal-safe. Callers block them around work that
/// must not be cut short (an atomic file replacement).
int readiness_exit_zero_on_termination(void);

/// SIGTERM and SIGINT write their number as one byte to `fd` (a non-blocking
/// pipe), so a poll loop can notice them without races.
int readiness_forward_termination_to(int fd);

/// Blocks (1) or unblocks (0) SIGTERM, SIGINT and SIGHUP for the calling thread.
int readiness_block_termination(int block);

/// pipe2(2), which Swift's Glibc module hides behind _GNU_SOURCE.
int readiness_pipe2(int fds[2], int flags);

/// The C name of an error number ("ENOENT"), or NULL for an unknown one:
/// strerrorname_np(3), which glibc declares only under _GNU_SOURCE.
const char *readiness_errno_name(int error);

#endif
