/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PASID allocator (lib/pasid.h) at scale: a 20-bit VT-d space holding LIVE allocations
 * (default 100,000), then ROUNDS rounds of "free a random live PASID, allocate one"
 * (default 1,000,000). Prints the rate per operation, and the same at 1,000 live for the
 * ratio: the bitmap with summary levels should not slow down with the live count.
 *   bench/pasid [LIVE] [ROUNDS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pasid.h"
#include "util/macro.h"

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift: cheaper than rand() so the allocator dominates */
static uint64_t rng = 88172645463325252ULL;
static uint32_t next_rand(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (uint32_t)rng;
}

/* ns per operation (one free or one allocation) */
static double run(uint32_t live, uint32_t rounds, double *ret_fill_ns)
{
        _cleanup_(mdp_pasid_space_freep) struct mdp_pasid_space *s = NULL;
        uint32_t *held = malloc(live * sizeof(uint32_t));
        double t0, t1;

        if (!held || mdp_pasid_space_new(20, 20, MDP_IOMMU_VTD, NULL, 0, UINT32_MAX, &s) < 0) {
                fprintf(stderr, "out of memory\n");
                exit(1);
        }
        t0 = now_s();
        for (uint32_t i = 0; i < live; i++)
                if (mdp_pasid_alloc(s, &held[i]) < 0) {
                        fprintf(stderr, "allocation %u failed\n", i);
                        exit(1);
                }
        t1 = now_s();
        *ret_fill_ns = (t1 - t0) * 1e9 / live;
        t0 = now_s();
        for (uint32_t k = 0; k < rounds; k++) {
                uint32_t i = next_rand() % live;
                if (mdp_pasid_release(s, held[i]) < 0 || mdp_pasid_alloc(s, &held[i]) < 0) {
                        fprintf(stderr, "round %u failed\n", k);
                        exit(1);
                }
        }
        t1 = now_s();
        free(held);
        return (t1 - t0) * 1e9 / (2.0 * rounds);
}

int main(int argc, char **argv)
{
        uint32_t live = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100000;
        uint32_t rounds = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1000000;
        double fill_big, fill_small, big, small;

        if (live == 0 || live >= (1u << 20) - 1 || rounds == 0) {
                fprintf(stderr, "usage: bench/pasid [LIVE < 1048575] [ROUNDS]\n");
                return 2;
        }
        small = run(1000, rounds, &fill_small);
        big = run(live, rounds, &fill_big);
        printf("pasid: 20-bit space, %u live: %.0f ns/op (%.2f M ops/s: free+alloc pairs, random victim)\n",
               live, big, 1e3 / big);
        printf("pasid: 20-bit space, 1000 live: %.0f ns/op; ratio %u live / 1000 live = %.2f\n", small, live,
               big / small);
        printf("pasid: fill to %u: %.0f ns/alloc (fill to 1000: %.0f ns/alloc)\n", live, fill_big,
               fill_small);
        return 0;
}
