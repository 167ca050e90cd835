/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* state.json: ownership and intents of the daemon (format in state.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "mdp-names.h"
#include "state.h"
#include "util/fileio.h"
#include "util/hashmap.h"
#include "util/json.h"
#include "util/strbuf.h"

struct mdp_state {
        struct hashmap *devices; /* uuid -> struct mdp_state_device */
        struct hashmap *ops;     /* uuid -> struct mdp_state_op */
        json_object *extra;      /* unknown top-level keys */
};

static const char *const op_kind_names[_MDP_STATE_OP_MAX] = {
        [MDP_STATE_OP_START] = "start",
        [MDP_STATE_OP_CREATE] = "create",
        [MDP_STATE_OP_STOP] = "stop",
        [MDP_STATE_OP_REMOVE] = "remove",
};

const char *mdp_state_op_kind_to_string(enum mdp_state_op_kind k)
{
        return (unsigned)k < _MDP_STATE_OP_MAX ? op_kind_names[k] : NULL;
}

int mdp_state_op_kind_from_string(const char *s)
{
        for (int i = 0; i < _MDP_STATE_OP_MAX; i++)
                if (s && streq(s, op_kind_names[i]))
                        return i;
        return -EINVAL;
}

static void device_free(struct mdp_state_device *d)
{
        if (!d)
                return;
        free(d->parent);
        free(d->type);
        free(d);
}

static void op_free(struct mdp_state_op *o)
{
        if (!o)
                return;
        free(o->parent);
        free(o->type);
        free(o);
}

int mdp_state_new(struct mdp_state **ret)
{
        struct mdp_state *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->devices = hashmap_new();
        s->ops = hashmap_new();
        if (!s->devices || !s->ops) {
                mdp_state_free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

struct mdp_state *mdp_state_free(struct mdp_state *s)
{
        struct mdp_state_device *d;
        struct mdp_state_op *o;

        if (!s)
                return NULL;
        if (s->devices) {
                HASHMAP_FOREACH (d, s->devices, i)
                        device_free(d);
                hashmap_free(s->devices);
        }
        if (s->ops) {
                HASHMAP_FOREACH (o, s->ops, i)
                        op_free(o);
                hashmap_free(s->ops);
        }
        json_object_put(s->extra);
        free(s);
        return NULL;
}

static bool names_valid(const char *uuid, const char *parent, const char *type)
{
        return mdp_uuid_is_canonical(uuid) && mdp_sysfs_name_is_valid(parent) &&
               mdp_sysfs_name_is_valid(type);
}

const struct mdp_state_device *mdp_state_device_get(const struct mdp_state *s, const char *uuid)
{
        return uuid ? hashmap_get(s->devices, uuid) : NULL;
}

int mdp_state_device_set(struct mdp_state *s, const char *uuid, const char *parent, const char *type,
                         bool transient, uint64_t started_usec)
{
        struct mdp_state_device *d, *old;
        int r;

        if (!names_valid(uuid, parent, type))
                return -EINVAL;
        old = hashmap_get(s->devices, uuid);
        if (old && streq(old->parent, parent) && streq(old->type, type) && old->transient == transient &&
            old->started_usec == started_usec)
                return 0;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        memcpy(d->uuid, uuid, MDP_UUID_STRING_MAX);
        d->parent = strdup(parent);
        d->type = strdup(type);
        d->transient = transient;
        d->started_usec = started_usec;
        if (!d->parent || !d->type) {
                device_free(d);
                return -ENOMEM;
        }
        r = hashmap_replace(s->devices, d->uuid, d, (void **)&old);
        if (r < 0) {
                device_free(d);
                return r;
        }
        device_free(old);
        return 1;
}

int mdp_state_device_remove(struct mdp_state *s, const char *uuid)
{
        struct mdp_state_device *d = uuid ? hashmap_remove(s->devices, uuid) : NULL;

        if (!d)
                return 0;
        device_free(d);
        return 1;
}

const struct mdp_state_op *mdp_state_op_get(const struct mdp_state *s, const char *uuid)
{
        return uuid ? hashmap_get(s->ops, uuid) : NULL;
}

int mdp_state_op_set(struct mdp_state *s, const char *uuid, enum mdp_state_op_kind kind, const char *parent,
                     const char *type, uint64_t since_usec)
{
        struct mdp_state_op *o, *old;
        int r;

        if (!names_valid(uuid, parent, type) || (unsigned)kind >= _MDP_STATE_OP_MAX)
                return -EINVAL;
        old = hashmap_get(s->ops, uuid);
        if (old && old->kind == kind && streq(old->parent, parent) && streq(old->type, type) &&
            old->since_usec == since_usec)
                return 0;
        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        memcpy(o->uuid, uuid, MDP_UUID_STRING_MAX);
        o->kind = kind;
        o->parent = strdup(parent);
        o->type = strdup(type);
        o->since_usec = since_usec;
        if (!o->parent || !o->type) {
                op_free(o);
                return -ENOMEM;
        }
        r = hashmap_replace(s->ops, o->uuid, o, (void **)&old);
        if (r < 0) {
                op_free(o);
                return r;
        }
        op_free(old);
        return 1;
}

int mdp_state_op_remove(struct mdp_state *s, const char *uuid)
{
        struct mdp_state_op *o = uuid ? hashmap_remove(s->ops, uuid) : NULL;

        if (!o)
                return 0;
        op_free(o);
        return 1;
}

json_object *mdp_state_extra(const struct mdp_state *s)
{
        return s->extra;
}

json_object *mdp_state_section(const struct mdp_state *s, const char *key)
{
        json_object *v = NULL;

        if (!s || !s->extra || !json_object_object_get_ex(s->extra, key, &v))
                return NULL;
        return v;
}

int mdp_state_set_section(struct mdp_state *s, const char *key, json_object *value)
{
        if (!value) {
                if (s->extra)
                        json_object_object_del(s->extra, key);
                return 0;
        }
        if (!s->extra && !(s->extra = json_object_new_object())) {
                json_object_put(value);
                return -ENOMEM;
        }
        if (json_object_object_add(s->extra, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

/* Both entry types start with the UUID. */
static int compare_by_uuid(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int list_sorted(struct hashmap *h, const void ***ret, size_t *ret_n)
{
        size_t n = hashmap_size(h), i = 0;
        const void **a;
        void *v;

        a = calloc(n + 1, sizeof(void *));
        if (!a)
                return -ENOMEM;
        HASHMAP_FOREACH (v, h, c)
                a[i++] = v;
        /* The uuid array is the first member, so the entry pointer is a char pointer to it. */
        qsort(a, n, sizeof(void *), compare_by_uuid);
        *ret = a;
        *ret_n = n;
        return 0;
}

int mdp_state_device_list(const struct mdp_state *s, const struct mdp_state_device ***ret, size_t *ret_n)
{
        return list_sorted(s->devices, (const void ***)ret, ret_n);
}

int mdp_state_op_list(const struct mdp_state *s, const struct mdp_state_op ***ret, size_t *ret_n)
{
        return list_sorted(s->ops, (const void ***)ret, ret_n);
}

/* ---- parsing ---- */

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...)
{
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

static const char *get_string(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* A non-negative integer; missing is 0. */
static int get_usec(json_object *o, const char *key, uint64_t *ret)
{
        json_object *v;
        int64_t i;

        if (!json_object_object_get_ex(o, key, &v)) {
                *ret = 0;
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return -EINVAL;
        i = json_object_get_int64(v);
        if (i < 0)
                return -EINVAL;
        *ret = (uint64_t)i;
        return 0;
}

static int parse_device(struct mdp_state *s, json_object *e, size_t idx, char **ret_error)
{
        const char *uuid = get_string(e, "uuid"), *parent = get_string(e, "parent"),
                   *type = get_string(e, "type");
        json_object *v;
        bool transient = false;
        uint64_t usec;
        int r;

        if (!json_object_is_type(e, json_type_object))
                return fail(ret_error, -EINVAL, "devices[%zu]: not an object", idx);
        if (!mdp_uuid_is_canonical(uuid))
                return fail(ret_error, -EINVAL, "devices[%zu].uuid: not a canonical UUID", idx);
        if (!mdp_sysfs_name_is_valid(parent))
                return fail(ret_error, -EINVAL, "devices[%zu].parent: not a parent name", idx);
        if (!mdp_sysfs_name_is_valid(type))
                return fail(ret_error, -EINVAL, "devices[%zu].type: not a type name", idx);
        if (json_object_object_get_ex(e, "transient", &v)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return fail(ret_error, -EINVAL, "devices[%zu].transient: not true or false", idx);
                transient = json_object_get_boolean(v);
        }
        if (get_usec(e, "started_usec", &usec) < 0)
                return fail(ret_error, -EINVAL, "devices[%zu].started_usec: not a non-negative integer",
                            idx);
        if (hashmap_get(s->devices, uuid))
                return fail(ret_error, -EINVAL, "devices[%zu]: UUID %s is listed twice", idx, uuid);
        r = mdp_state_device_set(s, uuid, parent, type, transient, usec);
        return r < 0 ? r : 0;
}

static int parse_op(struct mdp_state *s, json_object *e, size_t idx, char **ret_error)
{
        const char *uuid = get_string(e, "uuid"), *parent = get_string(e, "parent"),
                   *type = get_string(e, "type");
        uint64_t usec;
        int kind, r;

        if (!json_object_is_type(e, json_type_object))
                return fail(ret_error, -EINVAL, "operations[%zu]: not an object", idx);
        if (!mdp_uuid_is_canonical(uuid))
                return fail(ret_error, -EINVAL, "operations[%zu].uuid: not a canonical UUID", idx);
        kind = mdp_state_op_kind_from_string(get_string(e, "operation"));
        if (kind < 0)
                return fail(
                        ret_error, -EINVAL,
                        "operations[%zu].operation: expected \"start\", \"create\", \"stop\" or \"remove\"",
                        idx);
        if (!mdp_sysfs_name_is_valid(parent))
                return fail(ret_error, -EINVAL, "operations[%zu].parent: not a parent name", idx);
        if (!mdp_sysfs_name_is_valid(type))
                return fail(ret_error, -EINVAL, "operations[%zu].type: not a type name", idx);
        if (get_usec(e, "since_usec", &usec) < 0)
                return fail(ret_error, -EINVAL, "operations[%zu].since_usec: not a non-negative integer",
                            idx);
        if (hashmap_get(s->ops, uuid))
                return fail(ret_error, -EINVAL, "operations[%zu]: UUID %s is listed twice", idx, uuid);
        r = mdp_state_op_set(s, uuid, kind, parent, type, usec);
        return r < 0 ? r : 0;
}

static int parse_array(struct mdp_state *s, json_object *root, const char *key,
                       int (*fn)(struct mdp_state *, json_object *, size_t, char **), char **ret_error)
{
        json_object *a;
        int r;

        if (!json_object_object_get_ex(root, key, &a) || json_object_is_type(a, json_type_null))
                return 0;
        if (!json_object_is_type(a, json_type_array))
                return fail(ret_error, -EINVAL, "%s: not an array", key);
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                r = fn(s, json_object_array_get_idx(a, i), i, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int mdp_state_parse(const char *text, size_t len, struct mdp_state **ret, char **ret_error)
{
        _cleanup_(mdp_state_freep) struct mdp_state *s = NULL;
        _cleanup_json_ json_object *root = NULL;
        _cleanup_free_ char *jerr = NULL;
        json_object *v;
        int64_t version;
        int r;

        r = mdp_json_parse(text, len, MDP_JSON_MAX_DEPTH, &root, &jerr);
        if (r < 0)
                return r == -EINVAL ? fail(ret_error, r, "%s", jerr ? jerr : "not JSON") : r;
        if (!json_object_is_type(root, json_type_object))
                return fail(ret_error, -EINVAL, "the top level is not an object");
        if (!json_object_object_get_ex(root, "version", &v) || !json_object_is_type(v, json_type_int))
                return fail(ret_error, -EINVAL, "version: missing or not an integer");
        version = json_object_get_int64(v);
        if (version < 1)
                return fail(ret_error, -EINVAL, "version: %" PRId64 " is not a valid version", version);
        if (version > MDP_STATE_VERSION)
                return fail(ret_error, -EPROTONOSUPPORT,
                            "version: %" PRId64 " is newer than this mdevpasid understands (%d)", version,
                            MDP_STATE_VERSION);
        r = mdp_state_new(&s);
        if (r < 0)
                return r;
        r = parse_array(s, root, "devices", parse_device, ret_error);
        if (r < 0)
                return r;
        r = parse_array(s, root, "operations", parse_op, ret_error);
        if (r < 0)
                return r;
        json_object_object_foreach(root, key, val)
        {
                if (streq(key, "version") || streq(key, "devices") || streq(key, "operations"))
                        continue;
                if (!s->extra && !(s->extra = json_object_new_object()))
                        return -ENOMEM;
                if (json_object_object_add(s->extra, key, json_object_get(val)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- formatting ---- */

static int add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int append(json_object *a, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *to_json(const struct mdp_state *s)
{
        _cleanup_free_ const struct mdp_state_device **devs = NULL;
        _cleanup_free_ const struct mdp_state_op **ops = NULL;
        _cleanup_json_ json_object *root = json_object_new_object();
        json_object *devices = NULL, *operations = NULL;
        size_t n_devs, n_ops;

        if (!root || mdp_state_device_list(s, &devs, &n_devs) < 0 || mdp_state_op_list(s, &ops, &n_ops) < 0)
                return NULL;
        if (add(root, "version", json_object_new_int(MDP_STATE_VERSION)) < 0)
                return NULL;
        devices = json_object_new_array();
        if (add(root, "devices", devices) < 0)
                return NULL;
        for (size_t i = 0; i < n_devs; i++) {
                json_object *e = json_object_new_object();
                if (append(devices, e) < 0 || add(e, "uuid", json_object_new_string(devs[i]->uuid)) < 0 ||
                    add(e, "parent", json_object_new_string(devs[i]->parent)) < 0 ||
                    add(e, "type", json_object_new_string(devs[i]->type)) < 0 ||
                    add(e, "transient", json_object_new_boolean(devs[i]->transient)) < 0 ||
                    add(e, "started_usec", json_object_new_int64((int64_t)devs[i]->started_usec)) < 0)
                        return NULL;
        }
        operations = json_object_new_array();
        if (add(root, "operations", operations) < 0)
                return NULL;
        for (size_t i = 0; i < n_ops; i++) {
                json_object *e = json_object_new_object();
                if (append(operations, e) < 0 || add(e, "uuid", json_object_new_string(ops[i]->uuid)) < 0 ||
                    add(e, "operation", json_object_new_string(op_kind_names[ops[i]->kind])) < 0 ||
                    add(e, "parent", json_object_new_string(ops[i]->parent)) < 0 ||
                    add(e, "type", json_object_new_string(ops[i]->type)) < 0 ||
                    add(e, "since_usec", json_object_new_int64((int64_t)ops[i]->since_usec)) < 0)
                        return NULL;
        }
        if (s->extra) {
                json_object_object_foreach(s->extra, key, val)
                {
                        if (add(root, key, json_object_get(val)) < 0)
                                return NULL;
                }
        }
        return TAKE_PTR(root);
}

char *mdp_state_format(const struct mdp_state *s)
{
        _cleanup_json_ json_object *root = to_json(s);
        struct strbuf sb = {0};

        if (!root)
                return NULL;
        mdp_json_write_pretty(&sb, root);
        strbuf_append(&sb, "\n");
        return strbuf_steal(&sb);
}

int mdp_state_load(struct mdp_ctx *ctx, struct mdp_state **ret, char **ret_error)
{
        _cleanup_free_ char *path = NULL, *text = NULL, *err = NULL;
        size_t size;
        int r;

        path = mdp_path(ctx, MDP_PATH_STATE, MDP_STATE_FILE);
        if (!path)
                return -ENOMEM;
        r = read_full_file(AT_FDCWD, path, MDP_STATE_FILE_MAX, &text, &size);
        if (r == -ENOENT)
                return mdp_state_new(ret);
        if (r < 0)
                return fail(ret_error, r, "%s: %s", path, strerror(-r));
        r = mdp_state_parse(text, size, ret, &err);
        if (r < 0 && r != -ENOMEM)
                return fail(ret_error, r, "%s: %s", path, err ? err : strerror(-r));
        return r;
}

int mdp_state_save(struct mdp_ctx *ctx, const struct mdp_state *s)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        int r;

        dir = mdp_path(ctx, MDP_PATH_STATE, NULL);
        path = mdp_path(ctx, MDP_PATH_STATE, MDP_STATE_FILE);
        text = mdp_state_format(s);
        if (!dir || !path || !text)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        return write_file_atomic(path, text, strlen(text), 0644);
}

static bool is_state_file(const char *name)
{
        return streq(name, MDP_STATE_FILE);
}

int mdp_state_remove_leftovers(struct mdp_ctx *ctx)
{
        _cleanup_free_ char *dir = mdp_path(ctx, MDP_PATH_STATE, NULL);
        _cleanup_close_ int fd = -1;

        if (!dir)
                return -ENOMEM;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        return remove_atomic_leftovers(fd, is_state_file);
}
