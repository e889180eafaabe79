#define _GNU_SOURCE
#include "CReadiness.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int readiness_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int readiness_pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int readiness_wifexited(int status) { return WIFEXITED(status); }
int readiness_wexitstatus(int status) { return WEXITSTATUS(status); }
int readiness_wifsignaled(int status) { return WIFSIGNALED(status); }
int readiness_wtermsig(int status) { return WTERMSIG(status); }

static const int termination_signals[] = {SIGTERM, SIGINT, SIGHUP};

static int install(void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof termination_signals / sizeof *termination_signals; i++) {
        if (sigaction(termination_signals[i], &action, NULL) != 0) return -1;
    }
    return 0;
}

static void exit_zero(int signo) {
    (void)signo;
    _exit(0);
}

int readiness_exit_zero_on_termination(void) { return install(exit_zero); }

static volatile int forward_fd = -1;

static void forward(int signo) {
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    if (forward_fd >= 0) (void)!write(forward_fd, &byte, 1);
    errno = saved;
}

int readiness_forward_termination_to(int fd) {
    forward_fd = fd;
    return install(forward);
}

int readiness_block_termination(int block) {
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof termination_signals / sizeof *termination_signals; i++) {
        sigaddset(&set, termination_signals[i]);
    }
    return sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

int readiness_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

const char *readiness_errno_name(int error) { return strerrorname_np(error); }
