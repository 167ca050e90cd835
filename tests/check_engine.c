/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strategy engine (lib/engine.h): names, the IOMMU-SPEC.md §6.3 table cell by cell, every
 * §6.7 reason code, VM reconciliation (§6.4 step 11). Pure: no files. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-test.h"
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
        ck_assert_str_eq(mdp_kernel_backend_to_string(MDP_BACKEND_IOMMUFD_NESTED_HWPT),
                         "iommufd-nested-hwpt");
        ck_assert_int_eq(mdp_vmm_cap_from_string("intel-iommu.x-flts"), MDP_VMM_INTEL_IOMMU_X_FLTS);
        ck_assert_int_eq(mdp_vmm_cap_from_string("pv-pasid-alloc"), MDP_VMM_PV_PASID_ALLOC);
        ck_assert_int_eq(mdp_kernel_feature_from_string("pmdev_path"), MDP_KFEAT_PMDEV_PATH);
        /* Case matters and nothing else is accepted. */
        ck_assert_int_eq(mdp_guest_mode_from_string("PASID"), -EINVAL);
        ck_assert_int_eq(mdp_reason_from_string("no_host_iommu"), -EINVAL);
        ck_assert_int_eq(mdp_strategy_from_string(""), -EINVAL);
        ck_assert_int_eq(mdp_strategy_from_string(NULL), -EINVAL);
        ck_assert_str_eq(mdp_strategy_to_string(_MDP_STRATEGY_MAX), "invalid");
        ck_assert_str_eq(mdp_strategy_to_string((enum mdp_strategy) - 1), "invalid");
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

#define VF    "0000:01:00.1"
#define PF    "0000:01:00.0"
#define MDEV1 "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define MDEV2 "83b8f4f2-509f-382f-3c1e-e6bfe0fa1002"

static struct engine_env env;

static const char *id_for(enum mdp_unit_kind k)
{
        return k == MDP_UNIT_PF ? PF : k == MDP_UNIT_VF ? VF : MDEV1;
}

/* One unit of `kind` on `family` under guest mode g. */
static struct mdp_unit_input *one(bool everything, enum mdp_guest_mode g, enum mdp_unit_kind kind,
                                  enum mdp_iommu_family family)
{
        if (everything)
                env_everything(&env);
        else
                env_upstream(&env);
        env.req.guest = g;
        return env_add(&env, kind, family, id_for(kind));
}

#define PLAN _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL

/* ===== §6.3 row "PF/VF · VT-d, SM on + NEST" ===== */

START_TEST(cell_vtd_nest_g0)
{
        PLAN;
        one(false, MDP_GUEST_NONE, MDP_UNIT_VF, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        assert_vm(p, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        assert_explains(p, 0, "§6.4 step 4, §6.3 [PF/VF · VT-d, SM on + NEST] × G0: direct");
        ck_assert_int_eq(p->backend, MDP_BACKEND_IOMMUFD_IOAS);
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_NONE);
        ck_assert(plan_has_qemu(p, "-device vfio-pci,host=" VF ",iommufd=iommufd0"));
        ck_assert(plan_has_qemu(p, "-object iommufd,id=iommufd0"));
        ck_assert_ptr_null(strstr(p->libvirt_xml, "<iommu"));
        ck_assert_ptr_nonnull(
                strstr(p->libvirt_xml, "<address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>"));
}
END_TEST

START_TEST(cell_vtd_nest_g1_nest)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_vm(p, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_explains(
                p, 0,
                "§6.4 step 7: nest feasible on vtd: scalable mode on=yes (dmar0, intel_iommu=sm_on), "
                "ecap NEST=1 (dmar0), ecap FSTS=1 (dmar0), ecap SSTS=1 (dmar0), cap CM=0 (dmar0)");
        assert_explains(
                p, 0,
                "§6.3 [PF/VF · VT-d, SM on + NEST] × G1: nest under intel-nested (policy prefer=nest [J])");
        ck_assert_int_eq(p->backend, MDP_BACKEND_IOMMUFD_NESTED_HWPT);
        ck_assert_int_eq(p->units[0].backend, MDP_BACKEND_IOMMUFD_NESTED_HWPT);
        ck_assert(plan_has_qemu(p, "-device intel-iommu,x-scalable-mode=on,x-flts=on,fs1gp=on,aw-bits=48"));
        ck_assert(!plan_has_qemu(p, "caching-mode"));
        ck_assert_ptr_nonnull(strstr(p->libvirt_xml, "libvirt has no XML for VT-d nesting"));
        /* the order QEMU needs: iommufd object, vIOMMU, then the device */
        ck_assert_uint_eq(p->n_qemu, 3);
        ck_assert_str_eq(p->qemu[0], "-object iommufd,id=iommufd0");
        ck_assert_str_eq(p->qemu[2], "-device vfio-pci,host=" VF ",iommufd=iommufd0");
}
END_TEST

START_TEST(cell_vtd_nest_g1_renamed_properties)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD);
        env.req.options.vmm[MDP_VMM_INTEL_IOMMU_SCALABLE_MODE] = MDP_YES;
        env.req.options.vmm[MDP_VMM_INTEL_IOMMU_FSTS] = MDP_YES;
        env.req.options.vmm[MDP_VMM_INTEL_IOMMU_X_FLTS] = MDP_NO;
        env.units[0].iommu.fl1gp = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        ck_assert(plan_has_qemu(p, "-device intel-iommu,scalable-mode=on,fsts=on,fs1gp=off,aw-bits=48"));
}
END_TEST

START_TEST(cell_vtd_nest_g1_else_shadow)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD);
        env.req.options.vmm[MDP_VMM_INTEL_IOMMU_X_FLTS] = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "nest not feasible on vtd: missing vmm intel-iommu.fsts|x-flts=no");
        assert_explains(p, 0, "× G1: shadow under intel (nesting infeasible)");
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_INTEL);
        ck_assert_int_eq(p->backend, MDP_BACKEND_IOMMUFD_IOAS);
        ck_assert_str_eq(p->qemu[0], "-machine q35,kernel-irqchip=split");
        ck_assert(plan_has_qemu(p, "-device intel-iommu,caching-mode=on,intremap=on,eim=on,aw-bits=48"));
        ck_assert_ptr_nonnull(strstr(p->libvirt_xml, "<features>\n  <ioapic driver='qemu'/>\n</features>"));
        ck_assert_ptr_nonnull(strstr(p->libvirt_xml, "<iommu model='intel'>\n    <driver caching_mode='on' "
                                                     "intremap='on' eim='on' aw_bits='48'/>"));
}
END_TEST

START_TEST(cell_vtd_nest_g1_prefer_shadow)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD);
        env.req.options.prefer = MDP_PREFER_SHADOW;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "nest feasible on vtd");
        assert_explains(p, 0, "shadow under intel (policy prefer=shadow)");
}
END_TEST

START_TEST(cell_vtd_nest_g2_upstream_refused)
{
        PLAN;
        /* Upstream QEMU nests PASID 0 only (§4.4): REFUSE until the VMM supports it. */
        one(false, MDP_GUEST_PASID, MDP_UNIT_PF, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PASID_NEST);
        assert_vm(p, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PASID_NEST);
        ck_assert_str_eq(p->refused_by, PF);
        assert_explains(
                p, 0,
                "§6.4 step 8: REFUSE(NO_PASID_NEST): guest PASIDs need per-PASID nesting: missing vmm "
                "passthrough-pasid=no");
        ck_assert_uint_eq(p->n_qemu, 0);
        ck_assert_ptr_null(p->libvirt_xml);
        ck_assert_int_eq(p->backend, MDP_BACKEND_NONE);
}
END_TEST

START_TEST(cell_vtd_nest_g2_nest)
{
        PLAN;
        one(true, MDP_GUEST_PASID, MDP_UNIT_PF, MDP_IOMMU_VTD);
        env.units[0].pci.pasid_width = 16;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_explains(p, 0, "guest PASID = host PASID (per-RID PASID space), no PV needed");
        ck_assert(plan_has_qemu(
                p, "-device intel-iommu,scalable-mode=on,fsts=on,fs1gp=on,aw-bits=48,pasid-bits=16"));
}
END_TEST

START_TEST(cell_vtd_nest_g3_upstream_refused)
{
        PLAN;
        one(false, MDP_GUEST_SVSA, MDP_UNIT_VF, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_VSVA_UNSUPPORTED);
        assert_explains(p, 0, "vmm fault-forwarding=no");
        assert_explains(p, 0, "vmm intel-iommu.svm=no");
}
END_TEST

START_TEST(cell_vtd_nest_g3_nest)
{
        PLAN;
        one(true, MDP_GUEST_SVSA, MDP_UNIT_VF, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_explains(p, 0, "§6.4 step 6: vSVA chain present");
        ck_assert(plan_has_qemu(p, ",device-iotlb=on,svm=on"));
}
END_TEST

/* ===== §6.3 row "PF/VF · VT-d, no usable nesting" (sm_off, NEST=0, CM=1) ===== */

START_TEST(cell_vtd_legacy_g0)
{
        PLAN;
        caps_vtd_legacy(&one(false, MDP_GUEST_NONE, MDP_UNIT_PF, MDP_IOMMU_VTD)->iommu);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        assert_explains(p, 0, "[PF/VF · VT-d, no usable nesting] × G0: direct");
}
END_TEST

START_TEST(cell_vtd_legacy_g1_sm_off)
{
        PLAN;
        caps_vtd_legacy(&one(false, MDP_GUEST_NOPASID, MDP_UNIT_PF, MDP_IOMMU_VTD)->iommu);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "missing scalable mode on=no (dmar0, intel_iommu=sm_off)");
        assert_explains(p, 0, "[PF/VF · VT-d, no usable nesting] × G1: shadow under intel");
}
END_TEST

START_TEST(cell_vtd_legacy_g1_nest0)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_PF, MDP_IOMMU_VTD)->iommu.nest_hw = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "nest not feasible on vtd: missing ecap NEST=0 (dmar0)");
}
END_TEST

START_TEST(cell_vtd_legacy_g1_no_shadow)
{
        PLAN;
        caps_vtd_legacy(&one(false, MDP_GUEST_NOPASID, MDP_UNIT_PF, MDP_IOMMU_VTD)->iommu);
        env.req.options.vmm[MDP_VMM_INTEL_IOMMU_CACHING_MODE] = MDP_NO;
        env.req.options.vmm[MDP_VMM_VIRTIO_IOMMU] = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_VIOMMU_PATH);
        assert_explains(
                p, 0,
                "shadow not feasible: missing vmm intel-iommu.caching-mode=no, vmm virtio-iommu-pci=no, "
                "vmm amd-iommu.dma-remap=no");
}
END_TEST

START_TEST(cell_vtd_legacy_g1_virtio)
{
        PLAN;
        caps_vtd_legacy(&one(false, MDP_GUEST_NOPASID, MDP_UNIT_PF, MDP_IOMMU_VTD)->iommu);
        env.req.options.vmm[MDP_VMM_INTEL_IOMMU_CACHING_MODE] = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_VIRTIO);
        ck_assert(plan_has_qemu(p, "-device virtio-iommu-pci"));
        ck_assert_ptr_nonnull(strstr(p->libvirt_xml, "<iommu model='virtio'/>"));
}
END_TEST

START_TEST(cell_vtd_legacy_g2)
{
        PLAN;
        caps_vtd_legacy(&one(true, MDP_GUEST_PASID, MDP_UNIT_PF, MDP_IOMMU_VTD)->iommu);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PASID_NEST);
        assert_explains(p, 0, "ecap PASID (scalable mode)=0 (dmar0)");
}
END_TEST

START_TEST(cell_vtd_legacy_g3)
{
        PLAN;
        caps_vtd_legacy(&one(true, MDP_GUEST_SVSA, MDP_UNIT_PF, MDP_IOMMU_VTD)->iommu);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_VSVA_UNSUPPORTED);
}
END_TEST

/* ===== §6.3 row "PF/VF · SMMUv3, S1P+S2P" ===== */

START_TEST(cell_smmu_g0)
{
        PLAN;
        one(false, MDP_GUEST_NONE, MDP_UNIT_VF, MDP_IOMMU_SMMUV3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        ck_assert_int_eq(p->arch, MDP_ARCH_AARCH64);
}
END_TEST

START_TEST(cell_smmu_g1_nest)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_SMMUV3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_explains(p, 0, "nest feasible on smmuv3: IDR0 S1P=1");
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_SMMUV3_ACCEL);
        ck_assert(plan_has_qemu(p, "-device arm-smmuv3,primary-bus=pcie.0,accel=on,ats=on"));
        ck_assert_ptr_nonnull(strstr(p->libvirt_xml, "<driver pciBus='0' accel='on' ats='on'/>"));
}
END_TEST

START_TEST(cell_smmu_g1_else_shadow_virtio_only)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_SMMUV3);
        env.req.options.vmm[MDP_VMM_SMMUV3_ACCEL] = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        /* intel-iommu caching-mode is asserted, but on Arm only virtio-iommu shadows VFIO */
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_VIRTIO);
        ck_assert(!plan_has_qemu(p, "intel-iommu"));
        assert_explains(p, 0, "Arm: only virtio-iommu shadows VFIO");
}
END_TEST

START_TEST(cell_smmu_g1_migration)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_SMMUV3);
        env.req.options.migration_required = true;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "policy migration_required=yes");
}
END_TEST

START_TEST(cell_smmu_g2_nest)
{
        PLAN;
        one(false, MDP_GUEST_PASID, MDP_UNIT_VF, MDP_IOMMU_SMMUV3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        ck_assert(plan_has_qemu(p, "-device arm-smmuv3,primary-bus=pcie.0,accel=on,ats=on,ssidsize=20"));
}
END_TEST

START_TEST(cell_smmu_g2_no_device_pasid)
{
        PLAN;
        one(false, MDP_GUEST_PASID, MDP_UNIT_VF, MDP_IOMMU_SMMUV3)->pci.pasid = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PASID_NEST);
        assert_explains(p, 0, "PASID capability=no (device " VF ")");
}
END_TEST

START_TEST(cell_smmu_g3_default_refused)
{
        PLAN;
        one(true, MDP_GUEST_SVSA, MDP_UNIT_VF, MDP_IOMMU_SMMUV3);
        env.req.options.allow_experimental = false;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_VSVA_UNSUPPORTED);
        assert_explains(p, 0, "refused by default [J]; policy allow_experimental=no");
}
END_TEST

START_TEST(cell_smmu_g3_experimental)
{
        PLAN;
        one(true, MDP_GUEST_SVSA, MDP_UNIT_VF, MDP_IOMMU_SMMUV3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
}
END_TEST

/* ===== §6.3 row "PF/VF · SMMUv3, stage-2 only or no S1P" ===== */

START_TEST(cell_smmu_s2_g0)
{
        PLAN;
        caps_smmu_s2(&one(false, MDP_GUEST_NONE, MDP_UNIT_VF, MDP_IOMMU_SMMUV3)->iommu);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        assert_explains(p, 0, "[PF/VF · SMMUv3, stage-2 only or no S1P] × G0");
}
END_TEST

START_TEST(cell_smmu_s2_g1)
{
        PLAN;
        caps_smmu_s2(&one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_SMMUV3)->iommu);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "IDR0 S1P=0");
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_VIRTIO);
}
END_TEST

START_TEST(cell_smmu_s2_g2)
{
        PLAN;
        caps_smmu_s2(&one(true, MDP_GUEST_PASID, MDP_UNIT_VF, MDP_IOMMU_SMMUV3)->iommu);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PASID_NEST);
}
END_TEST

START_TEST(cell_smmu_s2_g3)
{
        PLAN;
        caps_smmu_s2(&one(true, MDP_GUEST_SVSA, MDP_UNIT_VF, MDP_IOMMU_SMMUV3)->iommu);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_VSVA_UNSUPPORTED);
}
END_TEST

/* ===== §6.3 row "PF/VF · AMD" ===== */

START_TEST(cell_amd_g0)
{
        PLAN;
        one(false, MDP_GUEST_NONE, MDP_UNIT_PF, MDP_IOMMU_AMD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        ck_assert_int_eq(p->arch, MDP_ARCH_X86_64);
}
END_TEST

START_TEST(cell_amd_g1_shadow)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_PF, MDP_IOMMU_AMD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "kernel.amd_nest=no");
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_INTEL);
}
END_TEST

START_TEST(cell_amd_g1_dma_remap)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_PF, MDP_IOMMU_AMD);
        env.req.options.vmm[MDP_VMM_INTEL_IOMMU_CACHING_MODE] = MDP_NO;
        env.req.options.vmm[MDP_VMM_VIRTIO_IOMMU] = MDP_NO;
        env.req.options.vmm[MDP_VMM_AMD_IOMMU_DMA_REMAP] = MDP_YES;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_AMD);
        ck_assert(plan_has_qemu(p, "-device amd-iommu,dma-remap=on"));
        ck_assert_ptr_nonnull(strstr(p->libvirt_xml, "<iommu model='amd'/>"));
}
END_TEST

START_TEST(cell_amd_g1_probed_nest)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_PF, MDP_IOMMU_AMD);
        env.req.kernel.has[MDP_KFEAT_AMD_NEST] = MDP_YES;
        env.req.kernel.basis[MDP_KFEAT_AMD_NEST] = "IOMMU_VIOMMU_ALLOC probe";
        env.req.options.vmm[MDP_VMM_AMD_IOMMU_NEST] = MDP_YES;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_explains(p, 0, "kernel.amd_nest=yes (IOMMU_VIOMMU_ALLOC probe)");
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_AMD_NESTED);
}
END_TEST

START_TEST(cell_amd_g2)
{
        PLAN;
        one(true, MDP_GUEST_PASID, MDP_UNIT_PF, MDP_IOMMU_AMD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PASID_NEST);
        assert_explains(p, 0, "rejects PASID-enabled devices");
}
END_TEST

START_TEST(cell_amd_g3)
{
        PLAN;
        one(true, MDP_GUEST_SVSA, MDP_UNIT_PF, MDP_IOMMU_AMD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_VSVA_UNSUPPORTED);
}
END_TEST

/* ===== §6.3 row "EMDEV · any host" ===== */

START_TEST(cell_emdev_g0)
{
        PLAN;
        one(false, MDP_GUEST_NONE, MDP_UNIT_EMDEV, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        ck_assert(plan_has_qemu(p, "-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/" MDEV1
                                   ",iommufd=iommufd0"));
        ck_assert_ptr_nonnull(
                strstr(p->libvirt_xml, "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>"));
        ck_assert_ptr_nonnull(strstr(p->libvirt_xml, "<address uuid='" MDEV1 "'/>"));
}
END_TEST

START_TEST(cell_emdev_g1_never_nest)
{
        PLAN;
        one(true, MDP_GUEST_NOPASID, MDP_UNIT_EMDEV, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "never nest: emulated access attaches only to an IOAS");
        ck_assert_int_eq(p->backend, MDP_BACKEND_IOMMUFD_IOAS);
}
END_TEST

START_TEST(cell_emdev_g2)
{
        PLAN;
        one(true, MDP_GUEST_PASID, MDP_UNIT_EMDEV, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_EMULATED_NO_PASID);
}
END_TEST

START_TEST(cell_emdev_g3)
{
        PLAN;
        one(true, MDP_GUEST_SVSA, MDP_UNIT_EMDEV, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_EMULATED_NO_PASID);
}
END_TEST

START_TEST(cell_emdev_ccw_device_model)
{
        PLAN;
        struct mdp_unit_input *u = one(false, MDP_GUEST_NONE, MDP_UNIT_EMDEV, MDP_IOMMU_NONE);
        u->device_api = "vfio-ccw";
        u->parent = "0.0.0313";
        env.req.kernel.has[MDP_KFEAT_IOMMUFD] = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        ck_assert_int_eq(p->backend, MDP_BACKEND_TYPE1V2_CONTAINER);
        ck_assert(plan_has_qemu(p, "-device vfio-ccw,sysfsdev=/sys/bus/mdev/devices/" MDEV1));
        ck_assert(!plan_has_qemu(p, "iommufd"));
        ck_assert_ptr_nonnull(strstr(p->libvirt_xml, "type='mdev' model='vfio-ccw'"));
}
END_TEST

/* ===== §6.3 row "PMDEV · VT-d SM + NEST" ===== */

static struct mdp_unit_input *pmdev(bool everything, enum mdp_guest_mode g, enum mdp_iommu_family f)
{
        struct mdp_unit_input *u = one(everything, g, MDP_UNIT_PMDEV, f);
        env.req.kernel.has[MDP_KFEAT_PMDEV_PATH] = MDP_YES;
        env.req.kernel.basis[MDP_KFEAT_PMDEV_PATH] = "vendor profile";
        return u;
}

START_TEST(cell_pmdev_vtd_g0)
{
        PLAN;
        pmdev(false, MDP_GUEST_NONE, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        assert_explains(p, 0, "§6.4 step 3: PMDEV path: kernel.pmdev_path=yes (vendor profile)");
        assert_vm_explains(p, "attaches the mdev's PASID on the parent");
}
END_TEST

START_TEST(cell_pmdev_vtd_g1_nest)
{
        PLAN;
        pmdev(false, MDP_GUEST_NOPASID, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_explains(p, 0, "[PMDEV · VT-d SM + NEST] × G1: nest under intel-nested");
        assert_explains(p, 0, "kernel.pasid_attach=yes");
}
END_TEST

START_TEST(cell_pmdev_vtd_g1_else_shadow)
{
        PLAN;
        pmdev(false, MDP_GUEST_NOPASID, MDP_IOMMU_VTD);
        env.req.kernel.has[MDP_KFEAT_PASID_ATTACH] = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "missing kernel.pasid_attach=no");
}
END_TEST

START_TEST(cell_pmdev_vtd_g2_no_pv)
{
        PLAN;
        pmdev(false, MDP_GUEST_PASID, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PV_PASID);
        assert_explains(p, 0, "no upstream PV channel exists (§6.6): missing vmm pv-pasid-alloc=no");
}
END_TEST

START_TEST(cell_pmdev_vtd_g2_nest_pv)
{
        PLAN;
        pmdev(true, MDP_GUEST_PASID, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST_PV, MDP_REASON_NONE);
        assert_vm(p, MDP_STRATEGY_NEST_PV, MDP_REASON_NONE);
        ck_assert_ptr_nonnull(strstr(p->libvirt_xml, "PV PASID allocation has no upstream QEMU option"));
}
END_TEST

START_TEST(cell_pmdev_vtd_g3_default_refused)
{
        PLAN;
        pmdev(true, MDP_GUEST_SVSA, MDP_IOMMU_VTD);
        env.req.options.allow_experimental = false;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_VSVA_UNSUPPORTED);
        assert_explains(p, 0, "refused by default [J]");
}
END_TEST

START_TEST(cell_pmdev_vtd_g3_upstream)
{
        PLAN;
        pmdev(false, MDP_GUEST_SVSA, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_VSVA_UNSUPPORTED);
        assert_explains(p, 0, "vmm fault-forwarding=no");
}
END_TEST

START_TEST(cell_pmdev_vtd_g3_experimental)
{
        PLAN;
        pmdev(true, MDP_GUEST_SVSA, MDP_IOMMU_VTD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST_PV, MDP_REASON_NONE);
}
END_TEST

/* ===== §6.3 row "PMDEV · SMMUv3" ===== */

START_TEST(cell_pmdev_smmu_g0)
{
        PLAN;
        pmdev(false, MDP_GUEST_NONE, MDP_IOMMU_SMMUV3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
}
END_TEST

START_TEST(cell_pmdev_smmu_g1_shadow)
{
        PLAN;
        pmdev(false, MDP_GUEST_NOPASID, MDP_IOMMU_SMMUV3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0,
                        "no nesting: mdevs of one parent share its stage 2 (seed, §6.1): missing policy "
                        "allow_experimental=no");
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_VIRTIO);
}
END_TEST

START_TEST(cell_pmdev_smmu_g1_exclusive_nest)
{
        PLAN;
        pmdev(true, MDP_GUEST_NOPASID, MDP_IOMMU_SMMUV3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_explains(p, 0, "single-VM nesting exception applies [J]");
}
END_TEST

START_TEST(cell_pmdev_smmu_g1_two_vms)
{
        PLAN;
        /* The seed's SMMUv3 rule: mdevs of one parent held by different VMs cannot nest. */
        struct mdp_unit_input *u = pmdev(true, MDP_GUEST_NOPASID, MDP_IOMMU_SMMUV3);
        u->parent_exclusive = MDP_NO;
        u->other_vm = "vm2";
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "parent 0000:00:02.0 exclusive to this VM=no (VM vm2 holds units on it)");
}
END_TEST

START_TEST(cell_pmdev_smmu_g1_host_uses_rid)
{
        PLAN;
        pmdev(true, MDP_GUEST_NOPASID, MDP_IOMMU_SMMUV3)->host_uses_rid = MDP_YES;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "host uses the parent's RID=yes");
}
END_TEST

START_TEST(cell_pmdev_smmu_g2_default_refused)
{
        PLAN;
        pmdev(false, MDP_GUEST_PASID, MDP_IOMMU_SMMUV3);
        env.req.options.vmm[MDP_VMM_PV_PASID_ALLOC] = MDP_YES;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PV_PASID);
        assert_explains(p, 0, "shadow+pv is refused by default [J]");
}
END_TEST

START_TEST(cell_pmdev_smmu_g2_shadow_pv)
{
        PLAN;
        pmdev(true, MDP_GUEST_PASID, MDP_IOMMU_SMMUV3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW_PV, MDP_REASON_NONE);
        assert_vm(p, MDP_STRATEGY_SHADOW_PV, MDP_REASON_NONE);
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_VIRTIO);
}
END_TEST

START_TEST(cell_pmdev_smmu_g3)
{
        PLAN;
        pmdev(true, MDP_GUEST_SVSA, MDP_IOMMU_SMMUV3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_SHADOW_STAGE1_FOR_VSVA);
}
END_TEST

/* ===== §6.3 row "PMDEV · AMD" ===== */

START_TEST(cell_pmdev_amd_g0)
{
        PLAN;
        pmdev(false, MDP_GUEST_NONE, MDP_IOMMU_AMD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
}
END_TEST

START_TEST(cell_pmdev_amd_g1)
{
        PLAN;
        pmdev(false, MDP_GUEST_NOPASID, MDP_IOMMU_AMD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "[PMDEV · AMD] × G1: shadow");
}
END_TEST

START_TEST(cell_pmdev_amd_g2)
{
        PLAN;
        pmdev(false, MDP_GUEST_PASID, MDP_IOMMU_AMD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PV_PASID);
}
END_TEST

START_TEST(cell_pmdev_amd_g3)
{
        PLAN;
        pmdev(true, MDP_GUEST_SVSA, MDP_IOMMU_AMD);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_SHADOW_STAGE1_FOR_VSVA);
}
END_TEST

/* ===== §6.3 row "any · no host IOMMU" ===== */

START_TEST(cell_noiommu_g0)
{
        PLAN;
        one(false, MDP_GUEST_NONE, MDP_UNIT_PF, MDP_IOMMU_NONE);
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_NONE, MDEV1);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_HOST_IOMMU);
        assert_unit(p, 1, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        assert_explains(p, 0, "no translating IOMMU: missing iommu link, iommu_group=no (device " PF ")");
        assert_vm(p, MDP_STRATEGY_REFUSED, MDP_REASON_NO_HOST_IOMMU);
}
END_TEST

START_TEST(cell_noiommu_g1)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_NONE);
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_NONE, MDEV1);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_HOST_IOMMU);
        assert_unit(p, 1, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 1, "[EMDEV · any host] × G1: shadow under virtio");
        /* No IOMMU family tells the architecture: only virtio-iommu is considered. */
        assert_unknown(p, 1, "guest architecture unknown ⇒ only virtio-iommu (any architecture) considered");
}
END_TEST

START_TEST(cell_noiommu_g1_x86)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_EMDEV, MDP_IOMMU_NONE);
        env.req.arch = MDP_ARCH_X86_64;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_INTEL);
        assert_no_unknown(p, 0, "architecture");
}
END_TEST

START_TEST(cell_noiommu_g2)
{
        PLAN;
        one(true, MDP_GUEST_PASID, MDP_UNIT_PF, MDP_IOMMU_NONE);
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_NONE, MDEV1);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_HOST_IOMMU);
        assert_unit(p, 1, MDP_STRATEGY_REFUSED, MDP_REASON_EMULATED_NO_PASID);
}
END_TEST

START_TEST(cell_noiommu_g3)
{
        PLAN;
        one(true, MDP_GUEST_SVSA, MDP_UNIT_PF, MDP_IOMMU_NONE);
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_NONE, MDEV1);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_HOST_IOMMU);
        assert_unit(p, 1, MDP_STRATEGY_REFUSED, MDP_REASON_EMULATED_NO_PASID);
        /* the first refused unit refuses the VM */
        ck_assert_str_eq(p->refused_by, PF);
}
END_TEST

START_TEST(cell_other_family)
{
        PLAN;
        /* §2.1: a family the spec does not know gets DIRECT only [J]. */
        one(true, MDP_GUEST_NONE, MDP_UNIT_PF, MDP_IOMMU_OTHER);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        mdp_plan_free(p);
        one(true, MDP_GUEST_NOPASID, MDP_UNIT_PF, MDP_IOMMU_OTHER);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_VIOMMU_PATH);
        assert_explains(p, 0, "DIRECT only (§2.1) [J]");
}
END_TEST

/* ===== one test per §6.7 reason code ===== */

START_TEST(reason_no_host_iommu)
{
        PLAN;
        struct mdp_unit_input *u = one(false, MDP_GUEST_NONE, MDP_UNIT_VF, MDP_IOMMU_VTD);
        /* an iommu link but no iommu_group */
        u->has_group = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_HOST_IOMMU);
        assert_explains(p, 0,
                        "§6.4 step 2: REFUSE(NO_HOST_IOMMU): no translating IOMMU: missing iommu_group=no");
}
END_TEST

START_TEST(reason_no_host_iommu_no_vfio_backend)
{
        PLAN;
        /* Neither iommufd nor a confirmed type1v2 container: nothing to put the unit in. */
        one(false, MDP_GUEST_NONE, MDP_UNIT_EMDEV, MDP_IOMMU_NONE);
        env.req.kernel.has[MDP_KFEAT_IOMMUFD] = MDP_NO;
        env.req.kernel.has[MDP_KFEAT_TYPE1V2] = MDP_UNKNOWN;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_HOST_IOMMU);
        assert_explains(p, 0, "no VFIO IOMMU backend: missing kernel.iommufd=no, kernel.type1v2 unknown");
        assert_unknown(p, 0, "kernel.type1v2 unknown ⇒ treated as absent");
}
END_TEST

START_TEST(reason_group_not_viable)
{
        PLAN;
        struct mdp_unit_input *u = one(false, MDP_GUEST_NONE, MDP_UNIT_VF, MDP_IOMMU_VTD);
        u->group_viable = MDP_NO;
        u->group_blocker = "0000:01:00.0";
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_GROUP_NOT_VIABLE);
        assert_explains(p, 0, "IOMMU group 12 viable=no (member 0000:01:00.0 is not assigned to VM vm1)");
}
END_TEST

START_TEST(reason_group_not_viable_unknown)
{
        PLAN;
        one(false, MDP_GUEST_NONE, MDP_UNIT_VF, MDP_IOMMU_VTD)->group_viable = MDP_UNKNOWN;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_GROUP_NOT_VIABLE);
        assert_unknown(p, 0, "IOMMU group viable (group 12) unknown ⇒ treated as not satisfied");
}
END_TEST

START_TEST(reason_group_not_viable_parent_unbound)
{
        PLAN;
        pmdev(false, MDP_GUEST_NONE, MDP_IOMMU_VTD)->parent_bound = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_GROUP_NOT_VIABLE);
        assert_explains(p, 0, "parent bound to its vendor driver=no (0000:00:02.0)");
}
END_TEST

START_TEST(reason_no_pmdev_path)
{
        PLAN;
        /* The mainline fact (§1.5): no PASID-granular path, whatever the guest. */
        for (enum mdp_guest_mode g = 0; g < _MDP_GUEST_MODE_MAX; g++) {
                one(true, g, MDP_UNIT_PMDEV, MDP_IOMMU_VTD);
                env.req.kernel.has[MDP_KFEAT_PMDEV_PATH] = MDP_NO;
                env.req.kernel.basis[MDP_KFEAT_PMDEV_PATH] = "mainline ≥ 5.16";
                p = env_plan(&env);
                assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PMDEV_PATH);
                assert_explains(p, 0, "missing kernel.pmdev_path=no (mainline ≥ 5.16)");
                p = mdp_plan_free(p);
        }
}
END_TEST

START_TEST(reason_emulated_no_pasid)
{
        PLAN;
        one(true, MDP_GUEST_PASID, MDP_UNIT_EMDEV, MDP_IOMMU_NONE);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_EMULATED_NO_PASID);
        assert_explains(p, 0, "§6.4 step 5: REFUSE(EMULATED_NO_PASID)");
}
END_TEST

START_TEST(reason_no_viommu_path)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_SMMUV3);
        env.req.options.vmm[MDP_VMM_SMMUV3_ACCEL] = MDP_NO;
        env.req.options.vmm[MDP_VMM_VIRTIO_IOMMU] = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_VIOMMU_PATH);
        assert_explains(p, 0, "REFUSE(NO_VIOMMU_PATH): neither nesting nor shadowing is feasible");
}
END_TEST

START_TEST(reason_no_pasid_nest)
{
        PLAN;
        one(false, MDP_GUEST_PASID, MDP_UNIT_VF, MDP_IOMMU_VTD)->iommu.pasid = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PASID_NEST);
        assert_explains(p, 0, "ecap PASID (scalable mode)=0 (dmar0)");
}
END_TEST

START_TEST(reason_no_pv_pasid)
{
        PLAN;
        /* The seed's "nest + PV" for an mdev on VT-d scalable mode is refused today: no PV
         * PASID channel exists upstream (§6.6). */
        pmdev(true, MDP_GUEST_PASID, MDP_IOMMU_VTD);
        env.req.options.vmm[MDP_VMM_PV_PASID_ALLOC] = MDP_UNKNOWN;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PV_PASID);
        assert_unknown(p, 0, "vmm pv-pasid-alloc unknown ⇒ treated as absent");
}
END_TEST

START_TEST(reason_shadow_stage1_for_vsva)
{
        PLAN;
        pmdev(true, MDP_GUEST_SVSA, MDP_IOMMU_SMMUV3);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_SHADOW_STAGE1_FOR_VSVA);
        assert_explains(p, 0, "guest's CPU page tables");
}
END_TEST

START_TEST(reason_vsva_unsupported)
{
        PLAN;
        one(true, MDP_GUEST_SVSA, MDP_UNIT_VF, MDP_IOMMU_VTD)->pci.pri = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_VSVA_UNSUPPORTED);
        assert_explains(p, 0, "PRI capability=no (device " VF ")");
}
END_TEST

START_TEST(reason_mixed_modes)
{
        PLAN;
        /* Arm, G2: a VF can only nest (smmuv3 accel), a PMDEV on another SMMUv3 parent can
         * only be shadowed with PV (virtio-iommu): no single vIOMMU serves both. */
        env_everything(&env);
        env.req.guest = MDP_GUEST_PASID;
        env.req.kernel.has[MDP_KFEAT_PMDEV_PATH] = MDP_YES;
        env_add(&env, MDP_UNIT_VF, MDP_IOMMU_SMMUV3, VF);
        env_add(&env, MDP_UNIT_PMDEV, MDP_IOMMU_SMMUV3, MDEV1);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_unit(p, 1, MDP_STRATEGY_SHADOW_PV, MDP_REASON_NONE);
        assert_vm(p, MDP_STRATEGY_REFUSED, MDP_REASON_MIXED_MODES);
        ck_assert_ptr_null(p->refused_by);
        assert_vm_explains(p,
                           "REFUSE(MIXED_MODES): one vIOMMU per VM, but " VF " needs smmuv3-accel, " MDEV1
                           " needs virtio; no shadowing vIOMMU every unit allows (no shadow path: " VF ")");
        assert_explains(p, 0, "the VM is refused (MIXED_MODES)");
        ck_assert_uint_eq(p->n_qemu, 0);
}
END_TEST

START_TEST(reason_host_is_guest)
{
        PLAN;
        /* VT-d CM=1: nesting unavailable; a fallback to SHADOW, not a refusal. */
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD)->iommu.caching_mode = MDP_YES;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_HOST_IS_GUEST);
        assert_vm(p, MDP_STRATEGY_SHADOW, MDP_REASON_HOST_IS_GUEST);
        assert_explains(p, 0, "missing cap CM=1 (dmar0)");
        assert_explains(p, 0, "§6.7 HOST_IS_GUEST: cap CM=1 (dmar0): the host is itself a guest");
        ck_assert(plan_has_qemu(p, "caching-mode=on"));
}
END_TEST

START_TEST(reason_host_is_guest_amd)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_PF, MDP_IOMMU_AMD)->iommu.np_cache = MDP_YES;
        env.req.kernel.has[MDP_KFEAT_AMD_NEST] = MDP_YES;
        env.req.options.vmm[MDP_VMM_AMD_IOMMU_NEST] = MDP_YES;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_HOST_IS_GUEST);
        assert_explains(p, 0, "cap NPCACHE=1");
}
END_TEST

START_TEST(host_is_guest_direct_and_pasid)
{
        PLAN;
        one(false, MDP_GUEST_NONE, MDP_UNIT_VF, MDP_IOMMU_VTD)->iommu.caching_mode = MDP_YES;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_DIRECT, MDP_REASON_NONE);
        assert_explains(p, 0, "the host is itself a guest (nested virtualisation)");
        p = mdp_plan_free(p);
        /* G2 cannot fall back to shadowing: the refusal is about PASID nesting. */
        one(true, MDP_GUEST_PASID, MDP_UNIT_VF, MDP_IOMMU_VTD)->iommu.caching_mode = MDP_YES;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_NO_PASID_NEST);
}
END_TEST

/* ===== unknown is never present ===== */

START_TEST(unknown_caps_treated_as_absent)
{
        PLAN;
        struct mdp_unit_input *u = one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD);
        u->iommu.nest_hw = MDP_UNKNOWN;
        u->iommu.caching_mode = MDP_UNKNOWN;
        env.req.kernel.has[MDP_KFEAT_VTD_INVALIDATE] = MDP_UNKNOWN;
        env.req.kernel.basis[MDP_KFEAT_VTD_INVALIDATE] = "not probed";
        env.req.options.vmm[MDP_VMM_INTEL_IOMMU_X_FLTS] = MDP_UNKNOWN;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0,
                        "missing ecap NEST unknown (dmar0), cap CM unknown (dmar0), kernel.vtd_invalidate "
                        "unknown (not probed), vmm intel-iommu.fsts|x-flts unknown");
        assert_unknown(p, 0, "ecap NEST (dmar0) unknown ⇒ treated as absent");
        assert_unknown(p, 0, "cap CM (dmar0) unknown ⇒ not assumed to be 0");
        assert_unknown(p, 0, "kernel.vtd_invalidate (not probed) unknown ⇒ treated as absent");
        assert_unknown(p, 0, "vmm intel-iommu.fsts|x-flts unknown ⇒ treated as absent");
        /* a fact that is known is not listed */
        assert_no_unknown(p, 0, "FSTS");
}
END_TEST

START_TEST(unknown_smmu_registers)
{
        PLAN;
        /* SMMUv3 from sysfs: no registers (§2.4) - no nesting is assumed. */
        struct mdp_unit_input *u = one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_SMMUV3);
        mdp_unit_input_init(u);
        u->id = VF;
        u->kind = MDP_UNIT_VF;
        u->iommu.family = MDP_IOMMU_SMMUV3;
        u->iommu_name = "smmu3.0x0000000009050000";
        u->has_group = u->group_viable = MDP_YES;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_unknown(p, 0, "IDR0 S1P (smmu3.0x0000000009050000) unknown ⇒ treated as absent");
        assert_unknown(p, 0, "IDR0 S2P (smmu3.0x0000000009050000) unknown ⇒ treated as absent");
}
END_TEST

START_TEST(unknown_listed_once)
{
        PLAN;
        struct mdp_unit_input *u = one(true, MDP_GUEST_SVSA, MDP_UNIT_VF, MDP_IOMMU_VTD);
        u->iommu.sm_on = MDP_UNKNOWN;
        u->iommu.sm_on_source = "no intel_iommu= on the command line";
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_REFUSED, MDP_REASON_VSVA_UNSUPPORTED);
        for (size_t i = 0, n = 0; i < p->units[0].n_unknowns; i++) {
                if (strstr(p->units[0].unknowns[i], "scalable mode on"))
                        ck_assert_uint_eq(++n, 1);
        }
        assert_unknown(p, 0, "scalable mode on (dmar0, no intel_iommu= on the command line) unknown");
}
END_TEST

START_TEST(bridge_placement)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD)->behind_pci_bridge = MDP_YES;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "device behind a conventional PCI bridge in the guest");
        p = mdp_plan_free(p);
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD)->behind_pci_bridge = MDP_UNKNOWN;
        p = env_plan(&env);
        /* not a capability: the plan requires a root port and says so */
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_unknown(p, 0, "the plan requires the device on a PCIe root port");
}
END_TEST

START_TEST(type1_never_nests)
{
        PLAN;
        /* No iommufd: VT-d nesting is impossible, a type1 container only shadows (§4.1). */
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD);
        env.req.kernel.has[MDP_KFEAT_IOMMUFD] = MDP_NO;
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        ck_assert_int_eq(p->backend, MDP_BACKEND_TYPE1V2_CONTAINER);
        assert_explains(p, 0, "kernel.iommufd=no");
        ck_assert(!plan_has_qemu(p, "iommufd"));
}
END_TEST

/* ===== VM reconciliation (§6.4 step 11) ===== */

START_TEST(reconcile_downgrade_x86)
{
        PLAN;
        /* EMDEV SHADOW next to a VF that would NEST under one intel-iommu: all shadow. */
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD);
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_VTD, MDEV1);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_unit(p, 1, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_vm(p, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_explains(p, 0, "§6.4 step 11: downgraded from nest under intel-nested to shadow under intel");
        assert_vm_explains(p, "one vIOMMU per VM, but " VF " needs intel-nested, " MDEV1
                              " needs intel; every unit "
                              "allows shadowing under intel: downgraded to shadow [J]");
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_INTEL);
        ck_assert_int_eq(p->backend, MDP_BACKEND_IOMMUFD_IOAS);
        ck_assert(plan_has_qemu(p, "caching-mode=on"));
        ck_assert(!plan_has_qemu(p, "x-flts"));
}
END_TEST

START_TEST(reconcile_downgrade_arm)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_SMMUV3);
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_SMMUV3, MDEV1);
        p = env_plan(&env);
        assert_vm(p, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        ck_assert_int_eq(p->viommu, MDP_VIOMMU_VIRTIO);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
}
END_TEST

START_TEST(reconcile_same_mode)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD);
        env_add(&env, MDP_UNIT_PF, MDP_IOMMU_VTD, PF);
        p = env_plan(&env);
        assert_vm(p, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_unit(p, 1, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        /* one vIOMMU device for both */
        for (size_t i = 0, n = 0; i < p->n_qemu; i++)
                if (strstr(p->qemu[i], "intel-iommu"))
                        ck_assert_uint_eq(++n, 1);
}
END_TEST

START_TEST(reconcile_nest_and_nest_pv)
{
        PLAN;
        one(true, MDP_GUEST_PASID, MDP_UNIT_PF, MDP_IOMMU_VTD);
        env.req.kernel.has[MDP_KFEAT_PMDEV_PATH] = MDP_YES;
        env_add(&env, MDP_UNIT_PMDEV, MDP_IOMMU_VTD, MDEV1);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_unit(p, 1, MDP_STRATEGY_NEST_PV, MDP_REASON_NONE);
        assert_vm(p, MDP_STRATEGY_NEST_PV, MDP_REASON_NONE);
}
END_TEST

START_TEST(reconcile_refused_unit)
{
        PLAN;
        one(true, MDP_GUEST_PASID, MDP_UNIT_VF, MDP_IOMMU_VTD);
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_VTD, MDEV1);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_NEST, MDP_REASON_NONE);
        assert_unit(p, 1, MDP_STRATEGY_REFUSED, MDP_REASON_EMULATED_NO_PASID);
        assert_vm(p, MDP_STRATEGY_REFUSED, MDP_REASON_EMULATED_NO_PASID);
        ck_assert_str_eq(p->refused_by, MDEV1);
        assert_vm_explains(p, "unit " MDEV1 " is refused (EMULATED_NO_PASID), so the VM is refused");
}
END_TEST

START_TEST(reconcile_host_is_guest_after_downgrade)
{
        PLAN;
        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD)->iommu.caching_mode = MDP_YES;
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_VTD, MDEV1);
        p = env_plan(&env);
        assert_unit(p, 0, MDP_STRATEGY_SHADOW, MDP_REASON_HOST_IS_GUEST);
        /* an emulated mdev never nests: host-is-guest changes nothing for it */
        assert_unit(p, 1, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        assert_vm(p, MDP_STRATEGY_SHADOW, MDP_REASON_HOST_IS_GUEST);
}
END_TEST

/* ===== request validation, determinism ===== */

START_TEST(validate_requests)
{
        struct mdp_plan *p = NULL;
        char err[256];

        env_upstream(&env);
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err, "VM vm1: the plan request has no units");
        ck_assert_int_eq(mdp_engine_plan(&env.req, &p), -EINVAL);
        ck_assert_ptr_null(p);

        env_add(&env, MDP_UNIT_VF, MDP_IOMMU_VTD, "01:00.1");
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), 0);
        env_add(&env, MDP_UNIT_PF, MDP_IOMMU_VTD, "0000:01:00.1");
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), 0);
        env.units[1].id = "0000:01:00.1x";
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err,
                         "unit 0000:01:00.1x: a PF or VF is named by its PCI address, e.g. 0000:01:00.1");
        env.units[1].id = "0000:01:00.8";
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), -EINVAL);
        env.units[1].id = "0000:01:20.1";
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), -EINVAL);
        env.units[1].id = "0000:01:00.1";
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_VTD, MDEV1);
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_VTD, MDEV1);
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err, "VM vm1: unit " MDEV1 " is listed twice");
        env.units[3].id = "83B8F4F2-509F-382F-3C1E-E6BFE0FA1002";
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err, "unit 83B8F4F2-509F-382F-3C1E-E6BFE0FA1002: an mdev is named by its canonical "
                              "(lowercase) UUID");
        env.units[3].id = MDEV2;
        env.units[3].device_api = "vfio-foo";
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err, "unit " MDEV2 ": device_api vfio-foo is not vfio-pci, vfio-ccw or vfio-ap");
        env.units[3].device_api = "vfio-ap";
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), 0);
        env.req.guest = 4;
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err, "VM vm1: guest vIOMMU mode 4 is not one of none, nopasid, pasid, svsa");
        env.req.guest = MDP_GUEST_NONE;
        env.req.kernel.has[MDP_KFEAT_VIOMMU] = 2;
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, err, sizeof(err)), -EINVAL);
        ck_assert_str_eq(err, "VM vm1: kernel.viommu is not yes, no or unknown");
        env.req.kernel.has[MDP_KFEAT_VIOMMU] = MDP_YES;
        env.req.vm = "";
        ck_assert_int_eq(mdp_plan_request_validate(&env.req, NULL, 0), -EINVAL);
        ck_assert_int_eq(mdp_plan_request_validate(NULL, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(deterministic)
{
        struct mdp_plan *a = NULL, *b = NULL;
        _cleanup_free_ char *ta = NULL, *tb = NULL;

        one(false, MDP_GUEST_NOPASID, MDP_UNIT_VF, MDP_IOMMU_VTD);
        env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_VTD, MDEV1);
        env_add(&env, MDP_UNIT_PF, MDP_IOMMU_VTD, PF)->iommu.nest_hw = MDP_UNKNOWN;
        a = env_plan(&env);
        b = env_plan(&env);
        ck_assert_int_eq(mdp_plan_format_text(a, &ta), 0);
        ck_assert_int_eq(mdp_plan_format_text(b, &tb), 0);
        ck_assert_str_eq(ta, tb);
        mdp_plan_free(a);
        mdp_plan_free(b);
        ck_assert_ptr_null(mdp_plan_free(NULL));
}
END_TEST

START_TEST(many_units)
{
        PLAN;
        static char ids[ENV_MAX_UNITS][40];

        /* Enough units to spill every arena chunk and the XML buffer. */
        env_upstream(&env);
        env.req.guest = MDP_GUEST_NOPASID;
        for (int i = 0; i < ENV_MAX_UNITS; i++) {
                snprintf(ids[i], sizeof(ids[i]), "83b8f4f2-509f-382f-3c1e-e6bfe0fa%04x", (unsigned)i);
                env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_VTD, ids[i])->iommu.nest_hw = MDP_UNKNOWN;
        }
        p = env_plan(&env);
        assert_vm(p, MDP_STRATEGY_SHADOW, MDP_REASON_NONE);
        ck_assert_uint_eq(p->n_qemu, 3 + ENV_MAX_UNITS); /* -machine, -object, intel-iommu */
        ck_assert_str_eq(p->units[ENV_MAX_UNITS - 1].unit, ids[ENV_MAX_UNITS - 1]);
}
END_TEST

static Suite *engine_suite(void)
{
        Suite *s = suite_create("engine");
        TCase *tc = tcase_create("names");
        TCase *cl = tcase_create("cells");
        TCase *rs = tcase_create("reasons");
        TCase *rc = tcase_create("reconcile");

        tcase_add_test(tc, test_names_round_trip);
        tcase_add_test(tc, test_names_spelling);
        tcase_add_test(tc, test_init_is_unknown);
        tcase_add_test(tc, validate_requests);
        tcase_add_test(tc, deterministic);
        tcase_add_test(tc, many_units);
        suite_add_tcase(s, tc);

        /* §6.3, row by row, G0..G3 and the "else" fallbacks */
        tcase_add_test(cl, cell_vtd_nest_g0);
        tcase_add_test(cl, cell_vtd_nest_g1_nest);
        tcase_add_test(cl, cell_vtd_nest_g1_renamed_properties);
        tcase_add_test(cl, cell_vtd_nest_g1_else_shadow);
        tcase_add_test(cl, cell_vtd_nest_g1_prefer_shadow);
        tcase_add_test(cl, cell_vtd_nest_g2_upstream_refused);
        tcase_add_test(cl, cell_vtd_nest_g2_nest);
        tcase_add_test(cl, cell_vtd_nest_g3_upstream_refused);
        tcase_add_test(cl, cell_vtd_nest_g3_nest);
        tcase_add_test(cl, cell_vtd_legacy_g0);
        tcase_add_test(cl, cell_vtd_legacy_g1_sm_off);
        tcase_add_test(cl, cell_vtd_legacy_g1_nest0);
        tcase_add_test(cl, cell_vtd_legacy_g1_no_shadow);
        tcase_add_test(cl, cell_vtd_legacy_g1_virtio);
        tcase_add_test(cl, cell_vtd_legacy_g2);
        tcase_add_test(cl, cell_vtd_legacy_g3);
        tcase_add_test(cl, cell_smmu_g0);
        tcase_add_test(cl, cell_smmu_g1_nest);
        tcase_add_test(cl, cell_smmu_g1_else_shadow_virtio_only);
        tcase_add_test(cl, cell_smmu_g1_migration);
        tcase_add_test(cl, cell_smmu_g2_nest);
        tcase_add_test(cl, cell_smmu_g2_no_device_pasid);
        tcase_add_test(cl, cell_smmu_g3_default_refused);
        tcase_add_test(cl, cell_smmu_g3_experimental);
        tcase_add_test(cl, cell_smmu_s2_g0);
        tcase_add_test(cl, cell_smmu_s2_g1);
        tcase_add_test(cl, cell_smmu_s2_g2);
        tcase_add_test(cl, cell_smmu_s2_g3);
        tcase_add_test(cl, cell_amd_g0);
        tcase_add_test(cl, cell_amd_g1_shadow);
        tcase_add_test(cl, cell_amd_g1_dma_remap);
        tcase_add_test(cl, cell_amd_g1_probed_nest);
        tcase_add_test(cl, cell_amd_g2);
        tcase_add_test(cl, cell_amd_g3);
        tcase_add_test(cl, cell_emdev_g0);
        tcase_add_test(cl, cell_emdev_g1_never_nest);
        tcase_add_test(cl, cell_emdev_g2);
        tcase_add_test(cl, cell_emdev_g3);
        tcase_add_test(cl, cell_emdev_ccw_device_model);
        tcase_add_test(cl, cell_pmdev_vtd_g0);
        tcase_add_test(cl, cell_pmdev_vtd_g1_nest);
        tcase_add_test(cl, cell_pmdev_vtd_g1_else_shadow);
        tcase_add_test(cl, cell_pmdev_vtd_g2_no_pv);
        tcase_add_test(cl, cell_pmdev_vtd_g2_nest_pv);
        tcase_add_test(cl, cell_pmdev_vtd_g3_default_refused);
        tcase_add_test(cl, cell_pmdev_vtd_g3_upstream);
        tcase_add_test(cl, cell_pmdev_vtd_g3_experimental);
        tcase_add_test(cl, cell_pmdev_smmu_g0);
        tcase_add_test(cl, cell_pmdev_smmu_g1_shadow);
        tcase_add_test(cl, cell_pmdev_smmu_g1_exclusive_nest);
        tcase_add_test(cl, cell_pmdev_smmu_g1_two_vms);
        tcase_add_test(cl, cell_pmdev_smmu_g1_host_uses_rid);
        tcase_add_test(cl, cell_pmdev_smmu_g2_default_refused);
        tcase_add_test(cl, cell_pmdev_smmu_g2_shadow_pv);
        tcase_add_test(cl, cell_pmdev_smmu_g3);
        tcase_add_test(cl, cell_pmdev_amd_g0);
        tcase_add_test(cl, cell_pmdev_amd_g1);
        tcase_add_test(cl, cell_pmdev_amd_g2);
        tcase_add_test(cl, cell_pmdev_amd_g3);
        tcase_add_test(cl, cell_noiommu_g0);
        tcase_add_test(cl, cell_noiommu_g1);
        tcase_add_test(cl, cell_noiommu_g1_x86);
        tcase_add_test(cl, cell_noiommu_g2);
        tcase_add_test(cl, cell_noiommu_g3);
        tcase_add_test(cl, cell_other_family);
        suite_add_tcase(s, cl);

        /* §6.7, one per code, and unknown handling */
        tcase_add_test(rs, reason_no_host_iommu);
        tcase_add_test(rs, reason_no_host_iommu_no_vfio_backend);
        tcase_add_test(rs, reason_group_not_viable);
        tcase_add_test(rs, reason_group_not_viable_unknown);
        tcase_add_test(rs, reason_group_not_viable_parent_unbound);
        tcase_add_test(rs, reason_no_pmdev_path);
        tcase_add_test(rs, reason_emulated_no_pasid);
        tcase_add_test(rs, reason_no_viommu_path);
        tcase_add_test(rs, reason_no_pasid_nest);
        tcase_add_test(rs, reason_no_pv_pasid);
        tcase_add_test(rs, reason_shadow_stage1_for_vsva);
        tcase_add_test(rs, reason_vsva_unsupported);
        tcase_add_test(rs, reason_mixed_modes);
        tcase_add_test(rs, reason_host_is_guest);
        tcase_add_test(rs, reason_host_is_guest_amd);
        tcase_add_test(rs, host_is_guest_direct_and_pasid);
        tcase_add_test(rs, unknown_caps_treated_as_absent);
        tcase_add_test(rs, unknown_smmu_registers);
        tcase_add_test(rs, unknown_listed_once);
        tcase_add_test(rs, bridge_placement);
        tcase_add_test(rs, type1_never_nests);
        suite_add_tcase(s, rs);

        /* §6.4 step 11 */
        tcase_add_test(rc, reconcile_downgrade_x86);
        tcase_add_test(rc, reconcile_downgrade_arm);
        tcase_add_test(rc, reconcile_same_mode);
        tcase_add_test(rc, reconcile_nest_and_nest_pv);
        tcase_add_test(rc, reconcile_refused_unit);
        tcase_add_test(rc, reconcile_host_is_guest_after_downgrade);
        suite_add_tcase(s, rc);
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
