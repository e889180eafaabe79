/* The probe's ready path in C, with the probe's system calls and linked as
 * the probe is (static, musl): the status file read whole and its keys
 * found, the recorded supervisord's /proc/PID/stat read and its start time
 * compared, the listener's lock tried, the file's lstat, the hook looked
 * for, one line written. What a probe making these checks costs at the
 * least; the no-op floors are what any exec costs.
 * usage: floor_probe --status-file PATH --hook PATH */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file at `path`, read as the probe reads it, NUL-terminated; its length or -1. */
static long read_file(const char *path, char *buffer, long size) {
    int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) return -1;
    struct stat info;
    long count = fstat(fd, &info) == 0 ? read(fd, buffer, size - 1) : -1;
    close(fd);
    if (count >= 0) buffer[count] = 0;
    return count;
}

/* The value after "\nKEY=" in `text`, up to the end of its line. */
static const char *value(const char *text, const char *key) {
    const char *found = strstr(text, key);
    return found ? found + strlen(key) : 0;
}

static unsigned long number(const char *text) {
    unsigned long n = 0;
    while (text && *text >= '0' && *text <= '9') n = n * 10 + (unsigned long)(*text++ - '0');
    return n;
}

int main(int argc, char **argv) {
    if (argc != 5) return 2;
    const char *status = argv[2], *hook = argv[4];
    static char record[8192], stat_line[1024], path[4096];
    if (read_file(status, record, sizeof record) <= 0) return 1;
    if (!value(record, "\nstate=EXITED\n") || !value(record, "\nexpected=1\n") || !value(record, "\nend=1")) return 1;
    const char *pid = value(record, "\nsupervisord_pid="), *ticks = value(record, "\nsupervisord_start_ticks=");
    if (!pid || !ticks) return 1;
    /* /proc/PID/stat: the start time is field 22, the 20th after the ") ". */
    size_t length = strcspn(pid, "\n");
    memcpy(path, "/proc/", 6);
    memcpy(path + 6, pid, length);
    memcpy(path + 6 + length, "/stat", 6);
    if (read_file(path, stat_line, sizeof stat_line) <= 0) return 1;
    const char *field = strrchr(stat_line, ')');
    for (int spaces = 0; field && spaces < 20; field++) if (*field == ' ') spaces++;
    if (!field || number(field) != number(ticks)) return 1;
    /* The listener holds status.lock while it lives: a shared lock cannot be had. */
    length = strlen(status);
    memcpy(path, status, length);
    memcpy(path + length, ".lock", 6);
    int lock = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (lock < 0) return 109;
    int held = flock(lock, LOCK_SH | LOCK_NB) != 0;
    close(lock);
    if (!held) return 109;
    struct stat info;
    if (lstat(status, &info) != 0 || lstat(hook, &info) == 0) return 1;
    static const char line[] = "ready: 0 READY: program start exited with an expected status; no hook\n";
    return write(1, line, sizeof line - 1) == sizeof line - 1 ? 0 : 1;
}
