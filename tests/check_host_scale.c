/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host model on a generated tree with 10,000 mdevs across 1,000 parents
 * (tests/tools/gen-fake-sysfs.py --layout sriov --kernel-like): everything read back
 * correctly, and how long the scan takes (printed; no timed assertion). The tree costs
 * about a minute to write, so it is kept under /tmp keyed by the generator's content and
 * arguments, and shared by the plain and sanitizer builds. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "test-help.h"
#include "util/fileio.h"
#include "util/macro.h"

#define N_MDEVS      10000
#define N_PARENTS    1000
#define TYPES_PER_VF 4
#define GEN_ARGS     "--layout sriov --active 10000 --parents 1000 --types-per-vf 4 --kernel-like"

static char *tree_root;

/* gen-fake-sysfs.py's vf_bdf() */
static void vf_bdf(int i, char *buf, size_t size)
{
        snprintf(buf, size, "0000:%02x:%02x.%d", 0x41 + i / 256, (i / 8) % 32, i % 8);
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
        const unsigned char *p = data;

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 1099511628211ULL;
        return h;
}

static char *generated_tree(void)
{
        _cleanup_free_ char *gen = NULL, *script = NULL, *tmp = NULL, *cmd = NULL, *stamp = NULL;
        char *final;
        size_t size;
        uint64_t h = 1469598103934665603ULL;

        ck_assert_int_ge(asprintf(&gen, "%s/tests/tools/gen-fake-sysfs.py", test_srcdir()), 0);
        ck_assert_int_eq(read_full_file(AT_FDCWD, gen, 1 << 20, &script, &size), 0);
        h = fnv1a(h, script, size);
        h = fnv1a(h, GEN_ARGS, strlen(GEN_ARGS));
        ck_assert_int_ge(asprintf(&final, "/tmp/mdp-scale-%016llx", (unsigned long long)h), 0);
        ck_assert_int_ge(asprintf(&stamp, "%s/stamp", final), 0);
        if (access(stamp, F_OK) == 0)
                return final;

        tmp = test_mkdtemp("scalegen");
        ck_assert_int_ge(
                asprintf(&cmd, "env -u LD_PRELOAD python3 '%s' '%s/t' " GEN_ARGS " >/dev/null", gen, tmp),
                0);
        ck_assert_int_eq(system(cmd), 0);
        test_write(tmp, "t/stamp", GEN_ARGS "\n");
        free(cmd);
        ck_assert_int_ge(asprintf(&cmd, "%s/t", tmp), 0);
        /* Another build's test may have won the race: then use its tree. */
        if (rename(cmd, final) < 0)
                ck_assert_msg(errno == ENOTEMPTY || errno == EEXIST, "rename %s: %s", final,
                              strerror(errno));
        test_rm_rf(tmp);
        ck_assert_int_eq(access(stamp, F_OK), 0);
        return final;
}

static double ms_since(const struct timespec *t0)
{
        struct timespec t1;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static long maxrss_kib(void)
{
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_maxrss;
}

static void python_uuid5(int i, char out[MDP_UUID_STRING_MAX])
{
        _cleanup_free_ char *cmd = NULL;
        char line[128];
        FILE *f;

        ck_assert_int_ge(asprintf(&cmd,
                                  "env -u LD_PRELOAD python3 -c 'import uuid; "
                                  "print(uuid.uuid5(uuid.NAMESPACE_URL, \"mdev-%d\"))'",
                                  i),
                         0);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
        ck_assert_int_eq(pclose(f), 0);
        line[strcspn(line, "\n")] = '\0';
        ck_assert(mdp_uuid_is_canonical(line));
        memcpy(out, line, MDP_UUID_STRING_MAX);
}

START_TEST(test_scale_snapshot)
{
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(tree_root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        const struct mdp_parent *parents;
        const struct mdp_mdev *mdevs;
        size_t n_parents, n_mdevs, n_groups;
        struct timespec t0;
        long rss0 = maxrss_kib();
        double ms;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        ck_assert_int_eq(mdp_host_scan(ctx, &host), 0);
        ms = ms_since(&t0);
        printf("host scan (all parts) of %d mdevs / %d parents / %d types: %.1f ms, maxrss %ld -> %ld KiB\n",
               N_MDEVS, N_PARENTS, N_PARENTS * TYPES_PER_VF, ms, rss0, maxrss_kib());
        fflush(stdout);

        ck_assert_ptr_null(mdp_host_error(host));
        parents = mdp_host_parents(host, &n_parents);
        mdevs = mdp_host_mdevs(host, &n_mdevs);
        mdp_host_groups(host, &n_groups);
        ck_assert_uint_eq(n_parents, N_PARENTS);
        ck_assert_uint_eq(n_mdevs, N_MDEVS);
        ck_assert_uint_eq(n_groups, N_MDEVS + N_PARENTS);

        for (size_t i = 0; i < n_parents; i++) {
                const struct mdp_parent *p = &parents[i];
                const struct mdp_type *t;

                ck_assert_msg(!p->error, "%s", p->error);
                ck_assert_str_eq(p->driver, "nvidia");
                ck_assert_str_eq(p->pci_address, p->name);
                ck_assert_int_ge(p->iommu_group, 50000);
                ck_assert_uint_eq(p->n_types, TYPES_PER_VF);
                /* every VF holds 10 mdevs of nvidia-550 (and the generator zeroes its count) */
                t = mdp_parent_find_type(p, "nvidia-550");
                ck_assert_ptr_nonnull(t);
                ck_assert_uint_eq(t->n_instances, N_MDEVS / N_PARENTS);
                ck_assert_int_eq(t->available_instances, 0);
                ck_assert_str_eq(mdp_parent_find_type(p, "nvidia-551")->name, "NVIDIA A40-2Q");
                ck_assert_int_eq(mdp_parent_find_type(p, "nvidia-551")->available_instances, 1);
        }
        for (size_t k = 0; k < n_mdevs; k++) {
                const struct mdp_mdev *m = &mdevs[k];
                char bdf[32], node[32], vfio[32];
                int i = m->iommu_group - 100;

                ck_assert_msg(!m->error, "%s", m->error);
                ck_assert_int_ge(i, 0);
                ck_assert_int_lt(i, N_MDEVS);
                vf_bdf(i % N_PARENTS, bdf, sizeof(bdf));
                ck_assert_str_eq(m->parent, bdf);
                ck_assert_str_eq(m->type_id, "nvidia-550");
                ck_assert_str_eq(m->driver, "nvidia-vgpu-vfio");
                ck_assert_str_eq(m->group_name, "vfio-noiommu");
                ck_assert_str_eq(m->group_type, "unknown");
                snprintf(node, sizeof(node), "vfio/%d", m->iommu_group);
                ck_assert_str_eq(m->vfio_group, node);
                snprintf(vfio, sizeof(vfio), "vfio%d", i);
                ck_assert_str_eq(m->vfio_dev, vfio);
                ck_assert_int_eq(m->class, MDP_MDEV_EMULATED);
                ck_assert_str_eq(m->class_basis, "group vfio-noiommu");
        }
        /* a sample against UUIDs computed independently */
        for (int i = 0; i < N_MDEVS; i += 3333) {
                char uuid[MDP_UUID_STRING_MAX], bdf[32];
                const struct mdp_mdev *m;

                python_uuid5(i, uuid);
                m = mdp_host_find_mdev(host, uuid);
                ck_assert_msg(m, "mdev-%d %s missing", i, uuid);
                ck_assert_int_eq(m->iommu_group, 100 + i);
                vf_bdf(i % N_PARENTS, bdf, sizeof(bdf));
                ck_assert_str_eq(m->parent, bdf);
        }
}
END_TEST

/* The CLI's "list" path (mdevs only) and the daemon's per-object path. */
START_TEST(test_scale_partial_and_readers)
{
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(tree_root);
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        _cleanup_free_ char **uuids = NULL;
        struct mdp_mdev **one;
        struct timespec t0;
        size_t n;
        double ms;
        int rs = 0;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        ck_assert_int_eq(mdp_host_scan_parts(ctx, MDP_SCAN_MDEVS, &host), 0);
        ms = ms_since(&t0);
        mdp_host_mdevs(host, &n);
        ck_assert_uint_eq(n, N_MDEVS);
        printf("host scan (mdevs only) of %d mdevs: %.1f ms\n", N_MDEVS, ms);
        fflush(stdout);

        /* time the reads alone, then check them */
        ck_assert_int_eq(mdp_mdev_list(ctx, &uuids, &n), 0);
        ck_assert_uint_eq(n, N_MDEVS);
        one = calloc(n, sizeof(struct mdp_mdev *));
        ck_assert_ptr_nonnull(one);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t i = 0; i < n; i++)
                rs |= mdp_mdev_read(ctx, uuids[i], &one[i]);
        ms = ms_since(&t0);
        printf("per-object mdp_mdev_read of %d mdevs: %.1f ms\n", N_MDEVS, ms);
        fflush(stdout);
        ck_assert_int_eq(rs, 0);
        for (size_t i = 0; i < n; i++) {
                const struct mdp_mdev *s = mdp_host_find_mdev(host, uuids[i]), *m = one[i];

                ck_assert_ptr_nonnull(s);
                ck_assert_str_eq(m->parent, s->parent);
                ck_assert_int_eq(m->iommu_group, s->iommu_group);
                ck_assert_str_eq(m->group_name, s->group_name);
                ck_assert_str_eq(m->vfio_group, s->vfio_group);
                ck_assert_str_eq(m->class_basis, s->class_basis);
                one[i] = mdp_mdev_free(one[i]);
        }
        free(one);

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < N_PARENTS; i++) {
                _cleanup_(mdp_parent_freep) struct mdp_parent *p = NULL;
                char bdf[32];

                vf_bdf(i, bdf, sizeof(bdf));
                ck_assert_int_eq(mdp_parent_read(ctx, bdf, &p), 0);
                ck_assert_uint_eq(p->n_types, TYPES_PER_VF);
        }
        printf("per-object mdp_parent_read of %d parents: %.1f ms\n", N_PARENTS, ms_since(&t0));
}
END_TEST

static void setup(void)
{
        if (!tree_root)
                tree_root = generated_tree();
}

int main(void)
{
        Suite *s = suite_create("host-scale");
        TCase *tc = tcase_create("10k");
        SRunner *sr;
        int failed;

        /* generating the tree takes about a minute on a loaded machine, once */
        tcase_set_timeout(tc, 900);
        tcase_add_unchecked_fixture(tc, setup, NULL);
        tcase_add_test(tc, test_scale_snapshot);
        tcase_add_test(tc, test_scale_partial_and_readers);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        free(tree_root);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
