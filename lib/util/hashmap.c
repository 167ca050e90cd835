/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/hashmap.h"
#include "util/macro.h"

struct bucket {
        const char *key; /* NULL = empty */
        void *value;
        uint64_t hash;
};

struct hashmap {
        struct bucket *buckets;
        size_t n_buckets; /* power of two */
        size_t n_entries;
        unsigned char seed[16];
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                          \
        do {                                                                                              \
                v0 += v1;                                                                                 \
                v1 = ROTL(v1, 13);                                                                        \
                v1 ^= v0;                                                                                 \
                v0 = ROTL(v0, 32);                                                                        \
                v2 += v3;                                                                                 \
                v3 = ROTL(v3, 16);                                                                        \
                v3 ^= v2;                                                                                 \
                v0 += v3;                                                                                 \
                v3 = ROTL(v3, 21);                                                                        \
                v3 ^= v0;                                                                                 \
                v2 += v1;                                                                                 \
                v1 = ROTL(v1, 17);                                                                        \
                v1 ^= v2;                                                                                 \
                v2 = ROTL(v2, 32);                                                                        \
        } while (0)

static uint64_t load_le64(const unsigned char *p)
{
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

uint64_t siphash24(const void *data, size_t len, const unsigned char key[16])
{
        const unsigned char *in = data;
        uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
        uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
        uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
        uint64_t b = (uint64_t)len << 56, m;
        size_t left = len & 7;
        const unsigned char *end = in + len - left;

        for (; in != end; in += 8) {
                m = load_le64(in);
                v3 ^= m;
                SIPROUND;
                SIPROUND;
                v0 ^= m;
        }
        for (size_t i = 0; i < left; i++)
                b |= (uint64_t)in[i] << (8 * i);
        v3 ^= b;
        SIPROUND;
        SIPROUND;
        v0 ^= b;
        v2 ^= 0xff;
        SIPROUND;
        SIPROUND;
        SIPROUND;
        SIPROUND;
        return v0 ^ v1 ^ v2 ^ v3;
}

struct hashmap *hashmap_new(void)
{
        struct hashmap *h = calloc(1, sizeof(*h));

        if (!h)
                return NULL;
        h->n_buckets = 16;
        h->buckets = calloc(h->n_buckets, sizeof(struct bucket));
        if (!h->buckets) {
                free(h);
                return NULL;
        }
        /* A failed getrandom() leaves a fixed seed: still correct, only less collision-proof. */
        if (getrandom(h->seed, sizeof(h->seed), GRND_NONBLOCK) != (ssize_t)sizeof(h->seed))
                memset(h->seed, 0x5a, sizeof(h->seed));
        return h;
}

struct hashmap *hashmap_free(struct hashmap *h)
{
        if (h) {
                free(h->buckets);
                free(h);
        }
        return NULL;
}

static uint64_t hash_key(const struct hashmap *h, const char *key)
{
        return siphash24(key, strlen(key), h->seed);
}

static size_t find_slot(const struct hashmap *h, const char *key, uint64_t hash, bool *found)
{
        size_t mask = h->n_buckets - 1;

        for (size_t i = hash & mask;; i = (i + 1) & mask) {
                const struct bucket *b = &h->buckets[i];
                if (!b->key) {
                        *found = false;
                        return i;
                }
                if (b->hash == hash && streq(b->key, key)) {
                        *found = true;
                        return i;
                }
        }
}

static int grow(struct hashmap *h)
{
        size_t n = h->n_buckets * 2;
        struct bucket *old = h->buckets, *nb = calloc(n, sizeof(struct bucket));

        if (!nb)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_buckets; i++) {
                if (!old[i].key)
                        continue;
                for (size_t j = old[i].hash & (n - 1);; j = (j + 1) & (n - 1))
                        if (!nb[j].key) {
                                nb[j] = old[i];
                                break;
                        }
        }
        h->buckets = nb;
        h->n_buckets = n;
        free(old);
        return 0;
}

int hashmap_replace(struct hashmap *h, const char *key, void *value, void **ret_old)
{
        uint64_t hash = hash_key(h, key);
        bool found;
        size_t i;

        if ((h->n_entries + 1) * 4 > h->n_buckets * 3) {
                int r = grow(h);
                if (r < 0)
                        return r;
        }
        i = find_slot(h, key, hash, &found);
        if (ret_old)
                *ret_old = found ? h->buckets[i].value : NULL;
        if (!found)
                h->n_entries++;
        h->buckets[i] = (struct bucket){ .key = key, .value = value, .hash = hash };
        return 0;
}

int hashmap_put(struct hashmap *h, const char *key, void *value)
{
        if (hashmap_get(h, key))
                return -EEXIST;
        return hashmap_replace(h, key, value, NULL);
}

void *hashmap_get(const struct hashmap *h, const char *key)
{
        bool found;
        size_t i;

        if (!h || h->n_entries == 0)
                return NULL;
        i = find_slot(h, key, hash_key(h, key), &found);
        return found ? h->buckets[i].value : NULL;
}

void *hashmap_remove(struct hashmap *h, const char *key)
{
        size_t mask, i, j;
        bool found;
        void *value;

        if (!h || h->n_entries == 0)
                return NULL;
        mask = h->n_buckets - 1;
        i = find_slot(h, key, hash_key(h, key), &found);
        if (!found)
                return NULL;
        value = h->buckets[i].value;
        /* Backward-shift deletion keeps probe chains intact without tombstones. */
        for (j = (i + 1) & mask; h->buckets[j].key; j = (j + 1) & mask) {
                size_t home = h->buckets[j].hash & mask;
                /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
                if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
                        h->buckets[i] = h->buckets[j];
                        i = j;
                }
        }
        h->buckets[i] = (struct bucket){ 0 };
        h->n_entries--;
        return value;
}

size_t hashmap_size(const struct hashmap *h)
{
        return h ? h->n_entries : 0;
}

bool hashmap_iterate(const struct hashmap *h, size_t *cursor, void **ret_value, const char **ret_key)
{
        if (!h)
                return false;
        for (; *cursor < h->n_buckets; (*cursor)++) {
                const struct bucket *b = &h->buckets[*cursor];
                if (!b->key)
                        continue;
                if (ret_value)
                        *ret_value = b->value;
                if (ret_key)
                        *ret_key = b->key;
                (*cursor)++;
                return true;
        }
        return false;
}
