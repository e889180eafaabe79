/*
 * What the services' tcp: checks connect to, on 127.0.0.1, a port of the
 * kernel's choosing, printed on stdout as `port=N`:
 *   tcp_target accept  accepts every connection and closes it (a service up)
 *   tcp_target hang    listens with a backlog of 0 and never accepts; its
 *                      queue is filled at once, so later SYNs are dropped and
 *                      connects never complete (a service wedged, or a
 *                      firewall that drops): each check runs to its timeout.
 * Runs until killed. (A port nobody listens on, refused, needs no program.)
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int hang = argc > 1 && strcmp(argv[1], "hang") == 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) || listen(fd, hang ? 0 : 4096) ||
        getsockname(fd, (struct sockaddr *)&address, &length)) {
        perror("tcp_target");
        return 1;
    }
    if (hang) {
        /* Backlog 0 admits one connection: fill it (two, to be sure). */
        for (int i = 0; i < 2; i++) {
            int client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            connect(client, (struct sockaddr *)&address, sizeof address);
            usleep(50000);
        }
    }
    printf("port=%d\n", ntohs(address.sin_port));
    fflush(stdout);
    if (hang) for (;;) pause();
    for (;;) {
        int client = accept(fd, NULL, NULL);
        if (client >= 0) close(client);
    }
}
