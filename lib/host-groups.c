/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IOMMU groups: /sys/kernel/iommu_groups/<N> (IOMMU-SPEC.md §2.6). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host-internal.h"
#include "mdp-names.h"
#include "util/fileio.h"
#include "util/parse.h"

#define GROUP_ATTR_TYPE             "type"
#define GROUP_ATTR_RESERVED_REGIONS "reserved_regions"
/* A group has a handful of regions; the file is at most one page anyway. */
#define RESERVED_REGIONS_MAX 256

void group_done(struct mdp_iommu_group *g)
{
        if (!g)
                return;
        free(g->devices);
        free(g->reserved_regions);
        free(g->error);
        free(g->_pool);
        *g = (struct mdp_iommu_group){.number = -1};
}

/* One line "0x%016llx 0x%016llx <type>" (§2.6). */
static int parse_region(const char *line, struct mdp_reserved_region *ret)
{
        char a[32], b[32], type[sizeof(ret->type)];
        const char *p = line, *sp;
        struct mdp_reserved_region r = {0};
        size_t l;

        sp = strchr(p, ' ');
        if (!sp || (size_t)(sp - p) >= sizeof(a))
                return -EINVAL;
        memcpy(a, p, (size_t)(sp - p));
        a[sp - p] = '\0';
        p = sp + 1;
        sp = strchr(p, ' ');
        if (!sp || (size_t)(sp - p) >= sizeof(b))
                return -EINVAL;
        memcpy(b, p, (size_t)(sp - p));
        b[sp - p] = '\0';
        p = sp + 1;
        l = strlen(p);
        if (l == 0 || l >= sizeof(type) || strspn(p, "abcdefghijklmnopqrstuvwxyz-") != l)
                return -EINVAL;
        memcpy(type, p, l + 1);
        if (!startswith(a, "0x") || !startswith(b, "0x") || safe_atox64(a, &r.start) < 0 ||
            safe_atox64(b, &r.end) < 0 || r.start > r.end)
                return -EINVAL;
        memcpy(r.type, type, l + 1);
        *ret = r;
        return 0;
}

static int read_reserved_regions(struct record_errors *e, int gfd, const char *dir,
                                 struct mdp_iommu_group *g)
{
        char buf[ATTR_PAGE_MAX + 1];
        size_t n = 0, lineno = 0;
        char *line, *save = NULL;
        int r;

        r = attr_read(e, gfd, dir, GROUP_ATTR_RESERVED_REGIONS, false, buf, sizeof(buf));
        if (r <= 0)
                return 0; /* empty (emulated groups) or absent (old kernels), or recorded */
        g->reserved_regions = calloc(RESERVED_REGIONS_MAX, sizeof(struct mdp_reserved_region));
        if (!g->reserved_regions)
                return -ENOMEM;
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                lineno++;
                if (n >= RESERVED_REGIONS_MAX) {
                        record_error_at(e, dir, GROUP_ATTR_RESERVED_REGIONS, "more than %d regions",
                                        RESERVED_REGIONS_MAX);
                        break;
                }
                if (parse_region(line, &g->reserved_regions[n]) < 0) {
                        struct strbuf q = {0};

                        append_quoted(&q, line, 64);
                        record_error_at(e, dir, GROUP_ATTR_RESERVED_REGIONS,
                                        "line %zu is not \"0x<start> 0x<end> <type>\": %s", lineno,
                                        q.buf ?: "\"\"");
                        strbuf_done(&q);
                        continue;
                }
                n++;
        }
        g->n_reserved_regions = n;
        if (n == 0) {
                free(g->reserved_regions);
                g->reserved_regions = NULL;
        } else {
                /* keep what was found, not the room for RESERVED_REGIONS_MAX */
                struct mdp_reserved_region *shrunk = realloc(g->reserved_regions, n * sizeof(*shrunk));
                if (shrunk)
                        g->reserved_regions = shrunk;
        }
        return 0;
}

int group_read_one(struct mdp_ctx *ctx, int sysfs_fd, const char *number, struct mdp_iommu_group *ret)
{
        struct record_errors e = {.ctx = ctx};
        struct mdp_iommu_group g = {.number = -1};
        char dir[SYSFS_PATH_MAX], type[ATTR_SHORT_MAX + 1], name[ATTR_SHORT_MAX + 1];
        bool have_type = false, have_name = false;
        _cleanup_close_ int gfd = -1;
        struct strpack pack = {0};
        struct stat st;
        int r;

        if (parse_group_number(number, &g.number) < 0)
                return -EINVAL;
        (void)path_fmt(dir, sizeof(dir), "%s/%s", MDP_SYSFS_IOMMU_GROUPS, number);
        gfd = openat(sysfs_fd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (gfd < 0) {
                int err = errno;
                if (fstatat(sysfs_fd, dir, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -ENOENT;
                record_error(&e, dir, "%s", err == ENOTDIR ? "not a directory" : strerror(err));
        } else {
                /* type is absent before Linux 5.11; name exists only for VFIO's own groups. */
                have_type = attr_read(&e, gfd, dir, GROUP_ATTR_TYPE, false, type, sizeof(type)) >= 0;
                have_name = attr_read(&e, gfd, dir, MDP_ATTR_NAME, false, name, sizeof(name)) >= 0;
                r = read_reserved_regions(&e, gfd, dir, &g);
                if (r < 0)
                        goto fail;
                r = list_dir_names(ctx, gfd, "devices", NULL, &g.devices, &g.n_devices);
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0)
                        record_error_at(&e, dir, "devices", "%s",
                                        r == -ENOENT    ? "missing"
                                        : r == -ENOTDIR ? "not a directory"
                                                        : strerror(-r));
        }
        strpack_add(&pack, &g.type, have_type ? type : NULL);
        strpack_add(&pack, &g.name, have_name ? name : NULL);
        r = strpack_commit(&pack, &g._pool);
        if (r < 0)
                goto fail;
        r = record_errors_finish(&e, &g.error);
        if (r < 0)
                goto fail;
        *ret = g;
        return 0;
fail:
        record_errors_done(&e);
        group_done(&g);
        return r;
}

_public_ int mdp_iommu_group_read(struct mdp_ctx *ctx, int number, struct mdp_iommu_group **ret)
{
        _cleanup_free_ struct mdp_iommu_group *g = NULL;
        char num[16];
        int sfd, r;

        if (number < 0)
                return -EINVAL;
        sfd = mdp_ctx_base_fd(ctx, MDP_PATH_SYSFS);
        if (sfd < 0)
                return sfd;
        g = malloc(sizeof(*g));
        if (!g)
                return -ENOMEM;
        snprintf(num, sizeof(num), "%d", number);
        r = group_read_one(ctx, sfd, num, g);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(g);
        return 0;
}

_public_ struct mdp_iommu_group *mdp_iommu_group_free(struct mdp_iommu_group *g)
{
        group_done(g);
        free(g);
        return NULL;
}
