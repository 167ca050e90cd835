/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* From the host model to engine inputs (lib/plan-input.h): on the real-kernel captures (an
 * emulated mtty mdev and the edu device bound to vfio-pci) and on a hand-made tree (an SR-IOV
 * PF that is also the parent of a PASID-granular mdev declared by a vendor profile, a VF whose
 * group holds a bridge and a foreign function), then through the engine. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "host.h"
#include "plan-input.h"
#include "profile.h"
#include "test-help.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "util/macro.h"

static char *fixture_text(const char *variant, const char *file)
{
        _cleanup_free_ char *p = NULL;
        char *s = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/tests/fixtures/real-kernel/%s/%s", test_srcdir(), variant, file),
                         0);
        ck_assert_int_eq(read_full_file(AT_FDCWD, p, 1 << 22, &s, NULL), 0);
        return s;
}

/* <root>/dev and <root>/proc as the capture shows them (16-dev-nodes.txt, 02-kernel.txt). */
static void build_dev_proc(const char *variant, const char *root)
{
        _cleanup_free_ char *nodes = fixture_text(variant, "16-dev-nodes.txt");
        _cleanup_free_ char *kernel = fixture_text(variant, "02-kernel.txt");
        char release[64], *nl, *cmdline;

        test_mkdir(root, "dev/vfio");
        if (strstr(nodes, " /dev/iommu\n") && !strstr(nodes, "/dev/iommu: No such file"))
                test_write(root, "dev/iommu", "");
        if (strstr(nodes, "10, 196"))
                test_write(root, "dev/vfio/vfio", "");
        if (!strstr(nodes, "/dev/vfio/devices: No such file") && strstr(nodes, " devices\n"))
                test_mkdir(root, "dev/vfio/devices");
        ck_assert_int_eq(sscanf(kernel, "Linux (none) %63s", release), 1);
        nl = strchr(kernel, '\n');
        ck_assert_ptr_nonnull(nl);
        cmdline = nl + 1;
        *strchrnul(cmdline, '\n') = '\0';
        test_write(root, "proc/cmdline", cmdline);
        test_write(root, "proc/sys/kernel/osrelease", release);
}

static const struct mdp_unit_input *find_unit(const struct mdp_plan_request *req, const char *id)
{
        for (size_t i = 0; i < req->n_units; i++)
                if (streq(req->units[i].id, id))
                        return &req->units[i];
        ck_abort_msg("no unit %s", id);
        return NULL;
}

static void uppercase(char *s)
{
        for (; *s; s++)
                if (*s >= 'a' && *s <= 'f')
                        *s = (char)(*s - 'a' + 'A');
}

static const char *const fixture_variants[] = {"x86-6.12-sm", "x86-custom-6.12-iommufd-sm"};

START_TEST(fixture_edu_and_mtty)
{
        const char *v = fixture_variants[_i];
        _cleanup_free_ char *root = test_unpack_fixture(v);
        _cleanup_free_ char *bind = fixture_text(v, "20-vfio-pci-bind-edu.txt");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        _cleanup_(mdp_plan_input_freep) struct mdp_plan_input *in = NULL;
        _cleanup_(mdp_plan_freep) struct mdp_plan *plan = NULL;
        const struct mdp_mdev *mdevs;
        const struct mdp_unit_input *edu, *mtty;
        struct mdp_plan_request *req;
        char edu_addr[32], mtty_id[MDP_UUID_STRING_MAX] = "";
        const char *ids[2];
        size_t n;
        bool custom = streq(v, "x86-custom-6.12-iommufd-sm");

        build_dev_proc(v, root);
        ctx = test_ctx(root);
        ck_assert_int_eq(sscanf(bind, "edu at /sys/bus/pci/devices/%31s", edu_addr), 1);
        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        mdevs = mdp_host_mdevs(host, &n);
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(mdevs[i].parent, "mtty"))
                        snprintf(mtty_id, sizeof(mtty_id), "%s", mdevs[i].uuid);
        ck_assert_str_ne(mtty_id, "");
        uppercase(mtty_id); /* ids are accepted in either case */
        ids[0] = edu_addr;
        ids[1] = mtty_id;

        ck_assert_int_eq(mdp_plan_input_new(host, "vm1", ids, 2, NULL, &in, NULL), 0);
        req = mdp_plan_input_request(in);
        ck_assert_str_eq(req->vm, "vm1");
        ck_assert_uint_eq(req->n_units, 2);

        edu = find_unit(req, edu_addr);
        ck_assert_int_eq(edu->kind, MDP_UNIT_PF); /* no physfn link */
        ck_assert_str_eq(edu->iommu_name, "dmar0");
        ck_assert_int_eq(edu->iommu.family, MDP_IOMMU_VTD);
        ck_assert_int_eq(edu->iommu.sm_on, MDP_YES);  /* intel_iommu=on,sm_on */
        ck_assert_int_eq(edu->iommu.nest_hw, MDP_NO); /* QEMU 7.2 */
        ck_assert_int_eq(edu->has_group, MDP_YES);
        ck_assert_int_eq(edu->group_viable, MDP_YES);
        ck_assert_int_eq(edu->pci.pasid, MDP_UNKNOWN); /* the capture holds no config space */

        mdp_uuid_normalize(mtty_id, mtty_id);
        mtty = find_unit(req, mtty_id);
        ck_assert_int_eq(mtty->kind, MDP_UNIT_EMDEV);
        ck_assert_str_eq(mtty->parent, "mtty");
        ck_assert_str_eq(mtty->device_api, "vfio-pci");
        ck_assert_int_eq(mtty->iommu.family, MDP_IOMMU_NONE);
        ck_assert_int_eq(mtty->has_group, MDP_YES); /* its vfio-noiommu group */
        ck_assert_int_eq(mtty->group_viable, MDP_YES);
        ck_assert_int_eq(mtty->pci.pasid, MDP_NO); /* a virtual parent has no PCI function */

        ck_assert_int_eq(req->kernel.has[MDP_KFEAT_IOMMUFD], custom ? MDP_YES : MDP_NO);
        ck_assert_int_eq(req->kernel.has[MDP_KFEAT_TYPE1V2], MDP_YES);
        ck_assert_int_eq(req->kernel.has[MDP_KFEAT_VTD_INVALIDATE], MDP_UNKNOWN);
        ck_assert_ptr_nonnull(strstr(req->kernel.basis[MDP_KFEAT_VTD_INVALIDATE],
                                     "not probed; mainline has it since 6.8, this is 6.12"));
        ck_assert_int_eq(req->kernel.has[MDP_KFEAT_PMDEV_PATH], MDP_NO);

        /* G1 with intel-iommu caching-mode: QEMU 7.2's VT-d has no NEST bit, so shadow. */
        req->guest = MDP_GUEST_NOPASID;
        req->guest_basis = "--viommu nopasid";
        req->options.vmm[MDP_VMM_INTEL_IOMMU_CACHING_MODE] = MDP_YES;
        req->options.vmm[MDP_VMM_IOMMUFD] = MDP_YES;
        ck_assert_int_eq(mdp_engine_plan(req, &plan), 0);
        ck_assert_int_eq(plan->strategy, MDP_STRATEGY_SHADOW);
        ck_assert_int_eq(plan->viommu, MDP_VIOMMU_INTEL);
        ck_assert_int_eq(plan->backend, custom ? MDP_BACKEND_IOMMUFD_IOAS : MDP_BACKEND_TYPE1V2_CONTAINER);
        for (size_t i = 0; i < plan->units[0].n_explanation; i++)
                if (strstr(plan->units[0].explanation[i], "ecap NEST=0 (dmar0)"))
                        goto found;
        ck_abort_msg("the edu plan does not cite ecap NEST=0");
found:
        test_rm_rf(root);
}
END_TEST

/* ---- a hand-made host ---- */

#define PF     "0000:00:03.0"
#define VF     "0000:00:03.1"
#define NIC    "0000:00:03.2"
#define BRIDGE "0000:00:1c.0"
#define DEV    "sys/devices/pci0000:00/"
#define U1     "93d027d2-1b51-482e-aab4-3da2abd511c0"
#define U2     "cc2a83fb-38a3-4a2a-9b14-a61bd6c96a31"
#define TYPE   "idxd-dsa-1dwq"

static void make_pci(const char *root, const char *addr, const char *class, const char *driver, int group)
{
        char p[512], t[512];

        snprintf(p, sizeof(p), DEV "%s/vendor", addr);
        test_write(root, p, "0x8086\n");
        snprintf(p, sizeof(p), DEV "%s/device", addr);
        test_write(root, p, "0x0b25\n");
        snprintf(p, sizeof(p), DEV "%s/subsystem_vendor", addr);
        test_write(root, p, "0x8086\n");
        snprintf(p, sizeof(p), DEV "%s/subsystem_device", addr);
        test_write(root, p, "0x0000\n");
        snprintf(p, sizeof(p), DEV "%s/class", addr);
        test_write(root, p, class);
        snprintf(p, sizeof(p), DEV "%s/revision", addr);
        test_write(root, p, "0x01\n");
        snprintf(p, sizeof(p), "sys/bus/pci/devices/%s", addr);
        snprintf(t, sizeof(t), "../../../devices/pci0000:00/%s", addr);
        test_symlink(root, p, t);
        if (driver) {
                snprintf(p, sizeof(p), DEV "%s/driver", addr);
                snprintf(t, sizeof(t), "../../../bus/pci/drivers/%s", driver);
                test_symlink(root, p, t);
        }
        snprintf(p, sizeof(p), DEV "%s/subsystem", addr);
        test_symlink(root, p, "../../../bus/pci");
        snprintf(p, sizeof(p), DEV "%s/iommu", addr);
        test_symlink(root, p, "../../virtual/iommu/dmar0");
        snprintf(p, sizeof(p), DEV "%s/iommu_group", addr);
        snprintf(t, sizeof(t), "../../../kernel/iommu_groups/%d", group);
        test_symlink(root, p, t);
        snprintf(p, sizeof(p), "sys/kernel/iommu_groups/%d/devices/%s", group, addr);
        snprintf(t, sizeof(t), "../../../../devices/pci0000:00/%s", addr);
        test_symlink(root, p, t);
        snprintf(p, sizeof(p), "sys/kernel/iommu_groups/%d/type", group);
        test_write(root, p, "DMA\n");
        snprintf(p, sizeof(p), "sys/kernel/iommu_groups/%d/reserved_regions", group);
        test_write(root, p, "");
}

static void put16(uint8_t *c, unsigned off, uint16_t v)
{
        c[off] = v & 0xff;
        c[off + 1] = v >> 8;
}

static void put32(uint8_t *c, unsigned off, uint32_t v)
{
        put16(c, off, v & 0xffff);
        put16(c, off + 2, v >> 16);
}

/* 4096 bytes of config space: ATS at 0x100, then (full) PRI at 0x110 and PASID (20 bits,
 * exec, priv) at 0x120 (§3.2-§3.5). */
static void write_config(const char *root, const char *addr, bool full)
{
        _cleanup_free_ char *p = NULL;
        uint8_t c[4096] = {0};
        int fd;

        put16(c, 0, 0x8086);
        put16(c, 2, 0x0b25);
        put32(c, 0x100, 0x0f | (1u << 16) | ((full ? 0x110u : 0u) << 20));
        if (full) {
                put32(c, 0x110, 0x13 | (1u << 16) | (0x120u << 20));
                put32(c, 0x120, 0x1b | (1u << 16));
                put16(c, 0x124, (20u << 8) | 0x2 | 0x4);
        }
        ck_assert_int_ge(asprintf(&p, "%s/" DEV "%s/config", root, addr), 0);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, c, sizeof(c)), (ssize_t)sizeof(c));
        close(fd);
}

static void make_mdev(const char *root, const char *uuid, int group)
{
        char p[512], t[512];

        snprintf(p, sizeof(p), DEV PF "/%s/remove", uuid);
        test_write(root, p, "");
        snprintf(p, sizeof(p), DEV PF "/%s/mdev_type", uuid);
        test_symlink(root, p, "../mdev_supported_types/" TYPE);
        snprintf(p, sizeof(p), DEV PF "/%s/iommu_group", uuid);
        snprintf(t, sizeof(t), "../../../../kernel/iommu_groups/%d", group);
        test_symlink(root, p, t);
        snprintf(p, sizeof(p), DEV PF "/mdev_supported_types/" TYPE "/devices/%s", uuid);
        snprintf(t, sizeof(t), "../../../%s", uuid);
        test_symlink(root, p, t);
        snprintf(p, sizeof(p), "sys/bus/mdev/devices/%s", uuid);
        snprintf(t, sizeof(t), "../../../devices/pci0000:00/" PF "/%s", uuid);
        test_symlink(root, p, t);
        snprintf(p, sizeof(p), "sys/kernel/iommu_groups/%d/devices/%s", group, uuid);
        snprintf(t, sizeof(t), "../../../../devices/pci0000:00/" PF "/%s", uuid);
        test_symlink(root, p, t);
        snprintf(p, sizeof(p), "sys/kernel/iommu_groups/%d/type", group);
        test_write(root, p, "DMA\n");
}

static char *make_host(void)
{
        char *root = test_mkdtemp("pin");

        /* VT-d 3: scalable mode, NEST, FSTS, SSTS, PASID with PSS 19, PRS */
        test_symlink(root, "sys/class/iommu/dmar0", "../../devices/virtual/iommu/dmar0");
        test_write(root, "sys/devices/virtual/iommu/dmar0/intel-iommu/cap", "d2008c22260206\n");
        test_write(root, "sys/devices/virtual/iommu/dmar0/intel-iommu/ecap", "c998a4f00f4a\n");
        test_write(root, "sys/devices/virtual/iommu/dmar0/intel-iommu/version", "3:0\n");
        test_write(root, "proc/cmdline", "intel_iommu=on,sm_on\n");
        test_write(root, "proc/sys/kernel/osrelease", "6.12.1-amd64\n");
        test_write(root, "dev/iommu", "");
        test_write(root, "dev/vfio/vfio", "");

        /* the PF (an mdev parent, driver idxd) and its VF share no group; the VF's group
         * also holds a bridge and a NIC bound to a host driver */
        make_pci(root, PF, "0x088000\n", "idxd", 11);
        test_write(root, DEV PF "/sriov_totalvfs", "4\n");
        test_write(root, DEV PF "/sriov_numvfs", "1\n");
        test_symlink(root, DEV PF "/virtfn0", "../" VF);
        write_config(root, PF, true);
        make_pci(root, VF, "0x088000\n", "vfio-pci", 12);
        test_symlink(root, DEV VF "/physfn", "../" PF);
        write_config(root, VF, false);
        make_pci(root, NIC, "0x020000\n", "e1000e", 12);
        make_pci(root, BRIDGE, "0x060400\n", "pcieport", 12);

        test_symlink(root, "sys/class/mdev_bus/" PF, "../../devices/pci0000:00/" PF);
        test_write(root, DEV PF "/mdev_supported_types/" TYPE "/name", "1 dedicated WQ\n");
        test_write(root, DEV PF "/mdev_supported_types/" TYPE "/device_api", "vfio-pci\n");
        test_write(root, DEV PF "/mdev_supported_types/" TYPE "/available_instances", "6\n");
        test_write(root, DEV PF "/mdev_supported_types/" TYPE "/create", "");
        make_mdev(root, U1, 20);
        make_mdev(root, U2, 21);

        /* a local vendor profile declaring the type PASID-granular, with a kernel path */
        test_write(
                root, "etc/mdevpasid/profiles/60-dsa.json",
                "{ \"version\": 1, \"description\": \"test\", \"types\": [ { \"parent_driver\": \"idxd\", "
                "\"type\": \"idxd-dsa-*\", \"class\": \"pasid-granular\", \"kernel_path\": true, "
                "\"pasid\": { \"attribute\": \"pasid\", \"per_instance\": 1, \"max_guest_pasids\": 0, "
                "\"reserved\": [\"0\"] }, \"description\": \"test\" } ] }\n");
        return root;
}

struct host_env {
        char *root;
        struct mdp_ctx *ctx;
        struct mdp_profiles *profiles;
        struct mdp_host *host;
};

static void host_env_open(struct host_env *e)
{
        struct mdp_conf_messages msgs = {};

        e->root = make_host();
        e->ctx = test_ctx(e->root);
        ck_assert_int_eq(mdp_profiles_load(e->ctx, &e->profiles, &msgs), 0);
        ck_assert_msg(!msgs.error, "%s", msgs.error);
        mdp_conf_messages_done(&msgs);
        mdp_ctx_set_classifier(e->ctx, mdp_profiles_classify, e->profiles);
        ck_assert_int_eq(mdp_host_scan(e->ctx, &e->host), 0);
}

static void host_env_close(struct host_env *e)
{
        mdp_host_unref(e->host);
        mdp_profiles_unref(e->profiles);
        mdp_ctx_unref(e->ctx);
        test_rm_rf(e->root);
        free(e->root);
}

START_TEST(vf_from_physfn_and_group)
{
        struct host_env e;
        _cleanup_(mdp_plan_input_freep) struct mdp_plan_input *in = NULL;
        const char *ids[] = {"00:03.1"}; /* the domain is optional */
        const char *ids2[] = {VF, NIC};
        const struct mdp_unit_input *u;
        char *err = NULL;

        host_env_open(&e);
        ck_assert_int_eq(mdp_plan_input_new(e.host, "vm1", ids, 1, NULL, &in, &err), 0);
        u = &mdp_plan_input_request(in)->units[0];
        ck_assert_str_eq(u->id, VF);
        ck_assert_int_eq(u->kind, MDP_UNIT_VF);
        /* PASID and PRI are the PF's (§3.3), ATS the VF's own */
        ck_assert_int_eq(u->pci.pasid, MDP_YES);
        ck_assert_uint_eq(u->pci.pasid_width, 20);
        ck_assert_int_eq(u->pci.pri, MDP_YES);
        ck_assert_int_eq(u->pci.ats, MDP_YES);
        ck_assert_int_eq(u->iommu.nest, MDP_YES);
        ck_assert_uint_eq(u->iommu.pasid_width, 20);
        /* group 12: the bridge may stay, the NIC bound to e1000e may not */
        ck_assert_str_eq(u->group, "12");
        ck_assert_int_eq(u->group_viable, MDP_NO);
        ck_assert_str_eq(u->group_blocker, NIC);
        in = mdp_plan_input_free(in);

        /* giving the NIC to the VM as well makes the group viable */
        ck_assert_int_eq(mdp_plan_input_new(e.host, "vm1", ids2, 2, NULL, &in, &err), 0);
        ck_assert_int_eq(mdp_plan_input_request(in)->units[0].group_viable, MDP_YES);
        ck_assert_int_eq(mdp_plan_input_request(in)->units[1].kind, MDP_UNIT_PF);
        host_env_close(&e);
}
END_TEST

START_TEST(pmdev_from_profile)
{
        struct host_env e;
        _cleanup_(mdp_plan_input_freep) struct mdp_plan_input *in = NULL;
        _cleanup_(mdp_plan_freep) struct mdp_plan *plan = NULL;
        const struct mdp_assignment held[] = {{U2, "vm-b"}};
        struct mdp_plan_host_context hc = {
                .assignments = held,
                .n_assignments = 1,
                .assignments_known = true,
                .host_dma_known = true,
        };
        const char *ids[] = {U1};
        struct mdp_plan_request *req;
        const struct mdp_unit_input *u;

        host_env_open(&e);
        hc.profiles = e.profiles;
        ck_assert_int_eq(mdp_plan_input_new(e.host, "vm-a", ids, 1, &hc, &in, NULL), 0);
        req = mdp_plan_input_request(in);
        u = &req->units[0];
        ck_assert_int_eq(u->kind, MDP_UNIT_PMDEV);
        ck_assert_str_eq(u->parent, PF);
        ck_assert_int_eq(u->parent_bound, MDP_YES);
        ck_assert_int_eq(u->parent_exclusive, MDP_NO);
        ck_assert_str_eq(u->other_vm, "vm-b");
        ck_assert_int_eq(u->host_uses_rid, MDP_NO);
        ck_assert_int_eq(u->pci.pasid, MDP_YES); /* the parent's */
        ck_assert_int_eq(req->kernel.has[MDP_KFEAT_PMDEV_PATH], MDP_YES);
        ck_assert_ptr_nonnull(strstr(req->kernel.basis[MDP_KFEAT_PMDEV_PATH], "60-dsa.json"));

        /* G1, and the probes a daemon would run: VT-d nests per PASID whatever the sharing */
        req->guest = MDP_GUEST_NOPASID;
        for (size_t i = 0; i < _MDP_KERNEL_FEATURE_MAX; i++)
                if (req->kernel.has[i] == MDP_UNKNOWN) {
                        req->kernel.has[i] = MDP_YES;
                        req->kernel.basis[i] = "probe";
                }
        for (size_t i = 0; i < _MDP_VMM_CAP_MAX; i++)
                req->options.vmm[i] = MDP_YES;
        ck_assert_int_eq(mdp_engine_plan(req, &plan), 0);
        ck_assert_int_eq(plan->units[0].strategy, MDP_STRATEGY_NEST);
        plan = mdp_plan_free(plan);
        /* G2 without a PV channel: refused */
        req->guest = MDP_GUEST_PASID;
        req->options.vmm[MDP_VMM_PV_PASID_ALLOC] = MDP_NO;
        ck_assert_int_eq(mdp_engine_plan(req, &plan), 0);
        ck_assert_int_eq(plan->units[0].reason, MDP_REASON_NO_PV_PASID);
        host_env_close(&e);
}
END_TEST

START_TEST(pmdev_without_profiles)
{
        struct host_env e;
        _cleanup_(mdp_plan_input_freep) struct mdp_plan_input *in = NULL;
        const char *ids[] = {U1};
        struct mdp_plan_request *req;

        /* the host model classified it (its classifier had the profiles), but the caller
         * gave no profiles: kernel_path and sharing are unknown, not assumed */
        host_env_open(&e);
        ck_assert_int_eq(mdp_plan_input_new(e.host, "vm-a", ids, 1, NULL, &in, NULL), 0);
        req = mdp_plan_input_request(in);
        ck_assert_int_eq(req->units[0].kind, MDP_UNIT_PMDEV);
        ck_assert_int_eq(req->kernel.has[MDP_KFEAT_PMDEV_PATH], MDP_UNKNOWN);
        ck_assert_int_eq(req->units[0].parent_exclusive, MDP_UNKNOWN);
        ck_assert_int_eq(req->units[0].host_uses_rid, MDP_UNKNOWN);
        host_env_close(&e);
}
END_TEST

START_TEST(errors)
{
        struct host_env e;
        struct mdp_plan_input *in = NULL;
        char *err = NULL;
        const char *bad[] = {"nonsense"};
        const char *missing[] = {"0000:09:00.0"};
        const char *missing_mdev[] = {"00000000-0000-0000-0000-000000000001"};
        const char *twice[] = {VF, "00:03.1"};

        host_env_open(&e);
        ck_assert_int_eq(mdp_plan_input_new(e.host, "vm1", bad, 1, NULL, &in, &err), -EINVAL);
        ck_assert_str_eq(err,
                         "unit nonsense: neither an mdev UUID nor a PCI address (such as 0000:01:00.1)");
        free(err);
        err = NULL;
        ck_assert_int_eq(mdp_plan_input_new(e.host, "vm1", missing, 1, NULL, &in, &err), -ENOENT);
        ck_assert_str_eq(err, "unit 0000:09:00.0: no PCI function with this address on this host "
                              "(/sys/bus/pci/devices)");
        free(err);
        err = NULL;
        ck_assert_int_eq(mdp_plan_input_new(e.host, "vm1", missing_mdev, 1, NULL, &in, &err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err, "no mdev with this UUID on this host"));
        free(err);
        err = NULL;
        ck_assert_int_eq(mdp_plan_input_new(e.host, "vm1", twice, 2, NULL, &in, &err), -EINVAL);
        ck_assert_str_eq(err, "unit " VF " is listed twice");
        free(err);
        err = NULL;
        ck_assert_int_eq(mdp_plan_input_new(e.host, "", twice, 1, NULL, &in, NULL), -EINVAL);
        ck_assert_ptr_null(in);
        host_env_close(&e);
}
END_TEST

/* ---- mdp_plan_input_scan(): the daemon's partial snapshot gives the same plan ---- */

/* The plan (text and JSON) of ids on a full snapshot and on mdp_plan_input_scan()'s. */
static char *plan_of(struct mdp_host *host, const char *const *ids, size_t n,
                     const struct mdp_plan_host_context *hc)
{
        _cleanup_(mdp_plan_input_freep) struct mdp_plan_input *in = NULL;
        _cleanup_(mdp_plan_freep) struct mdp_plan *plan = NULL;
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;
        struct strbuf sb = {};
        int r;

        r = mdp_plan_input_new(host, "vm-a", ids, n, hc, &in, &err);
        if (r < 0) {
                strbuf_printf(&sb, "error %d: %s", r, strna(err));
                return strbuf_steal(&sb);
        }
        ck_assert_int_eq(mdp_engine_plan(mdp_plan_input_request(in), &plan), 0);
        ck_assert_int_eq(mdp_plan_format_text(plan, &text), 0);
        ck_assert_int_eq(mdp_plan_to_json(plan, &o), 0);
        strbuf_printf(&sb, "%s\n", text);
        mdp_json_write_pretty(&sb, o);
        return strbuf_steal(&sb);
}

static void assert_same_plan(struct mdp_ctx *ctx, struct mdp_host *full, const char *const *ids, size_t n,
                             const struct mdp_plan_host_context *hc)
{
        _cleanup_(mdp_host_unrefp) struct mdp_host *part = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL;
        size_t n_all, n_part;

        ck_assert_int_eq(mdp_plan_input_scan(ctx, ids, n, hc, &part), 0);
        a = plan_of(full, ids, n, hc);
        b = plan_of(part, ids, n, hc);
        if (!streq(a, b))
                fprintf(stderr, "unit %s: full scan:\n%s\npartial scan:\n%s\n", ids[0], a, b);
        ck_assert_msg(streq(a, b), "unit %s: the plans differ (both on stderr)", ids[0]);
        /* and it is partial: it does not hold every mdev of the host */
        (void)mdp_host_mdevs(full, &n_all);
        (void)mdp_host_mdevs(part, &n_part);
        ck_assert_uint_le(n_part, n_all);
}

/* Every unit of the captures, and an unknown one, one by one. */
START_TEST(scan_units_fixtures)
{
        const char *v = fixture_variants[_i];
        _cleanup_free_ char *root = test_unpack_fixture(v);
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        const struct mdp_mdev *mdevs;
        const struct mdp_pci_device *pci;
        const char *missing[] = {"0000:09:00.0"};
        size_t n_mdevs, n_pci, checked = 0;

        build_dev_proc(v, root);
        ctx = test_ctx(root);
        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        mdevs = mdp_host_mdevs(host, &n_mdevs);
        for (size_t i = 0; i < n_mdevs; i++, checked++)
                assert_same_plan(ctx, host, (const char *const[]){mdevs[i].uuid}, 1, NULL);
        pci = mdp_host_pci_devices(host, &n_pci);
        for (size_t i = 0; i < n_pci; i++, checked++)
                assert_same_plan(ctx, host, (const char *const[]){pci[i].address}, 1, NULL);
        ck_assert_uint_gt(checked, 3);
        assert_same_plan(ctx, host, missing, 1, NULL);
        test_rm_rf(root);
}
END_TEST

/* The hand-made host: VF groups with a bridge and a NIC (§6.4 step 1), a PF's PASID
 * (§3.3), a PASID-granular mdev whose parent another VM uses (§6.2). */
START_TEST(scan_units_hand_made)
{
        struct host_env e;
        const struct mdp_assignment held[] = {{"CC2A83FB-38A3-4A2A-9B14-A61BD6C96A31", "vm-b"}};
        struct mdp_plan_host_context hc = {
                .assignments = held,
                .n_assignments = 1,
                .assignments_known = true,
        };
        const char *const sets[][2] = {{U1, NULL}, {U2, NULL},     {VF, NULL}, {"00:03.1", NIC},
                                       {PF, NULL}, {BRIDGE, NULL}, {U1, VF}};
        _cleanup_(mdp_host_unrefp) struct mdp_host *part = NULL;
        size_t n;

        host_env_open(&e);
        hc.profiles = e.profiles;
        for (size_t i = 0; i < ELEMENTSOF(sets); i++) {
                n = sets[i][1] ? 2 : 1;
                assert_same_plan(e.ctx, e.host, sets[i], n, NULL);
                assert_same_plan(e.ctx, e.host, sets[i], n, &hc);
        }
        /* a VF alone reads its PF and its group's members, not the mdevs */
        ck_assert_int_eq(mdp_plan_input_scan(e.ctx, (const char *const[]){VF}, 1, &hc, &part), 0);
        (void)mdp_host_mdevs(part, &n);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_nonnull(mdp_host_find_pci_device(part, PF));
        ck_assert_ptr_nonnull(mdp_host_find_pci_device(part, NIC));
        part = mdp_host_unref(part);
        /* a PASID-granular mdev reads the mdev another VM holds: its parent decides sharing */
        ck_assert_int_eq(mdp_plan_input_scan(e.ctx, (const char *const[]){U1}, 1, &hc, &part), 0);
        ck_assert_ptr_nonnull(mdp_host_find_mdev(part, U2));
        host_env_close(&e);
}
END_TEST

static Suite *plan_input_suite(void)
{
        Suite *s = suite_create("plan-input");
        TCase *tc = tcase_create("plan-input");

        tcase_add_loop_test(tc, fixture_edu_and_mtty, 0, ELEMENTSOF(fixture_variants));
        tcase_add_test(tc, vf_from_physfn_and_group);
        tcase_add_test(tc, pmdev_from_profile);
        tcase_add_test(tc, pmdev_without_profiles);
        tcase_add_test(tc, errors);
        tcase_add_loop_test(tc, scan_units_fixtures, 0, ELEMENTSOF(fixture_variants));
        tcase_add_test(tc, scan_units_hand_made);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(plan_input_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
