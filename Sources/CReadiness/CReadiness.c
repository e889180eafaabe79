#define _GNU_SOURCE
#include "CReadiness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

// System call numbers come from the target's headers (x86_64 and aarch64
// number their calls differently), never from literals.
#if !defined(SYS_pidfd_open) || !defined(SYS_rt_sigaction)
#error "the kernel headers name no SYS_pidfd_open or SYS_rt_sigaction: Linux 5.3 headers or later are needed"
#endif

int readiness_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int readiness_pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int readiness_wifexited(int status) { return WIFEXITED(status); }
int readiness_wexitstatus(int status) { return WEXITSTATUS(status); }
int readiness_wifsignaled(int status) { return WIFSIGNALED(status); }
int readiness_wtermsig(int status) { return WTERMSIG(status); }

static const int termination_signals[] = {SIGTERM, SIGINT, SIGHUP};
#define TERMINATION_SIGNAL_COUNT (sizeof termination_signals / sizeof *termination_signals)

static void termination_set(sigset_t *set) {
    sigemptyset(set);
    for (size_t i = 0; i < TERMINATION_SIGNAL_COUNT; i++) sigaddset(set, termination_signals[i]);
}

static volatile sig_atomic_t exit_deferred = 0;
static volatile sig_atomic_t exit_pending = 0;

static void exit_zero(int signo) {
    (void)signo;
    if (exit_deferred) {
        exit_pending = 1;
        return;
    }
    _exit(0);
}

void readiness_defer_exit(void) { exit_deferred = 1; }

void readiness_resume_exit(void) {
    exit_deferred = 0;
    if (exit_pending) _exit(0);
}

int readiness_exit_zero_on_termination(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = exit_zero;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < TERMINATION_SIGNAL_COUNT; i++) {
        if (sigaction(termination_signals[i], &action, NULL) != 0) return -1;
    }
    return 0;
}

static volatile sig_atomic_t forward_fd = -1;

static void forward(int signo) {
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    int fd = forward_fd;
    if (fd >= 0) (void)!write(fd, &byte, 1);
    errno = saved;
}

int readiness_forward_termination(int fd, readiness_saved_signals *saved) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward;
    // SA_RESTART is left out on purpose: a blocking call is interrupted and
    // the caller's poll loop sees the byte at once.
    sigemptyset(&action.sa_mask);
    struct sigaction child;
    memset(&child, 0, sizeof child);
    child.sa_handler = SIG_DFL;
    sigemptyset(&child.sa_mask);
    saved->forward_fd = forward_fd;
    if (sigaction(SIGCHLD, &child, &saved->child) != 0) return -1;
    forward_fd = fd;
    for (size_t i = 0; i < TERMINATION_SIGNAL_COUNT; i++) {
        if (sigaction(termination_signals[i], &action, &saved->termination[i]) != 0) {
            int error = errno;
            while (i-- > 0) (void)sigaction(termination_signals[i], &saved->termination[i], NULL);
            (void)sigaction(SIGCHLD, &saved->child, NULL);
            forward_fd = saved->forward_fd;
            errno = error;
            return -1;
        }
    }
    return 0;
}

int readiness_restore_signals(const readiness_saved_signals *saved) {
    int result = 0;
    for (size_t i = 0; i < TERMINATION_SIGNAL_COUNT; i++) {
        if (sigaction(termination_signals[i], &saved->termination[i], NULL) != 0) result = -1;
    }
    if (sigaction(SIGCHLD, &saved->child, NULL) != 0) result = -1;
    forward_fd = saved->forward_fd;
    return result;
}

int readiness_block_termination(sigset_t *previous) {
    sigset_t set;
    termination_set(&set);
    return sigprocmask(SIG_BLOCK, &set, previous);
}

int readiness_unblock_termination(void) {
    sigset_t set;
    termination_set(&set);
    return sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int readiness_set_signal_mask(const sigset_t *mask) { return sigprocmask(SIG_SETMASK, mask, NULL); }


int readiness_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int readiness_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

/// The kernel's struct sigaction with every field zero: SIG_DFL, no flags, no
/// mask. The same layout on x86_64 and aarch64 (asm-generic's, with the
/// sa_restorer both define SA_RESTORER for); other architectures differ (mips
/// puts the flags first, alpha has no restorer), so they must be checked first.
struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
};
#if !defined(__x86_64__) && !defined(__aarch64__)
#error "struct kernel_sigaction is checked for x86_64 and aarch64 only: compare it with the kernel's struct sigaction here"
#endif
// rt_sigaction's last argument, the size of the kernel's sigset_t: 64 signals.
_Static_assert(sizeof(unsigned long) * 8 == NSIG - 1, "the kernel's signal mask is one unsigned long");

/// Makes `fd` the descriptor `target`, open across exec.
static int place(int fd, int target) {
    if (fd == target) return fcntl(fd, F_SETFD, 0);
    return dup2(fd, target) == -1 ? -1 : 0;
}

/// What the spawned child needs, on the parent's stack.
typedef struct {
    const char *path;
    char *const *argv;
    char *const *envp;
    int output_fd;
    volatile readiness_spawn_failure *failure;
} spawn_request;

/// The child of clone(CLONE_VM|CLONE_VFORK) (qemu-user alone runs it as a
/// fork, see README "Release builds"): shares the parent's memory until
/// execve, so it calls only async-signal-safe functions, writes nothing but
/// `failure`, and never returns. Every signal goes to SIG_DFL through the raw
/// system call: the C libraries' sigaction refuses their internal signals
/// (glibc's 32 and 33, musl's 32 to 34), which glibc's posix_spawn then left
/// ignored in the hook.
__attribute__((noreturn, noinline)) static int exec_child(void *argument) {
    const spawn_request *request = argument;
    const char *path = request->path;
    char *const *argv = request->argv;
    char *const *envp = request->envp;
    int output_fd = request->output_fd;
    volatile readiness_spawn_failure *failure = request->failure;
    static const struct kernel_sigaction default_action;
    for (int signo = 1; signo < NSIG; signo++) {
        if (signo != SIGKILL && signo != SIGSTOP) (void)syscall(SYS_rt_sigaction, signo, &default_action, NULL, sizeof default_action.mask);
    }
    const char *call = "setpgid";
    if (setpgid(0, 0) == 0) {
        call = "open /dev/null";
        // Closed first, as posix_spawn's file action does: open then takes
        // descriptor 0, the lowest free one, and needs no dup2.
        (void)close(STDIN_FILENO);
        int input = open("/dev/null", O_RDONLY);
        if (input >= 0) {
            call = "dup2";
            if ((input == STDIN_FILENO || (dup2(input, STDIN_FILENO) == 0 && close(input) == 0)) && place(output_fd, STDOUT_FILENO) == 0 &&
                place(output_fd, STDERR_FILENO) == 0) {
                sigset_t none;
                sigemptyset(&none);
                call = "sigprocmask";
                if (sigprocmask(SIG_SETMASK, &none, NULL) == 0) {
                    call = "execve";
                    execve(path, argv, envp);
                }
            }
        }
    }
    failure->error = errno;
    failure->call = call;
    _exit(127);
}

pid_t readiness_spawn(const char *path, char *const argv[], char *const envp[], int output_fd, readiness_spawn_failure *failure) {
    // Blocked across the clone, so that no handler of the parent runs in the child.
    sigset_t all, previous;
    sigfillset(&all);
    if (sigprocmask(SIG_BLOCK, &all, &previous) != 0) {
        failure->call = "sigprocmask";
        failure->error = errno;
        return -1;
    }
    volatile readiness_spawn_failure child = {NULL, 0};
    spawn_request request = {path, argv, envp, output_fd, &child};
    // vfork(2) itself is not portable here: musl's, on aarch64, is a plain
    // fork (clone with SIGCHLD alone), whose child cannot report a failed
    // execve through `child`. clone(3) with CLONE_VM|CLONE_VFORK is what
    // vfork is on x86_64 and what both C libraries' posix_spawn use, with the
    // child on a stack of its own: here an array of this frame, which stays
    // put while the parent is suspended (CLONE_VFORK) until the child execs or exits.
    _Alignas(16) unsigned char stack[16384];
    pid_t pid = clone(exec_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &request);
    int error = errno;
    (void)sigprocmask(SIG_SETMASK, &previous, NULL);
    if (pid == -1) {
        failure->call = "clone";
        failure->error = error;
        return -1;
    }
    if (child.call != NULL) {
        // It has exited (clone returned): reap it, then report why.
        while (waitpid(pid, NULL, 0) == -1 && errno == EINTR) {}
        failure->call = child.call;
        failure->error = child.error;
        return -1;
    }
    return pid;
}

ssize_t readiness_receive_notify(int fd, void *buffer, size_t size, int *pid, int *descriptors_closed) {
    *pid = 0;
    *descriptors_closed = 0;
    struct iovec vector = {.iov_base = buffer, .iov_len = size};
    // Room for the credentials and for as many descriptors as one message
    // can carry (SCM_MAX_FD, 253); the kernel closes any that do not fit.
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(253 * sizeof(int))];
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    ssize_t length;
    do {
        length = recvmsg(fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    } while (length == -1 && errno == EINTR);
    if (length == -1) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET) continue;
        if (header->cmsg_type == SCM_CREDENTIALS && header->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred credentials;
            memcpy(&credentials, CMSG_DATA(header), sizeof credentials);
            *pid = credentials.pid;
        } else if (header->cmsg_type == SCM_RIGHTS) {
            size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int passed;
                memcpy(&passed, CMSG_DATA(header) + i * sizeof(int), sizeof passed);
                (void)close(passed);
                (*descriptors_closed)++;
            }
        }
    }
    return length;
}

int readiness_child_exited(pid_t pid, int block) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int result;
    do {
        result = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
    } while (result == -1 && errno == EINTR);
    if (result == -1) return -1;
    return info.si_pid == pid ? 1 : 0;
}

/// Linux's error numbers, the same on x86_64 and aarch64 (asm-generic's
/// errno-base.h and errno.h; EWOULDBLOCK, EDEADLOCK and ENOTSUP are other
/// names of EAGAIN, EDEADLK and EOPNOTSUPP), by the names glibc's
/// strerrorname_np gives them. A table of our own: musl has no strerrorname_np.
const char *readiness_errno_name(int error) {
    switch (error) {
#define NAME(number) \
    case number: return #number;
    NAME(EPERM) NAME(ENOENT) NAME(ESRCH) NAME(EINTR) NAME(EIO) NAME(ENXIO) NAME(E2BIG) NAME(ENOEXEC) NAME(EBADF)
    NAME(ECHILD) NAME(EAGAIN) NAME(ENOMEM) NAME(EACCES) NAME(EFAULT) NAME(ENOTBLK) NAME(EBUSY) NAME(EEXIST)
    NAME(EXDEV) NAME(ENODEV) NAME(ENOTDIR) NAME(EISDIR) NAME(EINVAL) NAME(ENFILE) NAME(EMFILE) NAME(ENOTTY)
    NAME(ETXTBSY) NAME(EFBIG) NAME(ENOSPC) NAME(ESPIPE) NAME(EROFS) NAME(EMLINK) NAME(EPIPE) NAME(EDOM) NAME(ERANGE)
    NAME(EDEADLK) NAME(ENAMETOOLONG) NAME(ENOLCK) NAME(ENOSYS) NAME(ENOTEMPTY) NAME(ELOOP) NAME(ENOMSG) NAME(EIDRM)
    NAME(ECHRNG) NAME(EL2NSYNC) NAME(EL3HLT) NAME(EL3RST) NAME(ELNRNG) NAME(EUNATCH) NAME(ENOCSI) NAME(EL2HLT)
    NAME(EBADE) NAME(EBADR) NAME(EXFULL) NAME(ENOANO) NAME(EBADRQC) NAME(EBADSLT) NAME(EBFONT) NAME(ENOSTR)
    NAME(ENODATA) NAME(ETIME) NAME(ENOSR) NAME(ENONET) NAME(ENOPKG) NAME(EREMOTE) NAME(ENOLINK) NAME(EADV)
    NAME(ESRMNT) NAME(ECOMM) NAME(EPROTO) NAME(EMULTIHOP) NAME(EDOTDOT) NAME(EBADMSG) NAME(EOVERFLOW) NAME(ENOTUNIQ)
    NAME(EBADFD) NAME(EREMCHG) NAME(ELIBACC) NAME(ELIBBAD) NAME(ELIBSCN) NAME(ELIBMAX) NAME(ELIBEXEC) NAME(EILSEQ)
    NAME(ERESTART) NAME(ESTRPIPE) NAME(EUSERS) NAME(ENOTSOCK) NAME(EDESTADDRREQ) NAME(EMSGSIZE) NAME(EPROTOTYPE)
    NAME(ENOPROTOOPT) NAME(EPROTONOSUPPORT) NAME(ESOCKTNOSUPPORT) NAME(EOPNOTSUPP) NAME(EPFNOSUPPORT)
    NAME(EAFNOSUPPORT) NAME(EADDRINUSE) NAME(EADDRNOTAVAIL) NAME(ENETDOWN) NAME(ENETUNREACH) NAME(ENETRESET)
    NAME(ECONNABORTED) NAME(ECONNRESET) NAME(ENOBUFS) NAME(EISCONN) NAME(ENOTCONN) NAME(ESHUTDOWN) NAME(ETOOMANYREFS)
    NAME(ETIMEDOUT) NAME(ECONNREFUSED) NAME(EHOSTDOWN) NAME(EHOSTUNREACH) NAME(EALREADY) NAME(EINPROGRESS)
    NAME(ESTALE) NAME(EUCLEAN) NAME(ENOTNAM) NAME(ENAVAIL) NAME(EISNAM) NAME(EREMOTEIO) NAME(EDQUOT) NAME(ENOMEDIUM)
    NAME(EMEDIUMTYPE) NAME(ECANCELED) NAME(ENOKEY) NAME(EKEYEXPIRED) NAME(EKEYREVOKED) NAME(EKEYREJECTED)
    NAME(EOWNERDEAD) NAME(ENOTRECOVERABLE) NAME(ERFKILL) NAME(EHWPOISON)
#undef NAME
    default: return NULL;
    }
}

char **readiness_environ(void) { return environ; }

static int saved_argc;
static char **saved_argv;

void readiness_set_arguments(int argc, char **argv) {
    saved_argc = argc;
    saved_argv = argv;
}

int readiness_argc(void) { return saved_argc; }
char **readiness_argv(void) { return saved_argv; }

#ifndef __GLIBC__
/// Embedded Swift's standard library takes random bytes (Hasher's seed,
/// SystemRandomNumberGenerator) from arc4random_buf, which glibc has since
/// 2.36 and musl lacks. getrandom(2) needs no /dev or /proc (an empty root);
/// it blocks only until the kernel's pool is first initialized, and a
/// request of up to 256 bytes is never cut short by a signal.
/// Where getrandom is refused (a seccomp profile, a kernel before 3.17):
/// /dev/urandom, and where that cannot be read either, a mix of the clock,
/// the pid and an address. Only hash tables are seeded with these bytes,
/// so they need not be secret: starting matters more than aborting.
void arc4random_buf(void *buffer, size_t size) {
    unsigned char *bytes = buffer;
    while (size > 0) {
        ssize_t got = getrandom(bytes, size > 256 ? 256 : size, 0);
        if (got == -1) {
            if (errno == EINTR) continue;
            break;
        }
        bytes += got;
        size -= (size_t)got;
    }
    if (size == 0) return;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && size > 0) {
        ssize_t got = read(fd, bytes, size);
        if (got == -1 && errno == EINTR) continue;
        if (got <= 0) break;
        bytes += got;
        size -= (size_t)got;
    }
    if (fd >= 0) (void)close(fd);
    struct timespec now = {0};
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t mix = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 32) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)buffer;
    for (; size > 0; size--, bytes++) {
        mix = mix * 6364136223846793005u + 1442695040888963407u;
        *bytes = (unsigned char)(mix >> 56);
    }
}
#endif
