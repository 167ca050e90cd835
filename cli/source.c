/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "source.h"
#include "util/log.h"

int cli_source_open(unsigned flags, struct cli_source **ret)
{
        /* Phase B: ask the daemon first and fall back to sysfs with a note on stderr. */
        return cli_source_sysfs_new(flags, ret);
}

struct cli_source *cli_source_free(struct cli_source *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_warnings; i++)
                free(s->warnings[i]);
        free(s->warnings);
        s->ops->free(s);
        return NULL;
}

int cli_source_warn(struct cli_source *s, const char *fmt, ...)
{
        char **w, *msg;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        w = realloc(s->warnings, (s->n_warnings + 1) * sizeof(char *));
        if (!w) {
                free(msg);
                return -ENOMEM;
        }
        s->warnings = w;
        s->warnings[s->n_warnings++] = msg;
        return 0;
}

void cli_source_flush_warnings(struct cli_source *s)
{
        /* stdout may hold output for the same objects: keep the order a person sees. */
        fflush(stdout);
        for (size_t i = 0; i < s->n_warnings; i++) {
                log_warning("warning: %s", s->warnings[i]);
                free(s->warnings[i]);
        }
        s->n_warnings = 0;
}
