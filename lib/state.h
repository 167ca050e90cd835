/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's runtime state, /var/lib/mdevpasid/state.json (DESIGN.md §4, §8): what
 * mdevpasid owns and what it was in the middle of doing, so a restart (even after kill -9)
 * knows which mdevs it started and can finish or undo an interrupted operation.
 * Definitions are NOT here: they are mdevctl's files (lib/definition.h).
 *
 * File format (JSON, written atomically with write_file_atomic(); entries sorted by UUID):
 *
 *   {
 *     "version": 1,
 *     "devices": [                         ownership: mdevs this daemon started or created
 *       { "uuid": "<canonical UUID>", "parent": "<parent>", "type": "<type id>",
 *         "transient": false,              true: made by Create (no definition)
 *         "started_usec": 1700000000000000 CLOCK_REALTIME, microseconds }
 *     ],
 *     "operations": [                      intents: written before the first sysfs write
 *       { "uuid": "...", "operation": "start"|"create"|"stop"|"remove",
 *         "parent": "...", "type": "...", "since_usec": 1700000000000000 }
 *     ]
 *   }
 *
 * Rules:
 *  - "version" is required. A file with a newer version is refused with -EPROTONOSUPPORT
 *    (and must not be overwritten by this version: it holds data we do not understand).
 *  - Unknown top-level keys are kept as they are and written back (mdp_state_format), so
 *    sections added later (VM assignments, PASID allocations) survive an older writer
 *    that does not know them; unknown keys inside entries are dropped.
 *  - One operation per UUID at a time (the daemon serializes operations per device).
 *
 * Extending: add a section as a new top-level key with its own parse and format code here,
 * bump MDP_STATE_VERSION only when an older reader would misread the file (not for a new
 * optional key). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "util/macro.h"
#include "util/uuid.h"

#define MDP_STATE_VERSION  1
#define MDP_STATE_FILE_MAX (64 * 1024 * 1024)

enum mdp_state_op_kind {
        MDP_STATE_OP_START,  /* Start of a definition (create + attributes) */
        MDP_STATE_OP_CREATE, /* Create of a transient device */
        MDP_STATE_OP_STOP,
        MDP_STATE_OP_REMOVE,
        _MDP_STATE_OP_MAX,
};
const char *mdp_state_op_kind_to_string(enum mdp_state_op_kind k);
int mdp_state_op_kind_from_string(const char *s); /* the kind or -EINVAL */

struct mdp_state_device {
        char uuid[MDP_UUID_STRING_MAX];
        char *parent;
        char *type;
        bool transient;
        uint64_t started_usec;
};

struct mdp_state_op {
        char uuid[MDP_UUID_STRING_MAX];
        enum mdp_state_op_kind kind;
        char *parent;
        char *type;
        uint64_t since_usec;
};

struct mdp_state;

int mdp_state_new(struct mdp_state **ret);
struct mdp_state *mdp_state_free(struct mdp_state *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_state *, mdp_state_free)

/* On -EINVAL / -EPROTONOSUPPORT *ret_error says what is wrong and where ("devices[2].uuid:
 * not a canonical UUID"). */
int mdp_state_parse(const char *text, size_t len, struct mdp_state **ret, char **ret_error);
/* Pretty JSON with a trailing newline; NULL only when out of memory. */
char *mdp_state_format(const struct mdp_state *s);

/* <state dir>/state.json under the context's root. A missing file is an empty state. */
int mdp_state_load(struct mdp_ctx *ctx, struct mdp_state **ret, char **ret_error);
/* Creates the state directory if needed; atomic replace. */
int mdp_state_save(struct mdp_ctx *ctx, const struct mdp_state *s);
/* Removes the temporary file of an interrupted mdp_state_save() (".#state.json.XXXXXX"):
 * for the daemon at start-up. Returns how many, or a negative errno. */
int mdp_state_remove_leftovers(struct mdp_ctx *ctx);

/* Ownership. _set returns 1 when something changed, 0 when the entry was already so. */
const struct mdp_state_device *mdp_state_device_get(const struct mdp_state *s, const char *uuid);
int mdp_state_device_set(struct mdp_state *s, const char *uuid, const char *parent, const char *type,
                         bool transient, uint64_t started_usec);
int mdp_state_device_remove(struct mdp_state *s, const char *uuid); /* 1 removed, 0 absent */
/* Entries sorted by UUID; *ret is a malloc'd array of pointers into the state. */
int mdp_state_device_list(const struct mdp_state *s, const struct mdp_state_device ***ret, size_t *ret_n);

/* Intents. */
const struct mdp_state_op *mdp_state_op_get(const struct mdp_state *s, const char *uuid);
int mdp_state_op_set(struct mdp_state *s, const char *uuid, enum mdp_state_op_kind kind, const char *parent,
                     const char *type, uint64_t since_usec);
int mdp_state_op_remove(struct mdp_state *s, const char *uuid);
int mdp_state_op_list(const struct mdp_state *s, const struct mdp_state_op ***ret, size_t *ret_n);

/* Unknown top-level keys kept from the file (borrowed; NULL when none). */
json_object *mdp_state_extra(const struct mdp_state *s);

/* Sections other modules own (daemon/vms.c: "vms", "pasids"): a top-level key kept and
 * written back as it is. _section returns it borrowed (NULL when absent); _set_section takes
 * ownership of value (NULL removes the key). */
json_object *mdp_state_section(const struct mdp_state *s, const char *key);
int mdp_state_set_section(struct mdp_state *s, const char *key, json_object *value);
