/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx-private.h"
#include "definition.h"
#include "host.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/strbuf.h"

static void attrs_free(struct mdp_attr *a, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(a[i].name);
                free(a[i].value);
        }
        free(a);
}

struct mdp_definition *mdp_definition_free(struct mdp_definition *d)
{
        if (!d)
                return NULL;
        free(d->parent);
        free(d->type);
        free(d->start_unusual);
        attrs_free(d->attrs, d->n_attrs);
        json_object_put(d->extra);
        free(d);
        return NULL;
}

int mdp_definition_new(const char *parent, const char *uuid, const char *type, bool autostart,
                       struct mdp_definition **ret)
{
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL;

        if (!mdp_sysfs_name_is_valid(parent) || !mdp_sysfs_name_is_valid(type) || !mdp_uuid_is_canonical(uuid))
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        memcpy(d->uuid, uuid, MDP_UUID_STRING_MAX);
        d->parent = strdup(parent);
        d->type = strdup(type);
        if (!d->parent || !d->type)
                return -ENOMEM;
        d->autostart = autostart;
        *ret = TAKE_PTR(d);
        return 0;
}

struct mdp_definition *mdp_definition_copy(const struct mdp_definition *d)
{
        _cleanup_(mdp_definition_freep) struct mdp_definition *c = NULL;

        if (mdp_definition_new(d->parent, d->uuid, d->type, d->autostart, &c) < 0)
                return NULL;
        for (size_t i = 0; i < d->n_attrs; i++)
                if (mdp_definition_add_attr(c, d->attrs[i].name, d->attrs[i].value, -1) < 0)
                        return NULL;
        if (d->start_unusual && !(c->start_unusual = strdup(d->start_unusual)))
                return NULL;
        if (d->extra && json_object_deep_copy(d->extra, &c->extra, NULL) < 0)
                return NULL;
        return TAKE_PTR(c);
}

static bool value_is_valid(const char *value, size_t len)
{
        /* No embedded NUL: sysfs writes take C strings. */
        return value && len <= MDP_ATTR_VALUE_MAX && strlen(value) == len;
}

int mdp_definition_add_attr(struct mdp_definition *d, const char *name, const char *value, long index)
{
        struct mdp_attr *a;
        char *n, *v;

        if (!mdp_sysfs_name_is_valid(name) || !value_is_valid(value, strlen(value)))
                return -EINVAL;
        if (index > (long)d->n_attrs)
                return -ERANGE;
        if (index < 0)
                index = (long)d->n_attrs;
        a = realloc(d->attrs, (d->n_attrs + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        d->attrs = a;
        n = strdup(name);
        v = strdup(value);
        if (!n || !v) {
                free(n);
                free(v);
                return -ENOMEM;
        }
        memmove(&a[index + 1], &a[index], (d->n_attrs - (size_t)index) * sizeof(*a));
        a[index] = (struct mdp_attr){ .name = n, .value = v };
        d->n_attrs++;
        return 0;
}

int mdp_definition_del_attr(struct mdp_definition *d, long index)
{
        if (d->n_attrs == 0)
                return -ERANGE;
        if (index < 0)
                index = (long)d->n_attrs - 1;
        if ((size_t)index >= d->n_attrs)
                return -ERANGE;
        free(d->attrs[index].name);
        free(d->attrs[index].value);
        memmove(&d->attrs[index], &d->attrs[index + 1], (d->n_attrs - (size_t)index - 1) * sizeof(*d->attrs));
        d->n_attrs--;
        return 0;
}

static int fail(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *fmt, ...)
{
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

static int parse_attrs(struct mdp_definition *d, json_object *attrs, char **ret_error)
{
        size_t n;

        if (!attrs || json_object_is_type(attrs, json_type_null))
                return 0;
        if (!json_object_is_type(attrs, json_type_array))
                return fail(ret_error, "\"attrs\" must be an array of {\"name\": \"value\"} objects");
        n = json_object_array_length(attrs);
        for (size_t i = 0; i < n; i++) {
                json_object *a = json_object_array_get_idx(attrs, i);
                int r;

                if (!json_object_is_type(a, json_type_object) || json_object_object_length(a) != 1)
                        return fail(ret_error, "\"attrs\"[%zu] must be an object with exactly one key", i);
                json_object_object_foreach(a, key, val)
                {
                        if (!json_object_is_type(val, json_type_string))
                                return fail(ret_error,
                                            "\"attrs\"[%zu] \"%s\": the value must be a string (quote it)", i,
                                            key);
                        if (!mdp_sysfs_name_is_valid(key))
                                return fail(ret_error, "\"attrs\"[%zu]: \"%s\" is not a valid attribute name", i,
                                            key);
                        if (!value_is_valid(json_object_get_string(val), (size_t)json_object_get_string_len(val)))
                                return fail(ret_error,
                                            "\"attrs\"[%zu] \"%s\": the value is longer than %d bytes or "
                                            "contains a NUL",
                                            i, key, MDP_ATTR_VALUE_MAX);
                        r = mdp_definition_add_attr(d, key, json_object_get_string(val), -1);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int mdp_definition_parse(const char *parent, const char *uuid, const char *text, size_t len,
                         struct mdp_definition **ret, char **ret_error)
{
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL;
        _cleanup_json_ json_object *root = NULL;
        _cleanup_free_ char *jerr = NULL;
        json_object *type, *start, *attrs;
        const char *type_s;
        int r;

        r = mdp_json_parse(text, len, MDP_JSON_MAX_DEPTH, &root, &jerr);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(ret_error, "not valid JSON: %s", strna(jerr));
        if (!json_object_is_type(root, json_type_object))
                return fail(ret_error, "the definition must be a JSON object");
        if (!json_object_object_get_ex(root, "mdev_type", &type) || json_object_is_type(type, json_type_null))
                return fail(ret_error, "\"mdev_type\" is missing");
        if (!json_object_is_type(type, json_type_string))
                return fail(ret_error, "\"mdev_type\" must be a string");
        type_s = json_object_get_string(type);
        if (!mdp_sysfs_name_is_valid(type_s))
                return fail(ret_error, "\"mdev_type\" \"%s\" is not a valid type name", type_s);
        if (!json_object_object_get_ex(root, "start", &start) || json_object_is_type(start, json_type_null))
                return fail(ret_error, "\"start\" is missing (use \"auto\" or \"manual\")");
        if (!json_object_is_type(start, json_type_string))
                return fail(ret_error, "\"start\" must be the string \"auto\" or \"manual\"");
        r = mdp_definition_new(parent, uuid, type_s, streq(json_object_get_string(start), "auto"), &d);
        if (r < 0)
                return r == -EINVAL ? fail(ret_error, "invalid parent \"%s\" or UUID \"%s\"", parent, uuid) : r;
        if (!d->autostart && !streq(json_object_get_string(start), "manual") &&
            !(d->start_unusual = strdup(json_object_get_string(start))))
                return -ENOMEM;
        json_object_object_get_ex(root, "attrs", &attrs);
        r = parse_attrs(d, attrs, ret_error);
        if (r < 0)
                return r;
        json_object_object_foreach(root, key, val)
        {
                if (streq(key, "mdev_type") || streq(key, "start") || streq(key, "attrs"))
                        continue;
                if (!d->extra && !(d->extra = json_object_new_object()))
                        return -ENOMEM;
                json_object_object_add(d->extra, key, json_object_get(val));
        }
        *ret = TAKE_PTR(d);
        return 0;
}

json_object *mdp_definition_to_json(const struct mdp_definition *d)
{
        _cleanup_json_ json_object *o = json_object_new_object(), *attrs = json_object_new_array();

        if (!o || !attrs)
                return NULL;
        json_object_object_add(o, "mdev_type", json_object_new_string(d->type));
        json_object_object_add(o, "start", json_object_new_string(d->autostart ? "auto" : "manual"));
        for (size_t i = 0; i < d->n_attrs; i++) {
                json_object *a = json_object_new_object();
                if (!a)
                        return NULL;
                json_object_object_add(a, d->attrs[i].name, json_object_new_string(d->attrs[i].value));
                json_object_array_add(attrs, a);
        }
        json_object_object_add(o, "attrs", TAKE_PTR(attrs));
        return TAKE_PTR(o);
}

char *mdp_definition_format(const struct mdp_definition *d)
{
        _cleanup_json_ json_object *o = mdp_definition_to_json(d);
        struct strbuf sb = { 0 };

        if (!o)
                return NULL;
        if (d->extra) {
                json_object_object_foreach(d->extra, key, val)
                        json_object_object_add(o, key, json_object_get(val));
        }
        mdp_json_write_pretty(&sb, o);
        return strbuf_steal(&sb);
}

int mdp_definition_load(struct mdp_ctx *ctx, const char *parent, const char *uuid,
                        struct mdp_definition **ret, char **ret_error)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;
        int r;

        if (!mdp_sysfs_name_is_valid(parent) || !mdp_uuid_is_canonical(uuid))
                return -EINVAL;
        path = mdp_path(ctx, MDP_PATH_MDEVCTL, "%s/%s", parent, uuid);
        if (!path)
                return -ENOMEM;
        r = read_full_file(AT_FDCWD, path, MDP_DEFINITION_FILE_MAX, &text, &len);
        if (r == -EFBIG)
                return fail(ret_error, "larger than %d bytes", MDP_DEFINITION_FILE_MAX);
        if (r < 0)
                return r;
        return mdp_definition_parse(parent, uuid, text, len, ret, ret_error);
}

int mdp_definition_save(struct mdp_ctx *ctx, const struct mdp_definition *d)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *content = NULL;
        int r;

        if (!mdp_sysfs_name_is_valid(d->parent) || !mdp_uuid_is_canonical(d->uuid) || !mdp_sysfs_name_is_valid(d->type))
                return -EINVAL;
        dir = mdp_path(ctx, MDP_PATH_MDEVCTL, "%s", d->parent);
        path = mdp_path(ctx, MDP_PATH_MDEVCTL, "%s/%s", d->parent, d->uuid);
        content = mdp_definition_format(d);
        if (!dir || !path || !content)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        return write_file_atomic(path, content, strlen(content), 0644);
}

int mdp_definition_remove(struct mdp_ctx *ctx, const char *parent, const char *uuid)
{
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_close_ int dfd = -1;

        if (!mdp_sysfs_name_is_valid(parent) || !mdp_uuid_is_canonical(uuid))
                return -EINVAL;
        dir = mdp_path(ctx, MDP_PATH_MDEVCTL, "%s", parent);
        path = mdp_path(ctx, MDP_PATH_MDEVCTL, "%s/%s", parent, uuid);
        if (!dir || !path)
                return -ENOMEM;
        if (unlink(path) < 0)
                return -errno;
        /* Make the removal durable like the writes are. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void)fsync(dfd);
        return 0;
}

static void problem(mdp_definition_problem_fn fn, void *userdata, const char *path, const char *fmt, ...)
        _printf_(4, 5);
static void problem(mdp_definition_problem_fn fn, void *userdata, const char *path, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        if (!fn)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fn(userdata, path, msg);
}

static int scan_parent(struct mdp_ctx *ctx, int basefd, const char *parent, mdp_definition_fn on_definition,
                       mdp_definition_problem_fn on_problem, void *userdata)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        fd = openat(basefd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL, *error = NULL;
                struct mdp_definition *def = NULL;
                size_t len;

                if (de->d_name[0] == '.') /* ., .., and our own temporary files */
                        continue;
                path = mdp_path(ctx, MDP_PATH_MDEVCTL, "%s/%s", parent, de->d_name);
                if (!path)
                        return -ENOMEM;
                if (!mdp_uuid_is_canonical(de->d_name)) {
                        struct stat st;
                        /* mdevctl skips sub-directories silently and warns about other names. */
                        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
                                continue;
                        problem(on_problem, userdata, path, "ignored: the file name is not a lowercase UUID");
                        continue;
                }
                r = read_full_file(dirfd(d), de->d_name, MDP_DEFINITION_FILE_MAX, &text, &len);
                if (r < 0) {
                        if (r == -EISDIR)
                                continue;
                        problem(on_problem, userdata, path, "skipped: cannot read it: %s", strerror(-r));
                        continue;
                }
                r = mdp_definition_parse(parent, de->d_name, text, len, &def, &error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        problem(on_problem, userdata, path, "skipped: %s", strna(error));
                        continue;
                }
                r = on_definition(userdata, def);
                if (r < 0)
                        return r;
        }
        return 0;
}

int mdp_definitions_scan(struct mdp_ctx *ctx, const char *parent, mdp_definition_fn on_definition,
                         mdp_definition_problem_fn on_problem, void *userdata)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ char *base = NULL;
        _cleanup_close_ int basefd = -1;
        struct dirent *de;
        int r;

        base = mdp_path(ctx, MDP_PATH_MDEVCTL, NULL);
        if (!base)
                return -ENOMEM;
        basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (basefd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (parent) {
                if (!mdp_sysfs_name_is_valid(parent))
                        return -EINVAL;
                return scan_parent(ctx, basefd, parent, on_definition, on_problem, userdata);
        }
        d = fdopendir(TAKE_FD(basefd));
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                struct stat st;

                /* scripts.d holds mdevctl's callouts; regular files are not parents. */
                if (de->d_name[0] == '.' || streq(de->d_name, "scripts.d"))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                if (!mdp_sysfs_name_is_valid(de->d_name))
                        continue;
                r = scan_parent(ctx, dirfd(d), de->d_name, on_definition, on_problem, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_uuid_name(const char *name)
{
        return mdp_uuid_is_canonical(name);
}

int mdp_definitions_remove_leftovers(struct mdp_ctx *ctx)
{
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ char *base = NULL;
        struct dirent *de;
        int fd, n = 0;

        base = mdp_path(ctx, MDP_PATH_MDEVCTL, NULL);
        if (!base)
                return -ENOMEM;
        d = opendir(base);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                struct stat st;
                int r;

                if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
                    !S_ISDIR(st.st_mode) || !mdp_sysfs_name_is_valid(de->d_name))
                        continue;
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                r = remove_atomic_leftovers(fd, is_uuid_name);
                close(fd);
                if (r < 0)
                        return r;
                n += r;
        }
        return n;
}
