/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host model's IOMMU instances and PCI functions: on the real-kernel captures
 * (expected values parsed from their 07/10/20 text sections) and on synthesized trees
 * (VT-d ecap variants, AMD features in both orders, config blobs, SR-IOV, garbage). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "iommu-decode.h"
#include "test-help.h"
#include "util/fileio.h"
#include "util/macro.h"

static const struct {
        const char *name;
        /* Expected decode of dmar0 (fixtures README, TESTING.md layer 7 §4.4). */
        enum mdp_tristate sm_hw, pasid;
} variants[] = {
        {"x86-6.1-sm", MDP_YES, MDP_NO},
        {"x86-6.12-sm", MDP_YES, MDP_NO},
        {"x86-6.12-sm-pasid", MDP_YES, MDP_YES},
        {"x86-6.12-legacy", MDP_NO, MDP_NO},
        {"arm64-6.12-smmuv3", MDP_UNKNOWN, MDP_UNKNOWN},
        {"x86-custom-6.12-iommufd-sm", MDP_YES, MDP_NO},
};

static char *fixture_text(const char *variant, const char *file)
{
        _cleanup_free_ char *p = NULL;
        char *s = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/tests/fixtures/real-kernel/%s/%s", test_srcdir(), variant, file),
                         0);
        ck_assert_int_eq(read_full_file(AT_FDCWD, p, 1 << 22, &s, NULL), 0);
        return s;
}

/* The value of "KEY: VALUE|" on its own line, or NULL. */
static char *line_value(const char *text, const char *key, char *buf, size_t size)
{
        const char *p = strstr(text, key);
        const char *bar;

        if (!p)
                return NULL;
        p += strlen(key);
        bar = strchr(p, '|');
        ck_assert_ptr_nonnull(bar);
        ck_assert_uint_lt((size_t)(bar - p), size);
        memcpy(buf, p, (size_t)(bar - p));
        buf[bar - p] = '\0';
        return buf;
}

START_TEST(test_fixture_iommus)
{
        const char *v = variants[_i].name;
        _cleanup_free_ char *root = test_unpack_fixture(v);
        _cleanup_free_ char *text = fixture_text(v, "07-sysfs-class-iommu.txt");
        _cleanup_free_ char *kernel = fixture_text(v, "02-kernel.txt");
        _cleanup_free_ char *bind = fixture_text(v, "20-vfio-pci-bind-edu.txt");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        const struct mdp_iommu *iommus;
        size_t n, n_expected = 0;
        const char *p;

        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        ck_assert_ptr_null(mdp_host_error(host));
        iommus = mdp_host_iommus(host, &n);
        /* "-- /sys/class/iommu/NAME -> /sys/DEVPATH" per instance */
        for (p = strstr(text, "-- /sys/class/iommu/"); p; p = strstr(p + 1, "-- /sys/class/iommu/")) {
                char name[128], devpath[256], key[256], buf[128], *devs, *save = NULL, *tok;
                const struct mdp_iommu *i;
                _cleanup_(mdp_iommu_freep) struct mdp_iommu *one = NULL;
                struct mdp_iommu_caps caps;
                const char *cmdline;
                size_t nd = 0;

                ck_assert_int_eq(sscanf(p, "-- /sys/class/iommu/%127s -> /sys/%255s", name, devpath), 2);
                n_expected++;
                i = mdp_host_find_iommu(host, name);
                ck_assert_msg(i, "%s: IOMMU %s missing", v, name);
                ck_assert_msg(!i->error, "%s", i->error);
                ck_assert_str_eq(i->devpath, devpath);
                ck_assert_int_eq(i->family, mdp_iommu_family_from_name(name));
                ck_assert_int_eq(i->regs.family, i->family);
                snprintf(key, sizeof(key), "/sys/class/iommu/%s/intel-iommu/cap: ", name);
                if (line_value(text, key, buf, sizeof(buf))) {
                        ck_assert_int_eq(i->family, MDP_IOMMU_VTD);
                        ck_assert(i->regs.vtd_valid);
                        ck_assert_uint_eq(i->regs.vtd_cap, strtoull(buf, NULL, 16));
                        snprintf(key, sizeof(key), "/sys/class/iommu/%s/intel-iommu/ecap: ", name);
                        ck_assert_ptr_nonnull(line_value(text, key, buf, sizeof(buf)));
                        ck_assert_uint_eq(i->regs.vtd_ecap, strtoull(buf, NULL, 16));
                        snprintf(key, sizeof(key), "/sys/class/iommu/%s/intel-iommu/version: ", name);
                        ck_assert_ptr_nonnull(line_value(text, key, buf, sizeof(buf)));
                        snprintf(key, sizeof(key), "%u:%u", i->regs.vtd_version_major,
                                 i->regs.vtd_version_minor);
                        ck_assert_str_eq(key, buf);
                } else {
                        /* SMMUv3: sysfs shows no registers (§2.4) */
                        ck_assert_int_eq(i->family, MDP_IOMMU_SMMUV3);
                        ck_assert(!i->regs.vtd_valid && !i->regs.amd_valid && !i->regs.smmu_valid);
                }
                ck_assert(!i->regs.vtd_sm_default_known); /* no /boot in the captures */
                /* "devices: A B C " follows the instance's listing */
                devs = strstr(p, "devices: ");
                ck_assert_ptr_nonnull(devs);
                devs = strndup(devs + strlen("devices: "), strcspn(devs + strlen("devices: "), "\n"));
                for (tok = strtok_r(devs, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                        bool found = false;
                        for (size_t k = 0; k < i->n_devices; k++)
                                found |= streq(i->devices[k], tok);
                        ck_assert_msg(found, "%s: %s not a member of %s", v, tok, name);
                        nd++;
                }
                free(devs);
                /* binding edu to vfio-pci (20-*.txt) gave it an IOMMU on arm64 DT */
                if (nd != i->n_devices) {
                        ck_assert_uint_eq(nd + 1, i->n_devices);
                        ck_assert_int_eq(i->family, MDP_IOMMU_SMMUV3);
                        ck_assert(strstr(bind, "group(before bind)=\n"));
                }

                /* With the decoder: the capture's command line turns sm_on (§2.2). */
                cmdline = strchr(kernel, '\n') + 1;
                mdp_iommu_caps_from_regs(&i->regs, cmdline, &caps);
                ck_assert_int_eq(caps.pasid, variants[_i].pasid);
                if (i->family == MDP_IOMMU_VTD)
                        ck_assert_int_eq(caps.sm_hw, variants[_i].sm_hw);

                ck_assert_int_eq(mdp_iommu_read(ctx, name, &one), 0);
                ck_assert_uint_eq(one->regs.vtd_ecap, i->regs.vtd_ecap);
                ck_assert_uint_eq(one->n_devices, i->n_devices);
        }
        ck_assert_uint_eq(n, n_expected);
        ck_assert_uint_eq(n, 1); /* one dmar0, or one smmu3 on arm64 */
        ck_assert_int_eq(iommus[0].family, _i == 4 ? MDP_IOMMU_SMMUV3 : MDP_IOMMU_VTD);
}
END_TEST

/* 10-pci-devices.txt: "BDF vendor=0x.. device=0x.. class=0x.. driver=D iommu_group=N iommu=I"
 * at boot; 20-vfio-pci-bind-edu.txt then binds edu to vfio-pci. */
START_TEST(test_fixture_pci)
{
        const char *v = variants[_i].name;
        _cleanup_free_ char *root = test_unpack_fixture(v);
        _cleanup_free_ char *text = fixture_text(v, "10-pci-devices.txt");
        _cleanup_free_ char *bind = fixture_text(v, "20-vfio-pci-bind-edu.txt");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        char edu[32], edu_driver[64], *save = NULL, *line;
        const char *g;
        int edu_group = -1;
        size_t n, n_lines = 0;

        ck_assert_int_eq(sscanf(bind, "edu at /sys/bus/pci/devices/%31s", edu), 1);
        ck_assert_int_eq(sscanf(strstr(bind, "driver now: "), "driver now: %63s", edu_driver), 1);
        g = strstr(bind, "/sys/kernel/iommu_groups/");
        ck_assert_ptr_nonnull(g);
        ck_assert_int_eq(sscanf(g, "/sys/kernel/iommu_groups/%d/type", &edu_group), 1);

        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        mdp_host_pci_devices(host, &n);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char addr[32], driver[64] = "", group[16] = "", iommu[64] = "";
                unsigned vendor, device, class;
                const struct mdp_pci_device *d;
                _cleanup_(mdp_pci_device_freep) struct mdp_pci_device *one = NULL;
                const char *f;

                if (sscanf(line, "%31s vendor=%x device=%x class=%x", addr, &vendor, &device, &class) != 4)
                        continue;
                n_lines++;
                f = strstr(line, "driver=");
                sscanf(f, "driver=%63[^ ]", driver);
                f = strstr(line, "iommu_group=");
                sscanf(f, "iommu_group=%15[^ ]", group);
                f = strstr(line, " iommu=");
                sscanf(f, " iommu=%63[^ ]", iommu);

                d = mdp_host_find_pci_device(host, addr);
                ck_assert_msg(d, "%s: PCI %s missing", v, addr);
                ck_assert_msg(!d->error, "%s", d->error);
                ck_assert_uint_eq(d->vendor, vendor);
                ck_assert_uint_eq(d->device, device);
                ck_assert_uint_eq(d->class, class);
                ck_assert(startswith(d->devpath, "devices/"));
                ck_assert(strstr(d->devpath, addr));
                if (streq(addr, edu)) {
                        ck_assert_str_eq(d->driver, edu_driver);
                        ck_assert_int_eq(d->iommu_group, edu_group);
                        ck_assert_ptr_nonnull(d->iommu); /* bound: translated */
                } else {
                        ck_assert(streq_ptr(d->driver, driver[0] ? driver : NULL));
                        /* arm64 DT: no group until a driver binds (layer 7 §6), and no error */
                        ck_assert_int_eq(d->iommu_group, group[0] ? atoi(group) : -1);
                        ck_assert(streq_ptr(d->iommu, iommu[0] ? iommu : NULL));
                }
                /* the captures hold no config: capabilities unknown, never absent (§3.1) */
                ck_assert_int_eq(d->config_size, -1);
                ck_assert_int_eq(d->caps.pasid, MDP_UNKNOWN);
                ck_assert_int_eq(d->caps.ats, MDP_UNKNOWN);
                ck_assert_int_eq(d->sriov_totalvfs, -1);
                ck_assert_uint_eq(d->n_virtfns, 0);
                ck_assert_ptr_null(d->physfn);

                ck_assert_int_eq(mdp_pci_device_read(ctx, addr, true, &one), 0);
                ck_assert_uint_eq(one->class, d->class);
                ck_assert_int_eq(one->iommu_group, d->iommu_group);
                ck_assert(streq_ptr(one->driver, d->driver));
        }
        ck_assert_uint_eq(n, n_lines);
}
END_TEST

/* ---- synthesized ---- */

#define DMAR "sys/devices/virtual/iommu/dmar1"
#define IVHD "sys/devices/pci0000:00/0000:00:00.2/iommu/ivhd0"

static void make_dmar(const char *root, const char *cap, const char *ecap, const char *version)
{
        test_symlink(root, "sys/class/iommu/dmar1", "../../devices/virtual/iommu/dmar1");
        if (cap)
                test_write(root, DMAR "/intel-iommu/cap", cap);
        if (ecap)
                test_write(root, DMAR "/intel-iommu/ecap", ecap);
        if (version)
                test_write(root, DMAR "/intel-iommu/version", version);
        test_mkdir(root, DMAR "/devices");
        test_symlink(root, DMAR "/devices/0000:00:02.0", "../../../../pci0000:00/0000:00:02.0");
}

static struct mdp_iommu *read_iommu(struct mdp_ctx *ctx, const char *name)
{
        struct mdp_iommu *i = NULL;

        ck_assert_int_eq(mdp_iommu_read(ctx, name, &i), 0);
        return i;
}

START_TEST(test_vtd_variants)
{
        _cleanup_free_ char *root = test_mkdtemp("hw");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_iommu_freep) struct mdp_iommu *i = NULL;
        struct mdp_iommu_caps caps;
        /* the scalable-mode capture's ecap with FSTS (47), NEST (26) and PSS=19 (39:35) */
        uint64_t ecap = 0x480080f00f4aULL | 1ULL << 47 | 1ULL << 26 | 19ULL << 35 | 1ULL << 40;
        char buf[32];

        snprintf(buf, sizeof(buf), "%llx\n", (unsigned long long)ecap);
        make_dmar(root, "d2008c22260206\n", buf, "3:0\n");
        i = read_iommu(ctx, "dmar1");
        ck_assert_ptr_null(i->error);
        ck_assert_int_eq(i->family, MDP_IOMMU_VTD);
        ck_assert(i->regs.vtd_valid);
        ck_assert_uint_eq(i->regs.vtd_ecap, ecap);
        ck_assert_uint_eq(i->regs.vtd_cap, 0xd2008c22260206ULL);
        ck_assert_uint_eq(i->regs.vtd_version_major, 3);
        ck_assert_str_eq(i->devpath, "devices/virtual/iommu/dmar1");
        ck_assert_uint_eq(i->n_devices, 1);
        ck_assert_str_eq(i->devices[0], "0000:00:02.0");
        mdp_iommu_caps_from_regs(&i->regs, "intel_iommu=on,sm_on", &caps);
        ck_assert_int_eq(caps.fsts, MDP_YES);
        ck_assert_int_eq(caps.nest_hw, MDP_YES);
        ck_assert_int_eq(caps.pasid, MDP_YES);
        ck_assert_uint_eq(caps.pasid_width, 20);
        i = mdp_iommu_free(i);

        /* the kernel config decides sm_on when the command line is silent (§2.2) */
        test_write(root, "proc/sys/kernel/osrelease", "6.12.0-test\n");
        i = read_iommu(ctx, "dmar1");
        ck_assert(!i->regs.vtd_sm_default_known);
        i = mdp_iommu_free(i);
        test_write(root, "boot/config-6.12.0-test",
                   "CONFIG_INTEL_IOMMU=y\nCONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON=y\n");
        i = read_iommu(ctx, "dmar1");
        ck_assert(i->regs.vtd_sm_default_known && i->regs.vtd_sm_default_on);
        i = mdp_iommu_free(i);
        test_write(root, "boot/config-6.12.0-test",
                   "# CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON is not set\n");
        i = read_iommu(ctx, "dmar1");
        ck_assert(i->regs.vtd_sm_default_known && !i->regs.vtd_sm_default_on);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_vtd_garbage)
{
        _cleanup_free_ char *root = test_mkdtemp("hw");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_free_ char *before = NULL, *after = NULL;
        struct mdp_iommu *i;

        make_dmar(root, "xyz\n", "480080f00f4a\n", "1.0\n");
        before = test_tree_fingerprint(root);
        i = read_iommu(ctx, "dmar1");
        ck_assert(!i->regs.vtd_valid);
        ck_assert_uint_eq(i->regs.vtd_cap, 0);
        after = test_tree_fingerprint(root);
        ck_assert_str_eq(before, after);
        ck_assert(startswith(i->error, root)); /* a host path, MDEVPASID_ROOT included */
        ck_assert_ptr_nonnull(strstr(i->error, "intel-iommu/cap: not a hex number: \"xyz\""));
        ck_assert_ptr_nonnull(strstr(i->error, "intel-iommu/version: not \"<major>:<minor>\": \"1.0\""));
        i = mdp_iommu_free(i);
        test_write(root, DMAR "/intel-iommu/cap", "1ffffffffffffffff\n");
        test_write(root, DMAR "/intel-iommu/version", "1:0\n");
        i = read_iommu(ctx, "dmar1");
        ck_assert_ptr_nonnull(strstr(i->error, "cap: hex number out of range"));
        i = mdp_iommu_free(i);
        {
                _cleanup_free_ char *p = NULL;
                ck_assert_int_ge(asprintf(&p, "%s/" DMAR "/intel-iommu/ecap", root), 0);
                ck_assert_int_eq(unlink(p), 0);
        }
        i = read_iommu(ctx, "dmar1");
        ck_assert_ptr_nonnull(strstr(i->error, "intel-iommu/ecap: missing"));
        ck_assert(!i->regs.vtd_valid);
        i = mdp_iommu_free(i);
        {
                _cleanup_free_ char *p = NULL;
                ck_assert_int_ge(asprintf(&p, "%s/" DMAR "/intel-iommu", root), 0);
                test_rm_rf(p);
        }
        i = read_iommu(ctx, "dmar1");
        ck_assert_ptr_nonnull(strstr(i->error, "intel-iommu: missing: VT-d registers unknown"));
        i = mdp_iommu_free(i);
        /* a dangling class link, a bad name */
        test_symlink(root, "sys/class/iommu/dmar9", "../../devices/virtual/iommu/dmar9");
        i = read_iommu(ctx, "dmar9");
        ck_assert_ptr_nonnull(strstr(i->error, "class/iommu/dmar9: dangling link"));
        ck_assert_int_eq(i->family, MDP_IOMMU_VTD);
        i = mdp_iommu_free(i);
        ck_assert_int_eq(mdp_iommu_read(ctx, "../dmar1", &i), -EINVAL);
        ck_assert_int_eq(mdp_iommu_read(ctx, "dmar7", &i), -ENOENT);
        test_rm_rf(root);
}
END_TEST

static void make_ivhd(const char *root, const char *cap, const char *features)
{
        test_symlink(root, "sys/class/iommu/ivhd0", "../../devices/pci0000:00/0000:00:00.2/iommu/ivhd0");
        test_write(root, IVHD "/amd-iommu/cap", cap);
        test_write(root, IVHD "/amd-iommu/features", features);
}

START_TEST(test_amd_features_order)
{
        _cleanup_free_ char *root = test_mkdtemp("hw");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        struct mdp_iommu *i;

        /* 6.7+: EFR:EFR2 (§2.3) */
        make_ivhd(root, "190b0000\n", "58f77ef22294a5a:1\n");
        test_write(root, "proc/sys/kernel/osrelease", "6.12.1-amd64\n");
        i = read_iommu(ctx, "ivhd0");
        ck_assert_ptr_null(i->error);
        ck_assert_int_eq(i->family, MDP_IOMMU_AMD);
        ck_assert(i->regs.amd_valid);
        ck_assert_uint_eq(i->regs.amd_cap, 0x190b0000);
        ck_assert_uint_eq(i->regs.amd_efr, 0x58f77ef22294a5aULL);
        ck_assert(i->regs.amd_efr2_valid);
        ck_assert_uint_eq(i->regs.amd_efr2, 1);
        i = mdp_iommu_free(i);
        /* 6.0–6.6: EFR2:EFR */
        test_write(root, "proc/sys/kernel/osrelease", "6.1.0-56-amd64\n");
        i = read_iommu(ctx, "ivhd0");
        ck_assert_uint_eq(i->regs.amd_efr, 1);
        ck_assert_uint_eq(i->regs.amd_efr2, 0x58f77ef22294a5aULL);
        i = mdp_iommu_free(i);
        /* the snapshot takes the release from the kernel features it read */
        {
                _cleanup_(mdp_host_unrefp) struct mdp_host *h = NULL;
                ck_assert_int_eq(mdp_host_scan(ctx, &h), 0);
                ck_assert_uint_eq(mdp_host_find_iommu(h, "ivhd0")->regs.amd_efr, 1);
        }
        /* two values and no release: ambiguous, nothing guessed */
        {
                _cleanup_free_ char *p = NULL;
                ck_assert_int_ge(asprintf(&p, "%s/proc/sys/kernel/osrelease", root), 0);
                ck_assert_int_eq(unlink(p), 0);
        }
        i = read_iommu(ctx, "ivhd0");
        ck_assert(!i->regs.amd_valid);
        ck_assert_ptr_nonnull(
                strstr(i->error, "amd-iommu/features: two values whose order depends on the kernel"));
        ck_assert_ptr_nonnull(strstr(i->error, "(unknown)"));
        i = mdp_iommu_free(i);
        /* 3.17–5.19: EFR only; no release needed */
        test_write(root, IVHD "/amd-iommu/features", "58f77ef22294a5a\n");
        i = read_iommu(ctx, "ivhd0");
        ck_assert(i->regs.amd_valid);
        ck_assert(!i->regs.amd_efr2_valid);
        ck_assert_uint_eq(i->regs.amd_efr, 0x58f77ef22294a5aULL);
        i = mdp_iommu_free(i);
        /* garbage */
        test_write(root, IVHD "/amd-iommu/features", "zz:1:2\n");
        i = read_iommu(ctx, "ivhd0");
        ck_assert(!i->regs.amd_valid);
        ck_assert_ptr_nonnull(strstr(i->error, "features: not \"<hex>\" or \"<hex>:<hex>\": \"zz:1:2\""));
        i = mdp_iommu_free(i);
        test_write(root, IVHD "/amd-iommu/cap", "1ffffffff\n");
        i = read_iommu(ctx, "ivhd0");
        ck_assert_ptr_nonnull(strstr(i->error, "cap: more than 32 bits"));
        i = mdp_iommu_free(i);
        /* no amd-iommu group at all (newer kernels, §2.3): no registers, no error */
        {
                _cleanup_free_ char *p = NULL;
                ck_assert_int_ge(asprintf(&p, "%s/" IVHD "/amd-iommu", root), 0);
                test_rm_rf(p);
        }
        i = read_iommu(ctx, "ivhd0");
        ck_assert_ptr_null(i->error);
        ck_assert(!i->regs.amd_valid);
        i = mdp_iommu_free(i);
        test_rm_rf(root);
}
END_TEST

#define PF "sys/devices/pci0000:00/0000:00:03.0"

static void make_pci(const char *root, const char *addr, const char *dir)
{
        char p[512], t[512];

        snprintf(p, sizeof(p), "%s/vendor", dir);
        test_write(root, p, "0x8086\n");
        snprintf(p, sizeof(p), "%s/device", dir);
        test_write(root, p, "0x0b25\n");
        snprintf(p, sizeof(p), "%s/subsystem_vendor", dir);
        test_write(root, p, "0x8086\n");
        snprintf(p, sizeof(p), "%s/subsystem_device", dir);
        test_write(root, p, "0x0000\n");
        snprintf(p, sizeof(p), "%s/class", dir);
        test_write(root, p, "0x088000\n");
        snprintf(p, sizeof(p), "%s/revision", dir);
        test_write(root, p, "0x01\n");
        snprintf(p, sizeof(p), "sys/bus/pci/devices/%s", addr);
        snprintf(t, sizeof(t), "../../../%s", dir + strlen("sys/"));
        test_symlink(root, p, t);
}

static void write_blob(const char *root, const char *rel, const uint8_t *data, size_t n)
{
        _cleanup_free_ char *p = NULL;
        int fd;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
        close(fd);
}

START_TEST(test_pci_sriov_and_config)
{
        _cleanup_free_ char *root = test_mkdtemp("hw");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        uint8_t config[4096] = {0};
        const struct mdp_pci_device *d;
        size_t n;

        make_pci(root, "0000:00:03.0", PF);
        test_symlink(root, PF "/driver", "../../../bus/pci/drivers/idxd");
        test_symlink(root, PF "/iommu", "../../virtual/iommu/dmar0");
        test_symlink(root, PF "/iommu_group", "../../../kernel/iommu_groups/12");
        test_write(root, PF "/sriov_totalvfs", "16\n");
        test_write(root, PF "/sriov_numvfs", "3\n");
        test_symlink(root, PF "/virtfn0", "../0000:00:03.1");
        test_symlink(root, PF "/virtfn10", "../0000:00:04.3");
        test_symlink(root, PF "/virtfn2", "../0000:00:03.3");
        make_pci(root, "0000:00:03.1", "sys/devices/pci0000:00/0000:00:03.1");
        test_symlink(root, "sys/devices/pci0000:00/0000:00:03.1/physfn", "../0000:00:03.0");
        /* PCIe config: PASID (0x1B) at 0x100, width 20, exec+priv, enabled; then ATS */
        config[0x100] = 0x1b;
        config[0x102] = 0x01; /* version 1 */
        config[0x103] = 0x14; /* next = 0x140 in bits 31:20 */
        config[0x104] = 0x06; /* exec | priv */
        config[0x105] = 20;   /* width 12:8 */
        config[0x106] = 0x01; /* enable */
        config[0x140] = 0x0f; /* ATS, next 0 */
        config[0x142] = 0x01;
        write_blob(root, PF "/config", config, sizeof(config));
        /* the VF: an unprivileged 64-byte read */
        write_blob(root, "sys/devices/pci0000:00/0000:00:03.1/config", config, 64);

        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        mdp_host_pci_devices(host, &n);
        ck_assert_uint_eq(n, 2);
        d = mdp_host_find_pci_device(host, "0000:00:03.0");
        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_null(d->error);
        ck_assert_uint_eq(d->vendor, 0x8086);
        ck_assert_uint_eq(d->device, 0x0b25);
        ck_assert_uint_eq(d->class, 0x088000);
        ck_assert_uint_eq(d->revision, 1);
        ck_assert_str_eq(d->driver, "idxd");
        ck_assert_str_eq(d->iommu, "dmar0");
        ck_assert_int_eq(d->iommu_group, 12);
        ck_assert_int_eq(d->config_size, 4096);
        ck_assert_int_eq(d->caps.pasid, MDP_YES);
        ck_assert_uint_eq(d->caps.pasid_width, 20);
        ck_assert_int_eq(d->caps.pasid_exec, MDP_YES);
        ck_assert_int_eq(d->caps.pasid_enabled, MDP_YES);
        ck_assert_int_eq(d->caps.ats, MDP_YES);
        ck_assert_int_eq(d->caps.pri, MDP_NO);
        ck_assert_int_eq(d->sriov_totalvfs, 16);
        ck_assert_int_eq(d->sriov_numvfs, 3);
        ck_assert_uint_eq(d->n_virtfns, 3);
        ck_assert_str_eq(d->virtfns[0], "0000:00:03.1");
        ck_assert_str_eq(d->virtfns[1], "0000:00:03.3");
        ck_assert_str_eq(d->virtfns[2], "0000:00:04.3"); /* virtfn10 after virtfn2 */
        ck_assert_ptr_null(d->physfn);

        d = mdp_host_find_pci_device(host, "0000:00:03.1");
        ck_assert_ptr_null(d->error);
        ck_assert_str_eq(d->physfn, "0000:00:03.0");
        ck_assert_int_eq(d->iommu_group, -1);
        ck_assert_int_eq(d->config_size, 64);
        ck_assert_int_eq(d->caps.pasid, MDP_UNKNOWN); /* §3.1: unknown, never absent */
        ck_assert_int_eq(d->caps.extended_space, MDP_UNKNOWN);
        ck_assert_int_eq(d->sriov_totalvfs, -1);
        host = mdp_host_unref(host);

        /* without MDP_SCAN_PCI_CONFIG, config is not read */
        ck_assert_int_eq(mdp_host_scan_parts(ctx, MDP_SCAN_PCI, &host), 0);
        d = mdp_host_find_pci_device(host, "0000:00:03.0");
        ck_assert_int_eq(d->config_size, -1);
        ck_assert_int_eq(d->caps.pasid, MDP_UNKNOWN);
        ck_assert_uint_eq(d->n_virtfns, 3);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_pci_garbage)
{
        _cleanup_free_ char *root = test_mkdtemp("hw");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_free_ char *before = NULL, *after = NULL;
        struct mdp_pci_device *d = NULL;

        make_pci(root, "0000:00:03.0", PF);
        test_write(root, PF "/vendor", "0xzz\n");
        test_write(root, PF "/class", "0x1000000\n");
        test_write(root, PF "/device", "8086\n");
        test_write(root, PF "/iommu_group", "not a link");
        test_write(root, PF "/sriov_totalvfs", "many\n");
        test_write(root, PF "/sriov_numvfs", "99999999999\n");
        test_write(root, PF "/virtfn0", "not a link");
        {
                _cleanup_free_ char *p = NULL;
                ck_assert_int_ge(asprintf(&p, "%s/" PF "/revision", root), 0);
                ck_assert_int_eq(unlink(p), 0);
        }
        test_symlink(root, "sys/bus/pci/devices/0000:00:09.0", "../../../devices/pci0000:00/0000:00:09.0");
        test_mkdir(root, "sys/bus/pci/devices/not-an-address");
        before = test_tree_fingerprint(root);

        ck_assert_int_eq(mdp_pci_device_read(ctx, "0000:00:03.0", true, &d), 0);
        ck_assert_ptr_nonnull(strstr(d->error, "vendor: not a hex id up to 0xffff: \"0xzz\""));
        ck_assert_ptr_nonnull(strstr(d->error, "class: not a hex id up to 0xffffff: \"0x1000000\""));
        ck_assert_ptr_nonnull(strstr(d->error, "device: not a hex id"));
        ck_assert_ptr_nonnull(strstr(d->error, "revision: missing"));
        ck_assert_ptr_nonnull(strstr(d->error, "iommu_group: not a symbolic link"));
        ck_assert_ptr_nonnull(strstr(d->error, "sriov_totalvfs: not a number: \"many\""));
        ck_assert_ptr_nonnull(strstr(d->error, "sriov_numvfs: number out of range"));
        ck_assert_uint_eq(d->vendor, 0);
        ck_assert_int_eq(d->sriov_totalvfs, -1);
        ck_assert_int_eq(d->iommu_group, -1);
        d = mdp_pci_device_free(d);
        ck_assert_int_eq(mdp_pci_device_read(ctx, "0000:00:09.0", true, &d), 0);
        ck_assert_ptr_nonnull(strstr(d->error, "bus/pci/devices/0000:00:09.0: dangling link"));
        d = mdp_pci_device_free(d);
        ck_assert_int_eq(mdp_pci_device_read(ctx, "not-an-address", false, &d), 0);
        ck_assert_ptr_nonnull(strstr(d->error, "not a PCI address"));
        ck_assert_ptr_null(d->devpath);
        d = mdp_pci_device_free(d);
        ck_assert_int_eq(mdp_pci_device_read(ctx, "../0000:00:03.0", true, &d), -EINVAL);
        ck_assert_int_eq(mdp_pci_device_read(ctx, "0000:00:07.0", true, &d), -ENOENT);
        after = test_tree_fingerprint(root);
        ck_assert_str_eq(before, after);
        test_rm_rf(root);
}
END_TEST

static Suite *hw_suite(void)
{
        Suite *s = suite_create("host-hw");
        TCase *tc;

        tc = tcase_create("fixtures");
        tcase_add_loop_test(tc, test_fixture_iommus, 0, ELEMENTSOF(variants));
        tcase_add_loop_test(tc, test_fixture_pci, 0, ELEMENTSOF(variants));
        suite_add_tcase(s, tc);
        tc = tcase_create("synthesized");
        tcase_add_test(tc, test_vtd_variants);
        tcase_add_test(tc, test_vtd_garbage);
        tcase_add_test(tc, test_amd_features_order);
        tcase_add_test(tc, test_pci_sriov_and_config);
        tcase_add_test(tc, test_pci_garbage);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(hw_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
