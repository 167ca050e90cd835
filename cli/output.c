/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strbuf.h"

enum json_mode arg_json = JSON_OFF;
bool arg_legend = true;

int json_mode_from_string(const char *s, enum json_mode *ret)
{
        if (streq(s, "short"))
                *ret = JSON_SHORT;
        else if (streq(s, "pretty"))
                *ret = JSON_PRETTY;
        else if (streq(s, "off"))
                *ret = JSON_OFF;
        else
                return -EINVAL;
        return 0;
}

void output_setup(void)
{
        /* A closed pipe must end the output quietly, not kill us half-way through a
         * message: writes then fail with EPIPE, which output_finish() accepts. */
        signal(SIGPIPE, SIG_IGN);
}

/* The write error stdio swallowed may have been EPIPE: a pipe (or socket) whose reader
 * is gone polls as POLLERR/POLLHUP on our end. */
static bool reader_gone(void)
{
        struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};

        return poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP));
}

int output_finish(void)
{
        int r = 0;

        errno = 0;
        if (fflush(stdout) != 0 || ferror(stdout))
                r = errno > 0 ? -errno : -EIO;
        /* The reader stopped reading (`| head`): that is its choice, not our failure. */
        if (r == -EPIPE || (r < 0 && reader_gone()))
                return 0;
        if (r < 0)
                return log_error_errno(r, "cannot write output: %m");
        return 0;
}

static int color_state = -1;

bool colors_enabled(void)
{
        if (color_state < 0) {
                const char *term = getenv("TERM");
                color_state = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !streq_ptr(term, "dumb");
        }
        return color_state;
}

#define ANSI(name, seq)                                                                                   \
        const char *ansi_##name(void)                                                                     \
        {                                                                                                 \
                return colors_enabled() ? seq : "";                                                       \
        }
ANSI(bold, "\x1B[1m")
ANSI(green, "\x1B[0;32m")
ANSI(yellow, "\x1B[0;33m")
ANSI(red, "\x1B[0;31m")
ANSI(grey, "\x1B[0;90m")
ANSI(normal, "\x1B[0m")

const char *tristate_color(enum mdp_tristate t)
{
        switch (t) {
        case MDP_YES:
                return ansi_green();
        case MDP_UNKNOWN:
                return ansi_yellow();
        default:
                return NULL;
        }
}

/* ---- tables ---- */

struct cell {
        char *text;
        const char *color;
};

struct table {
        char **headers;
        size_t n_columns;
        struct cell *cells;
        size_t n_cells, cap;
        unsigned indent;
};

struct table *table_new(const char *first_header, ...)
{
        struct table *t;
        va_list ap;
        size_t n = 0;

        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        va_start(ap, first_header);
        for (const char *h = first_header; h; h = va_arg(ap, const char *))
                n++;
        va_end(ap);
        t->headers = calloc(n ? n : 1, sizeof(char *));
        if (!t->headers)
                return table_free(t);
        t->n_columns = n;
        va_start(ap, first_header);
        for (size_t i = 0; i < n; i++) {
                const char *h = i == 0 ? first_header : va_arg(ap, const char *);
                t->headers[i] = strdup(h);
                if (!t->headers[i]) {
                        va_end(ap);
                        return table_free(t);
                }
        }
        va_end(ap);
        return t;
}

struct table *table_free(struct table *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; t->headers && i < t->n_columns; i++)
                free(t->headers[i]);
        free(t->headers);
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i].text);
        free(t->cells);
        free(t);
        return NULL;
}

int table_add_cell(struct table *t, const char *text, const char *color)
{
        char *copy;

        if (t->n_cells == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 64;
                struct cell *c = realloc(t->cells, cap * sizeof(*c));
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->cap = cap;
        }
        copy = strdup(text ? text : "-");
        if (!copy)
                return -ENOMEM;
        t->cells[t->n_cells++] = (struct cell){.text = copy, .color = isempty(color) ? NULL : color};
        return 0;
}

int table_add_cellf(struct table *t, const char *color, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return table_add_cell(t, s, color);
}

void table_set_indent(struct table *t, unsigned indent)
{
        t->indent = indent;
}

size_t table_rows(const struct table *t)
{
        return t->n_columns ? t->n_cells / t->n_columns : 0;
}

/* Display width: UTF-8 code points (continuation bytes do not count). */
static size_t text_width(const char *s)
{
        size_t w = 0;

        for (; *s; s++)
                if (((unsigned char)*s & 0xC0) != 0x80)
                        w++;
        return w;
}

static void print_cell(FILE *f, const char *text, const char *color, size_t width, bool last)
{
        size_t w = text_width(text);

        if (color && colors_enabled())
                fprintf(f, "%s%s%s", color, text, ansi_normal());
        else
                fputs(text, f);
        if (!last)
                for (size_t i = w; i < width + 2; i++)
                        fputc(' ', f);
}

int table_print(struct table *t, FILE *f)
{
        _cleanup_free_ size_t *widths = NULL;
        size_t rows = table_rows(t);

        widths = calloc(t->n_columns ? t->n_columns : 1, sizeof(size_t));
        if (!widths)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_columns; c++) {
                if (arg_legend)
                        widths[c] = text_width(t->headers[c]);
                for (size_t r = 0; r < rows; r++)
                        widths[c] = MAX(widths[c], text_width(t->cells[r * t->n_columns + c].text));
        }
        if (arg_legend) {
                fprintf(f, "%*s", (int)t->indent, "");
                for (size_t c = 0; c < t->n_columns; c++)
                        print_cell(f, t->headers[c], ansi_bold(), widths[c], c + 1 == t->n_columns);
                fputc('\n', f);
        }
        for (size_t r = 0; r < rows; r++) {
                fprintf(f, "%*s", (int)t->indent, "");
                for (size_t c = 0; c < t->n_columns; c++) {
                        const struct cell *cell = &t->cells[r * t->n_columns + c];
                        print_cell(f, cell->text, cell->color, widths[c], c + 1 == t->n_columns);
                }
                fputc('\n', f);
        }
        return 0;
}

/* ---- JSON ---- */

int json_print(json_object *o)
{
        struct strbuf sb = {0};
        _cleanup_free_ char *text = NULL;

        if (arg_json == JSON_SHORT)
                mdp_json_write_compact(&sb, o);
        else
                mdp_json_write_pretty(&sb, o);
        json_object_put(o);
        strbuf_append(&sb, "\n");
        text = strbuf_steal(&sb);
        if (!text)
                return log_error_errno(-ENOMEM, "out of memory");
        fputs(text, stdout);
        return 0;
}

json_object *json_str(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

json_object *json_tristate(enum mdp_tristate t)
{
        return t == MDP_UNKNOWN ? NULL : json_object_new_boolean(t == MDP_YES);
}

json_object *json_int_or_null(int64_t v, bool valid)
{
        return valid ? json_object_new_int64(v) : NULL;
}

json_object *json_strv(char *const *v, size_t n)
{
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < n; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}
