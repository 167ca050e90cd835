/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mdevctl-format.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strbuf.h"

/* Output goes straight to the stream, with the _unlocked stdio calls: a listing of 16,000
 * types is 81,000 lines, and building it as json-c objects or through fprintf() cost more
 * than reading the records (bench/README.md). */
#define put(f, s) fputs_unlocked(s, f)

int mdevctl_list_text(FILE *f, const struct cli_device *devices, size_t n, bool defined, bool verbose)
{
        char num[24];

        for (size_t i = 0; i < n; i++) {
                const struct cli_device *d = &devices[i];

                put(f, d->uuid);
                fputc_unlocked(' ', f);
                put(f, d->parent);
                fputc_unlocked(' ', f);
                put(f, d->type);
                put(f, d->autostart ? " auto" : " manual");
                put(f, defined ? (d->active ? " (active)\n" : "\n") : (d->defined ? " (defined)\n" : "\n"));
                if (verbose && d->n_attrs > 0) {
                        put(f, "  Attrs:\n");
                        /* mdevctl formats these by hand: no JSON escaping. */
                        for (size_t a = 0; a < d->n_attrs; a++) {
                                snprintf(num, sizeof(num), "%zu", a);
                                put(f, "    @{");
                                put(f, num);
                                put(f, "}: {\"");
                                put(f, d->attrs[a].name);
                                put(f, "\":\"");
                                put(f, d->attrs[a].value);
                                put(f, "\"}\n");
                        }
                }
        }
        fputc_unlocked('\n', f);
        return 0;
}

/* `"key": ` at level (serde's pretty layout, as mdp_json_write_pretty()). */
static void json_key(FILE *f, int level, const char *key)
{
        mdp_json_fput_indent(f, level);
        mdp_json_fput_string(f, key);
        put(f, ": ");
}

/* A definition's object, its opening brace where the cursor is, at level. */
static void device_config(FILE *f, const struct cli_device *d, int level)
{
        put(f, "{\n");
        json_key(f, level + 1, "mdev_type");
        mdp_json_fput_string(f, d->type);
        put(f, ",\n");
        json_key(f, level + 1, "start");
        put(f, d->autostart ? "\"auto\",\n" : "\"manual\",\n");
        json_key(f, level + 1, "attrs");
        if (d->n_attrs == 0)
                put(f, "[]");
        else {
                put(f, "[");
                for (size_t a = 0; a < d->n_attrs; a++) {
                        put(f, a > 0 ? ",\n" : "\n");
                        mdp_json_fput_indent(f, level + 2);
                        put(f, "{\n");
                        json_key(f, level + 3, d->attrs[a].name);
                        mdp_json_fput_string(f, d->attrs[a].value);
                        fputc_unlocked('\n', f);
                        mdp_json_fput_indent(f, level + 2);
                        put(f, "}");
                }
                fputc_unlocked('\n', f);
                mdp_json_fput_indent(f, level + 1);
                put(f, "]");
        }
        fputc_unlocked('\n', f);
        mdp_json_fput_indent(f, level);
        put(f, "}");
}

/* The shape both --dumpjson listings share: [ { "parent": [ { "key": {...} }, ... ], ... } ],
 * or [] when there is no parent. entry(g, e) writes the e-th entry of group g, its key at
 * level 4. */
static void json_by_parent(FILE *f, size_t n_groups, const char *(*group)(const void *ctx, size_t g),
                           size_t (*n_entries)(const void *ctx, size_t g),
                           void (*entry)(FILE *f, const void *ctx, size_t g, size_t e), const void *ctx)
{
        if (n_groups == 0) {
                put(f, "[]\n");
                return;
        }
        put(f, "[\n  {");
        for (size_t g = 0; g < n_groups; g++) {
                size_t n = n_entries(ctx, g);

                put(f, g > 0 ? ",\n" : "\n");
                json_key(f, 2, group(ctx, g));
                if (n == 0) {
                        put(f, "[]");
                        continue;
                }
                put(f, "[");
                for (size_t e = 0; e < n; e++) {
                        put(f, e > 0 ? ",\n      {\n" : "\n      {\n");
                        entry(f, ctx, g, e);
                        put(f, "\n      }");
                }
                put(f, "\n    ]");
        }
        put(f, "\n  }\n]\n");
}

struct device_groups {
        const struct cli_device *devices;
        size_t *start; /* n_groups + 1 offsets into devices */
};

static const char *device_group(const void *ctx, size_t g)
{
        const struct device_groups *c = ctx;
        return c->devices[c->start[g]].parent;
}

static size_t device_group_size(const void *ctx, size_t g)
{
        const struct device_groups *c = ctx;
        return c->start[g + 1] - c->start[g];
}

static void device_entry(FILE *f, const void *ctx, size_t g, size_t e)
{
        const struct device_groups *c = ctx;
        const struct cli_device *d = &c->devices[c->start[g] + e];

        json_key(f, 4, d->uuid);
        device_config(f, d, 4);
}

int mdevctl_list_json(FILE *f, const struct cli_device *devices, size_t n, bool bare)
{
        _cleanup_free_ size_t *start = NULL;
        size_t n_groups = 0;

        if (bare && n == 1) {
                device_config(f, &devices[0], 0);
                fputc_unlocked('\n', f);
                return 0;
        }
        start = malloc((n + 1) * sizeof(*start));
        if (!start)
                return log_error_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
                if (i == 0 || !streq(devices[i].parent, devices[i - 1].parent))
                        start[n_groups++] = i;
        start[n_groups] = n;
        json_by_parent(f, n_groups, device_group, device_group_size, device_entry,
                       &(struct device_groups){devices, start});
        return 0;
}

/* Rust's str::trim() on ASCII white space, then, with join_lines, mdevctl's
 * replace("\n", ", "); written as it is cleaned. */
static void put_clean(FILE *f, const char *s, bool join_lines, void (*put_run)(FILE *f, const char *s, size_t n))
{
        const char *end;

        while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || (end[-1] >= '\t' && end[-1] <= '\r')))
                end--;
        while (s < end) {
                const char *nl = join_lines ? memchr(s, '\n', (size_t)(end - s)) : NULL;
                size_t run = nl ? (size_t)(nl - s) : (size_t)(end - s);

                put_run(f, s, run);
                s += run;
                if (nl) {
                        put_run(f, ", ", 2);
                        s++;
                }
        }
}

static void put_text(FILE *f, const char *s, size_t n)
{
        fwrite_unlocked(s, 1, n, f);
}

/* Whether the cleaned text is empty: mdevctl leaves out "Name:" and "Description:" then. */
static bool clean_empty(const char *s)
{
        for (; *s; s++)
                if (!(*s == ' ' || (*s >= '\t' && *s <= '\r')))
                        return false;
        return true;
}

bool mdevctl_type_listable(const struct cli_type *t)
{
        return t->available_instances >= 0 && t->available_instances <= INT32_MAX && t->device_api;
}

int mdevctl_types_text(FILE *f, const struct cli_parent *parents, size_t n)
{
        char num[24];

        for (size_t i = 0; i < n; i++) {
                put(f, parents[i].name);
                fputc_unlocked('\n', f);
                for (size_t j = 0; j < parents[i].n_types; j++) {
                        const struct cli_type *t = &parents[i].types[j];

                        if (!mdevctl_type_listable(t))
                                continue;
                        snprintf(num, sizeof(num), "%" PRId64, t->available_instances);
                        put(f, "  ");
                        put(f, t->id);
                        put(f, "\n    Available instances: ");
                        put(f, num);
                        put(f, "\n    Device API: ");
                        put_clean(f, t->device_api, false, put_text);
                        fputc_unlocked('\n', f);
                        if (t->name && !clean_empty(t->name)) {
                                put(f, "    Name: ");
                                put_clean(f, t->name, false, put_text);
                                fputc_unlocked('\n', f);
                        }
                        if (t->description && !clean_empty(t->description)) {
                                put(f, "    Description: ");
                                put_clean(f, t->description, true, put_text);
                                fputc_unlocked('\n', f);
                        }
                }
        }
        fputc_unlocked('\n', f);
        return 0;
}

struct type_groups {
        const struct cli_parent *parents;
        const struct cli_type **types; /* the listable ones, parent by parent */
        size_t *start;                 /* n_parents + 1 offsets into types */
};

static const char *type_group(const void *ctx, size_t g)
{
        return ((const struct type_groups *)ctx)->parents[g].name;
}

static size_t type_group_size(const void *ctx, size_t g)
{
        const struct type_groups *c = ctx;
        return c->start[g + 1] - c->start[g];
}

/* A string field after cleaning, as mdevctl prints it: quoted and escaped. */
static void json_clean_field(FILE *f, const char *key, const char *value, bool join_lines)
{
        put(f, ",\n");
        json_key(f, 5, key);
        fputc_unlocked('"', f);
        put_clean(f, value, join_lines, mdp_json_fput_escaped);
        fputc_unlocked('"', f);
}

static void type_entry(FILE *f, const void *ctx, size_t g, size_t e)
{
        const struct type_groups *c = ctx;
        const struct cli_type *t = c->types[c->start[g] + e];
        char num[24];

        snprintf(num, sizeof(num), "%" PRId64, t->available_instances);
        json_key(f, 4, t->id);
        put(f, "{\n");
        json_key(f, 5, "available_instances");
        put(f, num);
        /* device_api comes first and always: its ",\n" goes before the next key. */
        put(f, ",\n");
        json_key(f, 5, "device_api");
        fputc_unlocked('"', f);
        put_clean(f, t->device_api, false, mdp_json_fput_escaped);
        fputc_unlocked('"', f);
        if (t->name && !clean_empty(t->name))
                json_clean_field(f, "name", t->name, false);
        if (t->description && !clean_empty(t->description))
                json_clean_field(f, "description", t->description, true);
        fputc_unlocked('\n', f);
        mdp_json_fput_indent(f, 4);
        put(f, "}");
}

int mdevctl_types_json(FILE *f, const struct cli_parent *parents, size_t n)
{
        _cleanup_free_ const struct cli_type **types = NULL;
        _cleanup_free_ size_t *start = NULL;
        size_t n_types = 0, k = 0;

        for (size_t i = 0; i < n; i++)
                n_types += parents[i].n_types;
        types = malloc((n_types + 1) * sizeof(*types));
        start = malloc((n + 1) * sizeof(*start));
        if (!types || !start)
                return log_error_errno(-ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                start[i] = k;
                for (size_t j = 0; j < parents[i].n_types; j++)
                        if (mdevctl_type_listable(&parents[i].types[j]))
                                types[k++] = &parents[i].types[j];
        }
        start[n] = k;
        json_by_parent(f, n, type_group, type_group_size, type_entry,
                       &(struct type_groups){parents, types, start});
        return 0;
}
