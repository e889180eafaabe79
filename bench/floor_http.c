/*
 * The httpGet floor: the least a server answering kubelet's probe can do.
 * Blocking, one connection at a time: accept, read until the end of the
 * request head, send a fixed 200 with `Connection: close`, close. No
 * parsing, no state, no poll. What any HTTP answer costs over loopback.
 *
 * usage: floor_http HOST PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: floor_http HOST PORT\n"); return 2; }
    static const char response[] =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 6\r\nConnection: close\r\n\r\nready\n";
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) return 2;
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 64) != 0) {
        perror("floor_http");
        return 1;
    }
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        char buffer[8192];
        size_t have = 0;
        while (have < sizeof buffer - 1) {
            ssize_t count = read(fd, buffer + have, sizeof buffer - 1 - have);
            if (count <= 0) break;
            have += (size_t)count;
            buffer[have] = 0;
            if (strstr(buffer, "\r\n\r\n")) {
                if (write(fd, response, sizeof response - 1) < 0) break;
                break;
            }
        }
        close(fd);
    }
}
