/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated string arrays for the daemon (warnings, problem lists). */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"

static inline size_t strv_length(char *const *l)
{
        size_t n = 0;

        if (l)
                while (l[n])
                        n++;
        return n;
}

/* Takes ownership of s (freed on failure). */
static inline int strv_consume(char ***l, char *s)
{
        size_t n = strv_length(*l);
        char **nl;

        if (!s)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

static inline int strv_push_dup(char ***l, const char *s)
{
        return strv_consume(l, strdup(s));
}

static inline bool strv_equal(char *const *a, char *const *b)
{
        size_t na = strv_length(a), nb = strv_length(b);

        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

static inline bool strv_contains(char *const *l, const char *s)
{
        if (l)
                for (; *l; l++)
                        if (streq(*l, s))
                                return true;
        return false;
}
