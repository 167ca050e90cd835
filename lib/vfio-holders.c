/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fileio.h"
#include "util/strbuf.h"
#include "vfio-holders.h"

static bool is_pid(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

/* QEMU's -name: "guest=vm1,debug-threads=on" or "vm1". */
static void guest_name(int pfd, char *buf, size_t size)
{
        _cleanup_free_ char *cmdline = NULL;
        size_t len;

        buf[0] = '\0';
        if (read_full_file(pfd, "cmdline", 64 * 1024, &cmdline, &len) < 0)
                return;
        for (size_t i = 0; i < len;) {
                const char *arg = cmdline + i;
                size_t alen = strnlen(arg, len - i);

                if (streq(arg, "-name") && i + alen + 1 < len) {
                        const char *v = arg + alen + 1, *g = startswith(v, "guest=");
                        size_t n;

                        if (g)
                                v = g;
                        n = strcspn(v, ",");
                        if (n >= size)
                                n = size - 1;
                        memcpy(buf, v, n);
                        buf[n] = '\0';
                        return;
                }
                i += alen + 1;
        }
}

/* Process names are chosen by the process: keep printable ASCII only (they end up in D-Bus
 * strings, which must be UTF-8, and in terminals). */
static void sanitize(char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
                        *s = '?';
}

static int compare_pid(const void *a, const void *b)
{
        pid_t x = ((const struct mdp_vfio_holder *)a)->pid, y = ((const struct mdp_vfio_holder *)b)->pid;
        return x < y ? -1 : x > y;
}

int mdp_vfio_holders_find(struct mdp_ctx *ctx, const char *const *nodes, size_t n_nodes,
                          struct mdp_vfio_holder **ret, size_t *ret_n)
{
        _cleanup_free_ struct mdp_vfio_holder *list = NULL;
        _cleanup_closedir_ DIR *proc = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        int pfd;

        pfd = mdp_ctx_base_fd(ctx, MDP_PATH_PROC);
        if (pfd < 0)
                return pfd == -ENOMEM ? pfd : -ENOENT;
        {
                int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return -ENOENT;
                proc = fdopendir(fd);
                if (!proc) {
                        close(fd);
                        return -ENOMEM;
                }
        }
        while ((de = readdir(proc))) {
                _cleanup_closedir_ DIR *fds = NULL;
                _cleanup_close_ int piddir = -1;
                struct dirent *fe;
                int fdfd;

                if (!is_pid(de->d_name))
                        continue;
                piddir = openat(dirfd(proc), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (piddir < 0)
                        continue;
                fdfd = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fdfd < 0)
                        continue;
                fds = fdopendir(fdfd);
                if (!fds) {
                        close(fdfd);
                        continue;
                }
                while ((fe = readdir(fds))) {
                        char target[256];
                        ssize_t l;

                        if (!is_pid(fe->d_name))
                                continue;
                        l = readlinkat(dirfd(fds), fe->d_name, target, sizeof(target) - 1);
                        if (l <= 0)
                                continue;
                        target[l] = '\0';
                        for (size_t k = 0; k < n_nodes; k++) {
                                struct mdp_vfio_holder *h;

                                if (!streq(target, nodes[k]))
                                        continue;
                                if (n == cap) {
                                        size_t ncap = cap ? cap * 2 : 4;
                                        struct mdp_vfio_holder *nl = realloc(list, ncap * sizeof(*nl));
                                        if (!nl)
                                                return -ENOMEM;
                                        list = nl;
                                        cap = ncap;
                                }
                                h = &list[n++];
                                *h = (struct mdp_vfio_holder){.pid = (pid_t)atol(de->d_name)};
                                if (read_attr(piddir, "comm", h->comm, sizeof(h->comm)) < 0)
                                        h->comm[0] = '\0';
                                guest_name(piddir, h->guest, sizeof(h->guest));
                                sanitize(h->comm);
                                sanitize(h->guest);
                                snprintf(h->node, sizeof(h->node), "%s", nodes[k]);
                                goto next_process; /* one entry per process is enough */
                        }
                }
        next_process:;
        }
        if (n > 1)
                qsort(list, n, sizeof(*list), compare_pid);
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

char *mdp_vfio_holders_describe(const struct mdp_vfio_holder *h, size_t n)
{
        struct strbuf sb = {0};

        for (size_t i = 0; i < n; i++) {
                if (i)
                        strbuf_append(&sb, "; ");
                strbuf_printf(&sb, "pid %ld", (long)h[i].pid);
                if (h[i].comm[0] || h[i].guest[0]) {
                        strbuf_printf(&sb, " (%s", h[i].comm[0] ? h[i].comm : "?");
                        if (h[i].guest[0])
                                strbuf_printf(&sb, ", guest %s", h[i].guest);
                        strbuf_append(&sb, ")");
                }
                strbuf_printf(&sb, " holds %s", h[i].node);
        }
        if (n == 0)
                strbuf_append(&sb, "");
        return strbuf_steal(&sb);
}
