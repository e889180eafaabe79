/*
 * The listener floor: frames each event and answers OK, doing nothing else.
 * What any listener costs at the least over the same pipes.
 *
 * usage: floor_listener [STATUS_PATH]
 * With STATUS_PATH, it also does the least a listener that records the
 * followed program (`start`) must: for each of its events, replace the file
 * atomically (create a temporary file, write, close, rename; no fsync, as on
 * a tmpfs). What recording costs the kernel, whoever does it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void replace(const char *path, const char *temporary, const char *bytes, size_t count) {
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, bytes, count) != (ssize_t)count || close(fd) != 0 || rename(temporary, path) != 0) exit(3);
}

int main(int argc, char **argv) {
    static char buffer[1 << 16];
    const char *path = argc > 1 ? argv[1] : NULL;
    char temporary[4096];
    if (path) snprintf(temporary, sizeof temporary, "%s.tmp", path);
    size_t have = 0;
    if (write(1, "READY\n", 6) != 6) return 1;
    for (;;) {
        ssize_t got = read(0, buffer + have, sizeof buffer - have);
        if (got <= 0) return 0;
        have += (size_t)got;
        for (;;) {
            char *newline = memchr(buffer, '\n', have);
            if (!newline) break;
            char *length = strstr(buffer, "len:");
            if (!length || length > newline) return 2;
            size_t payload = strtoul(length + 4, NULL, 10);
            size_t total = (size_t)(newline - buffer) + 1 + payload;
            if (have < total) break;
            if (path && strncmp(newline + 1, "processname:start ", 18) == 0) replace(path, temporary, newline + 1, payload);
            memmove(buffer, buffer + total, have - total);
            have -= total;
            if (write(1, "RESULT 2\nOKREADY\n", 17) != 17) return 1;
        }
    }
}
