/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevpasidctl pasid alloc / list / free, and attach / detach, run as the real binary against
 * the real mdevpasidd on a private bus over the simulated host (tests/harness.h). The
 * daemon's side is tests/check_assign.c's; this is what the administrator types and reads.
 *
 * What is faked (as in tests/check_assign.c):
 *  - the kernel: the arm64-6.12-smmuv3 capture, in which the PCI function 0000:00:02.0
 *    (behind the SMMUv3) is turned into an mdev parent bound to "example_vdcm", with one
 *    type "example_vdcm-wq" and a PASID capability of 20 bits in its config space. No real
 *    driver does that: it is the shape of a Scalable-IOV parent (IOMMU-SPEC.md §1.4-§1.5);
 *  - vendor profiles: a test datadir with conf/profiles/examples/90-siov-template.json set
 *    to "example": false (example_vdcm-* PASID-granular, max_guest_pasids 16, reserved 0-15);
 *  - policy: a testbed policy that asserts a PV PASID channel in the VMM (experimental,
 *    IOMMU-SPEC.md §6.6), so the plan is +pv and guest PASIDs can be allocated. */

#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mdp-names.h"
#include "test-help.h"
#include "util/macro.h"

#define PF      TEST_SIOV_PF
#define VTYPE   TEST_SIOV_TYPE
#define A1      "6b2d0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c01"
#define WAIT_MS 20000

#define PV_POLICY                                                                                           \
        "{ \"version\": 1, \"defaults\": { \"allow_experimental\": true, \"pasid_quota\": 20 }, "           \
        "\"vmm\": { \"iommufd\": true, \"virtio-iommu-pci\": true, \"arm-smmuv3.accel\": true, "            \
        "\"arm-smmuv3.ssidsize\": true, \"passthrough-pasid\": true, \"pv-pasid-alloc\": true, "            \
        "\"vfio-pci.x-vpasid-cap-offset\": true } }"

static char *datadir;

static void remove_datadir(void)
{
        if (datadir)
                test_rm_rf(datadir);
        free(datadir);
        datadir = NULL;
}

static char *data_env(void)
{
        _cleanup_free_ char *tmpl = test_read(test_srcdir(), "conf/profiles/examples/90-siov-template.json");
        char *p, *s = NULL;

        ck_assert_ptr_nonnull(tmpl);
        p = strstr(tmpl, "\"example\": true");
        ck_assert_ptr_nonnull(p);
        memcpy(p, "\"example\":false", strlen("\"example\":false")); /* same length */
        datadir = test_mkdtemp("cli-pasid-data");
        test_write(datadir, "profiles/90-siov-template.json", tmpl);
        ck_assert_int_ge(asprintf(&s, "MDEVPASID_DATADIR=%s", datadir), 0);
        return s;
}

static struct harness *start_smmu_host(void)
{
        _cleanup_free_ char *root = test_unpack_fixture("arm64-6.12-smmuv3");
        struct harness *h;

        test_make_siov_parent(root);
        h = harness_start(&(struct harness_opts){.sysfs = root});
        test_rm_rf(root);
        return h;
}

/* The sim's new mdev is in a real IOMMU group: drop the "vfio-noiommu" name the sim gives
 * new groups (as tests/check_assign.c's sim_create does). */
static void sim_create(struct harness *h, const char *uuid)
{
        _cleanup_free_ char *out = NULL, *link = NULL, *name = NULL;
        char target[256];
        ssize_t n;
        int r = harness_sim(h, &out, "create %s %s %s", PF, VTYPE, uuid);

        ck_assert_msg(r == 0, "sim create %s: %s", uuid, strna(out));
        ck_assert_int_ge(asprintf(&link, "%s/sys/bus/mdev/devices/%s/iommu_group", harness_root(h), uuid),
                         0);
        n = readlink(link, target, sizeof(target) - 1);
        ck_assert_msg(n > 0, "%s: no iommu_group link", link);
        target[n] = '\0';
        ck_assert_int_ge(asprintf(&name, "%s/sys/kernel/iommu_groups/%s/name", harness_root(h),
                                  strrchr(target, '/') + 1),
                         0);
        (void)unlink(name);
}

/* Runs mdevpasidctl ARGS; returns its exit code, *out and *err (NULL to drop). */
static int ctl(struct harness *h, char **out, char **err, char *const argv[])
{
        char *full[16] = {(char *)harness_program("cli/mdevpasidctl")};
        struct harness_run run = {0};
        size_t n = 1;
        int code;

        for (; argv[n - 1]; n++) {
                ck_assert_uint_lt(n, ELEMENTSOF(full) - 1);
                full[n] = argv[n - 1];
        }
        full[n] = NULL;
        ck_assert_int_eq(harness_run(h, full, HARNESS_ARGV("NO_COLOR=1"), NULL, 30000, &run), 0);
        ck_assert_msg(!run.timed_out, "mdevpasidctl %s timed out", argv[0]);
        code = run.exit_code;
        if (out)
                *out = TAKE_PTR(run.out);
        if (err)
                *err = TAKE_PTR(run.err);
        harness_run_clear(&run);
        return code;
}
#define CTL(h, out, err, ...) ctl(h, out, err, HARNESS_ARGV(__VA_ARGS__))

/* pasid list VM --json: the "guest" PASIDs of unit A1 into g (sorted as listed), the count. */
static size_t list_guest(struct harness *h, const char *vm, unsigned *g, size_t max, unsigned *instance)
{
        _cleanup_free_ char *out = NULL, *err = NULL;
        json_object *a;
        size_t n = 0;

        ck_assert_msg(CTL(h, &out, &err, "pasid", "list", (char *)vm, "--json") == 0, "pasid list: %s", err);
        a = json_tokener_parse(out);
        ck_assert_msg(a && json_object_is_type(a, json_type_array), "pasid list --json: %s", out);
        *instance = 0;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *o = json_object_array_get_idx(a, i), *v;
                const char *kind;

                ck_assert(json_object_object_get_ex(o, "Vm", &v));
                ck_assert_str_eq(json_object_get_string(v), vm);
                ck_assert(json_object_object_get_ex(o, "Unit", &v));
                ck_assert_str_eq(json_object_get_string(v), A1);
                ck_assert(json_object_object_get_ex(o, "Kind", &v));
                kind = json_object_get_string(v);
                ck_assert(json_object_object_get_ex(o, "Pasid", &v));
                if (streq(kind, "instance"))
                        *instance = (unsigned)json_object_get_int64(v);
                else {
                        ck_assert_str_eq(kind, "guest");
                        ck_assert_uint_lt(n, max);
                        g[n++] = (unsigned)json_object_get_int64(v);
                }
        }
        json_object_put(a);
        return n;
}

static char *drop(char *p)
{
        free(p);
        return NULL;
}

START_TEST(test_cli_pasids)
{
        struct harness *h = start_smmu_host();
        _cleanup_free_ char *env = data_env(), *out = NULL, *err = NULL;
        unsigned alloc[8], listed[16], instance;
        size_t n_alloc = 0;
        char a0[16], a1[16], a2[16];

        test_write(harness_root(h), "etc/mdevpasid/policy.d/50-test.json", PV_POLICY);
        sim_create(h, A1);
        harness_spawn_service(
                h, MDP_BUS_NAME, WAIT_MS,
                HARNESS_ARGV((char *)harness_program("daemon/mdevpasidd"), "--start-timeout=5000"),
                HARNESS_ARGV(env));

        /* Nothing attached: no PASIDs; alloc for a VM that is not attached fails naming it. */
        ck_assert_int_eq(CTL(h, &out, NULL, "pasid", "list"), 0);
        ck_assert_str_eq(out, "No PASIDs allocated.\n");
        out = drop(out);
        ck_assert_int_eq(CTL(h, NULL, &err, "pasid", "alloc", "pv1", A1, "2"), 1);
        ck_assert_msg(strstr(err, "pv1"), "%s", err);
        err = drop(err);

        /* attach: a +pv strategy, and the instance's PASID. */
        ck_assert_msg(CTL(h, &out, &err, "attach", "--viommu", "pasid", "pv1", A1) == 0, "attach: %s%s", out,
                      err);
        ck_assert_msg(strstr(out, "shadow+pv") || strstr(out, "nest+pv"), "no +pv plan:\n%s", out);
        ck_assert_msg(strstr(out, "PASID "), "attach printed no instance PASID:\n%s", out);
        out = drop(out);
        err = drop(err);
        ck_assert_uint_eq(list_guest(h, "pv1", listed, ELEMENTSOF(listed), &instance), 0);
        ck_assert_uint_gt(instance, 0);

        /* alloc 3: one number a line, outside the profile's reserved 0-15, not the instance's. */
        ck_assert_msg(CTL(h, &out, &err, "pasid", "alloc", "pv1", A1, "3") == 0, "pasid alloc: %s", err);
        for (char *p = out, *end; *p; p = end + 1) {
                unsigned long v = strtoul(p, &end, 10);
                ck_assert_msg(end != p && *end == '\n', "pasid alloc printed: %s", out);
                ck_assert_uint_lt(n_alloc, ELEMENTSOF(alloc));
                alloc[n_alloc++] = (unsigned)v;
                ck_assert_uint_ge(v, 16);
                ck_assert_uint_ne(v, instance);
        }
        ck_assert_uint_eq(n_alloc, 3);
        out = drop(out);
        err = drop(err);
        /* ... and --json, an array */
        ck_assert_int_eq(CTL(h, &out, NULL, "pasid", "alloc", "pv1", A1, "--json"), 0);
        ck_assert_msg(out[0] == '[', "pasid alloc --json: %s", out);
        out = drop(out);

        /* list: the instance PASID and the four guest PASIDs; the table names the kinds. */
        ck_assert_uint_eq(list_guest(h, "pv1", listed, ELEMENTSOF(listed), &instance), 4);
        for (size_t i = 0; i < n_alloc; i++) {
                bool found = false;
                for (size_t k = 0; k < 4; k++)
                        found = found || listed[k] == alloc[i];
                ck_assert_msg(found, "allocated PASID %u not listed", alloc[i]);
        }
        ck_assert_int_eq(CTL(h, &out, NULL, "pasid", "list"), 0);
        ck_assert_msg(strstr(out, "VM") && strstr(out, "KIND") && strstr(out, "guest") &&
                              strstr(out, "instance"),
                      "%s", out);
        out = drop(out);

        /* free two; freeing one again is an error naming it, and frees nothing (the third
         * stays); a non-number is a usage error. */
        snprintf(a0, sizeof(a0), "%u", alloc[0]);
        snprintf(a1, sizeof(a1), "%u", alloc[1]);
        snprintf(a2, sizeof(a2), "%u", alloc[2]);
        ck_assert_msg(CTL(h, NULL, &err, "pasid", "free", "pv1", a0, a1) == 0, "pasid free: %s", err);
        err = drop(err);
        ck_assert_uint_eq(list_guest(h, "pv1", listed, ELEMENTSOF(listed), &instance), 2);
        ck_assert_int_eq(CTL(h, NULL, &err, "pasid", "free", "pv1", a2, a0), 1);
        {
                _cleanup_free_ char *want = NULL;
                ck_assert_int_ge(asprintf(&want,
                                          "pv1: PASID %u is not a guest PASID of this VM (freed already, or "
                                          "never allocated). Nothing was freed.",
                                          alloc[0]),
                                 0);
                ck_assert_msg(strstr(err, want), "double free: %s", err);
        }
        err = drop(err);
        ck_assert_uint_eq(list_guest(h, "pv1", listed, ELEMENTSOF(listed), &instance), 2);
        ck_assert_int_eq(CTL(h, NULL, &err, "pasid", "free", "pv1", "x1"), 2);
        err = drop(err);

        /* detach releases everything: nothing listed, and free names the VM as not attached. */
        ck_assert_int_eq(CTL(h, NULL, NULL, "detach", "pv1"), 0);
        ck_assert_int_eq(CTL(h, &out, NULL, "pasid", "list"), 0);
        ck_assert_str_eq(out, "No PASIDs allocated.\n");
        out = drop(out);
        ck_assert_int_eq(CTL(h, NULL, &err, "pasid", "free", "pv1", a2), 1);
        ck_assert_msg(strstr(err, "pv1") && strstr(err, "not attached"), "%s", err);
        err = drop(err);
        harness_stop(h);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("cli_pasid");
        TCase *tc = tcase_create("cli_pasid");
        SRunner *sr;
        int failed;

        tcase_set_timeout(tc, 120);
        tcase_add_checked_fixture(tc, NULL, remove_datadir);
        tcase_add_test(tc, test_cli_pasids);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
