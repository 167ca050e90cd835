/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The seed's table (IOMMU-SPEC.md §6.1: VF / mdev on SMMUv3 / mdev on VT-d scalable mode ×
 * no vIOMMU / vIOMMU without PASID / vIOMMU with PASID) reproduced by the engine from host
 * facts: the IOMMU capabilities come from mdp_iommu_caps_from_regs() on the registers of
 * the real-kernel captures, with the bits QEMU 7.2 never sets (NEST, FSTS, SSTS, PASID/PSS,
 * PRS; SMMUv3 IDRs, which sysfs does not show) synthesized where the seed needs them.
 * Then the same rows with today's kernel and VMM facts, where the answer differs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-test.h"
#include "engine.h"
#include "iommu-decode.h"
#include "test-help.h"
#include "util/macro.h"
#include "util/parse.h"

#define VF   "0000:01:00.1"
#define MDEV "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"

/* ecap bits (§2.2) the seed's VT-d 3 host has and QEMU 7.2's emulated VT-d lacks */
#define ECAP_NEST   (1ULL << 26)
#define ECAP_PRS    (1ULL << 29)
#define ECAP_PSS(n) ((uint64_t)(n) << 35)
#define ECAP_PASID  (1ULL << 40)
#define ECAP_SSTS   (1ULL << 46)
#define ECAP_FSTS   (1ULL << 47)

static char *capture(const char *variant, const char *file)
{
        _cleanup_free_ char *root = NULL;
        char *text;

        ck_assert_int_ge(asprintf(&root, "%s/tests/fixtures/real-kernel/%s", test_srcdir(), variant), 0);
        text = test_read(root, file);
        ck_assert_msg(text, "missing capture %s/%s", variant, file);
        return text;
}

/* "<path>: <value>|" as the capture script prints sysfs attributes. */
static bool capture_attr(const char *text, const char *path, char *buf, size_t size)
{
        const char *p = strstr(text, path);
        size_t n;

        if (!p)
                return false;
        p += strlen(path);
        ck_assert(startswith(p, ": "));
        p += 2;
        n = strcspn(p, "|\n");
        ck_assert_uint_lt(n, size);
        memcpy(buf, p, n);
        buf[n] = '\0';
        return true;
}

/* The kernel command line is the second line of 02-kernel.txt. */
static char *capture_cmdline(const char *variant)
{
        _cleanup_free_ char *text = capture(variant, "02-kernel.txt");
        const char *l = strchr(text, '\n');

        ck_assert_ptr_nonnull(l);
        l++;
        return strndup(l, strcspn(l, "\n"));
}

static void vtd_caps_from_capture(const char *variant, uint64_t add_ecap, struct mdp_iommu_caps *ret,
                                  uint64_t *ret_ecap)
{
        _cleanup_free_ char *text = capture(variant, "07-sysfs-class-iommu.txt");
        _cleanup_free_ char *cmdline = capture_cmdline(variant);
        struct mdp_iommu_regs regs = {.family = MDP_IOMMU_VTD, .vtd_valid = true};
        char v[64];

        ck_assert(capture_attr(text, "/sys/class/iommu/dmar0/intel-iommu/cap", v, sizeof(v)));
        ck_assert_int_eq(safe_atox64(v, &regs.vtd_cap), 0);
        ck_assert(capture_attr(text, "/sys/class/iommu/dmar0/intel-iommu/ecap", v, sizeof(v)));
        ck_assert_int_eq(safe_atox64(v, &regs.vtd_ecap), 0);
        ck_assert(sscanf(strstr(text, "intel-iommu/version: "), "intel-iommu/version: %u:%u",
                         &regs.vtd_version_major, &regs.vtd_version_minor) == 2);
        regs.vtd_ecap |= add_ecap;
        if (ret_ecap)
                *ret_ecap = regs.vtd_ecap;
        mdp_iommu_caps_from_regs(&regs, cmdline, ret);
}

/* The arm64 capture: sysfs has no SMMUv3 registers (§2.4); an iommufd GET_HW_INFO probe
 * would give IDR0..IDR5. synth adds S1P, S2P (IDR0 bits 1, 0) and SSIDSIZE 20 (IDR1 10:6). */
static void smmu_caps_from_capture(bool synth, struct mdp_iommu_caps *ret)
{
        _cleanup_free_ char *text = capture("arm64-6.12-smmuv3", "07-sysfs-class-iommu.txt");
        struct mdp_iommu_regs regs = {.family = mdp_iommu_family_from_name("smmu3.0x0000000009050000")};

        ck_assert_int_eq(regs.family, MDP_IOMMU_SMMUV3);
        ck_assert_ptr_nonnull(strstr(text, "smmu3.0x0000000009050000"));
        ck_assert_ptr_null(strstr(text, "/cap:")); /* nothing to read in sysfs */
        if (synth) {
                regs.smmu_valid = true;
                regs.smmu_idr[0] = (1u << 0) | (1u << 1);
                regs.smmu_idr[1] = 20u << 6;
        }
        mdp_iommu_caps_from_regs(&regs, NULL, ret);
}

static struct engine_env env;

/* The seed's world: every path it assumed (aux-domain PMDEV path, VT-d VCMD PV allocation,
 * a VMM that nests and passes PASIDs through) asserted; the "?" cell allowed as experimental. */
static void seed_world(enum mdp_guest_mode g)
{
        env_everything(&env);
        env.req.guest = g;
        env.req.guest_basis = "seed table column";
}

/* Today: the upstream facts of tests/engine-test.c (no PMDEV path, no PV channel, QEMU nests
 * PASID 0 only, no fault forwarding). */
static void today(enum mdp_guest_mode g)
{
        env_upstream(&env);
        env.req.guest = g;
        env.req.kernel.basis[MDP_KFEAT_PMDEV_PATH] = "mainline ≥ 5.16 (§1.5)";
}

static const uint64_t seed_vtd3 = ECAP_NEST | ECAP_FSTS | ECAP_SSTS | ECAP_PASID | ECAP_PSS(19) | ECAP_PRS;

static void add_vf_vtd(uint64_t add_ecap)
{
        struct mdp_unit_input *u = env_add(&env, MDP_UNIT_VF, MDP_IOMMU_VTD, VF);
        vtd_caps_from_capture("x86-6.12-sm", add_ecap, &u->iommu, NULL);
}

static void add_mdev_vtd(enum mdp_unit_kind kind, uint64_t add_ecap)
{
        struct mdp_unit_input *u = env_add(&env, kind, MDP_IOMMU_VTD, MDEV);
        vtd_caps_from_capture("x86-6.12-sm", add_ecap, &u->iommu, NULL);
}

static void add_mdev_smmu(bool synth)
{
        struct mdp_unit_input *u = env_add(&env, MDP_UNIT_PMDEV, MDP_IOMMU_SMMUV3, MDEV);
        smmu_caps_from_capture(synth, &u->iommu);
}

static const enum mdp_guest_mode columns[3] = {MDP_GUEST_NONE, MDP_GUEST_NOPASID, MDP_GUEST_PASID};

START_TEST(decoded_bits)
{
        struct mdp_iommu_caps c;
        uint64_t ecap;

        /* The captured registers as they are: scalable mode on, no nesting, no PASID. */
        vtd_caps_from_capture("x86-6.12-sm", 0, &c, &ecap);
        ck_assert_uint_eq(ecap, 0x480080f00f4aULL);
        ck_assert_int_eq(c.sm_hw, MDP_YES);
        ck_assert_int_eq(c.sm_on, MDP_YES); /* intel_iommu=on,sm_on */
        ck_assert_int_eq(c.nest_hw, MDP_NO);
        ck_assert_int_eq(c.fsts, MDP_NO);
        ck_assert_int_eq(c.pasid, MDP_NO);
        ck_assert_int_eq(c.caching_mode, MDP_NO);
        /* The seed's VT-d 3 host: NEST, FSTS, SSTS, PASID with 20 bits, PRS. */
        vtd_caps_from_capture("x86-6.12-sm", seed_vtd3, &c, NULL);
        ck_assert_int_eq(c.nest, MDP_YES);
        ck_assert_int_eq(c.pasid, MDP_YES);
        ck_assert_uint_eq(c.pasid_width, 20);
        /* legacy mode: no SMTS at all */
        vtd_caps_from_capture("x86-6.12-legacy", 0, &c, &ecap);
        ck_assert_uint_eq(ecap, 0xf00f4aULL);
        ck_assert_int_eq(c.sm_hw, MDP_NO);
        ck_assert_int_eq(c.sm_on, MDP_NO);
        /* SMMUv3: unknown from sysfs, known once probed */
        smmu_caps_from_capture(false, &c);
        ck_assert_int_eq(c.s1p, MDP_UNKNOWN);
        smmu_caps_from_capture(true, &c);
        ck_assert_int_eq(c.s1p, MDP_YES);
        ck_assert_int_eq(c.s2p, MDP_YES);
        ck_assert_uint_eq(c.pasid_width, 20);
}
END_TEST

/* The seed's table, row by row, with the seed's assumptions. */
START_TEST(seed_row_vf)
{
        static const enum mdp_strategy want[3] = {MDP_STRATEGY_DIRECT, MDP_STRATEGY_NEST, MDP_STRATEGY_NEST};

        for (size_t c = 0; c < 3; c++) {
                _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
                seed_world(columns[c]);
                add_vf_vtd(seed_vtd3);
                p = env_plan(&env);
                assert_unit(p, 0, want[c], MDP_REASON_NONE);
        }
        /* "shadow or nest": the other half of the G1 cell */
        {
                _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
                seed_world(MDP_GUEST_NOPASID);
                env.req.options.prefer = MDP_PREFER_SHADOW;
                add_vf_vtd(seed_vtd3);
                p = env_plan(&env);
                assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        }
}
END_TEST

START_TEST(seed_row_mdev_smmuv3)
{
        static const enum mdp_strategy want[3] = {MDP_STRATEGY_DIRECT, MDP_STRATEGY_SHADOW,
                                                  MDP_STRATEGY_SHADOW_PV};

        for (size_t c = 0; c < 3; c++) {
                _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
                seed_world(columns[c]);
                /* the seed's point: mdevs of this parent are spread over VMs */
                env.req.options.allow_experimental = c == 2; /* "shadow + PV (?)" */
                add_mdev_smmu(true);
                env.units[0].parent_exclusive = MDP_NO;
                env.units[0].other_vm = "vm2";
                p = env_plan(&env);
                assert_unit(p, 0, want[c], MDP_REASON_NONE);
                if (c == 1)
                        assert_explains(p, 0, "(VM vm2 holds units on it)");
        }
}
END_TEST

START_TEST(seed_row_mdev_vtd3)
{
        static const enum mdp_strategy want[3] = {MDP_STRATEGY_DIRECT, MDP_STRATEGY_NEST,
                                                  MDP_STRATEGY_NEST_PV};

        for (size_t c = 0; c < 3; c++) {
                _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
                seed_world(columns[c]);
                add_mdev_vtd(MDP_UNIT_PMDEV, seed_vtd3);
                env.units[0].parent_exclusive = MDP_NO; /* VT-d nests per PASID: sharing is fine */
                env.units[0].other_vm = "vm2";
                p = env_plan(&env);
                assert_unit(p, 0, want[c], MDP_REASON_NONE);
        }
}
END_TEST

/* ---- today: where the answer differs from 2018 ---- */

START_TEST(today_vf_vtd)
{
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;

        /* G1 with the captured QEMU 7.2 registers: no NEST bit, so shadow. */
        today(MDP_GUEST_NOPASID);
        add_vf_vtd(0);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "ecap NEST=0 (dmar0), ecap FSTS=0 (dmar0)");
        p = mdp_plan_free(p);

        /* G1 on a VT-d 3 host: nest through iommufd (kernel ≥ 6.8, QEMU x-flts). */
        today(MDP_GUEST_NOPASID);
        add_vf_vtd(seed_vtd3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        ck_assert_int_eq(p->backend, MDP_BACKEND_IOMMUFD_NESTED_HWPT);
        p = mdp_plan_free(p);

        /* G2: the seed says nest; today upstream QEMU nests PASID 0 only (§4.4). */
        today(MDP_GUEST_PASID);
        add_vf_vtd(seed_vtd3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PASID_NEST);
        assert_explains(p, 0, "vmm passthrough-pasid=no");
        p = mdp_plan_free(p);

        /* ... and nest again once the VMM passes PASIDs through. */
        today(MDP_GUEST_PASID);
        env.req.options.vmm[MDP_VMM_PASSTHROUGH_PASID] = MDP_YES;
        add_vf_vtd(seed_vtd3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        ck_assert(plan_has_qemu(p, "x-pasid-mode=on"));
}
END_TEST

START_TEST(today_mdev_mainline)
{
        /* Mainline has no PASID-granular mdev path since 5.16 (§1.5): every PMDEV cell of
         * the seed's table is refused with NO_PMDEV_PATH today, on both IOMMUs. */
        for (size_t c = 0; c < 3; c++) {
                for (int smmu = 0; smmu < 2; smmu++) {
                        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
                        today(columns[c]);
                        if (smmu)
                                add_mdev_smmu(true);
                        else
                                add_mdev_vtd(MDP_UNIT_PMDEV, seed_vtd3);
                        p = env_plan(&env);
                        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PMDEV_PATH);
                        assert_explains(p, 0, "kernel.pmdev_path=no (mainline ≥ 5.16 (§1.5))");
                }
        }
}
END_TEST

START_TEST(today_mdev_vendor_path)
{
        /* With an out-of-tree PMDEV path the table is the seed's, except the "+PV" cells:
         * no PV PASID channel exists upstream (§6.6). */
        static const enum mdp_strategy vtd[3] = {MDP_STRATEGY_DIRECT, MDP_STRATEGY_NEST,
                                                 MDP_STRATEGY_REFUSED};
        static const enum mdp_strategy smmu[3] = {MDP_STRATEGY_DIRECT, MDP_STRATEGY_SHADOW,
                                                  MDP_STRATEGY_REFUSED};

        for (size_t c = 0; c < 3; c++) {
                for (int s = 0; s < 2; s++) {
                        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
                        enum mdp_strategy want = s ? smmu[c] : vtd[c];
                        today(columns[c]);
                        env.req.kernel.has[MDP_KFEAT_PMDEV_PATH] = MDP_YES;
                        env.req.kernel.basis[MDP_KFEAT_PMDEV_PATH] = "vendor driver";
                        if (s)
                                add_mdev_smmu(true);
                        else
                                add_mdev_vtd(MDP_UNIT_PMDEV, seed_vtd3);
                        p = env_plan(&env);
                        assert_unit(p, 0, want,
                                    want == MDP_STRATEGY_REFUSED ? MDP_REASON_NO_PV_PASID : MDP_REASON_NONE);
                        if (want == MDP_STRATEGY_REFUSED)
                                assert_explains(p, 0, "no upstream PV channel exists (§6.6)");
                }
        }
}
END_TEST

START_TEST(today_smmu_from_sysfs_only)
{
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;

        /* Without the iommufd probe the SMMUv3 capabilities are unknown: a PMDEV with a vendor
         * path is shadowed, never nested on an assumption. */
        today(MDP_GUEST_NOPASID);
        env.req.kernel.has[MDP_KFEAT_PMDEV_PATH] = MDP_YES;
        env.req.options.allow_experimental = true;
        add_mdev_smmu(false);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_unknown(p, 0, "IDR0 S1P (smmu3.0x0000000009050000) unknown ⇒ treated as absent");
}
END_TEST

START_TEST(today_intree_mdev_is_emulated)
{
        /* What the captures actually hold: mtty, an emulated mdev (group vfio-noiommu). */
        static const enum mdp_strategy want[3] = {MDP_STRATEGY_DIRECT, MDP_STRATEGY_SHADOW,
                                                  MDP_STRATEGY_REFUSED};

        for (size_t c = 0; c < 3; c++) {
                _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
                today(columns[c]);
                add_mdev_vtd(MDP_UNIT_EMDEV, 0);
                p = env_plan(&env);
                assert_unit(p, 0, want[c], c == 2 ? MDP_REASON_EMULATED_NO_PASID : MDP_REASON_NONE);
        }
}
END_TEST

static Suite *seed_suite(void)
{
        Suite *s = suite_create("engine-seed");
        TCase *tc = tcase_create("seed");

        tcase_add_test(tc, decoded_bits);
        tcase_add_test(tc, seed_row_vf);
        tcase_add_test(tc, seed_row_mdev_smmuv3);
        tcase_add_test(tc, seed_row_mdev_vtd3);
        tcase_add_test(tc, today_vf_vtd);
        tcase_add_test(tc, today_mdev_mainline);
        tcase_add_test(tc, today_mdev_vendor_path);
        tcase_add_test(tc, today_smmu_from_sysfs_only);
        tcase_add_test(tc, today_intree_mdev_is_emulated);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(seed_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
