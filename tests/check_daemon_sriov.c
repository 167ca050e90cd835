/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdevpasidd and SR-IOV VF links that change on a PF (issue 4: "SR-IOV VF links with change
 * on the PF"): the running daemon re-reads a PCI parent on the PF's "change" uevent and its
 * Parent properties (SriovNumVfs, Vfs, Physfn) and Describe follow, with PropertiesChanged,
 * without a restart. The real daemon on a private bus over the simulated host
 * (tests/harness.h).
 *
 * What is faked:
 *  - the kernel: the x86-6.12-sm capture, in which the test makes two PCI functions mdev
 *    parents (an mdev_supported_types directory with one type, a class/mdev_bus link):
 *    0000:00:02.0 (virtio-pci in the capture) as an SR-IOV PF with sriov_totalvfs 4 and
 *    sriov_numvfs 0, and 0000:00:01.0 (vfio-pci) as the function that becomes its VF. No
 *    real driver pairs these; the links and files are the shape the kernel gives
 *    (IOMMU-SPEC.md §3.6);
 *  - enabling a VF: the test writes sriov_numvfs, then the sim's "sriov PF VF" adds the
 *    virtfn0/physfn links and sends "change" on the PF, as the kernel does; disabling: the
 *    test removes the links, writes sriov_numvfs 0 and the sim sends "change". */

#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mdp-names.h"
#include "test-help.h"
#include "util/macro.h"

#define PF      "0000:00:02.0"
#define VF      "0000:00:01.0"
#define PF_DIR  "sys/devices/pci0000:00/" PF
#define VF_DIR  "sys/devices/pci0000:00/" VF
#define WAIT_MS 20000

static void make_parent(const char *root, const char *name, const char *dir)
{
        _cleanup_free_ char *types = NULL, *link = NULL, *target = NULL;

        ck_assert_int_ge(asprintf(&types, "%s/mdev_supported_types/test-wq", dir), 0);
        ck_assert_int_ge(asprintf(&link, "sys/class/mdev_bus/%s", name), 0);
        ck_assert_int_ge(asprintf(&target, "../../devices/pci0000:00/%s", name), 0);
        static const char *const files[][2] = {{"name", "wq\n"},
                                               {"device_api", "vfio-pci\n"},
                                               {"available_instances", "4\n"},
                                               {"create", ""}};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *f = NULL;
                ck_assert_int_ge(asprintf(&f, "%s/%s", types, files[i][0]), 0);
                test_write(root, f, files[i][1]);
        }
        {
                _cleanup_free_ char *f = NULL;
                ck_assert_int_ge(asprintf(&f, "%s/devices", types), 0);
                test_mkdir(root, f);
        }
        test_symlink(root, link, target);
}

static struct harness *start_sriov_host(void)
{
        _cleanup_free_ char *root = test_unpack_fixture("x86-6.12-sm");
        struct harness *h;

        make_parent(root, PF, PF_DIR);
        make_parent(root, VF, VF_DIR);
        test_write(root, PF_DIR "/sriov_totalvfs", "4\n");
        test_write(root, PF_DIR "/sriov_numvfs", "0\n");
        h = harness_start(&(struct harness_opts){.sysfs = root});
        test_rm_rf(root);
        return h;
}

static char *parent_path(const char *name)
{
        char *p = NULL;
        ck_assert_int_ge(sd_bus_path_encode(MDP_OBJECT_PARENTS, name, &p), 0);
        return p;
}

/* The parent's SR-IOV properties as one line: "numvfs=N vfs=A,B physfn=P". */
static char *sriov_props(struct harness *h, const char *name)
{
        _cleanup_free_ char *path = parent_path(name), *physfn = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char **vfs = NULL, *s = NULL, *joined;
        int32_t numvfs;
        size_t len = 1;

        ck_assert_msg(sd_bus_get_property_trivial(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_PARENT,
                                                  "SriovNumVfs", &e, 'i', &numvfs) >= 0,
                      "SriovNumVfs of %s: %s", name, e.message);
        ck_assert_msg(sd_bus_get_property_string(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_PARENT,
                                                 "Physfn", &e, &physfn) >= 0,
                      "Physfn of %s: %s", name, e.message);
        ck_assert_msg(sd_bus_get_property_strv(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_PARENT, "Vfs",
                                               &e, &vfs) >= 0,
                      "Vfs of %s: %s", name, e.message);
        for (size_t i = 0; vfs && vfs[i]; i++)
                len += strlen(vfs[i]) + 1;
        joined = calloc(1, len);
        ck_assert_ptr_nonnull(joined);
        for (size_t i = 0; vfs && vfs[i]; i++) {
                if (i > 0)
                        strcat(joined, ",");
                strcat(joined, vfs[i]);
                free(vfs[i]);
        }
        free(vfs);
        ck_assert_int_ge(asprintf(&s, "numvfs=%d vfs=%s physfn=%s", numvfs, joined, physfn), 0);
        free(joined);
        return s;
}

/* Describe's record of a parent, as "numvfs=N vfs=A,B physfn=P" (null: "null"). */
static char *describe_sriov(struct harness *h, const char *name)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *json;
        json_object *doc, *parents, *vfs, *v;
        char *s = NULL, joined[256] = "";

        ck_assert_msg(sd_bus_call_method(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                         "Describe", &e, &reply, NULL) >= 0,
                      "Describe: %s", e.message);
        ck_assert_int_ge(sd_bus_message_read(reply, "s", &json), 0);
        doc = json_tokener_parse(json);
        ck_assert_ptr_nonnull(doc);
        ck_assert(json_object_object_get_ex(doc, "Parents", &parents));
        for (size_t i = 0; i < json_object_array_length(parents); i++) {
                json_object *p = json_object_array_get_idx(parents, i), *n;

                ck_assert(json_object_object_get_ex(p, "Name", &n));
                if (!streq(json_object_get_string(n), name))
                        continue;
                ck_assert(json_object_object_get_ex(p, "Vfs", &vfs));
                for (size_t k = 0; k < json_object_array_length(vfs); k++) {
                        if (k > 0)
                                strcat(joined, ",");
                        strncat(joined, json_object_get_string(json_object_array_get_idx(vfs, k)), 64);
                }
                ck_assert(json_object_object_get_ex(p, "SriovNumVfs", &v));
                ck_assert_int_ge(
                        asprintf(&s, "numvfs=%s vfs=%s", v ? json_object_to_json_string(v) : "null", joined),
                        0);
                ck_assert(json_object_object_get_ex(p, "Physfn", &v));
                {
                        char *t = NULL;
                        ck_assert_int_ge(
                                asprintf(&t, "%s physfn=%s", s, v ? json_object_get_string(v) : "null"), 0);
                        free(s);
                        s = t;
                }
        }
        json_object_put(doc);
        ck_assert_msg(s, "Describe has no parent %s", name);
        return s;
}

/* Waits for PropertiesChanged on the parent naming prop. */
static void wait_changed(struct harness_watch *w, const char *prop)
{
        for (;;) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                const char *iface;
                char **inv = NULL;
                bool found = false;

                ck_assert_msg(harness_wait_signal(w, WAIT_MS, &m) >= 0, "no PropertiesChanged with %s",
                              prop);
                ck_assert_int_ge(sd_bus_message_read(m, "s", &iface), 0);
                if (!streq(iface, MDP_IFACE_PARENT))
                        continue;
                ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
                while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                        const char *name;
                        ck_assert_int_ge(sd_bus_message_read(m, "s", &name), 0);
                        found = found || streq(name, prop);
                        ck_assert_int_ge(sd_bus_message_skip(m, "v"), 0);
                        ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
                }
                ck_assert_int_ge(sd_bus_message_exit_container(m), 0);
                ck_assert_int_ge(sd_bus_message_read_strv(m, &inv), 0);
                for (size_t i = 0; inv && inv[i]; i++) {
                        found = found || streq(inv[i], prop);
                        free(inv[i]);
                }
                free(inv);
                if (found)
                        return;
        }
}

static void assert_str(char *got, const char *want)
{
        ck_assert_str_eq(got, want);
        free(got);
}

START_TEST(test_sriov_change_on_pf)
{
        struct harness *h = start_sriov_host();
        _cleanup_free_ char *pf_path = parent_path(PF), *vf_path = parent_path(VF), *out = NULL;
        struct harness_watch *pf_changed, *vf_changed;
        pid_t d;

        d = harness_spawn_service(
                h, MDP_BUS_NAME, WAIT_MS,
                HARNESS_ARGV((char *)harness_program("daemon/mdevpasidd"), "--start-timeout=5000"), NULL);
        /* At start: the PF has no VFs enabled; the other function is no VF. A virtual parent
         * (mtty) is no SR-IOV PF. */
        assert_str(sriov_props(h, PF), "numvfs=0 vfs= physfn=");
        assert_str(sriov_props(h, VF), "numvfs=-1 vfs= physfn=");
        assert_str(sriov_props(h, "mtty"), "numvfs=-1 vfs= physfn=");
        assert_str(describe_sriov(h, PF), "numvfs=0 vfs= physfn=null");
        assert_str(describe_sriov(h, "mtty"), "numvfs=null vfs= physfn=null");

        /* One VF enabled: the kernel writes the links, then "change" on the PF. */
        pf_changed = harness_watch_signal(h, MDP_BUS_NAME, pf_path, "org.freedesktop.DBus.Properties",
                                          "PropertiesChanged");
        vf_changed = harness_watch_signal(h, MDP_BUS_NAME, vf_path, "org.freedesktop.DBus.Properties",
                                          "PropertiesChanged");
        test_write(harness_root(h), PF_DIR "/sriov_numvfs", "1\n");
        ck_assert_msg(harness_sim(h, &out, "sriov " PF " " VF) == 0, "sim sriov: %s", strna(out));
        free(out);
        out = NULL;
        wait_changed(pf_changed, "Vfs");
        wait_changed(vf_changed, "Physfn");
        assert_str(sriov_props(h, PF), "numvfs=1 vfs=" VF " physfn=");
        assert_str(sriov_props(h, VF), "numvfs=-1 vfs= physfn=" PF);
        assert_str(describe_sriov(h, PF), "numvfs=1 vfs=" VF " physfn=null");
        assert_str(describe_sriov(h, VF), "numvfs=null vfs= physfn=" PF);

        /* Disabled again: the links go, "change" on the PF. */
        {
                _cleanup_free_ char *l1 = NULL, *l2 = NULL;
                ck_assert_int_ge(asprintf(&l1, "%s/" PF_DIR "/virtfn0", harness_root(h)), 0);
                ck_assert_int_ge(asprintf(&l2, "%s/" VF_DIR "/physfn", harness_root(h)), 0);
                ck_assert_int_eq(unlink(l1), 0);
                ck_assert_int_eq(unlink(l2), 0);
        }
        test_write(harness_root(h), PF_DIR "/sriov_numvfs", "0\n");
        ck_assert_msg(harness_sim(h, &out, "uevent change /devices/pci0000:00/" PF " SUBSYSTEM=pci") == 0,
                      "sim uevent: %s", strna(out));
        wait_changed(pf_changed, "Vfs");
        wait_changed(vf_changed, "Physfn");
        assert_str(sriov_props(h, PF), "numvfs=0 vfs= physfn=");
        assert_str(sriov_props(h, VF), "numvfs=-1 vfs= physfn=");

        /* The same daemon all along. */
        ck_assert_int_eq(kill(d, 0), 0);
        ck_assert_int_eq(harness_wait_exit(h, d, 0), -ETIMEDOUT);
        harness_watch_free(pf_changed);
        harness_watch_free(vf_changed);
        harness_stop(h);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("daemon_sriov");
        TCase *tc = tcase_create("daemon_sriov");
        SRunner *sr;
        int failed;

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_sriov_change_on_pf);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
