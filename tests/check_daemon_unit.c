/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's pure parts: the state file (lib/state.h), the shared D-Bus error map
 * (lib/bus-errors.h), the VFIO holder scan (lib/vfio-holders.h) and uevent classification
 * (daemon/udev.h). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-errors.h"
#include "mdp-names.h"
#include "state.h"
#include "test-help.h"
#include "udev.h"
#include "util/json.h"
#include "util/macro.h"
#include "vfio-holders.h"

#define U1 "11111111-2222-3333-4444-555555555555"
#define U2 "aaaaaaaa-2222-3333-4444-555555555555"
#define U3 "00000000-2222-3333-4444-555555555555"

/* ---- state ---- */

START_TEST(test_state_roundtrip)
{
        _cleanup_(mdp_state_freep) struct mdp_state *s = NULL, *back = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL, *err = NULL;
        const struct mdp_state_device *d;
        const struct mdp_state_op *o;

        ck_assert_int_eq(mdp_state_new(&s), 0);
        ck_assert_int_eq(mdp_state_device_set(s, U2, "mtty", "mtty-2", false, 1700000000000000ULL), 1);
        ck_assert_int_eq(mdp_state_device_set(s, U2, "mtty", "mtty-2", false, 1700000000000000ULL), 0);
        ck_assert_int_eq(mdp_state_device_set(s, U1, "0000:00:02.0", "i915-GVTg_V5_4", true, 5), 1);
        ck_assert_int_eq(mdp_state_op_set(s, U3, MDP_STATE_OP_START, "mdpy", "mdpy-vga", 42), 1);
        text = mdp_state_format(s);
        ck_assert_ptr_nonnull(text);
        /* Sorted by UUID, fixed keys, newline at the end. */
        ck_assert_str_eq(text, "{\n"
                               "  \"version\": 1,\n"
                               "  \"devices\": [\n"
                               "    {\n"
                               "      \"uuid\": \"" U1 "\",\n"
                               "      \"parent\": \"0000:00:02.0\",\n"
                               "      \"type\": \"i915-GVTg_V5_4\",\n"
                               "      \"transient\": true,\n"
                               "      \"started_usec\": 5\n"
                               "    },\n"
                               "    {\n"
                               "      \"uuid\": \"" U2 "\",\n"
                               "      \"parent\": \"mtty\",\n"
                               "      \"type\": \"mtty-2\",\n"
                               "      \"transient\": false,\n"
                               "      \"started_usec\": 1700000000000000\n"
                               "    }\n"
                               "  ],\n"
                               "  \"operations\": [\n"
                               "    {\n"
                               "      \"uuid\": \"" U3 "\",\n"
                               "      \"operation\": \"start\",\n"
                               "      \"parent\": \"mdpy\",\n"
                               "      \"type\": \"mdpy-vga\",\n"
                               "      \"since_usec\": 42\n"
                               "    }\n"
                               "  ]\n"
                               "}\n");
        ck_assert_int_eq(mdp_state_parse(text, strlen(text), &back, &err), 0);
        d = mdp_state_device_get(back, U1);
        ck_assert_ptr_nonnull(d);
        ck_assert_str_eq(d->parent, "0000:00:02.0");
        ck_assert(d->transient);
        ck_assert_uint_eq(d->started_usec, 5);
        o = mdp_state_op_get(back, U3);
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(o->kind, MDP_STATE_OP_START);
        text2 = mdp_state_format(back);
        ck_assert_str_eq(text, text2);
        ck_assert_int_eq(mdp_state_device_remove(back, U1), 1);
        ck_assert_int_eq(mdp_state_device_remove(back, U1), 0);
        ck_assert_int_eq(mdp_state_op_remove(back, U3), 1);
        ck_assert_ptr_null(mdp_state_op_get(back, U3));
}
END_TEST

START_TEST(test_state_keeps_unknown_sections)
{
        static const char in[] =
                "{\"version\":1,\"vms\":[{\"name\":\"vm1\"}],\"devices\":[],\"pasids\":{\"a\":1}}";
        _cleanup_(mdp_state_freep) struct mdp_state *s = NULL;
        _cleanup_free_ char *text = NULL, *err = NULL;

        ck_assert_int_eq(mdp_state_parse(in, strlen(in), &s, &err), 0);
        ck_assert_ptr_nonnull(mdp_state_extra(s));
        text = mdp_state_format(s);
        ck_assert_ptr_nonnull(strstr(text, "\"vms\": [\n    {\n      \"name\": \"vm1\"\n    }\n  ]"));
        ck_assert_ptr_nonnull(strstr(text, "\"pasids\": {\n    \"a\": 1\n  }"));
}
END_TEST

static void expect_parse_error(const char *in, int error, const char *needle)
{
        _cleanup_(mdp_state_freep) struct mdp_state *s = NULL;
        _cleanup_free_ char *err = NULL;

        ck_assert_int_eq(mdp_state_parse(in, strlen(in), &s, &err), error);
        ck_assert_ptr_null(s);
        ck_assert_msg(err && strstr(err, needle), "input %s: error \"%s\", expected \"%s\"", in, strna(err),
                      needle);
}

START_TEST(test_state_rejects)
{
        expect_parse_error("[]", -EINVAL, "top level");
        expect_parse_error("{}", -EINVAL, "version");
        expect_parse_error("{\"version\":\"1\"}", -EINVAL, "version");
        expect_parse_error("{\"version\":0}", -EINVAL, "version");
        expect_parse_error("{\"version\":2}", -EPROTONOSUPPORT, "newer");
        expect_parse_error("{\"version\":1,\"devices\":{}}", -EINVAL, "devices: not an array");
        expect_parse_error("{\"version\":1,\"devices\":[{\"uuid\":\"x\",\"parent\":\"p\",\"type\":\"t\"}]}",
                           -EINVAL, "devices[0].uuid");
        expect_parse_error("{\"version\":1,\"devices\":[{\"uuid\":\"" U1
                           "\",\"parent\":\"../p\",\"type\":\"t\"}]}",
                           -EINVAL, "devices[0].parent");
        expect_parse_error("{\"version\":1,\"devices\":[{\"uuid\":\"" U1
                           "\",\"parent\":\"p\",\"type\":\"t\"},"
                           "{\"uuid\":\"" U1 "\",\"parent\":\"p\",\"type\":\"t\"}]}",
                           -EINVAL, "listed twice");
        expect_parse_error("{\"version\":1,\"operations\":[{\"uuid\":\"" U1
                           "\",\"operation\":\"explode\",\"parent\":\"p\",\"type\":\"t\"}]}",
                           -EINVAL, "operations[0].operation");
        expect_parse_error("{\"version\":1,\"devices\":[{\"uuid\":\"" U1
                           "\",\"parent\":\"p\",\"type\":\"t\",\"started_usec\":-1}]}",
                           -EINVAL, "started_usec");
        expect_parse_error("{\"version\":1", -EINVAL, "line 1");
}
END_TEST

START_TEST(test_state_load_save)
{
        _cleanup_free_ char *root = test_mkdtemp("state"), *text = NULL, *err = NULL;
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_state_freep) struct mdp_state *s = NULL, *back = NULL;
        struct stat st;

        /* No file: an empty state, nothing created. */
        ck_assert_int_eq(mdp_state_load(ctx, &s, &err), 0);
        ck_assert(!test_exists(root, "var/lib/mdevpasid"));
        ck_assert_int_eq(mdp_state_device_set(s, U1, "mtty", "mtty-1", false, 1), 1);
        ck_assert_int_eq(mdp_state_save(ctx, s), 0);
        text = test_read(root, "var/lib/mdevpasid/state.json");
        ck_assert_ptr_nonnull(strstr(text, U1));
        ck_assert_int_eq(mdp_state_load(ctx, &back, &err), 0);
        ck_assert_ptr_nonnull(mdp_state_device_get(back, U1));
        /* No temporary file left behind. */
        ck_assert_int_eq(stat(root, &st), 0);
        {
                _cleanup_free_ char *fp = test_tree_fingerprint(root);
                ck_assert_ptr_null(strstr(fp, ".#"));
        }
        /* A broken file is an error naming the file. */
        test_write(root, "var/lib/mdevpasid/state.json", "{\"version\":1,\"devices\":7}");
        mdp_state_free(back);
        back = NULL;
        free(err);
        err = NULL;
        ck_assert_int_eq(mdp_state_load(ctx, &back, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "var/lib/mdevpasid/state.json: devices: not an array"));
        test_rm_rf(root);
}
END_TEST

/* ---- bus errors ---- */

START_TEST(test_bus_error_map)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;

        ck_assert_int_eq(mdp_bus_errors_register(), 0);
        ck_assert_int_eq(mdp_bus_errors_register(), 0);
        ck_assert_int_eq(mdp_bus_error_name_to_errno(MDP_ERROR_NO_CAPACITY), ENOSPC);
        ck_assert_int_eq(mdp_bus_error_name_to_errno(MDP_ERROR_BUSY), EBUSY);
        ck_assert_int_eq(mdp_bus_error_name_to_errno("org.example.Other"), 0);
        /* Registered with sd-bus: clients get the errno back from the name. */
        sd_bus_error_set(&e, MDP_ERROR_NO_CAPACITY, "full");
        ck_assert_int_eq(sd_bus_error_get_errno(&e), ENOSPC);
        sd_bus_error_free(&e);
        sd_bus_error_set(&e, MDP_ERROR_NO_SUCH_PARENT, "x");
        ck_assert_int_eq(sd_bus_error_get_errno(&e), ENODEV);
        sd_bus_error_free(&e);
        /* Every name of mdp-names.h is in the map. */
        {
                static const char *const names[] = {
                        MDP_ERROR_NO_SUCH_PARENT, MDP_ERROR_NO_SUCH_TYPE, MDP_ERROR_NO_SUCH_DEVICE,
                        MDP_ERROR_NO_SUCH_VM,     MDP_ERROR_NO_CAPACITY,  MDP_ERROR_ALREADY_EXISTS,
                        MDP_ERROR_BUSY,           MDP_ERROR_REFUSED,      MDP_ERROR_INVALID_CONFIG,
                        MDP_ERROR_NOT_AUTHORIZED, MDP_ERROR_TIMEOUT,      MDP_ERROR_KERNEL,
                };
                for (size_t i = 0; i < ELEMENTSOF(names); i++)
                        ck_assert_msg(mdp_bus_error_name_to_errno(names[i]) > 0, "%s not mapped", names[i]);
        }
}
END_TEST

START_TEST(test_bus_error_invalid_arg)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;

        ck_assert_int_eq(mdp_bus_error_invalid_arg(&e, "parent name", "../\x1b[31mx\"", "expected a name"),
                         -EINVAL);
        ck_assert_str_eq(e.name, MDP_ERROR_INVALID_ARGS);
        /* Control characters escaped, quotes escaped: hostile input cannot forge output. */
        ck_assert_str_eq(e.message, "Invalid parent name \"../\\x1b[31mx\\\"\": expected a name.");
        sd_bus_error_free(&e);
}
END_TEST

START_TEST(test_bus_error_mdev)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        struct mdp_mdev_error me = {
                .op = MDP_MDEV_OP_CREATE,
                .error = -ENOSPC,
                .object = MDP_MDEV_OBJECT_TYPE,
                .parent = "mtty",
                .type_id = "mtty-2",
                .uuid = U1,
                .available = 0,
        };

        ck_assert_int_eq(mdp_bus_error_set_mdev(&e, &me, NULL), -ENOSPC);
        ck_assert_str_eq(e.name, MDP_ERROR_NO_CAPACITY);
        ck_assert_ptr_nonnull(strstr(e.message, "no capacity left"));
        ck_assert_ptr_nonnull(strstr(e.message, U1));
        sd_bus_error_free(&e);
}
END_TEST

/* ---- holders ---- */

START_TEST(test_vfio_holders)
{
        _cleanup_free_ char *root = test_mkdtemp("hold"), *desc = NULL;
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        _cleanup_free_ struct mdp_vfio_holder *h = NULL;
        const char *nodes[] = {"/dev/vfio/4", "/dev/vfio/devices/vfio0"};
        size_t n = 99;

        /* pid 200: QEMU with the group open; pid 100: something with the cdev; pid 300: other. */
        test_symlink(root, "proc/200/fd/3", "/dev/null");
        test_symlink(root, "proc/200/fd/27", "/dev/vfio/4");
        test_write(root, "proc/200/comm", "qemu-system-x86\n");
        {
                _cleanup_free_ char *p = NULL;
                static const char cmdline[] =
                        "qemu-system-x86_64\0-name\0guest=vm1,debug-threads=on\0-m\0512";
                FILE *f;
                ck_assert_int_ge(asprintf(&p, "%s/proc/200/cmdline", root), 0);
                f = fopen(p, "we");
                ck_assert_ptr_nonnull(f);
                fwrite(cmdline, 1, sizeof(cmdline), f);
                fclose(f);
        }
        test_symlink(root, "proc/100/fd/5", "/dev/vfio/devices/vfio0");
        test_write(root, "proc/100/comm", "evil\x1b[0m\n");
        test_symlink(root, "proc/300/fd/1", "/dev/vfio/40");
        test_write(root, "proc/self", "not a pid");
        ctx = test_ctx(root);
        ck_assert_int_eq(mdp_vfio_holders_find(ctx, nodes, 2, &h, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(h[0].pid, 100);
        ck_assert_str_eq(h[0].comm, "evil?[0m"); /* control characters replaced */
        ck_assert_str_eq(h[0].guest, "");
        ck_assert_int_eq(h[1].pid, 200);
        ck_assert_str_eq(h[1].guest, "vm1");
        desc = mdp_vfio_holders_describe(h, n);
        ck_assert_str_eq(desc, "pid 100 (evil?[0m) holds /dev/vfio/devices/vfio0; pid 200 (qemu-system-x86, "
                               "guest vm1) holds /dev/vfio/4");
        test_rm_rf(root);
}
END_TEST

START_TEST(test_vfio_holders_no_proc)
{
        _cleanup_free_ char *root = test_mkdtemp("hold");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        struct mdp_vfio_holder *h = NULL;
        const char *nodes[] = {"/dev/vfio/4"};
        size_t n = 0;

        ck_assert_int_eq(mdp_vfio_holders_find(ctx, nodes, 1, &h, &n), -ENOENT);
        test_rm_rf(root);
}
END_TEST

/* ---- uevents ---- */

START_TEST(test_uevent_classify)
{
        const char *name;

        /* TESTING.md layer 7 §4.3: what the real kernel sends. */
        ck_assert_int_eq(
                uevent_classify("change", "mtty", "/devices/virtual/mtty/mtty", "registered", &name),
                UEVENT_PARENT_REGISTERED);
        ck_assert_str_eq(name, "mtty");
        ck_assert_int_eq(
                uevent_classify("change", "pci", "/devices/pci0000:00/0000:00:02.0", "unregistered", &name),
                UEVENT_PARENT_UNREGISTERED);
        ck_assert_str_eq(name, "0000:00:02.0");
        ck_assert_int_eq(uevent_classify("add", "mdev", "/devices/virtual/mdpy/mdpy/" U1, NULL, &name),
                         UEVENT_MDEV);
        ck_assert_str_eq(name, U1);
        ck_assert_int_eq(uevent_classify("bind", "mdev", "/devices/virtual/mdpy/mdpy/" U1, NULL, &name),
                         UEVENT_MDEV);
        ck_assert_int_eq(uevent_classify("unbind", "mdev", "/devices/virtual/mdpy/mdpy/" U1, NULL, &name),
                         UEVENT_MDEV);
        ck_assert_int_eq(uevent_classify("remove", "mdev", "/devices/virtual/mdpy/mdpy/" U1, NULL, &name),
                         UEVENT_MDEV);
        /* SR-IOV: change on a PF without MDEV_STATE. */
        ck_assert_int_eq(uevent_classify("change", "pci", "/devices/pci0000:00/0000:00:03.0", NULL, &name),
                         UEVENT_PCI_CHANGE);
        /* Old kernels: the parent's add (mdevctl's fallback) and remove. */
        ck_assert_int_eq(uevent_classify("add", "mtty", "/devices/virtual/mtty/mtty", NULL, &name),
                         UEVENT_DEVICE_ADDED);
        ck_assert_int_eq(uevent_classify("remove", "mtty", "/devices/virtual/mtty/mtty", NULL, &name),
                         UEVENT_DEVICE_REMOVED);
        ck_assert_int_eq(uevent_classify("change", "mtty", "/devices/virtual/mtty/mtty", "weird", &name),
                         UEVENT_IGNORE);
        ck_assert_int_eq(uevent_classify("change", "block", "/devices/virtual/block/loop0", NULL, &name),
                         UEVENT_IGNORE);
        ck_assert_int_eq(uevent_classify(NULL, "mdev", "/devices/x", NULL, &name), UEVENT_IGNORE);
        ck_assert_int_eq(uevent_classify("add", "mdev", "/devices/x/", NULL, &name), UEVENT_IGNORE);
}
END_TEST

static Suite *unit_suite(void)
{
        Suite *s = suite_create("daemon-unit");
        TCase *tc = tcase_create("unit");

        tcase_add_test(tc, test_state_roundtrip);
        tcase_add_test(tc, test_state_keeps_unknown_sections);
        tcase_add_test(tc, test_state_rejects);
        tcase_add_test(tc, test_state_load_save);
        tcase_add_test(tc, test_bus_error_map);
        tcase_add_test(tc, test_bus_error_invalid_arg);
        tcase_add_test(tc, test_bus_error_mdev);
        tcase_add_test(tc, test_vfio_holders);
        tcase_add_test(tc, test_vfio_holders_no_proc);
        tcase_add_test(tc, test_uevent_classify);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(unit_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
