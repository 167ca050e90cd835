/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A string-keyed hash map (open addressing, linear probing, keyed SipHash so hostile keys
 * from D-Bus cannot force collisions). The map stores the key pointer, not a copy: the key
 * must stay valid while the entry exists (usually it points into the value). Iteration
 * order is unspecified. */
struct hashmap;

struct hashmap *hashmap_new(void);
struct hashmap *hashmap_free(struct hashmap *h); /* frees the map only; accepts NULL */
/* -EEXIST when the key is present, -ENOMEM. */
int hashmap_put(struct hashmap *h, const char *key, void *value);
/* Inserts or replaces; returns the previous value in *ret_old (may be NULL). */
int hashmap_replace(struct hashmap *h, const char *key, void *value, void **ret_old);
void *hashmap_get(const struct hashmap *h, const char *key);
void *hashmap_remove(struct hashmap *h, const char *key);
size_t hashmap_size(const struct hashmap *h);
/* Iterate with a cursor starting at 0; returns false at the end. */
bool hashmap_iterate(const struct hashmap *h, size_t *cursor, void **ret_value, const char **ret_key);

#define HASHMAP_FOREACH(value, h, cursor)                                                                 \
        for (size_t cursor = 0; hashmap_iterate((h), &cursor, (void **)&(value), NULL);)

uint64_t siphash24(const void *data, size_t len, const unsigned char key[16]);
