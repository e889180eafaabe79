/*
 * One long-lived process making kubelet's httpGet probe over and over, as
 * kubelet does (it never starts a process per probe): for each probe a new
 * TCP connection, `GET PATH HTTP/1.1` with the headers kubelet's prober sends
 * (Host, User-Agent kube-probe, Accept, Connection: close: its transport
 * disables keep-alives), the whole response read to end of stream, close.
 *
 * usage: http_client [-n PROBES] [-r PER_SECOND] [-p SERVER_PID] [-w WAIT_MS] HOST PORT [PATH]
 *   -n  probes to make (default 20000; 0: until SIGTERM or SIGINT)
 *   -r  pace the probes on a fixed schedule (default: back to back)
 *   -p  the server's pid: its CPU (/proc/PID/schedstat, ns) and memory
 *       (/proc/PID/status) are read before and after
 *   -w  wait up to WAIT_MS for the port to accept (the server starting)
 * prints one line of key=value: probes, ok (2xx), other (any other status),
 * errors (connect, send or read failed), seconds, wall_us_per_probe (mean),
 * wall_us_p50, wall_us_p99, client_cpu_us_per_probe (CLOCK_PROCESS_CPUTIME_ID),
 * server_cpu_us_per_probe, node_cpu_us_per_probe (the two added), status
 * (the last status line's code), server_rss_kb, server_hwm_kb.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;
static void stop(int signal) { (void)signal; stopping = 1; }

static long long now_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The server's time on a CPU, in ns (the first field of /proc/PID/schedstat). */
static long long schedstat_ns(int pid) {
    char path[64];
    long long value = -1;
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    if (fscanf(file, "%lld", &value) != 1) value = -1;
    fclose(file);
    return value;
}

static long status_kb(int pid, const char *key) {
    char path[64], line[256];
    long value = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    while (fgets(line, sizeof line, file)) {
        if (strncmp(line, key, strlen(key)) == 0) value = strtol(line + strlen(key), NULL, 10);
    }
    fclose(file);
    return value;
}

static int compare(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* One probe: the HTTP status, or -1 when the connection failed. */
static int probe(const struct sockaddr_in *address, const char *request, size_t length) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (const struct sockaddr *)address, sizeof *address) != 0) { close(fd); return -1; }
    size_t sent = 0;
    while (sent < length) {
        ssize_t count = send(fd, request + sent, length - sent, MSG_NOSIGNAL);
        if (count <= 0) { close(fd); return -1; }
        sent += (size_t)count;
    }
    char response[4096];
    size_t have = 0;
    for (;;) {
        ssize_t count = read(fd, response + have, have < sizeof response - 1 ? sizeof response - 1 - have : 0);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) { close(fd); return -1; }
        if (count == 0) break;
        have += (size_t)count;
        if (have == sizeof response - 1) have = 32; /* keep the status line, discard the rest */
    }
    close(fd);
    response[have] = 0;
    int status;
    if (have < 12 || strncmp(response, "HTTP/1.", 7) != 0 || sscanf(response + 9, "%3d", &status) != 1) return -1;
    return status;
}

int main(int argc, char **argv) {
    long probes = 20000, wait_ms = 0;
    double rate = 0;
    int server = 0, option;
    while ((option = getopt(argc, argv, "n:r:p:w:")) != -1) {
        switch (option) {
        case 'n': probes = strtol(optarg, NULL, 10); break;
        case 'r': rate = strtod(optarg, NULL); break;
        case 'p': server = (int)strtol(optarg, NULL, 10); break;
        case 'w': wait_ms = strtol(optarg, NULL, 10); break;
        default: goto usage;
        }
    }
    if (argc - optind < 2 || argc - optind > 3) {
    usage:
        fprintf(stderr, "usage: http_client [-n PROBES] [-r PER_SECOND] [-p SERVER_PID] [-w WAIT_MS] HOST PORT [PATH]\n");
        return 2;
    }
    const char *host = argv[optind], *port = argv[optind + 1];
    const char *path = argc - optind == 3 ? argv[optind + 2] : "/readyz";
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) { fprintf(stderr, "http_client: %s is not an IPv4 address\n", host); return 2; }
    char request[512];
    int length = snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n", path, host, port);

    struct sigaction action = {.sa_handler = stop};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Until the server answers once (not counted). */
    long long waited_until = now_ns(CLOCK_MONOTONIC) + wait_ms * 1000000LL;
    while (probe(&address, request, (size_t)length) < 0) {
        if (now_ns(CLOCK_MONOTONIC) >= waited_until || stopping) { fprintf(stderr, "http_client: %s:%s does not answer\n", host, port); return 1; }
        usleep(2000);
    }

    size_t capacity = probes > 0 ? (size_t)probes : 1 << 16;
    long long *walls = malloc(capacity * sizeof *walls);
    if (!walls) return 1;
    long done = 0, ok = 0, other = 0, errors = 0;
    int last_status = 0;
    long long server_before = server ? schedstat_ns(server) : -1;
    long long cpu_before = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    long long start = now_ns(CLOCK_MONOTONIC), next = start;
    long long period = rate > 0 ? (long long)(1e9 / rate) : 0;
    while (!stopping && (probes == 0 || done < probes)) {
        if (period) {
            next += period;
            struct timespec at = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR && !stopping) {}
            if (stopping) break;
        }
        long long begin = now_ns(CLOCK_MONOTONIC);
        int status = probe(&address, request, (size_t)length);
        long long wall = now_ns(CLOCK_MONOTONIC) - begin;
        if (status < 0) errors++;
        else if (status >= 200 && status < 300) ok++;
        else other++;
        if (status > 0) last_status = status;
        if ((size_t)done == capacity) {
            capacity *= 2;
            long long *grown = realloc(walls, capacity * sizeof *walls);
            if (!grown) return 1;
            walls = grown;
        }
        walls[done++] = wall;
    }
    long long end = now_ns(CLOCK_MONOTONIC);
    long long cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_before;
    long long server_cpu = server ? schedstat_ns(server) - server_before : 0;
    if (done == 0) { fprintf(stderr, "http_client: no probe made\n"); return 1; }
    qsort(walls, (size_t)done, sizeof *walls, compare);
    long long total = 0;
    for (long i = 0; i < done; i++) total += walls[i];
    double n = (double)done;
    printf("probes=%ld ok=%ld other=%ld errors=%ld status=%d seconds=%.3f wall_us_per_probe=%.2f wall_us_p50=%.2f wall_us_p99=%.2f "
           "client_cpu_us_per_probe=%.2f server_cpu_us_per_probe=%.2f node_cpu_us_per_probe=%.2f server_rss_kb=%ld server_hwm_kb=%ld\n",
        done, ok, other, errors, last_status, (double)(end - start) / 1e9, (double)total / n / 1e3,
        (double)walls[done / 2] / 1e3, (double)walls[(long)(n * 0.99)] / 1e3,
        (double)cpu / n / 1e3, server ? (double)server_cpu / n / 1e3 : 0.0, (double)(cpu + (server ? server_cpu : 0)) / n / 1e3,
        server ? status_kb(server, "VmRSS:") : -1, server ? status_kb(server, "VmHWM:") : -1);
    return 0;
}
