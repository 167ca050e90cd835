/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mdevctl-format.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strbuf.h"

int mdevctl_list_text(FILE *f, const struct cli_device *devices, size_t n, bool defined, bool verbose)
{
        for (size_t i = 0; i < n; i++) {
                const struct cli_device *d = &devices[i];

                fprintf(f, "%s %s %s %s%s\n", d->uuid, d->parent, d->type, d->autostart ? "auto" : "manual",
                        defined ? (d->active ? " (active)" : "") : (d->defined ? " (defined)" : ""));
                if (verbose && d->n_attrs > 0) {
                        fputs("  Attrs:\n", f);
                        /* mdevctl formats these by hand: no JSON escaping. */
                        for (size_t a = 0; a < d->n_attrs; a++)
                                fprintf(f, "    @{%zu}: {\"%s\":\"%s\"}\n", a, d->attrs[a].name, d->attrs[a].value);
                }
        }
        fputc('\n', f);
        return 0;
}

static json_object *device_config(const struct cli_device *d)
{
        json_object *o = json_object_new_object(), *attrs = json_object_new_array();

        json_object_object_add(o, "mdev_type", json_object_new_string(d->type));
        json_object_object_add(o, "start", json_object_new_string(d->autostart ? "auto" : "manual"));
        for (size_t a = 0; a < d->n_attrs; a++) {
                json_object *kv = json_object_new_object();
                json_object_object_add(kv, d->attrs[a].name, json_object_new_string(d->attrs[a].value));
                json_object_array_add(attrs, kv);
        }
        json_object_object_add(o, "attrs", attrs);
        return o;
}

static int print_json(FILE *f, json_object *o)
{
        struct strbuf sb = {0};
        _cleanup_free_ char *text = NULL;

        mdp_json_write_pretty(&sb, o);
        strbuf_append(&sb, "\n");
        text = strbuf_steal(&sb);
        if (!text)
                return log_error_errno(-ENOMEM, "out of memory");
        fputs(text, f);
        return 0;
}

int mdevctl_list_json(FILE *f, const struct cli_device *devices, size_t n, bool bare)
{
        _cleanup_json_ json_object *top = NULL;
        json_object *parents = NULL, *children = NULL;
        const char *current = NULL;

        if (bare && n == 1) {
                top = device_config(&devices[0]);
                return print_json(f, top);
        }
        top = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                const struct cli_device *d = &devices[i];
                json_object *entry;

                if (!parents) {
                        parents = json_object_new_object();
                        json_object_array_add(top, parents);
                }
                if (!current || !streq(current, d->parent)) {
                        children = json_object_new_array();
                        json_object_object_add(parents, d->parent, children);
                        current = d->parent;
                }
                entry = json_object_new_object();
                json_object_object_add(entry, d->uuid, device_config(d));
                json_object_array_add(children, entry);
        }
        return print_json(f, top);
}

/* Rust's str::trim() on ASCII text, then mdevctl's replace("\n", ", "). */
static char *mdevctl_clean(const char *s, bool join_lines)
{
        struct strbuf sb = {0};
        const char *end;

        while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || (end[-1] >= '\t' && end[-1] <= '\r')))
                end--;
        for (const char *p = s; p < end; p++) {
                if (join_lines && *p == '\n')
                        strbuf_append(&sb, ", ");
                else
                        strbuf_appendn(&sb, p, 1);
        }
        return strbuf_steal(&sb);
}

bool mdevctl_type_listable(const struct cli_type *t)
{
        return t->available_instances >= 0 && t->available_instances <= INT32_MAX && t->device_api;
}

int mdevctl_types_text(FILE *f, const struct cli_parent *parents, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%s\n", parents[i].name);
                for (size_t j = 0; j < parents[i].n_types; j++) {
                        const struct cli_type *t = &parents[i].types[j];
                        _cleanup_free_ char *api = NULL, *name = NULL, *desc = NULL;

                        if (!mdevctl_type_listable(t))
                                continue;
                        api = mdevctl_clean(t->device_api, false);
                        name = t->name ? mdevctl_clean(t->name, false) : strdup("");
                        desc = t->description ? mdevctl_clean(t->description, true) : strdup("");
                        if (!api || !name || !desc)
                                return log_error_errno(-ENOMEM, "out of memory");
                        fprintf(f, "  %s\n    Available instances: %" PRId64 "\n    Device API: %s\n", t->id,
                                t->available_instances, api);
                        if (*name)
                                fprintf(f, "    Name: %s\n", name);
                        if (*desc)
                                fprintf(f, "    Description: %s\n", desc);
                }
        }
        fputc('\n', f);
        return 0;
}

int mdevctl_types_json(FILE *f, const struct cli_parent *parents, size_t n)
{
        _cleanup_json_ json_object *top = json_object_new_array();
        json_object *by_parent = NULL;

        for (size_t i = 0; i < n; i++) {
                json_object *types = json_object_new_array();

                if (!by_parent) {
                        by_parent = json_object_new_object();
                        json_object_array_add(top, by_parent);
                }
                for (size_t j = 0; j < parents[i].n_types; j++) {
                        const struct cli_type *t = &parents[i].types[j];
                        _cleanup_free_ char *api = NULL, *name = NULL, *desc = NULL;
                        json_object *o, *entry;

                        if (!mdevctl_type_listable(t))
                                continue;
                        api = mdevctl_clean(t->device_api, false);
                        name = t->name ? mdevctl_clean(t->name, false) : strdup("");
                        desc = t->description ? mdevctl_clean(t->description, true) : strdup("");
                        if (!api || !name || !desc)
                                return log_error_errno(-ENOMEM, "out of memory");
                        o = json_object_new_object();
                        json_object_object_add(o, "available_instances",
                                               json_object_new_int64(t->available_instances));
                        json_object_object_add(o, "device_api", json_object_new_string(api));
                        if (*name)
                                json_object_object_add(o, "name", json_object_new_string(name));
                        if (*desc)
                                json_object_object_add(o, "description", json_object_new_string(desc));
                        entry = json_object_new_object();
                        json_object_object_add(entry, t->id, o);
                        json_object_array_add(types, entry);
                }
                json_object_object_add(by_parent, parents[i].name, types);
        }
        return print_json(f, top);
}
