/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#define MDP_UUID_STRING_MAX 37 /* 36 characters and the NUL */

/* True only for the canonical form the kernel and mdevctl use: 8-4-4-4-12 lowercase hex. */
bool mdp_uuid_is_canonical(const char *s);
/* Accepts hyphenated hex in either case; writes the canonical lowercase form. */
int mdp_uuid_normalize(const char *s, char ret[MDP_UUID_STRING_MAX]);
/* A random (version 4) UUID in canonical form. */
int mdp_uuid_generate(char ret[MDP_UUID_STRING_MAX]);
