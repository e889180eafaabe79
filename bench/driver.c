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
 * to answer read) as latency_us_p50=, latency_us_p99= and latency_us_max=, and
 * as scheduled_us_p50= ... from the time each event was due instead: an event
 * due while the listener was held up waits in supervisord's buffer, and only
 * the scheduled figure counts that wait.
 * LOST_EVERY=N makes every Nth event a TICK_5 whose poolserial skips one, as
 * after an overflow of supervisord's event buffer: a listener serving
 * /metrics then asks supervisord for every process (getAllProcessInfo) at
 * that TICK, so SUPERVISOR_SERVER_URL's process count shows in the latencies.
 * SIDECAR=COMMAND runs `sh -c COMMAND` once the listener said READY, with
 * LISTENER_PID in its environment, waits SIDECAR_DELAY_MS (default 500) before
 * the first event, and after the last one sends its process group SIGTERM and waits for it
 * (e.g. an HTTP client loading the listener while its events are timed).
 *
 * Services (`--service`): SERVICES=N first sends PROCESS_STATE_RUNNING for
 * svc1..svcN (group = name) with fake pids 100001.., so that the listener
 * checks them (tcp: and exec: checks need no real process), before the
 * measured events. Adds fds_idle= fds_end= (the listener's open descriptors,
 * after those events and at the end).
 * IDLE_MS=M with CHECK_PERIOD_MS=P (the listener's --check-period): then waits
 * 300 ms, and measures over M ms with no event: the listener's own CPU time
 * (/proc/PID/schedstat, ns; and utime+stime) and its reaped children's
 * (cutime+cstime), and the checks it ran: one per service every
 * CHECK_PERIOD_MS, the schedule the listener keeps while each check ends
 * within its period (the status file's passes= and failures= stop at the
 * thresholds, so they cannot count them); adds idle_wakeups= (voluntary
 * context switches: each a return from poll) checks= idle_seconds=
 * cpu_us_per_check= child_cpu_us_per_check=.
 * NOTIFY_SOCKET=PATH: datagrams to the listener's notify socket while the
 * events run, from three senders: NOTIFY_ATTRIBUTED (default 10000)
 * `READY=1\nSTATUS=n` from a child announced RUNNING, before it sends, as
 * the run of NOTIFY_SERVICE (default app, group = name; its pid also written
 * to NOTIFY_PIDFILE when set, for a fake XML-RPC server); NOTIFY_STRAY
 * (default 45000) from another child, a process of "supervisord's" that is no
 * service's run; NOTIFY_FOREIGN (default 45000) from a grandchild re-parented
 * away, not a process of supervisord's. The end is measured once all were
 * sent; adds datagrams= datagram_seconds= (the slowest sender's).
 *
 * Start order (`--start-after`, bench/start_order.sh): SCRIPT=FILE sends
 * FILE's events instead of the generated mix, one a line, `FLAGS EVENTNAME
 * PAYLOAD` (EVENTS is then ignored: one event a line). FLAGS is `-` or a
 * comma-separated list of: `m`, the event is mirrored first (the line
 * `EVENTNAME PAYLOAD` appended to STATE_LOG, which the fake supervisord reads
 * before it answers, so that it says what the events said); `a=GROUP:NAME`,
 * the event is sent only once CALL_LOG (the fake supervisord's log of calls,
 * `NS METHOD ARGUMENT` lines) shows startProcess GROUP:NAME, as supervisord
 * sends a program's STARTING only after it was asked to start it (at most
 * AWAIT_MS, default 2000, then sent anyway and counted); any other flag
 * (`t=...`) is for whoever reads the script. Adds awaits= await_timeouts=
 * await_us_max= when CALL_LOG is set.
 * EVENT_LOG=FILE: each event's `INDEX SENT_NS ANSWERED_NS` (CLOCK_MONOTONIC,
 * the write of the event and the read of its answer), written at the end.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* Sorts `count` nanosecond figures and prints NAME_us_p50=, _p99= and _max=. */
static void print_percentiles(const char *name, long long *values, long count) {
    qsort(values, (size_t)count, sizeof *values, compare);
    printf("%s_us_p50=%.1f %s_us_p99=%.1f %s_us_max=%.1f\n", name, (double)values[count / 2] / 1e3, name,
           (double)values[(long)((double)count * 0.99)] / 1e3, name, (double)values[count - 1] / 1e3);
}

/* A numeric field of /proc/PID/status (kB for the memory ones). */
static long status_field(pid_t pid, const char *key) {
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

static int count_fds(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (!dir) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) if (entry->d_name[0] != '.') count++;
    closedir(dir);
    return count;
}

/* The listener's CPU: on-CPU ns (schedstat), and utime+stime and cutime+cstime in µs. */
struct cpu_sample { double own_ns, own_us, child_us; };
static struct cpu_sample cpu_of(pid_t pid) {
    struct cpu_sample sample = {-1, -1, -1};
    char path[64], line[4096];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *file = fopen(path, "r");
    if (file) {
        unsigned long long ns;
        if (fscanf(file, "%llu", &ns) == 1) sample.own_ns = (double)ns;
        fclose(file);
    }
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    file = fopen(path, "r");
    if (!file) return sample;
    if (fgets(line, sizeof line, file)) {
        char *rest = strrchr(line, ')');
        unsigned long utime, stime;
        long cutime, cstime;
        /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime cutime cstime */
        if (rest && sscanf(rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld", &utime, &stime, &cutime, &cstime) == 4) {
            double tick = 1e6 / (double)sysconf(_SC_CLK_TCK);
            sample.own_us = (double)(utime + stime) * tick;
            sample.child_us = (double)(cutime + cstime) * tick;
        }
    }
    fclose(file);
    return sample;
}

static long long event_serial = 0;
static int to_listener = -1, from_listener = -1;

static void send_event(const char *name, const char *payload) {
    char event[512];
    event_serial++;
    int length = snprintf(event, sizeof event,
        "ver:3.0 server:supervisor serial:%lld pool:readiness_listener poolserial:%lld eventname:%s len:%zu\n%s",
        event_serial, event_serial, name, strlen(payload), payload);
    if (write(to_listener, event, (size_t)length) != length) { perror("write"); exit(1); }
    read_exactly(from_listener, sizeof answer - 1);
}

static long env_long(const char *name, long fallback) {
    const char *text = getenv(name);
    return text && *text ? strtol(text, NULL, 10) : fallback;
}

/* SCRIPT's events. */
struct scripted { char *flags, *name, *payload; };

static struct scripted *read_script(const char *path, long *count) {
    FILE *file = fopen(path, "r");
    if (!file) { perror(path); exit(1); }
    struct scripted *lines = NULL;
    long capacity = 0;
    *count = 0;
    char *line = NULL;
    size_t size = 0;
    ssize_t length;
    while ((length = getline(&line, &size, file)) > 0) {
        if (line[length - 1] == '\n') line[--length] = 0;
        if (length == 0) continue;
        char *flags = strtok(line, " "), *name = strtok(NULL, " "), *payload = strtok(NULL, "");
        if (!flags || !name) { fprintf(stderr, "driver: bad SCRIPT line %ld\n", *count + 1); exit(2); }
        if (*count == capacity) {
            capacity = capacity ? capacity * 2 : 256;
            lines = realloc(lines, (size_t)capacity * sizeof *lines);
            if (!lines) { perror("realloc"); exit(1); }
        }
        lines[*count] = (struct scripted){strdup(flags), strdup(name), strdup(payload ? payload : "")};
        (*count)++;
    }
    free(line);
    fclose(file);
    return lines;
}

/* The value of flag `key=` in a FLAGS list, copied to `value`; 0 when absent. */
static int flag_value(const char *flags, const char *key, char *value, size_t size) {
    size_t key_length = strlen(key);
    for (const char *at = flags; at && *at;) {
        const char *end = strchr(at, ',');
        size_t length = end ? (size_t)(end - at) : strlen(at);
        if (length > key_length && strncmp(at, key, key_length) == 0 && at[key_length] == '=') {
            snprintf(value, size, "%.*s", (int)(length - key_length - 1), at + key_length + 1);
            return 1;
        }
        if (length == key_length && strncmp(at, key, key_length) == 0) { if (size) value[0] = 0; return 1; }
        at = end ? end + 1 : NULL;
    }
    return 0;
}

/* CALL_LOG, read as it grows: the names startProcess was called with so far. */
static int call_log = -1;
static char call_text[1 << 16];
static size_t call_used = 0;
static char **started_names = NULL;
static long started_count = 0, started_capacity = 0;

static void read_call_log(void) {
    for (;;) {
        if (call_used == sizeof call_text) call_used = 0; /* a line that long is none of ours */
        ssize_t got = read(call_log, call_text + call_used, sizeof call_text - call_used);
        if (got <= 0) return;
        call_used += (size_t)got;
        char *start = call_text, *newline;
        while ((newline = memchr(start, '\n', (size_t)(call_text + call_used - start)))) {
            *newline = 0;
            char method[64], argument[256];
            if (sscanf(start, "%*s %63s %255s", method, argument) == 2 && strcmp(method, "startProcess") == 0) {
                if (started_count == started_capacity) {
                    started_capacity = started_capacity ? started_capacity * 2 : 64;
                    started_names = realloc(started_names, (size_t)started_capacity * sizeof *started_names);
                    if (!started_names) { perror("realloc"); exit(1); }
                }
                started_names[started_count++] = strdup(argument);
            }
            start = newline + 1;
        }
        call_used = (size_t)(call_text + call_used - start);
        memmove(call_text, start, call_used);
    }
}

/* Waits until startProcess `name` is in CALL_LOG (each call is waited for
 * once), at most `limit_ns`; whether it came. */
static int await_start(const char *name, long long limit_ns) {
    long long deadline = now_ns() + limit_ns;
    for (;;) {
        read_call_log();
        for (long i = 0; i < started_count; i++) {
            if (started_names[i] && strcmp(started_names[i], name) == 0) {
                free(started_names[i]);
                started_names[i] = NULL;
                return 1;
            }
        }
        if (now_ns() > deadline) return 0;
        usleep(100);
    }
}

/* Sends `count` datagrams to the notify socket at `path` (blocking when its queue is full). */
static void send_datagrams(const char *path, long count, int attributed) {
    /* Returns once all were sent; exits on a send error (the listener gone). */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    char message[128];
    for (long i = 0; i < count; i++) {
        int length = attributed ? snprintf(message, sizeof message, "READY=1\nSTATUS=serving %ld", i)
                                : snprintf(message, sizeof message, "READY=1\nSTATUS=not a service %ld", i);
        while (sendto(fd, message, (size_t)length, 0, (struct sockaddr *)&address, sizeof address) < 0) {
            if (errno == EINTR) continue;
            perror("sendto");
            _exit(1);
        }
    }
    close(fd);
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
    to_listener = to_child[1];
    from_listener = from_child[0];
    read_exactly(from_child[0], 6); /* READY\n */
    long rss_idle = status_field(pid, "VmRSS:");

    long services = env_long("SERVICES", 0);
    char service_payload[256];
    for (long i = 1; i <= services; i++) {
        snprintf(service_payload, sizeof service_payload, "processname:svc%ld groupname:svc%ld from_state:STARTING pid:%ld", i, i, 100000 + i);
        send_event("PROCESS_STATE_RUNNING", service_payload);
    }
    long idle_ms = env_long("IDLE_MS", 0), check_period_ms = env_long("CHECK_PERIOD_MS", 0);
    if (idle_ms > 0 && check_period_ms > 0) {
        usleep(300000);
        struct timespec t0, t1;
        struct cpu_sample c0 = cpu_of(pid);
        long wakeups0 = status_field(pid, "voluntary_ctxt_switches:");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        usleep((useconds_t)idle_ms * 1000);
        struct cpu_sample c1 = cpu_of(pid);
        long wakeups1 = status_field(pid, "voluntary_ctxt_switches:");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double idle_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        long checks = (long)(services * idle_seconds * 1000 / check_period_ms);
        double own_us = c0.own_ns >= 0 ? (c1.own_ns - c0.own_ns) / 1e3 : c1.own_us - c0.own_us;
        printf("idle_wakeups=%ld ", wakeups1 - wakeups0);
        printf("checks=%ld idle_seconds=%.3f idle_cpu_us=%.0f idle_cpu_us_stat=%.0f idle_child_cpu_us=%.0f cpu_us_per_check=%.2f cpu_us_per_check_stat=%.2f child_cpu_us_per_check=%.2f\n",
               checks, idle_seconds, own_us, c1.own_us - c0.own_us, c1.child_us - c0.child_us,
               checks > 0 ? own_us / (double)checks : -1.0, checks > 0 ? (c1.own_us - c0.own_us) / (double)checks : -1.0,
               checks > 0 ? (c1.child_us - c0.child_us) / (double)checks : -1.0);
    }
    int fds_idle = count_fds(pid);

    /* Datagram senders, released together once the attributed one's run was announced. */
    const char *notify_socket = getenv("NOTIFY_SOCKET");
    pid_t senders[3] = {0, 0, 0};
    int done_pipe[2] = {-1, -1};
    long datagrams = 0;
    if (notify_socket && *notify_socket) {
        long attributed = env_long("NOTIFY_ATTRIBUTED", 10000), stray = env_long("NOTIFY_STRAY", 45000), foreign = env_long("NOTIFY_FOREIGN", 45000);
        datagrams = attributed + stray + foreign;
        int go[2];
        if (pipe(go) || pipe(done_pipe)) { perror("pipe"); return 1; }
        long counts[3] = {attributed, stray, foreign};
        for (int which = 0; which < 3; which++) {
            pid_t child = fork();
            if (child == 0) {
                close(to_child[1]);
                close(from_child[0]);
                close(go[1]);
                close(done_pipe[0]);
                if (which == 2) {
                    /* Re-parented away (to init or a subreaper): not supervisord's. */
                    pid_t middle = getpid();
                    if (fork() != 0) _exit(0);
                    while (getppid() == middle) usleep(1000);
                }
                char byte;
                if (read(go[0], &byte, 1) < 0) _exit(1);
                long long began = now_ns();
                send_datagrams(notify_socket, counts[which], which == 0);
                double took = (double)(now_ns() - began) / 1e9;
                if (write(done_pipe[1], &took, sizeof took) != sizeof took) _exit(1);
                _exit(0);
            }
            senders[which] = child;
        }
        close(go[0]);
        close(done_pipe[1]);
        waitpid(senders[2], NULL, 0); /* the middle process; its child holds done_pipe */
        senders[2] = 0;
        const char *pidfile = getenv("NOTIFY_PIDFILE");
        if (pidfile) {
            FILE *file = fopen(pidfile, "w");
            if (file) { fprintf(file, "%d\n", (int)senders[0]); fclose(file); }
        }
        const char *service = getenv("NOTIFY_SERVICE") ? getenv("NOTIFY_SERVICE") : "app";
        snprintf(service_payload, sizeof service_payload, "processname:%s groupname:%s from_state:STARTING pid:%d", service, service, (int)senders[0]);
        send_event("PROCESS_STATE_RUNNING", service_payload);
        close(go[1]); /* end of file: all go */
    }

    const char *rate_text = getenv("EVENT_RATE");
    long long period = rate_text ? (long long)(1e9 / strtod(rate_text, NULL)) : 0;
    long long *latencies = period ? calloc((size_t)events, sizeof *latencies) : NULL;
    long long *waits = period ? calloc((size_t)events, sizeof *waits) : NULL;
    if (period && (!latencies || !waits)) { perror("calloc"); return 1; }
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
    const char *script_path = getenv("SCRIPT");
    struct scripted *script = NULL;
    if (script_path && *script_path) {
        long lines;
        script = read_script(script_path, &lines);
        if (lines > events) {
            /* The arrays below are sized for the events. */
            long long *more = period ? realloc(latencies, (size_t)lines * sizeof *latencies) : NULL;
            long long *more_waits = period ? realloc(waits, (size_t)lines * sizeof *waits) : NULL;
            if (period && (!more || !more_waits)) { perror("realloc"); return 1; }
            latencies = more;
            waits = more_waits;
        }
        events = lines;
    }
    int state_log = -1;
    const char *state_path = getenv("STATE_LOG");
    if (script && state_path && *state_path) {
        state_log = open(state_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (state_log < 0) { perror(state_path); return 1; }
    }
    const char *call_path = getenv("CALL_LOG");
    if (script && call_path && *call_path) {
        call_log = open(call_path, O_RDONLY | O_CLOEXEC);
        if (call_log < 0) { perror(call_path); return 1; }
    }
    long long await_limit = env_long("AWAIT_MS", 2000) * 1000000LL, await_max = 0;
    long awaits = 0, await_timeouts = 0;
    const char *event_log_path = getenv("EVENT_LOG");
    long long *sent_at = NULL, *answered_at = NULL;
    if (event_log_path && *event_log_path) {
        sent_at = calloc((size_t)(events > 0 ? events : 1), sizeof *sent_at);
        answered_at = calloc((size_t)(events > 0 ? events : 1), sizeof *answered_at);
        if (!sent_at || !answered_at) { perror("calloc"); return 1; }
    }
    long long next = now_ns();

    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long rss_at_1000 = -1;
    char event[512], payload[256];
    long lost_every = env_long("LOST_EVERY", 0);
    for (long serial = 1; serial <= events; serial++) {
        const char *name;
        const struct scripted *line = script ? &script[serial - 1] : NULL;
        if (line) {
            name = line->name;
            snprintf(payload, sizeof payload, "%s", line->payload);
        } else if (lost_every > 0 && serial % lost_every == 0) {
            event_serial++; /* the lost one */
            name = "TICK_5";
            snprintf(payload, sizeof payload, "when:%ld", 1700000000L + serial);
        } else if (followed_every > 0 && serial % followed_every == 0) {
            int exited = (serial / followed_every) % 2;
            name = exited ? "PROCESS_STATE_EXITED" : "PROCESS_STATE_RUNNING";
            if (exited) snprintf(payload, sizeof payload, "processname:start groupname:start from_state:RUNNING expected:1 pid:%ld", serial);
            else snprintf(payload, sizeof payload, "processname:start groupname:start from_state:EXITED pid:%ld", serial);
        } else {
            name = "PROCESS_STATE_RUNNING";
            snprintf(payload, sizeof payload, "processname:other groupname:other from_state:STARTING pid:%ld", serial);
        }
        event_serial++;
        int length = snprintf(event, sizeof event,
            "ver:3.0 server:supervisor serial:%lld pool:readiness_listener poolserial:%lld eventname:%s len:%zu\n%s",
            event_serial, event_serial, name, strlen(payload), payload);
        if (period) {
            next += period;
            struct timespec at = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {}
        }
        char value[256];
        if (line && call_log >= 0 && flag_value(line->flags, "a", value, sizeof value)) {
            long long began = now_ns();
            awaits++;
            if (!await_start(value, await_limit)) {
                await_timeouts++;
                fprintf(stderr, "driver: no startProcess %s within %lld ms; event %ld sent anyway\n", value, await_limit / 1000000, serial);
            }
            if (now_ns() - began > await_max) await_max = now_ns() - began;
        }
        if (line && state_log >= 0 && flag_value(line->flags, "m", value, sizeof value)) {
            char mirror[600];
            int mirror_length = snprintf(mirror, sizeof mirror, "%s %s\n", name, payload);
            if (write(state_log, mirror, (size_t)mirror_length) != mirror_length) { perror("write STATE_LOG"); return 1; }
        }
        long long sent = period || sent_at ? now_ns() : 0;
        if (write(to_child[1], event, (size_t)length) != length) { perror("write"); return 1; }
        read_exactly(from_child[0], sizeof answer - 1);
        if (period || sent_at) {
            long long answered = now_ns();
            if (period) {
                latencies[serial - 1] = answered - sent;
                waits[serial - 1] = answered - next;
            }
            if (sent_at) {
                sent_at[serial - 1] = sent;
                answered_at[serial - 1] = answered;
            }
        }
        if (serial == 1000) rss_at_1000 = status_field(pid, "VmRSS:");
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double datagram_seconds = 0;
    if (datagrams > 0) {
        for (int which = 0; which < 2; which++) waitpid(senders[which], NULL, 0);
        /* Each sender's own sending time; the longest is the flood's. */
        double took;
        while (read(done_pipe[0], &took, sizeof took) == sizeof took) if (took > datagram_seconds) datagram_seconds = took;
        /* Events after the datagrams too: held messages expire, throttled lines are due. */
        usleep(200000);
        for (int i = 0; i < 1000; i++)
            send_event("PROCESS_STATE_RUNNING", "processname:other groupname:other from_state:STARTING pid:7");
    }
    int fds_end = count_fds(pid);
    long rss_end = status_field(pid, "VmRSS:");
    long hwm_end = status_field(pid, "VmHWM:");
    long anon_end = status_field(pid, "RssAnon:");
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
    if (services > 0 || datagrams > 0)
        printf("services=%ld fds_idle=%d fds_end=%d datagrams=%ld datagram_seconds=%.3f\n", services, fds_idle, fds_end, datagrams, datagram_seconds);
    if (call_log >= 0)
        printf("awaits=%ld await_timeouts=%ld await_us_max=%.1f\n", awaits, await_timeouts, (double)await_max / 1e3);
    if (sent_at) {
        FILE *file = fopen(event_log_path, "w");
        if (!file) { perror(event_log_path); return 1; }
        for (long i = 0; i < events; i++) fprintf(file, "%ld %lld %lld\n", i, sent_at[i], answered_at[i]);
        fclose(file);
    }
    if (period) {
        print_percentiles("latency", latencies, events);
        print_percentiles("scheduled", waits, events);
    }
    return 0;
}
