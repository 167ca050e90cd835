/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one place that builds host paths: MDEVPASID_ROOT + base + relative part. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctx-private.h"
#include "mdp-names.h"
#include "util/strbuf.h"

static const char *const base_paths[_MDP_PATH_BASE_MAX] = {
        [MDP_PATH_SYSFS] = MDP_HOST_SYSFS,           [MDP_PATH_DEV] = MDP_HOST_DEV,
        [MDP_PATH_PROC] = MDP_HOST_PROC,             [MDP_PATH_MDEVCTL] = MDP_HOST_MDEVCTL_DIR,
        [MDP_PATH_CONF] = MDP_HOST_CONF_DIR,         [MDP_PATH_STATE] = MDP_HOST_STATE_DIR,
        [MDP_PATH_RUNTIME] = MDP_HOST_RUNTIME_DIR,   [MDP_PATH_DATA] = NULL,
        [MDP_PATH_BOOT] = MDP_HOST_BOOT,
};

static void append_base(const struct mdp_ctx *ctx, enum mdp_path_base base, struct strbuf *sb)
{
        if (base == MDP_PATH_DATA) {
                strbuf_append(sb, ctx->datadir);
                return;
        }
        strbuf_append(sb, ctx->root);
        strbuf_append(sb, base_paths[base]);
}

static _printf_(3, 0) char *build(const struct mdp_ctx *ctx, enum mdp_path_base base, const char *fmt, va_list ap)
{
        struct strbuf sb = { 0 };

        if ((unsigned)base >= _MDP_PATH_BASE_MAX)
                return NULL;
        append_base(ctx, base, &sb);
        if (fmt) {
                strbuf_append(&sb, "/");
                strbuf_vprintf(&sb, fmt, ap);
        }
        return strbuf_steal(&sb);
}

_public_ char *mdp_path(const struct mdp_ctx *ctx, enum mdp_path_base base, const char *fmt, ...)
{
        va_list ap;
        char *p;

        va_start(ap, fmt);
        p = build(ctx, base, fmt, ap);
        va_end(ap);
        return p;
}

_public_ int mdp_path_buf(const struct mdp_ctx *ctx, enum mdp_path_base base, char *buf, size_t size,
                          const char *fmt, ...)
{
        _cleanup_free_ char *p = NULL;
        va_list ap;
        size_t n;

        va_start(ap, fmt);
        p = build(ctx, base, fmt, ap);
        va_end(ap);
        if (!p)
                return -ENOMEM;
        n = strlen(p);
        if (n + 1 > size)
                return -ENAMETOOLONG;
        memcpy(buf, p, n + 1);
        return 0;
}

_public_ int mdp_ctx_base_fd(struct mdp_ctx *ctx, enum mdp_path_base base)
{
        _cleanup_free_ char *p = NULL;
        int fd, expected = -1;

        if ((unsigned)base >= _MDP_PATH_BASE_MAX)
                return -EINVAL;
        fd = __atomic_load_n(&ctx->base_fds[base], __ATOMIC_ACQUIRE);
        if (fd >= 0)
                return fd;
        p = mdp_path(ctx, base, NULL);
        if (!p)
                return -ENOMEM;
        fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Worker threads may race here; the loser closes its fd and uses the winner's. */
        if (!__atomic_compare_exchange_n(&ctx->base_fds[base], &expected, fd, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE)) {
                close(fd);
                return expected;
        }
        return fd;
}
