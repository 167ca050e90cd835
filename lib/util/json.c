/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/json.h"

int mdp_json_parse(const char *text, size_t len, int max_depth, json_object **ret, char **ret_error)
{
        struct json_tokener *tok;
        json_object *o;
        enum json_tokener_error jerr;
        size_t off, line = 1, col = 1;

        if (len > INT32_MAX)
                return -EFBIG;
        tok = json_tokener_new_ex(max_depth);
        if (!tok)
                return -ENOMEM;
        /* Strings from these files reach D-Bus, which carries only UTF-8 (sd-bus refuses the
         * whole message); mdevctl's parser refuses such files too. */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, text, (int)len);
        jerr = json_tokener_get_error(tok);
        off = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue && off == len) {
                /* A number that ends the text ("1" without a newline) is not finished until
                 * the tokener sees what follows it: give it the end (json-c documents a
                 * NUL for this). Found by fuzzing: a lone top-level number was refused. */
                o = json_tokener_parse_ex(tok, "", 1);
                jerr = json_tokener_get_error(tok);
                off = len;
        }
        if (jerr == json_tokener_success) {
                /* Only white space may follow the value. A NUL is not white space (strchr()
                 * would find the terminator: found by fuzzing, "{}\0" was accepted). */
                for (size_t i = off; i < len; i++)
                        if (text[i] == '\0' || !strchr(" \t\r\n", text[i])) {
                                jerr = json_tokener_error_parse_unexpected;
                                off = i;
                                break;
                        }
        } else if (jerr == json_tokener_continue) {
                jerr = json_tokener_error_parse_eof;
                off = len;
        }
        json_tokener_free(tok);
        if (jerr == json_tokener_success) {
                *ret = o;
                return 0;
        }
        json_object_put(o);
        for (size_t i = 0; i < off && i < len; i++) {
                if (text[i] == '\n') {
                        line++;
                        col = 1;
                } else
                        col++;
        }
        if (ret_error && asprintf(ret_error, "line %zu, column %zu: %s", line, col,
                                  jerr == json_tokener_error_depth
                                          ? "nested too deeply"
                                          : json_tokener_error_desc(jerr)) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

/* The escape JSON needs for c, or NULL when c stands for itself. */
static const char *json_escape(unsigned char c, char buf[static 8])
{
        switch (c) {
        case '"':
                return "\\\"";
        case '\\':
                return "\\\\";
        case '\b':
                return "\\b";
        case '\f':
                return "\\f";
        case '\n':
                return "\\n";
        case '\r':
                return "\\r";
        case '\t':
                return "\\t";
        default:
                if (c >= 0x20)
                        return NULL;
                snprintf(buf, 8, "\\u%04x", c);
                return buf;
        }
}

/* Runs of characters that need no escape go out in one append: per character, the
 * appends were most of the cost of a large --dumpjson. */
void mdp_json_write_string(struct strbuf *sb, const char *s)
{
        const char *run = s, *esc;
        char buf[8];

        strbuf_appendn(sb, "\"", 1);
        for (const char *p = s; *p; p++) {
                esc = json_escape((unsigned char)*p, buf);
                if (!esc)
                        continue;
                strbuf_appendn(sb, run, (size_t)(p - run));
                strbuf_append(sb, esc);
                run = p + 1;
        }
        strbuf_append(sb, run);
        strbuf_appendn(sb, "\"", 1);
}

void mdp_json_fput_escaped(FILE *f, const char *s, size_t n)
{
        const char *run = s, *end = s + n, *esc;
        char buf[8];

        for (const char *p = s; p < end; p++) {
                esc = json_escape((unsigned char)*p, buf);
                if (!esc)
                        continue;
                fwrite_unlocked(run, 1, (size_t)(p - run), f);
                fputs_unlocked(esc, f);
                run = p + 1;
        }
        fwrite_unlocked(run, 1, (size_t)(end - run), f);
}

void mdp_json_fput_string(FILE *f, const char *s)
{
        fputc_unlocked('"', f);
        mdp_json_fput_escaped(f, s, strlen(s));
        fputc_unlocked('"', f);
}

static const char spaces[] = "                                                                ";

static void indent(struct strbuf *sb, int level)
{
        for (size_t n = 2 * (size_t)level; n > 0;) {
                size_t k = MIN(n, sizeof(spaces) - 1);
                strbuf_appendn(sb, spaces, k);
                n -= k;
        }
}

void mdp_json_fput_indent(FILE *f, int level)
{
        for (size_t n = 2 * (size_t)level; n > 0;) {
                size_t k = MIN(n, sizeof(spaces) - 1);
                fwrite_unlocked(spaces, 1, k, f);
                n -= k;
        }
}

static void write_value(struct strbuf *sb, json_object *o, int level, bool pretty)
{
        switch (json_object_get_type(o)) {
        case json_type_null:
                strbuf_append(sb, "null");
                break;
        case json_type_boolean:
                strbuf_append(sb, json_object_get_boolean(o) ? "true" : "false");
                break;
        case json_type_int:
                if (json_object_get_int64(o) == INT64_MAX)
                        strbuf_printf(sb, "%" PRIu64, json_object_get_uint64(o));
                else
                        strbuf_printf(sb, "%" PRId64, json_object_get_int64(o));
                break;
        case json_type_double:
                strbuf_append(sb, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                break;
        case json_type_string:
                mdp_json_write_string(sb, json_object_get_string(o));
                break;
        case json_type_array: {
                size_t n = json_object_array_length(o);
                if (n == 0) {
                        strbuf_append(sb, "[]");
                        break;
                }
                strbuf_append(sb, "[");
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                strbuf_append(sb, ",");
                        if (pretty) {
                                strbuf_append(sb, "\n");
                                indent(sb, level + 1);
                        }
                        write_value(sb, json_object_array_get_idx(o, i), level + 1, pretty);
                }
                if (pretty) {
                        strbuf_append(sb, "\n");
                        indent(sb, level);
                }
                strbuf_append(sb, "]");
                break;
        }
        case json_type_object: {
                bool first = true;
                if (json_object_object_length(o) == 0) {
                        strbuf_append(sb, "{}");
                        break;
                }
                strbuf_append(sb, "{");
                json_object_object_foreach(o, key, val)
                {
                        if (!first)
                                strbuf_append(sb, ",");
                        first = false;
                        if (pretty) {
                                strbuf_append(sb, "\n");
                                indent(sb, level + 1);
                        }
                        mdp_json_write_string(sb, key);
                        strbuf_append(sb, pretty ? ": " : ":");
                        write_value(sb, val, level + 1, pretty);
                }
                if (pretty) {
                        strbuf_append(sb, "\n");
                        indent(sb, level);
                }
                strbuf_append(sb, "}");
                break;
        }
        }
}

void mdp_json_write_pretty(struct strbuf *sb, json_object *o)
{
        write_value(sb, o, 0, true);
}

void mdp_json_write_compact(struct strbuf *sb, json_object *o)
{
        write_value(sb, o, 0, false);
}

const char *mdp_json_get_string(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}
