/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "util/parse.h"

/* Accepts digits followed by at most one '\n'; nothing else. */
static int parse_unsigned(const char *s, unsigned base, uint64_t *ret)
{
        uint64_t v = 0;
        size_t n = 0;

        if (!s)
                return -EINVAL;
        if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        for (; *s && *s != '\n'; s++, n++) {
                unsigned d;

                if (*s >= '0' && *s <= '9')
                        d = (unsigned)(*s - '0');
                else if (base == 16 && *s >= 'a' && *s <= 'f')
                        d = (unsigned)(*s - 'a' + 10);
                else if (base == 16 && *s >= 'A' && *s <= 'F')
                        d = (unsigned)(*s - 'A' + 10);
                else
                        return -EINVAL;
                if (v > (UINT64_MAX - d) / base)
                        return -ERANGE;
                v = v * base + d;
        }
        if (n == 0)
                return -EINVAL;
        if (*s == '\n' && s[1] != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int safe_atou64(const char *s, uint64_t *ret)
{
        return parse_unsigned(s, 10, ret);
}

int safe_atox64(const char *s, uint64_t *ret)
{
        return parse_unsigned(s, 16, ret);
}

int safe_atou(const char *s, unsigned *ret)
{
        uint64_t v;
        int r = parse_unsigned(s, 10, &v);

        if (r < 0)
                return r;
        if (v > UINT_MAX)
                return -ERANGE;
        *ret = (unsigned)v;
        return 0;
}
