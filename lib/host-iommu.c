/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IOMMU instances: /sys/class/iommu/<name> (IOMMU-SPEC.md §2.1–§2.4). Raw registers
 * only; lib/iommu-decode.c names their bits. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host-internal.h"
#include "iommu-decode.h"
#include "mdp-names.h"
#include "util/fileio.h"
#include "util/parse.h"

#define VTD_DIR           "intel-iommu"
#define AMD_DIR           "amd-iommu"
#define SM_DEFAULT_SYMBOL "CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON"
/* Debian's kernel configs are ~280 KiB. */
#define KERNEL_CONFIG_MAX (8u << 20)

void iommu_done(struct mdp_iommu *i)
{
        if (!i)
                return;
        free(i->devices);
        free(i->error);
        free(i->_pool);
        *i = (struct mdp_iommu){0};
}

void iommu_env_load_release(struct mdp_ctx *ctx, struct iommu_env *env, const char *release)
{
        char buf[ATTR_SHORT_MAX + 1];
        int procfd;

        if (env->release_loaded)
                return;
        env->release_loaded = true;
        env->sm_default = -1;
        if (release) {
                snprintf(env->release, sizeof(env->release), "%s", release);
                return;
        }
        procfd = mdp_ctx_base_fd(ctx, MDP_PATH_PROC);
        if (procfd >= 0 && sysfs_read_attr(procfd, "sys/kernel/osrelease", buf, sizeof(buf)) > 0)
                snprintf(env->release, sizeof(env->release), "%s", buf);
}

/* CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON from /boot/config-<release> (§2.2): what the
 * kernel does when the command line names neither sm_on nor sm_off. Read once, lazily. */
static void iommu_env_load_sm_default(struct mdp_ctx *ctx, struct iommu_env *env)
{
        _cleanup_free_ char *config = NULL;
        char name[ATTR_SHORT_MAX + 16];
        const char *p;
        int bootfd;

        if (env->sm_default_loaded)
                return;
        env->sm_default_loaded = true;
        env->sm_default = -1;
        if (!env->release[0] || !mdp_sysfs_name_is_valid(env->release))
                return;
        bootfd = mdp_ctx_base_fd(ctx, MDP_PATH_BOOT);
        if (bootfd < 0 || path_fmt(name, sizeof(name), "config-%s", env->release) < 0 ||
            read_full_file(bootfd, name, KERNEL_CONFIG_MAX, &config, NULL) < 0) {
                mdp_dbg(ctx, "no kernel config for %s: scalable-mode default unknown", env->release);
                return;
        }
        for (p = config; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                if (startswith(p, SM_DEFAULT_SYMBOL "=y")) {
                        env->sm_default = 1;
                        return;
                }
                if (startswith(p, "# " SM_DEFAULT_SYMBOL " is not set")) {
                        env->sm_default = 0;
                        return;
                }
        }
}

/* "major:minor" as intel-iommu/version prints it ("%d:%d"). */
static int parse_vtd_version(const char *s, unsigned *major, unsigned *minor)
{
        char buf[32];
        char *colon;

        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, s);
        colon = strchr(buf, ':');
        if (!colon)
                return -EINVAL;
        *colon = '\0';
        if (safe_atou(buf, major) < 0 || safe_atou(colon + 1, minor) < 0)
                return -EINVAL;
        return 0;
}

static void read_vtd(struct record_errors *e, int ifd, const char *dir, struct mdp_iommu_regs *regs)
{
        char vdir[SYSFS_PATH_MAX], buf[64];
        _cleanup_close_ int vfd = -1;
        bool cap_ok, ecap_ok;
        int r;

        (void)path_fmt(vdir, sizeof(vdir), "%s/%s", dir, VTD_DIR);
        vfd = openat(ifd, VTD_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (vfd < 0) {
                record_error(e, vdir, "%s",
                             errno == ENOENT ? "missing: VT-d registers unknown" : strerror(errno));
                return;
        }
        cap_ok = attr_read_hex(e, vfd, vdir, "cap", &regs->vtd_cap) >= 0;
        ecap_ok = attr_read_hex(e, vfd, vdir, "ecap", &regs->vtd_ecap) >= 0;
        r = attr_read(e, vfd, vdir, "version", true, buf, sizeof(buf));
        if (r >= 0 && parse_vtd_version(buf, &regs->vtd_version_major, &regs->vtd_version_minor) < 0) {
                struct strbuf q = {0};

                append_quoted(&q, buf, 32);
                record_error_at(e, vdir, "version", "not \"<major>:<minor>\": %s", q.buf ?: "\"\"");
                strbuf_done(&q);
                regs->vtd_version_major = regs->vtd_version_minor = 0;
        }
        regs->vtd_valid = cap_ok && ecap_ok;
        if (!regs->vtd_valid)
                regs->vtd_cap = regs->vtd_ecap = 0;
}

static void read_amd(struct mdp_ctx *ctx, struct record_errors *e, int ifd, const char *dir,
                     const char *release, struct mdp_iommu_regs *regs)
{
        char adir[SYSFS_PATH_MAX], features[128];
        _cleanup_close_ int afd = -1;
        uint64_t cap, efr, efr2;
        bool efr2_valid;
        int r;

        (void)path_fmt(adir, sizeof(adir), "%s/%s", dir, AMD_DIR);
        afd = openat(ifd, AMD_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (afd < 0) {
                /* Newer kernels may not register the group at all (§2.3): no data, no error. */
                if (errno != ENOENT)
                        record_error(e, adir, "%s", strerror(errno));
                else
                        mdp_dbg(ctx, "%s: absent, AMD registers unknown", adir);
                return;
        }
        if (attr_read_hex(e, afd, adir, "cap", &cap) < 0)
                return;
        if (cap > UINT32_MAX) {
                record_error_at(e, adir, "cap", "more than 32 bits: %llx", (unsigned long long)cap);
                return;
        }
        if (attr_read(e, afd, adir, "features", true, features, sizeof(features)) < 0)
                return;
        r = mdp_amd_parse_features(features, release[0] ? release : NULL, &efr, &efr2, &efr2_valid);
        if (r == -ENODATA) {
                record_error_at(
                        e, adir, "features",
                        "two values whose order depends on the kernel (EFR2:EFR before 6.7, EFR:EFR2 "
                        "since), and the kernel release (%s) does not settle it",
                        release[0] ? release : "unknown");
                return;
        }
        if (r < 0) {
                struct strbuf q = {0};

                append_quoted(&q, features, 64);
                record_error_at(e, adir, "features", "not \"<hex>\" or \"<hex>:<hex>\": %s",
                                q.buf ?: "\"\"");
                strbuf_done(&q);
                return;
        }
        regs->amd_cap = (uint32_t)cap;
        regs->amd_efr = efr;
        regs->amd_efr2 = efr2_valid ? efr2 : 0;
        regs->amd_efr2_valid = efr2_valid;
        regs->amd_valid = true;
}

int iommu_read_one(struct mdp_ctx *ctx, int sysfs_fd, const char *name, struct iommu_env *env,
                   struct mdp_iommu *ret)
{
        struct record_errors e = {.ctx = ctx};
        struct mdp_iommu i = {0};
        char rel[SYSFS_PATH_MAX], target[SYSFS_PATH_MAX], devpath[SYSFS_PATH_MAX];
        bool have_devpath = false;
        _cleanup_close_ int ifd = -1;
        struct strpack pack = {0};
        struct stat st;
        int r;

        if (!mdp_sysfs_name_is_valid(name))
                return -EINVAL;
        i.family = mdp_iommu_family_from_name(name);
        i.regs.family = i.family;
        (void)path_fmt(rel, sizeof(rel), "%s/%s", MDP_SYSFS_IOMMU_CLASS, name);
        r = link_read(sysfs_fd, rel, target, sizeof(target));
        if (r == 0)
                return -ENOENT;
        if (r > 0) {
                if (sysfs_join_lexical(MDP_SYSFS_IOMMU_CLASS, target, devpath, sizeof(devpath)) == 0)
                        have_devpath = true;
                else
                        record_error(&e, rel, "link target \"%s\" is outside the sysfs tree", target);
        } else if (r != -EINVAL)
                record_error(&e, rel, "cannot read link: %s", strerror(-r));

        ifd = openat(sysfs_fd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (ifd < 0) {
                int err = errno;
                if (fstatat(sysfs_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -ENOENT;
                record_error(&e, rel, "%s",
                             err == ENOENT    ? "dangling link"
                             : err == ENOTDIR ? "not a directory"
                                              : strerror(err));
        } else {
                switch (i.family) {
                case MDP_IOMMU_VTD:
                        read_vtd(&e, ifd, rel, &i.regs);
                        iommu_env_load_sm_default(ctx, env);
                        if (env->sm_default >= 0) {
                                i.regs.vtd_sm_default_known = true;
                                i.regs.vtd_sm_default_on = env->sm_default == 1;
                        }
                        break;
                case MDP_IOMMU_AMD:
                        read_amd(ctx, &e, ifd, rel, env->release, &i.regs);
                        break;
                default:
                        /* SMMUv3 has no attribute groups in sysfs (§2.4); others are unknown. */
                        break;
                }
                r = list_dir_names(ctx, ifd, "devices", NULL, &i.devices, &i.n_devices);
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0 && r != -ENOENT)
                        record_error_at(&e, rel, "devices", "%s",
                                        r == -ENOTDIR ? "not a directory" : strerror(-r));
        }
        strpack_add(&pack, &i.name, name);
        strpack_add(&pack, &i.devpath, have_devpath ? devpath : NULL);
        r = strpack_commit(&pack, &i._pool);
        if (r < 0)
                goto fail;
        r = record_errors_finish(&e, &i.error);
        if (r < 0)
                goto fail;
        *ret = i;
        return 0;
fail:
        record_errors_done(&e);
        iommu_done(&i);
        return r;
}

_public_ int mdp_iommu_read(struct mdp_ctx *ctx, const char *name, struct mdp_iommu **ret)
{
        _cleanup_free_ struct mdp_iommu *i = NULL;
        struct iommu_env env = {0};
        int sfd, r;

        if (!mdp_sysfs_name_is_valid(name))
                return -EINVAL;
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return sfd;
        i = malloc(sizeof(*i));
        if (!i)
                return -ENOMEM;
        iommu_env_load_release(ctx, &env, NULL);
        r = iommu_read_one(ctx, sfd, name, &env, i);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(i);
        return 0;
}

_public_ struct mdp_iommu *mdp_iommu_free(struct mdp_iommu *i)
{
        iommu_done(i);
        free(i);
        return NULL;
}
