/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* mdev definitions in mdevctl's own files, /etc/mdevctl.d/<parent>/<uuid> (MDEVCTL.md
 * §2.1), so mdevctl and libvirt's nodedev driver keep seeing them. Reading follows
 * mdevctl's rules, but a bad file is an error naming the file and the key instead of
 * failing every other definition; writing reproduces mdevctl's bytes and is atomic. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctx.h"
#include "util/uuid.h"

#define MDP_ATTR_NAME_MAX 255
#define MDP_ATTR_VALUE_MAX 4096
#define MDP_DEFINITION_FILE_MAX (256 * 1024)

struct mdp_attr {
        char *name;
        char *value;
};

struct mdp_definition {
        char *parent;
        char uuid[MDP_UUID_STRING_MAX];
        char *type;
        bool autostart;        /* "start": "auto"; any other value means manual (mdevctl) */
        char *start_unusual;   /* the "start" value when neither "auto" nor "manual" */
        struct mdp_attr *attrs; /* written to the device in this order; names may repeat */
        size_t n_attrs;
        json_object *extra;    /* unknown top-level keys, kept when we rewrite the file */
};

struct mdp_definition *mdp_definition_free(struct mdp_definition *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_definition *, mdp_definition_free)

/* parent and type must pass mdp_sysfs_name_is_valid(); uuid must be canonical. */
int mdp_definition_new(const char *parent, const char *uuid, const char *type, bool autostart,
                       struct mdp_definition **ret);
struct mdp_definition *mdp_definition_copy(const struct mdp_definition *d);
/* index < 0 appends; otherwise inserts before index (0..n_attrs). -ERANGE, -EINVAL. */
int mdp_definition_add_attr(struct mdp_definition *d, const char *name, const char *value, long index);
/* index < 0 removes the last attribute (mdevctl's --delattr without --index). -ERANGE. */
int mdp_definition_del_attr(struct mdp_definition *d, long index);

/* Parses the JSON of a definition file or of a --jsonfile. type may be NULL when the
 * JSON must carry "mdev_type"; a non-NULL type is used when the JSON has none. On error
 * *ret_error says what was wrong in words ("\"attrs\" must be an array of single-key
 * objects with string values"). */
int mdp_definition_parse(const char *parent, const char *uuid, const char *text, size_t len,
                         struct mdp_definition **ret, char **ret_error);

/* mdevctl's exact file content: pretty JSON, keys mdev_type, start, attrs (then any
 * unknown keys), no trailing newline. NULL only when out of memory. */
char *mdp_definition_format(const struct mdp_definition *d);
/* {"mdev_type": ..., "start": ..., "attrs": [...]} as a json-c object (new reference). */
json_object *mdp_definition_to_json(const struct mdp_definition *d);

/* /etc/mdevctl.d/<parent>/<uuid> under the context's root. */
int mdp_definition_load(struct mdp_ctx *ctx, const char *parent, const char *uuid,
                        struct mdp_definition **ret, char **ret_error);
/* Atomic replace (temp file, fsync, rename, fsync directory); creates the parent's
 * directory. On failure the previous file is intact. */
int mdp_definition_save(struct mdp_ctx *ctx, const struct mdp_definition *d);
/* -ENOENT when there is no such file. The parent's directory is left in place, as
 * mdevctl does. */
int mdp_definition_remove(struct mdp_ctx *ctx, const char *parent, const char *uuid);

/* Removes the temporary files of interrupted mdp_definition_save() calls (".#<uuid>.XXXXXX"
 * in each parent's directory): for the daemon at start-up, the only writer. Returns how
 * many, or a negative errno. */
int mdp_definitions_remove_leftovers(struct mdp_ctx *ctx);

/* Every definition under /etc/mdevctl.d (or one parent's when parent is not NULL).
 * on_definition takes ownership of the definition it is given. on_problem is told about
 * each file that was skipped (path and reason), so one bad file never hides the others.
 * A missing /etc/mdevctl.d is no definitions, not an error. */
typedef int (*mdp_definition_fn)(void *userdata, struct mdp_definition *d);
typedef void (*mdp_definition_problem_fn)(void *userdata, const char *path, const char *problem);
int mdp_definitions_scan(struct mdp_ctx *ctx, const char *parent, mdp_definition_fn on_definition,
                         mdp_definition_problem_fn on_problem, void *userdata);
