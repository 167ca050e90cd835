/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PCI functions: /sys/bus/pci/devices/<address> (IOMMU-SPEC.md §2.1, §3). In captured
 * trees the relative links inside a device need not resolve, so every link is read as
 * text and only its basename is used. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host-internal.h"
#include "mdp-names.h"
#include "pci-caps.h"
#include "util/fileio.h"
#include "util/parse.h"

/* PCI_CFG_SPACE_EXP_SIZE (§3.1) */
#define PCI_CONFIG_MAX 4096

void pci_done(struct mdp_pci_device *d)
{
        if (!d)
                return;
        free(d->virtfns);
        free(d->error);
        free(d->_pool);
        *d = (struct mdp_pci_device){
                .iommu_group = -1, .config_size = -1, .sriov_totalvfs = -1, .sriov_numvfs = -1};
}

/* "0x8086" as sysfs prints ids ("0x%04x"), bounded by max. */
static void read_id(struct record_errors *e, int dfd, const char *dir, const char *name, uint64_t max,
                    uint64_t *ret)
{
        char buf[32];
        uint64_t v;

        *ret = 0;
        if (attr_read(e, dfd, dir, name, true, buf, sizeof(buf)) < 0)
                return;
        if (!startswith(buf, "0x") || safe_atox64(buf, &v) < 0 || v > max) {
                struct strbuf q = {0};

                append_quoted(&q, buf, 32);
                record_error_at(e, dir, name, "not a hex id up to 0x%llx: %s", (unsigned long long)max,
                                q.buf ?: "\"\"");
                strbuf_done(&q);
                return;
        }
        *ret = v;
}

static int virtfn_index(const char *name)
{
        const char *rest = startswith(name, "virtfn");
        int n;

        if (!rest || parse_group_number(rest, &n) < 0)
                return -1;
        return n;
}

struct virtfn {
        int index;
        char address[ATTR_SHORT_MAX + 1];
};

static int virtfn_compare(const void *a, const void *b)
{
        int x = ((const struct virtfn *)a)->index, y = ((const struct virtfn *)b)->index;
        return x < y ? -1 : x > y;
}

/* sriov_totalvfs/sriov_numvfs and the virtfnN links of a PF; physfn of a VF (§3.6). */
static int read_sriov(struct mdp_ctx *ctx, struct record_errors *e, int dfd, const char *dir,
                      struct mdp_pci_device *d, char *physfn, size_t physfn_size)
{
        _cleanup_free_ char **names = NULL;
        _cleanup_free_ struct virtfn *vfs = NULL;
        struct namelist l = {0};
        size_t n = 0, nvf = 0;
        unsigned u;
        int r;

        if (faccessat(dfd, "sriov_totalvfs", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                if (attr_read_unsigned(e, dfd, dir, "sriov_totalvfs", &u) >= 0 && u <= INT32_MAX)
                        d->sriov_totalvfs = (int)u;
                if (attr_read_unsigned(e, dfd, dir, "sriov_numvfs", &u) >= 0 && u <= INT32_MAX)
                        d->sriov_numvfs = (int)u;
        }
        r = link_basename(dfd, "physfn", physfn, physfn_size);
        if (r < 0)
                record_error_at(e, dir, "physfn", "not a symbolic link to a PCI function");
        else if (r > 0 && !pci_address_is_valid(physfn)) {
                record_error_at(e, dir, "physfn", "points to \"%s\", not a PCI address", physfn);
                physfn[0] = '\0';
        }

        if (d->sriov_totalvfs < 0)
                return 0;
        r = list_dir_names(ctx, dfd, ".", NULL, &names, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        vfs = calloc(n ?: 1, sizeof(struct virtfn));
        if (!vfs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int idx = virtfn_index(names[i]);

                if (idx < 0)
                        continue;
                r = link_basename(dfd, names[i], vfs[nvf].address, sizeof(vfs[nvf].address));
                if (r <= 0 || !pci_address_is_valid(vfs[nvf].address)) {
                        record_error_at(e, dir, names[i], "not a symbolic link to a PCI function");
                        continue;
                }
                vfs[nvf++].index = idx;
        }
        qsort(vfs, nvf, sizeof(struct virtfn), virtfn_compare);
        for (size_t i = 0; i < nvf; i++)
                namelist_add(&l, vfs[i].address);
        return namelist_finish(&l, NULL, &d->virtfns, &d->n_virtfns);
}

int pci_read_one(struct mdp_ctx *ctx, int sysfs_fd, const char *address, bool read_config,
                 struct mdp_pci_device *ret)
{
        struct record_errors e = {.ctx = ctx};
        struct mdp_pci_device d = {
                .iommu_group = -1, .config_size = -1, .sriov_totalvfs = -1, .sriov_numvfs = -1};
        char rel[SYSFS_PATH_MAX], target[SYSFS_PATH_MAX], devpath[SYSFS_PATH_MAX], group[64];
        char driver[ATTR_SHORT_MAX + 1], iommu[ATTR_SHORT_MAX + 1], physfn[ATTR_SHORT_MAX + 1];
        bool have_devpath = false;
        _cleanup_close_ int dfd = -1;
        struct strpack pack = {0};
        struct stat st;
        uint64_t v;
        int r;

        if (!mdp_sysfs_name_is_valid(address))
                return -EINVAL;
        driver[0] = iommu[0] = physfn[0] = '\0';
        mdp_pci_caps_parse(NULL, 0, &d.caps); /* all unknown until config is read */
        (void)path_fmt(rel, sizeof(rel), "%s/%s", MDP_SYSFS_PCI_DEVICES, address);
        r = link_read(sysfs_fd, rel, target, sizeof(target));
        if (r == 0)
                return -ENOENT;
        if (r > 0) {
                if (sysfs_join_lexical(MDP_SYSFS_PCI_DEVICES, target, devpath, sizeof(devpath)) == 0)
                        have_devpath = true;
                else
                        record_error(&e, rel, "link target \"%s\" is outside the sysfs tree", target);
        } else if (r != -EINVAL)
                record_error(&e, rel, "cannot read link: %s", strerror(-r));
        if (!pci_address_is_valid(address))
                record_error(&e, rel, "not a PCI address (dddd:bb:dd.f)");

        dfd = openat(sysfs_fd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                int err = errno;
                if (fstatat(sysfs_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -ENOENT;
                record_error(&e, rel, "%s",
                             err == ENOENT    ? "dangling link"
                             : err == ENOTDIR ? "not a directory"
                                              : strerror(err));
                goto done;
        }
        read_id(&e, dfd, rel, "vendor", 0xffff, &v);
        d.vendor = (uint16_t)v;
        read_id(&e, dfd, rel, "device", 0xffff, &v);
        d.device = (uint16_t)v;
        read_id(&e, dfd, rel, "subsystem_vendor", 0xffff, &v);
        d.subsystem_vendor = (uint16_t)v;
        read_id(&e, dfd, rel, "subsystem_device", 0xffff, &v);
        d.subsystem_device = (uint16_t)v;
        read_id(&e, dfd, rel, "class", 0xffffff, &v);
        d.class = (uint32_t)v;
        read_id(&e, dfd, rel, "revision", 0xff, &v);
        d.revision = (uint8_t)v;

        r = link_basename(dfd, MDP_LINK_DRIVER, driver, sizeof(driver));
        if (r < 0)
                record_error_at(&e, rel, MDP_LINK_DRIVER, "not a symbolic link to a driver");
        r = link_basename(dfd, MDP_LINK_IOMMU, iommu, sizeof(iommu));
        if (r < 0)
                record_error_at(&e, rel, MDP_LINK_IOMMU, "not a symbolic link to an IOMMU");
        /* No iommu_group is normal: arm64 DT gives one only when a driver binds (layer 7 §6). */
        r = link_basename(dfd, MDP_LINK_IOMMU_GROUP, group, sizeof(group));
        if (r < 0)
                record_error_at(&e, rel, MDP_LINK_IOMMU_GROUP, "not a symbolic link to a group");
        else if (r > 0 && parse_group_number(group, &d.iommu_group) < 0)
                record_error_at(&e, rel, MDP_LINK_IOMMU_GROUP, "points to \"%s\", not a group number",
                                group);

        if (read_config) {
                _cleanup_free_ uint8_t *config = malloc(PCI_CONFIG_MAX);
                ssize_t n;

                if (!config) {
                        r = -ENOMEM;
                        goto fail;
                }
                /* Unprivileged readers get 64 bytes: the walk then says unknown (§3.1). */
                n = read_binary_file(dfd, "config", config, PCI_CONFIG_MAX);
                if (n >= 0) {
                        d.config_size = (int)n;
                        mdp_pci_caps_parse(config, (size_t)n, &d.caps);
                } else if (n != -ENOENT)
                        record_error_at(&e, rel, "config", "cannot read: %s", strerror((int)-n));
        }
        r = read_sriov(ctx, &e, dfd, rel, &d, physfn, sizeof(physfn));
        if (r < 0)
                goto fail;
done:
        strpack_add(&pack, &d.address, address);
        strpack_add(&pack, &d.devpath, have_devpath ? devpath : NULL);
        strpack_add(&pack, &d.driver, driver[0] ? driver : NULL);
        strpack_add(&pack, &d.iommu, iommu[0] ? iommu : NULL);
        strpack_add(&pack, &d.physfn, physfn[0] ? physfn : NULL);
        r = strpack_commit(&pack, &d._pool);
        if (r < 0)
                goto fail;
        r = record_errors_finish(&e, &d.error);
        if (r < 0)
                goto fail;
        *ret = d;
        return 0;
fail:
        record_errors_done(&e);
        pci_done(&d);
        return r;
}

_public_ int mdp_pci_device_read(struct mdp_ctx *ctx, const char *address, bool read_config,
                                 struct mdp_pci_device **ret)
{
        _cleanup_free_ struct mdp_pci_device *d = NULL;
        int sfd, r;

        if (!mdp_sysfs_name_is_valid(address))
                return -EINVAL;
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return sfd;
        d = malloc(sizeof(*d));
        if (!d)
                return -ENOMEM;
        r = pci_read_one(ctx, sfd, address, read_config, d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

_public_ struct mdp_pci_device *mdp_pci_device_free(struct mdp_pci_device *d)
{
        pci_done(d);
        free(d);
        return NULL;
}
