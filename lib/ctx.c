/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx-private.h"
#include "mdp-names.h"

static char *normalize_root(const char *root)
{
        size_t n;
        char *s;

        if (isempty(root))
                return strdup("");
        n = strlen(root);
        while (n > 1 && root[n - 1] == '/')
                n--;
        if (n == 1 && root[0] == '/')
                return strdup("");
        s = strndup(root, n);
        return s;
}

_public_ int mdp_ctx_new_with_root(const char *root, struct mdp_ctx **ret)
{
        struct mdp_ctx *ctx;
        const char *datadir = getenv(MDP_ENV_DATADIR);

        if (!isempty(root) && root[0] != '/')
                return -EINVAL;
        if (!isempty(datadir) && datadir[0] != '/')
                return -EINVAL;
        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return -ENOMEM;
        ctx->n_ref = 1;
        ctx->log_priority = 3; /* LOG_ERR: the library is quiet unless asked */
        for (size_t i = 0; i < _MDP_PATH_BASE_MAX; i++)
                ctx->base_fds[i] = -1;
        ctx->root = normalize_root(root);
        ctx->datadir = strdup(isempty(datadir) ? PKGDATADIR : datadir);
        if (!ctx->root || !ctx->datadir) {
                mdp_ctx_unref(ctx);
                return -ENOMEM;
        }
        *ret = ctx;
        return 0;
}

_public_ int mdp_ctx_new(struct mdp_ctx **ret)
{
        return mdp_ctx_new_with_root(getenv(MDP_ENV_ROOT), ret);
}

_public_ struct mdp_ctx *mdp_ctx_ref(struct mdp_ctx *ctx)
{
        if (ctx)
                __atomic_add_fetch(&ctx->n_ref, 1, __ATOMIC_SEQ_CST);
        return ctx;
}

_public_ struct mdp_ctx *mdp_ctx_unref(struct mdp_ctx *ctx)
{
        if (!ctx || __atomic_sub_fetch(&ctx->n_ref, 1, __ATOMIC_SEQ_CST) > 0)
                return NULL;
        for (size_t i = 0; i < _MDP_PATH_BASE_MAX; i++)
                if (ctx->base_fds[i] >= 0)
                        close(ctx->base_fds[i]);
        free(ctx->root);
        free(ctx->datadir);
        free(ctx);
        return NULL;
}

_public_ const char *mdp_ctx_get_root(const struct mdp_ctx *ctx)
{
        return ctx->root;
}

_public_ void mdp_ctx_set_log_fn(struct mdp_ctx *ctx, mdp_log_fn fn, void *userdata)
{
        ctx->log_fn = fn;
        ctx->log_userdata = userdata;
}

_public_ void mdp_ctx_set_log_priority(struct mdp_ctx *ctx, int priority)
{
        ctx->log_priority = priority;
}

_public_ void mdp_ctx_set_classifier(struct mdp_ctx *ctx, mdp_classify_fn fn, void *userdata)
{
        ctx->classify_fn = fn;
        ctx->classify_userdata = userdata;
}

void mdp_log(const struct mdp_ctx *ctx, int priority, const char *file, int line, const char *fn,
             const char *fmt, ...)
{
        va_list ap;

        if (!ctx || !ctx->log_fn || priority > ctx->log_priority)
                return;
        va_start(ap, fmt);
        ctx->log_fn(ctx->log_userdata, priority, file, line, fn, fmt, ap);
        va_end(ap);
}
