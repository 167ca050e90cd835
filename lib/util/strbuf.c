/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

static bool reserve(struct strbuf *sb, size_t extra)
{
        size_t need;
        char *n;

        if (sb->oom)
                return false;
        need = sb->len + extra + 1;
        if (need <= sb->cap)
                return true;
        if (need < sb->cap * 2)
                need = sb->cap * 2;
        if (need < 64)
                need = 64;
        n = realloc(sb->buf, need);
        if (!n) {
                sb->oom = true;
                return false;
        }
        sb->buf = n;
        sb->cap = need;
        return true;
}

void strbuf_appendn(struct strbuf *sb, const char *s, size_t n)
{
        if (!reserve(sb, n))
                return;
        memcpy(sb->buf + sb->len, s, n);
        sb->len += n;
        sb->buf[sb->len] = '\0';
}

void strbuf_append(struct strbuf *sb, const char *s)
{
        strbuf_appendn(sb, s, strlen(s));
}

void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
        va_list aq;
        int n;

        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0) {
                sb->oom = true;
                return;
        }
        if (!reserve(sb, (size_t)n))
                return;
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
        sb->len += (size_t)n;
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        strbuf_vprintf(sb, fmt, ap);
        va_end(ap);
}

char *strbuf_steal(struct strbuf *sb)
{
        char *s;

        if (sb->oom) {
                strbuf_done(sb);
                return NULL;
        }
        s = sb->buf ? sb->buf : strdup("");
        *sb = (struct strbuf){ 0 };
        return s;
}

void strbuf_done(struct strbuf *sb)
{
        free(sb->buf);
        *sb = (struct strbuf){ 0 };
}
