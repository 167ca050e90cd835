/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PASID allocator (lib/pasid.h): bounds from the device and IOMMU widths (IOMMU-SPEC.md
 * §3.3), PASID 0 on VT-d, reserved ranges, exhaustion, quotas, double free, restore after a
 * restart, and random allocate/free sequences checked against a plain array (the reference
 * model). Nothing is faked: the allocator is pure. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pasid.h"
#include "policy.h"
#include "util/macro.h"

START_TEST(bounds)
{
        _cleanup_(mdp_pasid_space_freep) struct mdp_pasid_space *s = NULL;
        uint32_t p;

        /* min(device, IOMMU); one unknown side does not bound; both unknown is an error */
        ck_assert_int_eq(mdp_pasid_space_new(20, 8, MDP_IOMMU_SMMUV3, NULL, 0, UINT32_MAX, &s), 0);
        ck_assert_uint_eq(mdp_pasid_space_width(s), 8);
        ck_assert_uint_eq(mdp_pasid_space_size(s), 256);
        s = mdp_pasid_space_free(s);
        ck_assert_int_eq(mdp_pasid_space_new(0, 16, MDP_IOMMU_AMD, NULL, 0, UINT32_MAX, &s), 0);
        ck_assert_uint_eq(mdp_pasid_space_width(s), 16);
        s = mdp_pasid_space_free(s);
        ck_assert_int_eq(mdp_pasid_space_new(0, 0, MDP_IOMMU_VTD, NULL, 0, UINT32_MAX, &s), -EINVAL);
        ck_assert_int_eq(mdp_pasid_space_new(21, 0, MDP_IOMMU_VTD, NULL, 0, UINT32_MAX, &s), -EINVAL);

        /* SMMUv3: SSID 0 is a PASID like any other here */
        ck_assert_int_eq(mdp_pasid_space_new(4, 4, MDP_IOMMU_SMMUV3, NULL, 0, UINT32_MAX, &s), 0);
        ck_assert_int_eq(mdp_pasid_alloc(s, &p), 0);
        ck_assert_uint_eq(p, 0);
        s = mdp_pasid_space_free(s);

        /* VT-d: PASID 0 is RID_PASID, never handed out (§2.2) */
        ck_assert_int_eq(mdp_pasid_space_new(4, 20, MDP_IOMMU_VTD, NULL, 0, UINT32_MAX, &s), 0);
        ck_assert_int_eq(mdp_pasid_is_taken(s, 0), -EPERM);
        ck_assert_int_eq(mdp_pasid_take(s, 0), -EPERM);
        ck_assert_int_eq(mdp_pasid_alloc(s, &p), 0);
        ck_assert_uint_eq(p, 1);
        ck_assert_int_eq(mdp_pasid_take(s, 16), -ERANGE);
        ck_assert_int_eq(mdp_pasid_release(s, 16), -ERANGE);
}
END_TEST

/* Every PASID of the space once, then ENOSPC; reserved ones are skipped. */
START_TEST(exhaustion)
{
        static const unsigned widths[] = {1, 5, 6, 7, 12, 13};
        const struct mdp_pasid_range reserved[] = {{3, 5}, {40, 40}, {100, 99999}};

        for (size_t w = 0; w < ELEMENTSOF(widths); w++) {
                _cleanup_(mdp_pasid_space_freep) struct mdp_pasid_space *s = NULL;
                uint32_t size = UINT32_C(1) << widths[w], expect = 0, p;
                _cleanup_free_ bool *seen = calloc(size, sizeof(bool));

                ck_assert_int_eq(mdp_pasid_space_new(widths[w], 20, MDP_IOMMU_VTD, reserved,
                                                     ELEMENTSOF(reserved), MDP_QUOTA_UNLIMITED, &s),
                                 0);
                for (uint32_t i = 1; i < size; i++)
                        if (!((i >= 3 && i <= 5) || i == 40 || i >= 100))
                                expect++;
                ck_assert_uint_eq(mdp_pasid_space_free_count(s), expect);
                for (uint32_t i = 0; i < expect; i++) {
                        ck_assert_int_eq(mdp_pasid_alloc(s, &p), 0);
                        ck_assert_uint_lt(p, size);
                        ck_assert_msg(!seen[p], "PASID %u handed out twice (width %u)", p, widths[w]);
                        ck_assert_msg(p != 0 && !(p >= 3 && p <= 5) && p != 40 && p < 100,
                                      "reserved PASID %u handed out", p);
                        seen[p] = true;
                }
                ck_assert_int_eq(mdp_pasid_alloc(s, &p), -ENOSPC);
                ck_assert_uint_eq(mdp_pasid_space_free_count(s), 0);
                if (expect > 0) {
                        /* one back, that one again */
                        uint32_t back = expect > 1 ? 2 : 1;
                        ck_assert_int_eq(mdp_pasid_release(s, back), 0);
                        ck_assert_int_eq(mdp_pasid_alloc(s, &p), 0);
                        ck_assert_uint_eq(p, back);
                }
        }
}
END_TEST

START_TEST(quotas)
{
        _cleanup_(mdp_pasid_space_freep) struct mdp_pasid_space *s = NULL;
        uint32_t p, q;

        ck_assert_int_eq(mdp_pasid_space_new(20, 20, MDP_IOMMU_VTD, NULL, 0, 3, &s), 0);
        ck_assert_uint_eq(mdp_pasid_space_free_count(s), 3);
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(mdp_pasid_alloc(s, &p), 0);
        ck_assert_int_eq(mdp_pasid_alloc(s, &q), -EDQUOT);
        /* what a device already uses is taken whatever the quota */
        ck_assert_int_eq(mdp_pasid_take(s, 500), 0);
        ck_assert_uint_eq(mdp_pasid_space_used(s), 4);
        ck_assert_uint_eq(mdp_pasid_space_free_count(s), 0);
        ck_assert_int_eq(mdp_pasid_release(s, 500), 0);
        ck_assert_int_eq(mdp_pasid_release(s, p), 0);
        ck_assert_int_eq(mdp_pasid_alloc(s, &q), 0);
        /* lowering keeps what is taken */
        mdp_pasid_space_set_quota(s, 1);
        ck_assert_uint_eq(mdp_pasid_space_used(s), 3);
        ck_assert_int_eq(mdp_pasid_alloc(s, &q), -EDQUOT);
}
END_TEST

START_TEST(double_free)
{
        _cleanup_(mdp_pasid_space_freep) struct mdp_pasid_space *s = NULL;
        uint32_t p;

        ck_assert_int_eq(mdp_pasid_space_new(10, 20, MDP_IOMMU_SMMUV3, NULL, 0, UINT32_MAX, &s), 0);
        ck_assert_int_eq(mdp_pasid_alloc(s, &p), 0);
        ck_assert_int_eq(mdp_pasid_release(s, p), 0);
        ck_assert_int_eq(mdp_pasid_release(s, p), -ENOENT);
        ck_assert_uint_eq(mdp_pasid_space_used(s), 0);
        ck_assert_int_eq(mdp_pasid_release(s, 77), -ENOENT);
        ck_assert_int_eq(mdp_pasid_take(s, 77), 0);
        ck_assert_int_eq(mdp_pasid_take(s, 77), -EEXIST);
}
END_TEST

/* Next-fit: a freed PASID is not handed out again at once. */
START_TEST(no_immediate_reuse)
{
        _cleanup_(mdp_pasid_space_freep) struct mdp_pasid_space *s = NULL;
        uint32_t a, b;

        ck_assert_int_eq(mdp_pasid_space_new(20, 20, MDP_IOMMU_VTD, NULL, 0, UINT32_MAX, &s), 0);
        ck_assert_int_eq(mdp_pasid_alloc(s, &a), 0);
        ck_assert_int_eq(mdp_pasid_release(s, a), 0);
        ck_assert_int_eq(mdp_pasid_alloc(s, &b), 0);
        ck_assert_uint_ne(a, b);
}
END_TEST

/* A restart: a new space restored with take() from what was recorded never hands out a
 * recorded PASID. */
START_TEST(restore)
{
        _cleanup_(mdp_pasid_space_freep) struct mdp_pasid_space *s = NULL, *s2 = NULL;
        uint32_t got[200], p;

        ck_assert_int_eq(mdp_pasid_space_new(8, 20, MDP_IOMMU_VTD, NULL, 0, UINT32_MAX, &s), 0);
        for (size_t i = 0; i < ELEMENTSOF(got); i++)
                ck_assert_int_eq(mdp_pasid_alloc(s, &got[i]), 0);
        ck_assert_int_eq(mdp_pasid_space_new(8, 20, MDP_IOMMU_VTD, NULL, 0, UINT32_MAX, &s2), 0);
        for (size_t i = 0; i < ELEMENTSOF(got); i++)
                ck_assert_int_eq(mdp_pasid_take(s2, got[i]), 0);
        while (mdp_pasid_alloc(s2, &p) == 0)
                for (size_t i = 0; i < ELEMENTSOF(got); i++)
                        ck_assert_uint_ne(p, got[i]);
        ck_assert_uint_eq(mdp_pasid_space_used(s2), 255);
}
END_TEST

/* Random operations against a reference array: every answer and count must agree. */
static void property_run(unsigned width, enum mdp_iommu_family fam, uint32_t quota, unsigned ops,
                         unsigned seed)
{
        _cleanup_(mdp_pasid_space_freep) struct mdp_pasid_space *s = NULL;
        const struct mdp_pasid_range reserved[] = {{10, 19}, {1000, 1003}};
        uint32_t size = UINT32_C(1) << width, used = 0, n_live = 0, n_free_ref = 0;
        _cleanup_free_ char *ref = calloc(size, 1); /* 0 free, 1 taken, 2 reserved */
        _cleanup_free_ uint32_t *live = calloc(size, sizeof(uint32_t));

        ck_assert_int_eq(mdp_pasid_space_new(width, 20, fam, reserved, ELEMENTSOF(reserved), quota, &s), 0);
        for (uint32_t i = 0; i < size; i++)
                if ((i == 0 && fam == MDP_IOMMU_VTD) || (i >= 10 && i <= 19) || (i >= 1000 && i <= 1003))
                        ref[i] = 2;
                else
                        n_free_ref++;
        srand(seed);
        for (unsigned k = 0; k < ops; k++) {
                int op = rand() % 10;
                uint32_t p;
                int r;

                if (op < 5) { /* alloc */
                        r = mdp_pasid_alloc(s, &p);
                        if (used >= quota)
                                ck_assert_int_eq(r, -EDQUOT);
                        else if (n_free_ref == 0)
                                ck_assert_int_eq(r, -ENOSPC);
                        else {
                                ck_assert_int_eq(r, 0);
                                ck_assert_uint_lt(p, size);
                                ck_assert_msg(ref[p] == 0, "alloc gave PASID %u in state %d (op %u)", p,
                                              ref[p], k);
                                ref[p] = 1;
                                used++;
                                n_free_ref--;
                                live[n_live++] = p;
                        }
                } else if (op < 8 && n_live > 0) { /* free a live one */
                        uint32_t i = (uint32_t)rand() % n_live;
                        p = live[i];
                        live[i] = live[--n_live];
                        ck_assert_int_eq(mdp_pasid_release(s, p), 0);
                        ref[p] = 0;
                        used--;
                        n_free_ref++;
                } else { /* any PASID: take, release or query, compared */
                        p = (uint32_t)rand() % (size + 8);
                        r = op == 8 ? mdp_pasid_release(s, p) : mdp_pasid_is_taken(s, p);
                        if (p >= size)
                                ck_assert_int_eq(r, -ERANGE);
                        else if (ref[p] == 2)
                                ck_assert_int_eq(r, -EPERM);
                        else if (op == 8) {
                                ck_assert_int_eq(r, ref[p] == 1 ? 0 : -ENOENT);
                                if (ref[p] == 1) {
                                        for (uint32_t i = 0; i < n_live; i++)
                                                if (live[i] == p) {
                                                        live[i] = live[--n_live];
                                                        break;
                                                }
                                        ref[p] = 0;
                                        used--;
                                        n_free_ref++;
                                }
                        } else
                                ck_assert_int_eq(r, ref[p] == 1);
                }
                ck_assert_uint_eq(mdp_pasid_space_used(s), used);
        }
}

START_TEST(property_small)
{
        /* small spaces fill up: the full and the padding paths are exercised */
        for (unsigned seed = 1; seed <= 20; seed++) {
                property_run(3 + seed % 9, seed % 2 ? MDP_IOMMU_VTD : MDP_IOMMU_SMMUV3, UINT32_MAX, 5000,
                             seed);
                property_run(11, MDP_IOMMU_VTD, 300, 3000, seed);
        }
}
END_TEST

START_TEST(property_large)
{
        property_run(20, MDP_IOMMU_VTD, UINT32_MAX, 300000, 42);
}
END_TEST

static Suite *pasid_suite(void)
{
        Suite *s = suite_create("pasid");
        TCase *tc = tcase_create("pasid");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, bounds);
        tcase_add_test(tc, exhaustion);
        tcase_add_test(tc, quotas);
        tcase_add_test(tc, double_free);
        tcase_add_test(tc, no_immediate_reuse);
        tcase_add_test(tc, restore);
        tcase_add_test(tc, property_small);
        tcase_add_test(tc, property_large);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(pasid_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
