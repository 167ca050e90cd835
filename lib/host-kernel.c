/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Kernel features that decide the VFIO paths (IOMMU-SPEC.md §7 step 6), all through the
 * context so MDEVPASID_ROOT re-roots /dev, /sys and /proc. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host-internal.h"
#include "mdp-names.h"
#include "util/fileio.h"

void kernel_features_done(struct mdp_kernel_features *k)
{
        if (!k)
                return;
        free(k->_pool);
        *k = (struct mdp_kernel_features){0};
}

/* yes when path exists under dfd, no when it does not, unknown when dfd is unusable or
 * the check failed otherwise (EACCES). */
static enum mdp_tristate exists_at(int dfd, const char *path)
{
        if (dfd < 0)
                return MDP_UNKNOWN;
        if (faccessat(dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return MDP_YES;
        return errno == ENOENT || errno == ENOTDIR ? MDP_NO : MDP_UNKNOWN;
}

/* Every VFIO device is a vfio-dev class device (Linux ≥6.1); only with VFIO_DEVICE_CDEV
 * does it carry a char device, which shows as its "dev" attribute. So: a vfio-dev device
 * with "dev" ⇒ yes, vfio-dev devices without ⇒ no, none at all ⇒ cannot tell. */
static enum mdp_tristate vfio_cdev_from_class(struct mdp_ctx *ctx, int sfd, int devfd)
{
        _cleanup_free_ char **names = NULL;
        size_t n = 0;
        char rel[SYSFS_PATH_MAX];

        if (exists_at(devfd, "vfio/devices") == MDP_YES)
                return MDP_YES;
        if (sfd < 0 || list_dir_names(ctx, sfd, MDP_SYSFS_VFIO_DEV_CLASS, NULL, &names, &n) < 0 || n == 0)
                return MDP_UNKNOWN;
        for (size_t i = 0; i < n; i++) {
                (void)path_fmt(rel, sizeof(rel), "%s/%s/dev", MDP_SYSFS_VFIO_DEV_CLASS, names[i]);
                if (faccessat(sfd, rel, F_OK, 0) == 0)
                        return MDP_YES;
        }
        return MDP_NO;
}

int kernel_features_read(struct mdp_ctx *ctx, struct mdp_kernel_features *ret)
{
        struct mdp_kernel_features k = {0};
        _cleanup_free_ char *cmdline = NULL, *release = NULL;
        struct strpack pack = {0};
        int devfd, sfd, procfd, r;

        devfd = mdp_ctx_base_fd(ctx, MDP_PATH_DEV);
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        procfd = mdp_ctx_base_fd(ctx, MDP_PATH_PROC);
        if (devfd < 0)
                mdp_dbg(ctx, "no %s under the root: device-node features unknown", MDP_HOST_DEV);

        k.iommufd = exists_at(devfd, "iommu");
        k.vfio_container = exists_at(devfd, "vfio/vfio");
        k.vfio_cdev = vfio_cdev_from_class(ctx, sfd, devfd);
        if (procfd >= 0) {
                r = read_attr_alloc(procfd, "cmdline", ATTR_PAGE_MAX, &cmdline);
                if (r == -ENOMEM)
                        return r;
                r = read_attr_alloc(procfd, "sys/kernel/osrelease", ATTR_SHORT_MAX, &release);
                if (r == -ENOMEM)
                        return r;
        }
        strpack_add(&pack, &k.cmdline, cmdline);
        strpack_add(&pack, &k.release, release);
        r = strpack_commit(&pack, &k._pool);
        if (r < 0)
                return r;
        *ret = k;
        return 0;
}

_public_ int mdp_kernel_features_read(struct mdp_ctx *ctx, struct mdp_kernel_features **ret)
{
        _cleanup_free_ struct mdp_kernel_features *k = malloc(sizeof(*k));
        int r;

        if (!k)
                return -ENOMEM;
        r = kernel_features_read(ctx, k);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

_public_ struct mdp_kernel_features *mdp_kernel_features_free(struct mdp_kernel_features *k)
{
        kernel_features_done(k);
        free(k);
        return NULL;
}
