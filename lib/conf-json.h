/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Library-internal: a strict, bounded JSON reader for configuration files, with getters
 * that check each value's type and range and report mistakes as "<file>: key "<path>":
 * expected <what>, got <value>". The first error is sticky: later getters return it at
 * once, so a loader can read a whole file and check for failure once. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "types.h"
#include "util/json.h"
#include "util/macro.h"

#define CONF_KEY_MAX 256

struct conf_reader {
        const char *file; /* path shown in messages */
        struct mdp_conf_messages *msgs;
        int error; /* first error, sticky */
};

/* Reads path (relative to dirfd) as one strict JSON object of at most max_size bytes
 * and max_depth levels of nesting, and checks "version": 1. */
int conf_parse_file(struct conf_reader *rd, int dirfd, const char *path, size_t max_size, int max_depth,
                    json_object **ret);
/* The same for text already in memory (len bytes, NUL-terminated). */
int conf_parse_text(struct conf_reader *rd, const char *text, size_t len, int max_depth, json_object **ret);

/* Records an error (the first one wins) and returns -EINVAL. key may be NULL. */
int conf_error(struct conf_reader *rd, const char *key, const char *fmt, ...) _printf_(3, 4);
void conf_warn(struct conf_reader *rd, const char *key, const char *fmt, ...) _printf_(3, 4);
/* Appends a formatted warning that is not tied to one file. */
void conf_messages_warn(struct mdp_conf_messages *m, const char *fmt, ...) _printf_(2, 3);
int conf_messages_add_warning(struct mdp_conf_messages *m, char *take);

/* "path.key" (or "key" at the top); "path[i]". */
void conf_key(char buf[static CONF_KEY_MAX], const char *path, const char *key);
void conf_index(char buf[static CONF_KEY_MAX], const char *path, size_t i);

/* Warns about every key of obj that is not in known (NULL-terminated). "comment" is always
 * allowed: JSON has no comments, so files document themselves with it. */
void conf_check_keys(struct conf_reader *rd, json_object *obj, const char *path, const char *const *known);

/* Getters: 0 when the key is absent (or null), 1 when *ret was set, negative on error. */
int conf_get_bool(struct conf_reader *rd, json_object *obj, const char *path, const char *key, bool *ret);
/* A boolean as yes/no; absent leaves *ret alone (callers start from MDP_UNKNOWN). */
int conf_get_tristate(struct conf_reader *rd, json_object *obj, const char *path, const char *key,
                      enum mdp_tristate *ret);
int conf_get_uint(struct conf_reader *rd, json_object *obj, const char *path, const char *key, uint64_t min,
                  uint64_t max, uint64_t *ret);
/* A non-empty string of at most max_len bytes without control characters; *ret points
 * into obj. */
int conf_get_string(struct conf_reader *rd, json_object *obj, const char *path, const char *key, size_t max_len,
                    const char **ret);
/* One of choices (NULL-terminated); *ret is its index. */
int conf_get_enum(struct conf_reader *rd, json_object *obj, const char *path, const char *key,
                  const char *const *choices, int *ret);
int conf_get_object(struct conf_reader *rd, json_object *obj, const char *path, const char *key,
                    json_object **ret);
int conf_get_array(struct conf_reader *rd, json_object *obj, const char *path, const char *key,
                   size_t max_len, json_object **ret);
/* An array of "N" / "N-M" strings; overlapping ranges are merged. *ret is malloc'd. */
int conf_get_pasid_ranges(struct conf_reader *rd, json_object *obj, const char *path, const char *key,
                          struct mdp_pasid_range **ret, size_t *ret_n);

/* The same checks on a value already at hand (an array element). */
int conf_expect_object(struct conf_reader *rd, json_object *v, const char *key);
int conf_expect_string(struct conf_reader *rd, json_object *v, const char *key, size_t max_len, const char **ret);

/* A glob as used for names (fnmatch): non-empty, printable, at most 255 bytes. */
int conf_get_glob(struct conf_reader *rd, json_object *obj, const char *path, const char *key, const char **ret);

/* Sorts and merges ranges in place; returns the new count. */
size_t pasid_ranges_normalize(struct mdp_pasid_range *r, size_t n);
