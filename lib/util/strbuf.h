/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

/* A growable string for building output and messages. An allocation failure is sticky:
 * later appends do nothing and strbuf_steal() returns NULL, so callers check once. */
struct strbuf {
        char *buf;
        size_t len, cap;
        bool oom;
};

void strbuf_append(struct strbuf *sb, const char *s);
void strbuf_appendn(struct strbuf *sb, const char *s, size_t n);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap) _printf_(2, 0);
/* Returns the string (never NULL unless out of memory) and resets sb. */
char *strbuf_steal(struct strbuf *sb);
void strbuf_done(struct strbuf *sb);
