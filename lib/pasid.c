/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A PASID space: a bitmap with summary levels (pasid.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pasid.h"
#include "util/macro.h"

#define LEVELS_MAX 5 /* 2^20 bits: 16384, 256, 4, 1 words */
#define FULL       UINT64_MAX

struct mdp_pasid_space {
        unsigned width;
        uint32_t size;     /* 2^width */
        uint32_t used;     /* taken, reserved not counted */
        uint32_t reserved; /* reserved bits inside the space */
        uint32_t quota;
        uint32_t cursor; /* next-fit start */
        unsigned n_levels;
        size_t n_words[LEVELS_MAX];
        uint64_t *level[LEVELS_MAX];
        uint64_t *reserved_bits; /* level 0 of the reserved PASIDs alone */
};

/* Sets bit i of level l; when its word fills up, the word's bit one level up. */
static void set_bit(struct mdp_pasid_space *s, unsigned l, size_t i)
{
        for (; l < s->n_levels; l++) {
                uint64_t *w = &s->level[l][i / 64];
                *w |= UINT64_C(1) << (i % 64);
                if (*w != FULL)
                        return;
                i /= 64;
        }
}

static void clear_bit(struct mdp_pasid_space *s, unsigned l, size_t i)
{
        for (; l < s->n_levels; l++) {
                uint64_t *w = &s->level[l][i / 64];
                bool was_full = *w == FULL;
                *w &= ~(UINT64_C(1) << (i % 64));
                if (!was_full)
                        return;
                i /= 64;
        }
}

static bool test_bit(const uint64_t *v, size_t i)
{
        return v[i / 64] & (UINT64_C(1) << (i % 64));
}

/* The first clear bit of level l at index >= from, or -1. Padding bits past the end are
 * set at every level, so a clear bit is always a real one. */
static long find_clear(const struct mdp_pasid_space *s, unsigned l, size_t from)
{
        size_t w = from / 64;
        uint64_t v;
        long up;

        if (w >= s->n_words[l])
                return -1;
        v = ~s->level[l][w] & (FULL << (from % 64));
        if (v)
                return (long)(w * 64 + __builtin_ctzll(v));
        if (l + 1 >= s->n_levels)
                return -1; /* the top level is one word */
        up = find_clear(s, l + 1, w + 1);
        if (up < 0)
                return -1;
        v = ~s->level[l][up];
        return (long)((size_t)up * 64 + __builtin_ctzll(v));
}

_public_ struct mdp_pasid_space *mdp_pasid_space_free(struct mdp_pasid_space *s)
{
        if (!s)
                return NULL;
        for (unsigned l = 0; l < s->n_levels; l++)
                free(s->level[l]);
        free(s->reserved_bits);
        free(s);
        return NULL;
}

static void reserve(struct mdp_pasid_space *s, uint32_t p)
{
        if (p >= s->size || test_bit(s->reserved_bits, p))
                return;
        s->reserved_bits[p / 64] |= UINT64_C(1) << (p % 64);
        s->reserved++;
        set_bit(s, 0, p);
}

_public_ int mdp_pasid_space_new(unsigned device_width, unsigned iommu_width, enum mdp_iommu_family family,
                                 const struct mdp_pasid_range *reserved, size_t n_reserved, uint32_t quota,
                                 struct mdp_pasid_space **ret)
{
        _cleanup_(mdp_pasid_space_freep) struct mdp_pasid_space *s = NULL;
        unsigned width;
        size_t bits;

        if (!ret || device_width > MDP_PASID_WIDTH_MAX || iommu_width > MDP_PASID_WIDTH_MAX)
                return -EINVAL;
        /* §3.3: min(device, IOMMU); an unknown side does not bound. */
        if (!device_width && !iommu_width)
                return -EINVAL;
        width = !device_width ? iommu_width : !iommu_width ? device_width : MIN(device_width, iommu_width);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->width = width;
        s->size = UINT32_C(1) << width;
        s->quota = quota;
        bits = s->size;
        for (;;) {
                size_t words = (bits + 63) / 64;
                unsigned l = s->n_levels;

                if (l >= LEVELS_MAX)
                        return -EINVAL;
                s->level[l] = calloc(words, sizeof(uint64_t));
                if (!s->level[l])
                        return -ENOMEM;
                s->n_words[l] = words;
                s->n_levels++;
                /* padding past the end reads as taken */
                if (bits % 64)
                        s->level[l][words - 1] = FULL << (bits % 64);
                if (words == 1)
                        break;
                bits = words;
        }
        /* A padded last word may already be full: propagate upwards. */
        for (unsigned l = 0; l + 1 < s->n_levels; l++)
                if (s->level[l][s->n_words[l] - 1] == FULL)
                        set_bit(s, l + 1, s->n_words[l] - 1);
        s->reserved_bits = calloc(s->n_words[0], sizeof(uint64_t));
        if (!s->reserved_bits)
                return -ENOMEM;
        /* §2.2: on VT-d, PASID 0 is RID_PASID, the translation of requests without a PASID. */
        if (family == MDP_IOMMU_VTD)
                reserve(s, 0);
        for (size_t i = 0; i < n_reserved; i++) {
                uint32_t last = MIN(reserved[i].last, s->size - 1);
                for (uint32_t p = reserved[i].first; p <= last; p++) {
                        reserve(s, p);
                        if (p == UINT32_MAX)
                                break;
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}

_public_ unsigned mdp_pasid_space_width(const struct mdp_pasid_space *s)
{
        return s->width;
}

_public_ uint32_t mdp_pasid_space_size(const struct mdp_pasid_space *s)
{
        return s->size;
}

_public_ uint32_t mdp_pasid_space_used(const struct mdp_pasid_space *s)
{
        return s->used;
}

_public_ uint32_t mdp_pasid_space_quota(const struct mdp_pasid_space *s)
{
        return s->quota;
}

_public_ void mdp_pasid_space_set_quota(struct mdp_pasid_space *s, uint32_t quota)
{
        s->quota = quota;
}

_public_ uint32_t mdp_pasid_space_free_count(const struct mdp_pasid_space *s)
{
        uint32_t left = s->size - s->reserved - s->used;

        if (s->used >= s->quota)
                return 0;
        return MIN(left, s->quota - s->used);
}

_public_ int mdp_pasid_alloc(struct mdp_pasid_space *s, uint32_t *ret)
{
        long p;

        if (!s || !ret)
                return -EINVAL;
        if (s->used >= s->quota)
                return -EDQUOT;
        p = find_clear(s, 0, s->cursor);
        if (p < 0 && s->cursor > 0)
                p = find_clear(s, 0, 0);
        if (p < 0)
                return -ENOSPC;
        set_bit(s, 0, (size_t)p);
        s->used++;
        s->cursor = (uint32_t)p + 1 < s->size ? (uint32_t)p + 1 : 0;
        *ret = (uint32_t)p;
        return 0;
}

static int check(const struct mdp_pasid_space *s, uint32_t pasid)
{
        if (!s)
                return -EINVAL;
        if (pasid >= s->size)
                return -ERANGE;
        if (test_bit(s->reserved_bits, pasid))
                return -EPERM;
        return 0;
}

_public_ int mdp_pasid_take(struct mdp_pasid_space *s, uint32_t pasid)
{
        int r = check(s, pasid);

        if (r < 0)
                return r;
        if (test_bit(s->level[0], pasid))
                return -EEXIST;
        set_bit(s, 0, pasid);
        s->used++;
        return 0;
}

_public_ int mdp_pasid_release(struct mdp_pasid_space *s, uint32_t pasid)
{
        int r = check(s, pasid);

        if (r < 0)
                return r;
        if (!test_bit(s->level[0], pasid))
                return -ENOENT;
        clear_bit(s, 0, pasid);
        s->used--;
        return 0;
}

_public_ int mdp_pasid_is_taken(const struct mdp_pasid_space *s, uint32_t pasid)
{
        int r = check(s, pasid);

        if (r < 0)
                return r;
        return test_bit(s->level[0], pasid);
}
