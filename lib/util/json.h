/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* json-c helpers: bounded, strict parsing with errors a person can act on, and a writer
 * that reproduces serde_json's pretty format byte for byte (mdevctl's files and
 * --dumpjson output; MDEVCTL.md §2). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "util/macro.h"
#include "util/strbuf.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
#define _cleanup_json_ _cleanup_(json_object_putp)

#define MDP_JSON_MAX_DEPTH 32

/* Parses text (len bytes; no NUL needed) strictly: one JSON value, nothing but white space
 * after it, nesting at most max_depth. On failure returns -EINVAL (or -ENOMEM) and, if
 * ret_error is given, a message such as "line 3, column 7: unexpected character". */
int mdp_json_parse(const char *text, size_t len, int max_depth, json_object **ret, char **ret_error);

/* serde_json::to_string_pretty layout: two-space indent, "key": value, [] and {} when
 * empty, no trailing newline, strings escaped like serde (\" \\ and control characters
 * only; UTF-8 passes through). */
void mdp_json_write_pretty(struct strbuf *sb, json_object *o);
/* The compact form (serde_json::to_string): no spaces at all. */
void mdp_json_write_compact(struct strbuf *sb, json_object *o);
/* A JSON string literal with serde's escaping, quotes included. */
void mdp_json_write_string(struct strbuf *sb, const char *s);
/* The same string, and an indent of level (two spaces each, as mdp_json_write_pretty()),
 * written straight to f: for output too large to build as objects first. */
void mdp_json_fput_string(FILE *f, const char *s);
/* n bytes of s escaped, without the quotes. */
void mdp_json_fput_escaped(FILE *f, const char *s, size_t n);
void mdp_json_fput_indent(FILE *f, int level);

/* Type-checked getters; NULL / false when the key is missing or of another type. */
const char *mdp_json_get_string(json_object *o, const char *key);
