/*
 * The checks' floor: the least a poll loop does for N services checked every
 * PERIOD_MS, as the listener's tcp: and exec: checks do, and nothing else.
 *   floor_checker tcp PORT N PERIOD_MS TIMEOUT_MS SECONDS
 *       each check: a non-blocking connect to 127.0.0.1:PORT, poll for
 *       POLLOUT (or the timeout), SO_ERROR, close
 *   floor_checker exec N PERIOD_MS TIMEOUT_MS SECONDS
 *       each check: fork + exec of /bin/sh -c true, poll its pidfd, waitpid
 * prints: checks=C seconds=S cpu_us_per_check=U child_cpu_us_per_check=V
 * (own user+system time per check; the children's, for exec, apart)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static double cpu_us(int who) {
    struct rusage usage;
    getrusage(who, &usage);
    return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

int main(int argc, char **argv) {
    int tcp = argc == 7 && strcmp(argv[1], "tcp") == 0, exec = argc == 6 && strcmp(argv[1], "exec") == 0;
    if (!tcp && !exec) {
        fprintf(stderr, "usage: floor_checker tcp PORT N PERIOD_MS TIMEOUT_MS SECONDS | exec N PERIOD_MS TIMEOUT_MS SECONDS\n");
        return 2;
    }
    int arg = tcp ? 3 : 2;
    int port = tcp ? atoi(argv[2]) : 0, n = atoi(argv[arg]), period = atoi(argv[arg + 1]), timeout = atoi(argv[arg + 2]);
    long long seconds = atoll(argv[arg + 3]);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int *fd = calloc((size_t)n, sizeof *fd);
    pid_t *pid = calloc((size_t)n, sizeof *pid);
    long long *next = calloc((size_t)n, sizeof *next), *deadline = calloc((size_t)n, sizeof *deadline);
    struct pollfd *fds = calloc((size_t)n, sizeof *fds);
    int *slot = calloc((size_t)n, sizeof *slot);
    long long start = now_ms(), end = start + seconds * 1000;
    double cpu0 = cpu_us(RUSAGE_SELF), child0 = cpu_us(RUSAGE_CHILDREN);
    long checks = 0;
    for (int i = 0; i < n; i++) { fd[i] = -1; next[i] = start; }
    for (;;) {
        long long now = now_ms();
        if (now >= end) break;
        for (int i = 0; i < n; i++) {
            if (fd[i] >= 0 || now < next[i]) continue;
            next[i] = now + period;
            deadline[i] = now + timeout;
            if (tcp) {
                fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (connect(fd[i], (struct sockaddr *)&address, sizeof address) == 0 || errno != EINPROGRESS) {
                    close(fd[i]);
                    fd[i] = -1;
                    checks++;
                }
            } else {
                pid[i] = fork();
                if (pid[i] == 0) {
                    execl("/bin/sh", "sh", "-c", "true", (char *)NULL);
                    _exit(127);
                }
                fd[i] = (int)syscall(SYS_pidfd_open, pid[i], 0);
            }
        }
        int count = 0;
        long long wake = end;
        for (int i = 0; i < n; i++) {
            if (fd[i] >= 0) {
                fds[count] = (struct pollfd){.fd = fd[i], .events = tcp ? POLLOUT : POLLIN};
                slot[count++] = i;
                if (deadline[i] < wake) wake = deadline[i];
            } else if (next[i] < wake) {
                wake = next[i];
            }
        }
        long long wait = wake - now_ms();
        poll(fds, (nfds_t)count, wait < 0 ? 0 : (int)wait);
        now = now_ms();
        for (int k = 0; k < count; k++) {
            int i = slot[k];
            if (!fds[k].revents && now < deadline[i]) continue;
            if (tcp) {
                int error = 0;
                socklen_t length = sizeof error;
                getsockopt(fd[i], SOL_SOCKET, SO_ERROR, &error, &length);
            } else {
                if (!fds[k].revents) kill(pid[i], SIGKILL);
                waitpid(pid[i], NULL, 0);
            }
            close(fd[i]);
            fd[i] = -1;
            checks++;
        }
    }
    double cpu = cpu_us(RUSAGE_SELF) - cpu0, child = cpu_us(RUSAGE_CHILDREN) - child0;
    printf("checks=%ld seconds=%.3f cpu_us_per_check=%.2f child_cpu_us_per_check=%.2f\n", checks, (double)(now_ms() - start) / 1e3,
           checks ? cpu / (double)checks : -1.0, checks ? child / (double)checks : -1.0);
    return 0;
}
