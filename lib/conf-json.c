/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict, bounded JSON for configuration files: the whole file is read with a size cap,
 * parsed by json-c in strict mode with a nesting limit, and every value is checked by a
 * getter that names the file, the key and what was expected. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-json.h"
#include "util/fileio.h"
#include "util/strbuf.h"

void mdp_conf_messages_done(struct mdp_conf_messages *m)
{
        if (!m)
                return;
        free(m->error);
        free(m->error_file);
        free(m->error_key);
        strv_free(m->warnings);
        *m = (struct mdp_conf_messages){ 0 };
}

int conf_messages_add_warning(struct mdp_conf_messages *m, char *take)
{
        char **l;

        if (!take)
                return -ENOMEM;
        l = realloc(m->warnings, (m->n_warnings + 2) * sizeof(char *));
        if (!l) {
                free(take);
                return -ENOMEM;
        }
        l[m->n_warnings++] = take;
        l[m->n_warnings] = NULL;
        m->warnings = l;
        return 0;
}

void conf_messages_warn(struct mdp_conf_messages *m, const char *fmt, ...)
{
        struct strbuf sb = { 0 };
        va_list ap;

        va_start(ap, fmt);
        strbuf_vprintf(&sb, fmt, ap);
        va_end(ap);
        (void)conf_messages_add_warning(m, strbuf_steal(&sb));
}

static _printf_(3, 0) char *format_message(const char *file, const char *key, const char *fmt, va_list ap)
{
        struct strbuf sb = { 0 };

        if (file)
                strbuf_printf(&sb, "%s: ", file);
        if (key)
                strbuf_printf(&sb, "key \"%s\": ", key);
        strbuf_vprintf(&sb, fmt, ap);
        return strbuf_steal(&sb);
}

int conf_error(struct conf_reader *rd, const char *key, const char *fmt, ...)
{
        va_list ap;

        if (rd->error < 0)
                return rd->error;
        rd->error = -EINVAL;
        if (rd->msgs->error)
                return rd->error;
        va_start(ap, fmt);
        rd->msgs->error = format_message(rd->file, key, fmt, ap);
        va_end(ap);
        rd->msgs->error_file = rd->file ? strdup(rd->file) : NULL;
        rd->msgs->error_key = key ? strdup(key) : NULL;
        return rd->error;
}

void conf_warn(struct conf_reader *rd, const char *key, const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = format_message(rd->file, key, fmt, ap);
        va_end(ap);
        (void)conf_messages_add_warning(rd->msgs, s);
}

void conf_key(char buf[static CONF_KEY_MAX], const char *path, const char *key)
{
        if (isempty(path))
                snprintf(buf, CONF_KEY_MAX, "%s", key);
        else
                snprintf(buf, CONF_KEY_MAX, "%s.%s", path, key);
}

void conf_index(char buf[static CONF_KEY_MAX], const char *path, size_t i)
{
        char idx[24];

        /* Truncating a very long path keeps the index readable. */
        snprintf(idx, sizeof(idx), "[%zu]", i);
        snprintf(buf, CONF_KEY_MAX, "%.*s%s", (int)(CONF_KEY_MAX - sizeof(idx)), path, idx);
}

/* "string \"abc\"", "number 1.5", "object", ... for "got ..." in messages. */
static void describe(json_object *v, char *buf, size_t size)
{
        const char *s;

        switch (json_object_get_type(v)) {
        case json_type_null:
                snprintf(buf, size, "null");
                break;
        case json_type_boolean:
                snprintf(buf, size, "%s", json_object_get_boolean(v) ? "true" : "false");
                break;
        case json_type_int:
        case json_type_double:
                snprintf(buf, size, "number %s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
                break;
        case json_type_string:
                s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                if (strlen(s) > 48)
                        snprintf(buf, size, "string %.44s...\"", s);
                else
                        snprintf(buf, size, "string %s", s);
                break;
        case json_type_object:
                snprintf(buf, size, "an object");
                break;
        case json_type_array:
                snprintf(buf, size, "an array");
                break;
        }
}

static void line_column(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_col)
{
        unsigned line = 1, col = 1;

        for (size_t i = 0; i < offset && text[i]; i++) {
                if (text[i] == '\n') {
                        line++;
                        col = 1;
                } else
                        col++;
        }
        *ret_line = line;
        *ret_col = col;
}

int conf_parse_text(struct conf_reader *rd, const char *text, size_t len, int max_depth, json_object **ret)
{
        _cleanup_json_ json_object *root = NULL;
        struct json_tokener *tok;
        enum json_tokener_error jerr;
        size_t end;
        unsigned line, col;
        json_object *v;
        char got[64];

        if (strlen(text) != len)
                return conf_error(rd, NULL, "contains a NUL byte at offset %zu: not a JSON text file", strlen(text));
        tok = json_tokener_new_ex(max_depth);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, text, (int)len);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (jerr == json_tokener_continue || (jerr == json_tokener_success && !root && len == 0)) {
                line_column(text, len, &line, &col);
                return conf_error(rd, NULL, "line %u: unexpected end of file: the JSON object is not closed", line);
        }
        if (jerr == json_tokener_error_depth) {
                line_column(text, end, &line, &col);
                return conf_error(rd, NULL,
                                  "line %u, column %u: nested deeper than %d levels, the limit for configuration "
                                  "files",
                                  line, col, max_depth);
        }
        if (jerr != json_tokener_success) {
                line_column(text, end, &line, &col);
                return conf_error(rd, NULL, "line %u, column %u: JSON syntax error: %s", line, col,
                                  json_tokener_error_desc(jerr));
        }
        /* Strict mode rejects trailing garbage, but not trailing white space. */
        if (end < len && text[end + strspn(text + end, " \t\r\n")] != '\0') {
                line_column(text, end, &line, &col);
                return conf_error(rd, NULL, "line %u, column %u: unexpected text after the JSON object", line,
                                  col);
        }
        if (!json_object_is_type(root, json_type_object)) {
                describe(root, got, sizeof(got));
                return conf_error(rd, NULL, "expected a JSON object at the top level, got %s", got);
        }
        if (!json_object_object_get_ex(root, "version", &v))
                return conf_error(rd, "version", "missing: every file must start with \"version\": 1");
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 1) {
                describe(v, got, sizeof(got));
                return conf_error(rd, "version", "expected 1 (the only format version), got %s", got);
        }
        *ret = TAKE_PTR(root);
        return 0;
}

int conf_parse_file(struct conf_reader *rd, int dirfd, const char *path, size_t max_size, int max_depth,
                    json_object **ret)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = read_full_file(dirfd, path, max_size, &text, &len);
        if (r == -EFBIG)
                return conf_error(rd, NULL, "larger than %zu KiB, the limit for configuration files",
                                  max_size / 1024);
        if (r == -EISDIR || r == -EBADFD)
                return conf_error(rd, NULL, "not a regular file");
        if (r < 0) {
                conf_error(rd, NULL, "cannot be read: %s", strerror(-r));
                return r;
        }
        return conf_parse_text(rd, text, len, max_depth, ret);
}

void conf_check_keys(struct conf_reader *rd, json_object *obj, const char *path, const char *const *known)
{
        char k[CONF_KEY_MAX];

        json_object_object_foreach(obj, key, val)
        {
                bool found = streq(key, "comment");

                (void)val;
                for (const char *const *i = known; !found && *i; i++)
                        found = streq(*i, key);
                if (found)
                        continue;
                struct strbuf sb = { 0 };
                for (const char *const *i = known; *i; i++)
                        strbuf_printf(&sb, "%s%s", i == known ? "" : ", ", *i);
                _cleanup_free_ char *list = strbuf_steal(&sb);
                conf_key(k, path, key);
                conf_warn(rd, k, "unknown key, ignored (known keys here: %s)", strna(list));
        }
}

/* Looks key up; 0 when absent or null. */
static int lookup(struct conf_reader *rd, json_object *obj, const char *key, json_object **ret)
{
        json_object *v;

        if (rd->error < 0)
                return rd->error;
        if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        *ret = v;
        return 1;
}

static int wrong_type(struct conf_reader *rd, const char *path, const char *key, const char *expected,
                      json_object *v)
{
        char k[CONF_KEY_MAX], got[64];

        conf_key(k, path, key);
        describe(v, got, sizeof(got));
        return conf_error(rd, k, "expected %s, got %s", expected, got);
}

int conf_get_bool(struct conf_reader *rd, json_object *obj, const char *path, const char *key, bool *ret)
{
        json_object *v;
        int r = lookup(rd, obj, key, &v);

        if (r <= 0)
                return r;
        if (!json_object_is_type(v, json_type_boolean))
                return wrong_type(rd, path, key, "true or false", v);
        *ret = json_object_get_boolean(v);
        return 1;
}

int conf_get_tristate(struct conf_reader *rd, json_object *obj, const char *path, const char *key,
                      enum mdp_tristate *ret)
{
        bool b = false;
        int r = conf_get_bool(rd, obj, path, key, &b);

        if (r > 0)
                *ret = mdp_tristate_from_bool(b);
        return r;
}

int conf_get_uint(struct conf_reader *rd, json_object *obj, const char *path, const char *key, uint64_t min,
                  uint64_t max, uint64_t *ret)
{
        char expected[96];
        json_object *v;
        uint64_t u;
        int r = lookup(rd, obj, key, &v);

        if (r <= 0)
                return r;
        snprintf(expected, sizeof(expected), "an integer from %" PRIu64 " to %" PRIu64, min, max);
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                return wrong_type(rd, path, key, expected, v);
        u = json_object_get_uint64(v);
        if (u < min || u > max)
                return wrong_type(rd, path, key, expected, v);
        *ret = u;
        return 1;
}

int conf_expect_string(struct conf_reader *rd, json_object *v, const char *key, size_t max_len, const char **ret)
{
        char expected[64], got[64];
        const char *s;

        snprintf(expected, sizeof(expected), "a non-empty string of at most %zu bytes", max_len);
        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0 ||
            (size_t)json_object_get_string_len(v) > max_len) {
                describe(v, got, sizeof(got));
                return conf_error(rd, key, "expected %s, got %s", expected, got);
        }
        s = json_object_get_string(v);
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                        describe(v, got, sizeof(got));
                        return conf_error(rd, key, "expected a string without control characters, got %s", got);
                }
        *ret = s;
        return 1;
}

int conf_get_string(struct conf_reader *rd, json_object *obj, const char *path, const char *key, size_t max_len,
                    const char **ret)
{
        char k[CONF_KEY_MAX];
        json_object *v;
        int r = lookup(rd, obj, key, &v);

        if (r <= 0)
                return r;
        conf_key(k, path, key);
        return conf_expect_string(rd, v, k, max_len, ret);
}

int conf_get_glob(struct conf_reader *rd, json_object *obj, const char *path, const char *key, const char **ret)
{
        return conf_get_string(rd, obj, path, key, 255, ret);
}

int conf_get_enum(struct conf_reader *rd, json_object *obj, const char *path, const char *key,
                  const char *const *choices, int *ret)
{
        struct strbuf sb = { 0 };
        _cleanup_free_ char *expected = NULL;
        json_object *v;
        int r = lookup(rd, obj, key, &v);

        if (r <= 0)
                return r;
        if (json_object_is_type(v, json_type_string))
                for (int i = 0; choices[i]; i++)
                        if (streq(choices[i], json_object_get_string(v))) {
                                *ret = i;
                                return 1;
                        }
        strbuf_append(&sb, "one of ");
        for (int i = 0; choices[i]; i++)
                strbuf_printf(&sb, "%s\"%s\"", i == 0 ? "" : choices[i + 1] ? ", " : " or ", choices[i]);
        expected = strbuf_steal(&sb);
        return wrong_type(rd, path, key, strna(expected), v);
}

int conf_expect_object(struct conf_reader *rd, json_object *v, const char *key)
{
        char got[64];

        if (rd->error < 0)
                return rd->error;
        if (json_object_is_type(v, json_type_object))
                return 1;
        describe(v, got, sizeof(got));
        return conf_error(rd, key, "expected an object, got %s", got);
}

int conf_get_object(struct conf_reader *rd, json_object *obj, const char *path, const char *key,
                    json_object **ret)
{
        json_object *v;
        int r = lookup(rd, obj, key, &v);

        if (r <= 0)
                return r;
        if (!json_object_is_type(v, json_type_object))
                return wrong_type(rd, path, key, "an object", v);
        *ret = v;
        return 1;
}

int conf_get_array(struct conf_reader *rd, json_object *obj, const char *path, const char *key,
                   size_t max_len, json_object **ret)
{
        char k[CONF_KEY_MAX];
        json_object *v;
        int r = lookup(rd, obj, key, &v);

        if (r <= 0)
                return r;
        if (!json_object_is_type(v, json_type_array))
                return wrong_type(rd, path, key, "an array", v);
        if (json_object_array_length(v) > max_len) {
                conf_key(k, path, key);
                return conf_error(rd, k, "expected at most %zu entries, got %zu", max_len,
                                  json_object_array_length(v));
        }
        *ret = v;
        return 1;
}

static int parse_pasid(const char *s, char **end, uint32_t *ret)
{
        unsigned long long v;

        if (!(*s >= '0' && *s <= '9'))
                return -EINVAL;
        errno = 0;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                v = strtoull(s + 2, end, 16);
        else
                v = strtoull(s, end, 10);
        if (errno != 0 || v > MDP_PASID_MAX)
                return -ERANGE;
        *ret = (uint32_t)v;
        return 0;
}

int mdp_pasid_range_parse(const char *s, struct mdp_pasid_range *ret)
{
        struct mdp_pasid_range r;
        char *end;

        if (isempty(s) || parse_pasid(s, &end, &r.first) < 0)
                return -EINVAL;
        if (*end == '\0')
                r.last = r.first;
        else if (*end == '-') {
                if (parse_pasid(end + 1, &end, &r.last) < 0 || *end != '\0')
                        return -EINVAL;
        } else
                return -EINVAL;
        if (r.last < r.first)
                return -EINVAL;
        *ret = r;
        return 0;
}

static int range_cmp(const void *a, const void *b)
{
        const struct mdp_pasid_range *x = a, *y = b;
        return x->first < y->first ? -1 : x->first > y->first;
}

size_t pasid_ranges_normalize(struct mdp_pasid_range *r, size_t n)
{
        size_t out = 0;

        if (n == 0)
                return 0;
        qsort(r, n, sizeof(*r), range_cmp);
        for (size_t i = 1; i < n; i++) {
                if (r[i].first <= r[out].last + 1ULL) {
                        r[out].last = MAX(r[out].last, r[i].last);
                        continue;
                }
                r[++out] = r[i];
        }
        return out + 1;
}

int conf_get_pasid_ranges(struct conf_reader *rd, json_object *obj, const char *path, const char *key,
                          struct mdp_pasid_range **ret, size_t *ret_n)
{
        _cleanup_free_ struct mdp_pasid_range *ranges = NULL;
        char k[CONF_KEY_MAX], ki[CONF_KEY_MAX], got[64];
        json_object *arr;
        size_t n;
        int r;

        r = conf_get_array(rd, obj, path, key, 4096, &arr);
        if (r <= 0)
                return r;
        conf_key(k, path, key);
        n = json_object_array_length(arr);
        ranges = calloc(n ? n : 1, sizeof(*ranges));
        if (!ranges)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);

                conf_index(ki, k, i);
                if (!json_object_is_type(e, json_type_string) ||
                    mdp_pasid_range_parse(json_object_get_string(e), &ranges[i]) < 0) {
                        describe(e, got, sizeof(got));
                        return conf_error(rd, ki,
                                          "expected a PASID or a range \"first-last\" with first <= last <= %u "
                                          "(PASIDs are 20 bits), got %s",
                                          MDP_PASID_MAX, got);
                }
        }
        *ret_n = pasid_ranges_normalize(ranges, n);
        *ret = TAKE_PTR(ranges);
        return 1;
}
