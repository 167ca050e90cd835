/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The CLI's one output layer (STYLE.md "CLI"): a text backend (aligned tables with an
 * optional legend, colour only on a terminal and without NO_COLOR) and a JSON backend
 * (json-c objects printed short or pretty). Everything goes to stdout through stdio;
 * output_finish() reports a write error once, and treats a reader that went away (EPIPE,
 * `| head`) as the end of the output rather than as a failure. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "types.h"
#include "util/macro.h"

enum json_mode {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
};
/* "short", "pretty", "off"; -EINVAL for anything else. */
int json_mode_from_string(const char *s, enum json_mode *ret);

/* Set by the global options. */
extern enum json_mode arg_json;
extern bool arg_legend;

/* Call once before any output: ignores SIGPIPE (write errors are handled instead). */
void output_setup(void);
/* Flushes stdout. 0 when everything was written or the reader closed the pipe; otherwise
 * logs "cannot write output: ..." and returns the negative errno. */
int output_finish(void);

static inline const char *strempty(const char *s)
{
        return s ? s : "";
}

/* ANSI colours, "" when colour is off (not a terminal, NO_COLOR set, TERM=dumb). */
bool colors_enabled(void);
const char *ansi_bold(void);
const char *ansi_green(void);
const char *ansi_yellow(void);
const char *ansi_red(void);
const char *ansi_grey(void);
const char *ansi_normal(void);

/* ---- tables ---- */
struct table;
/* Column headers, NULL-terminated. The last column is never padded. */
struct table *table_new(const char *first_header, ...) __attribute__((sentinel));
struct table *table_free(struct table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct table *, table_free)
/* Adds the next cell (rows wrap after the last column). NULL text prints as "-". color is
 * one of the ansi_*() strings (or NULL); it is applied only when colour is on. */
int table_add_cell(struct table *t, const char *text, const char *color);
int table_add_cellf(struct table *t, const char *color, const char *fmt, ...) _printf_(3, 4);
size_t table_rows(const struct table *t);
/* Spaces before every line (for a table under a heading). */
void table_set_indent(struct table *t, unsigned indent);
/* Prints the header (unless --no-legend) and the rows. */
int table_print(struct table *t, FILE *f);

/* ---- JSON ---- */
/* Prints o (consumed: its reference is dropped) in the --json mode, one document, then a
 * newline. */
int json_print(json_object *o);
/* Helpers that turn C values into JSON values with null for what is missing. */
json_object *json_str(const char *s);           /* NULL -> null */
json_object *json_tristate(enum mdp_tristate t); /* yes/no/unknown -> true/false/null */
json_object *json_int_or_null(int64_t v, bool valid);
json_object *json_strv(char *const *v, size_t n); /* array of strings */
/* "yes"/"no"/"unknown", coloured green/plain/yellow for tables. */
const char *tristate_color(enum mdp_tristate t);
