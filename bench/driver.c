/*
 * Plays supervisord's side of the event listener protocol over pipes, as fast
 * as the listener answers, and reports events per second and the listener's
 * memory. One event in ten is for the followed program (`start`), alternating
 * RUNNING and EXITED; the rest are for another program.
 *
 * usage: driver EVENTS COMMAND [ARGS...]
 * FOLLOWED_EVERY=N in the environment changes the one in ten (0: none).
 * prints: events=N seconds=S rate=R cpu_us_per_event=U rss_kb_idle=I rss_kb_at_1000=A rss_kb_end=B hwm_kb_end=C anon_kb_end=D
 * (cpu: the listener's own user+system time, without the driver's or the pipe's wake-ups)
 *
 * Latency mode: EVENT_RATE=R sends the events on a fixed schedule, R per
 * second, rather than back to back, and adds each event's round trip (write
 * to answer read) as latency_us_p50=, latency_us_p99= and latency_us_max=.
 * SIDECAR=COMMAND runs `sh -c COMMAND` once the listener said READY, with
 * LISTENER_PID in its environment, waits SIDECAR_DELAY_MS (default 500) before
 * the first event, and after the last one sends its process group SIGTERM and waits for it
 * (e.g. an HTTP client loading the listener while its events are timed).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

static const char answer[] = "RESULT 2\nOKREADY\n";

static void read_exactly(int fd, size_t count) {
    char buffer[4096];
    while (count > 0) {
        ssize_t got = read(fd, buffer, count < sizeof buffer ? count : sizeof buffer);
        if (got <= 0) { fprintf(stderr, "driver: listener stopped answering\n"); exit(1); }
        count -= (size_t)got;
    }
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long status_kb(pid_t pid, const char *key) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *file = fopen(path, "r");
    long value = -1;
    if (!file) return value;
    while (fgets(line, sizeof line, file)) {
        if (strncmp(line, key, strlen(key)) == 0) value = strtol(line + strlen(key), NULL, 10);
    }
    fclose(file);
    return value;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: driver EVENTS COMMAND [ARGS...]\n"); return 2; }
    long events = strtol(argv[1], NULL, 10);
    const char *every_text = getenv("FOLLOWED_EVERY");
    long followed_every = every_text ? strtol(every_text, NULL, 10) : 10;
    int to_child[2], from_child[2];
    if (pipe(to_child) || pipe(from_child)) { perror("pipe"); return 1; }
    signal(SIGPIPE, SIG_IGN);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        close(to_child[1]);
        close(from_child[0]);
        execvp(argv[2], argv + 2);
        perror("exec");
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    read_exactly(from_child[0], 6); /* READY\n */
    long rss_idle = status_kb(pid, "VmRSS:");

    const char *rate_text = getenv("EVENT_RATE");
    long long period = rate_text ? (long long)(1e9 / strtod(rate_text, NULL)) : 0;
    long long *latencies = period ? calloc((size_t)events, sizeof *latencies) : NULL;
    if (period && !latencies) { perror("calloc"); return 1; }
    const char *sidecar_command = getenv("SIDECAR");
    pid_t sidecar = 0;
    if (sidecar_command && *sidecar_command) {
        char pid_text[32];
        snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
        setenv("LISTENER_PID", pid_text, 1);
        sidecar = fork();
        if (sidecar == 0) {
            setpgid(0, 0); /* its own group: SIGTERM reaches the command, not only sh */
            close(to_child[1]);
            close(from_child[0]);
            execl("/bin/sh", "sh", "-c", sidecar_command, (char *)NULL);
            _exit(127);
        }
        const char *delay = getenv("SIDECAR_DELAY_MS");
        usleep((useconds_t)(delay ? strtol(delay, NULL, 10) : 500) * 1000);
    }
    long long next = now_ns();

    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long rss_at_1000 = -1;
    char event[512], payload[256];
    for (long serial = 1; serial <= events; serial++) {
        const char *name;
        if (followed_every > 0 && serial % followed_every == 0) {
            int exited = (serial / followed_every) % 2;
            name = exited ? "PROCESS_STATE_EXITED" : "PROCESS_STATE_RUNNING";
            if (exited) snprintf(payload, sizeof payload, "processname:start groupname:start from_state:RUNNING expected:1 pid:%ld", serial);
            else snprintf(payload, sizeof payload, "processname:start groupname:start from_state:EXITED pid:%ld", serial);
        } else {
            name = "PROCESS_STATE_RUNNING";
            snprintf(payload, sizeof payload, "processname:other groupname:other from_state:STARTING pid:%ld", serial);
        }
        int length = snprintf(event, sizeof event,
            "ver:3.0 server:supervisor serial:%ld pool:readiness_listener poolserial:%ld eventname:%s len:%zu\n%s",
            serial, serial, name, strlen(payload), payload);
        if (period) {
            next += period;
            struct timespec at = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {}
        }
        long long sent = period ? now_ns() : 0;
        if (write(to_child[1], event, (size_t)length) != length) { perror("write"); return 1; }
        read_exactly(from_child[0], sizeof answer - 1);
        if (period) latencies[serial - 1] = now_ns() - sent;
        if (serial == 1000) rss_at_1000 = status_kb(pid, "VmRSS:");
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long rss_end = status_kb(pid, "VmRSS:");
    long hwm_end = status_kb(pid, "VmHWM:");
    long anon_end = status_kb(pid, "RssAnon:");
    if (sidecar > 0) {
        setpgid(sidecar, sidecar); /* in case the child has not run yet */
        kill(-sidecar, SIGTERM);
        waitpid(sidecar, NULL, 0);
    }
    close(to_child[1]);
    int status;
    struct rusage usage;
    wait4(pid, &status, 0, &usage);
    double cpu = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("events=%ld seconds=%.3f rate=%.0f cpu_us_per_event=%.2f rss_kb_idle=%ld rss_kb_at_1000=%ld rss_kb_end=%ld hwm_kb_end=%ld anon_kb_end=%ld\n",
           events, seconds, (double)events / seconds, cpu / (double)events, rss_idle, rss_at_1000, rss_end, hwm_end, anon_end);
    if (period) {
        qsort(latencies, (size_t)events, sizeof *latencies, compare);
        printf("latency_us_p50=%.1f latency_us_p99=%.1f latency_us_max=%.1f\n", (double)latencies[events / 2] / 1e3,
               (double)latencies[(long)((double)events * 0.99)] / 1e3, (double)latencies[events - 1] / 1e3);
    }
    return 0;
}
