/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sim-client.h"
#include "sim-proto.h"

static long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int sim_client_call(const char *dir, int timeout_ms, char *const argv[], char **ret_output)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char *req = NULL, *rep = NULL, *text;
        size_t len = 0;
        ssize_t n;
        int fd = -1, r;

        if (!dir || !argv || !argv[0])
                return -EINVAL;
        if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/" SIM_SUBDIR "/" SIM_CTL_SOCKET, dir) >=
            sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        for (int i = 0; argv[i]; i++)
                len += strlen(argv[i]) + 1;
        if (len > SIM_CTL_MAX)
                return -E2BIG;
        req = malloc(len);
        rep = malloc(SIM_CTL_MAX + 1);
        if (!req || !rep) {
                r = -ENOMEM;
                goto out;
        }
        len = 0;
        for (int i = 0; argv[i]; i++) {
                size_t l = strlen(argv[i]) + 1;
                memcpy(req + len, argv[i], l);
                len += l;
        }
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = -errno;
                goto out;
        }
        if (send(fd, req, len - 1, MSG_NOSIGNAL) < 0) {
                r = -errno;
                goto out;
        }
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int k = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        goto out;
                }
                if (k == 0) {
                        r = -ETIMEDOUT;
                        goto out;
                }
                break;
        }
        n = recv(fd, rep, SIM_CTL_MAX, 0);
        if (n <= 0) {
                r = n < 0 ? -errno : -EPIPE; /* the sim went away without answering */
                goto out;
        }
        rep[n] = '\0';
        text = strchr(rep, '\n');
        text = text ? text + 1 : rep + n;
        if (strncmp(rep, "OK", 2) == 0) {
                r = 0;
        } else {
                int e = 0;
                /* "ERR <errno> <NAME> <message>\n" */
                if (sscanf(rep, "ERR %d", &e) != 1 || e <= 0)
                        e = EIO;
                r = -e;
                text = rep;
                if (strncmp(text, "ERR ", 4) == 0) {
                        text = strchr(text + 4, ' ');
                        text = text ? text + 1 : rep;
                }
        }
        if (ret_output) {
                *ret_output = strdup(text);
                if (!*ret_output)
                        r = -ENOMEM;
        }
out:
        if (fd >= 0)
                close(fd);
        free(req);
        free(rep);
        return r;
}

int sim_client_callf(const char *dir, int timeout_ms, char **ret_output, const char *fmt, ...)
{
        char *line = NULL, *argv[64], *save = NULL, *tok;
        va_list ap;
        int n = 0, r;

        va_start(ap, fmt);
        r = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        for (tok = strtok_r(line, " ", &save); tok && n < 63; tok = strtok_r(NULL, " ", &save))
                argv[n++] = tok;
        argv[n] = NULL;
        r = sim_client_call(dir, timeout_ms, argv, ret_output);
        free(line);
        return r;
}

int sim_client_wait_ready(const char *dir, int timeout_ms)
{
        long end = now_ms() + timeout_ms;
        char *argv[] = {"ping", NULL};

        for (;;) {
                if (sim_client_call(dir, 1000, argv, NULL) == 0)
                        return 0;
                if (now_ms() >= end)
                        return -ETIMEDOUT;
                usleep(10000);
        }
}
