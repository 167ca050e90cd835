/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mdev backend on plain trees and on a real-kernel capture: what it writes, what it
 * refuses before writing, and the sentences its errors become. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mdev-backend.h"
#include "mdp-names.h"
#include "test-help.h"
#include "util/macro.h"

#define P  "sys/devices/pci0000:00/0000:00:02.0"
#define T  P "/mdev_supported_types/"
#define U1 "93d027d2-1b51-482e-aab4-3da2abd511c0"
#define U2 "cc2a83fb-38a3-4a2a-9b14-a61bd6c96a31"

static void make_type(const char *root, const char *type, const char *avail)
{
        char p[512];

        snprintf(p, sizeof(p), T "%s/device_api", type);
        test_write(root, p, "vfio-pci\n");
        snprintf(p, sizeof(p), T "%s/create", type);
        test_write(root, p, "");
        snprintf(p, sizeof(p), T "%s/available_instances", type);
        test_write(root, p, avail);
        snprintf(p, sizeof(p), T "%s/devices", type);
        test_mkdir(root, p);
}

/* Parent 0000:00:02.0 with three types (one full), and a live mdev U1 with two settings. */
static char *make_tree(void)
{
        char *root = test_mkdtemp("be");

        make_type(root, "i915-GVTg_V5_4", "2\n");
        make_type(root, "i915-GVTg_V5_8", "4\n");
        make_type(root, "i915-full", "0\n");
        test_symlink(root, "sys/class/mdev_bus/0000:00:02.0", "../../devices/pci0000:00/0000:00:02.0");
        test_write(root, P "/" U1 "/remove", "");
        test_write(root, P "/" U1 "/uevent", "");
        test_write(root, P "/" U1 "/assign_adapter", "");
        test_write(root, P "/" U1 "/assign_domain", "");
        test_mkdir(root, P "/" U1 "/power");
        test_symlink(root, P "/" U1 "/mdev_type", "../mdev_supported_types/i915-GVTg_V5_4");
        test_symlink(root, "sys/bus/mdev/devices/" U1, "../../../devices/pci0000:00/0000:00:02.0/" U1);
        /* another parent whose type a link in the first parent points at */
        make_type(root, "../../../virtual/other/other/mdev_supported_types/other-1", "1\n");
        return root;
}

/* The paths whose fingerprint line differs (both fingerprints list the same paths). */
static char *changed_paths(const char *before, const char *after)
{
        _cleanup_free_ char *a = strdup(before), *b = strdup(after);
        char *sa = NULL, *sb = NULL, *la, *lb;
        char *out = calloc(1, 1);
        size_t len = 0;

        ck_assert_ptr_nonnull(out);
        for (la = strtok_r(a, "\n", &sa), lb = strtok_r(b, "\n", &sb); la || lb;
             la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb)) {
                ck_assert_msg(la && lb, "a file appeared or vanished");
                ck_assert_int_eq(strcspn(la, " "), strcspn(lb, " "));
                ck_assert_msg(strncmp(la, lb, strcspn(la, " ")) == 0, "paths differ: %s / %s", la, lb);
                if (streq(la, lb))
                        continue;
                out = realloc(out, len + strcspn(la, " ") + 2);
                memcpy(out + len, la, strcspn(la, " "));
                len += strcspn(la, " ");
                out[len++] = '\n';
                out[len] = '\0';
        }
        return out;
}

START_TEST(test_create_writes_uuid)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_free_ char *before = test_tree_fingerprint(root), *after = NULL, *changed = NULL;
        _cleanup_free_ char *content = NULL;
        struct mdp_mdev_error e;

        ck_assert_int_eq(mdp_mdev_create(ctx, "0000:00:02.0", "i915-GVTg_V5_8", U2, &e), 0);
        content = test_read(root, T "i915-GVTg_V5_8/create");
        ck_assert_str_eq(content, U2);
        after = test_tree_fingerprint(root);
        changed = changed_paths(before, after);
        ck_assert_str_eq(changed, "/" T "i915-GVTg_V5_8/create\n");
        /* no error struct is fine too */
        ck_assert_int_eq(mdp_mdev_create(ctx, "0000:00:02.0", "i915-GVTg_V5_4", U2, NULL), 0);
        free(content);
        content = test_read(root, T "i915-GVTg_V5_4/create");
        ck_assert_str_eq(content, U2);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_remove_writes_one)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_free_ char *before = test_tree_fingerprint(root), *after = NULL, *changed = NULL;
        _cleanup_free_ char *content = NULL;

        ck_assert_int_eq(mdp_mdev_remove(ctx, U1, NULL), 0);
        content = test_read(root, P "/" U1 "/remove");
        ck_assert_str_eq(content, "1");
        after = test_tree_fingerprint(root);
        changed = changed_paths(before, after);
        ck_assert_str_eq(changed, "/" P "/" U1 "/remove\n");
        test_rm_rf(root);
}
END_TEST

START_TEST(test_set_attrs_in_order)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_free_ char *a = NULL, *d = NULL;
        struct mdp_mdev_error e;

        /* vfio-ap style: the same attribute several times, in order; the last write stays */
        ck_assert_int_eq(mdp_mdev_set_attr(ctx, U1, "assign_adapter", "0x4", &e), 0);
        ck_assert_int_eq(mdp_mdev_set_attr(ctx, U1, "assign_domain", "0x2b", &e), 0);
        ck_assert_int_eq(mdp_mdev_set_attr(ctx, U1, "assign_adapter", "0x5", &e), 0);
        a = test_read(root, P "/" U1 "/assign_adapter");
        d = test_read(root, P "/" U1 "/assign_domain");
        ck_assert_str_eq(a, "0x5");
        ck_assert_str_eq(d, "0x2b");
        test_rm_rf(root);
}
END_TEST

/* Makes the change after delay_ms from a child that runs /bin/sh (under valgrind, a child
 * that only forks would report the parent's memory at _exit()). */
static void materialize(const char *root, const char *what, unsigned delay_ms)
{
        _cleanup_free_ char *cmd = NULL;
        pid_t pid;

        if (streq(what, "device"))
                ck_assert_int_ge(asprintf(&cmd,
                                          "sleep %u.%03u && mkdir '%s/" P "/" U2 "' && ln -s "
                                          "'../../../devices/pci0000:00/0000:00:02.0/" U2
                                          "' '%s/sys/bus/mdev/devices/" U2 "'",
                                          delay_ms / 1000, delay_ms % 1000, root, root),
                                 0);
        else if (streq(what, "driver"))
                ck_assert_int_ge(asprintf(&cmd,
                                          "sleep %u.%03u && ln -s '../../../../bus/mdev/drivers/i915' "
                                          "'%s/" P "/" U2 "/driver'",
                                          delay_ms / 1000, delay_ms % 1000, root),
                                 0);
        else
                ck_assert_int_ge(asprintf(&cmd, "sleep %u.%03u && rm '%s/sys/bus/mdev/devices/" U2 "'",
                                          delay_ms / 1000, delay_ms % 1000, root),
                                 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* the preloads (umockdev, ASan) are for the test, not for sh */
                unsetenv("LD_PRELOAD");
                execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
                _exit(127);
        }
}

static void reap(void)
{
        int status;

        ck_assert_int_ge(wait(&status), 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
}

START_TEST(test_wait)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_free_ char *msg = NULL;
        struct mdp_mdev_error e;
        struct timespec t0, t1;
        long ms;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        ck_assert_int_eq(mdp_mdev_wait(ctx, U2, MDP_MDEV_OP_WAIT_PRESENT, 60, &e), -ETIMEDOUT);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        ck_assert_int_ge(ms, 60);
        ck_assert_int_lt(ms, 1000);
        msg = mdp_mdev_error_message(&e);
        ck_assert_str_eq(msg,
                         "mdev " U2 " did not appear within 60 ms. Check the kernel log (dmesg) for the "
                         "vendor driver's probe error.");
        ck_assert_str_eq(mdp_mdev_error_dbus_name(&e), MDP_ERROR_TIMEOUT);

        materialize(root, "device", 40);
        ck_assert_int_eq(mdp_mdev_wait(ctx, U2, MDP_MDEV_OP_WAIT_PRESENT, 5000, &e), 0);
        reap();
        /* present but not bound yet (the kernel sends add before bind) */
        ck_assert_int_eq(mdp_mdev_wait(ctx, U2, MDP_MDEV_OP_WAIT_BOUND, 20, &e), -ETIMEDOUT);
        materialize(root, "driver", 40);
        ck_assert_int_eq(mdp_mdev_wait(ctx, U2, MDP_MDEV_OP_WAIT_BOUND, 5000, &e), 0);
        reap();
        ck_assert_int_eq(mdp_mdev_wait(ctx, U2, MDP_MDEV_OP_WAIT_GONE, 20, &e), -ETIMEDOUT);
        free(msg);
        msg = mdp_mdev_error_message(&e);
        ck_assert(startswith(msg, "mdev " U2 " was still present after 20 ms."));
        materialize(root, "gone", 40);
        ck_assert_int_eq(mdp_mdev_wait(ctx, U2, MDP_MDEV_OP_WAIT_GONE, 5000, &e), 0);
        reap();
        ck_assert_int_eq(mdp_mdev_wait(ctx, "not-a-uuid", MDP_MDEV_OP_WAIT_GONE, 10, &e), -EINVAL);
        ck_assert_int_eq(mdp_mdev_wait(ctx, U2, MDP_MDEV_OP_CREATE, 10, &e), -EINVAL);
        test_rm_rf(root);
}
END_TEST

/* Runs op, expects error r about object, checks the sentence and the D-Bus name, and that
 * nothing in the tree changed. */
#define EXPECT_REFUSED(call, err, obj, invalid_, dbus, fragment)                                            \
        do {                                                                                                \
                _cleanup_free_ char *_before = test_tree_fingerprint(root), *_after = NULL, *_msg = NULL;   \
                struct mdp_mdev_error _e;                                                                   \
                memset(&_e, 0x5a, sizeof(_e));                                                              \
                ck_assert_int_eq(call, err);                                                                \
                ck_assert_int_eq(_e.error, err);                                                            \
                ck_assert_int_eq(_e.object, obj);                                                           \
                ck_assert_int_eq(_e.invalid, invalid_);                                                     \
                ck_assert_str_eq(mdp_mdev_error_dbus_name(&_e), dbus);                                      \
                _msg = mdp_mdev_error_message(&_e);                                                         \
                ck_assert_msg(strstr(_msg, fragment), "message \"%s\" lacks \"%s\"", _msg, fragment);       \
                _after = test_tree_fingerprint(root);                                                       \
                ck_assert_str_eq(_before, _after);                                                          \
        } while (0)

START_TEST(test_create_errors)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);

        EXPECT_REFUSED(mdp_mdev_create(ctx, "nope", "i915-GVTg_V5_4", U2, &_e), -ENOENT,
                       MDP_MDEV_OBJECT_PARENT, false, MDP_ERROR_NO_SUCH_PARENT,
                       "Cannot create mdev " U2
                       " (type i915-GVTg_V5_4 on parent nope): parent nope is not in "
                       "/sys/class/mdev_bus. Check that its driver is loaded");
        EXPECT_REFUSED(mdp_mdev_create(ctx, "0000:00:02.0", "nope", U2, &_e), -ENOENT, MDP_MDEV_OBJECT_TYPE,
                       false, MDP_ERROR_NO_SUCH_TYPE,
                       "parent 0000:00:02.0 has no type nope. List its types with \"mdevpasidctl types -p "
                       "0000:00:02.0\".");
        EXPECT_REFUSED(mdp_mdev_create(ctx, "0000:00:02.0", "i915-GVTg_V5_4", U1, &_e), -EEXIST,
                       MDP_MDEV_OBJECT_DEVICE, false, MDP_ERROR_ALREADY_EXISTS,
                       "an mdev with this UUID already exists. Choose another UUID");
        EXPECT_REFUSED(
                mdp_mdev_create(ctx, "0000:00:02.0", "i915-full", U2, &_e), -ENOSPC, MDP_MDEV_OBJECT_TYPE,
                false, MDP_ERROR_NO_CAPACITY,
                "type i915-full has no capacity left (available_instances is 0). Remove an mdev of parent "
                "0000:00:02.0, or choose another type.");
        /* a type entry that is a link out of mdev_supported_types is not a type */
        test_symlink(root, T "escape", "../../../virtual/other/other/mdev_supported_types/other-1");
        EXPECT_REFUSED(mdp_mdev_create(ctx, "0000:00:02.0", "escape", U2, &_e), -ENOENT,
                       MDP_MDEV_OBJECT_TYPE, false, MDP_ERROR_NO_SUCH_TYPE, "has no type escape");
        /* a type without a create file; a create that is a directory */
        test_mkdir(root, T "nocreate");
        EXPECT_REFUSED(mdp_mdev_create(ctx, "0000:00:02.0", "nocreate", U2, &_e), -ENOENT,
                       MDP_MDEV_OBJECT_TYPE, false, MDP_ERROR_NO_SUCH_TYPE, "has no type nocreate");
        test_mkdir(root, T "dircreate/create");
        EXPECT_REFUSED(mdp_mdev_create(ctx, "0000:00:02.0", "dircreate", U2, &_e), -ENOENT,
                       MDP_MDEV_OBJECT_TYPE, false, MDP_ERROR_NO_SUCH_TYPE, "has no type dircreate");
        /* a parent entry that is a plain file */
        test_write(root, "sys/class/mdev_bus/afile", "x");
        EXPECT_REFUSED(mdp_mdev_create(ctx, "afile", "x", U2, &_e), -ENOENT, MDP_MDEV_OBJECT_PARENT, false,
                       MDP_ERROR_NO_SUCH_PARENT, "parent afile is not in");
        test_rm_rf(root);
}
END_TEST

START_TEST(test_remove_and_attr_errors)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        char big[5000];

        EXPECT_REFUSED(mdp_mdev_remove(ctx, U2, &_e), -ENOENT, MDP_MDEV_OBJECT_DEVICE, false,
                       MDP_ERROR_NO_SUCH_DEVICE,
                       "Cannot remove mdev " U2 ": no mdev " U2 " exists (already removed?).");
        EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U2, "assign_adapter", "1", &_e), -ENOENT,
                       MDP_MDEV_OBJECT_DEVICE, false, MDP_ERROR_NO_SUCH_DEVICE, "no mdev " U2 " exists");
        EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U1, "nope", "1", &_e), -ENOENT, MDP_MDEV_OBJECT_ATTRIBUTE,
                       false, MDP_ERROR_INVALID_CONFIG,
                       "Cannot set attribute nope of mdev " U1 ": the device has no attribute nope.");
        EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U1, "remove", "1", &_e), -EINVAL, MDP_MDEV_OBJECT_ATTRIBUTE,
                       true, MDP_ERROR_INVALID_ARGS,
                       "Attribute \"remove\" cannot be set: it is not a device setting");
        EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U1, "uevent", "add", &_e), -EINVAL, MDP_MDEV_OBJECT_ATTRIBUTE,
                       true, MDP_ERROR_INVALID_ARGS, "cannot be set");
        EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U1, "mdev_type", "x", &_e), -EINVAL, MDP_MDEV_OBJECT_ATTRIBUTE,
                       true, MDP_ERROR_INVALID_ARGS, "cannot be set");
        EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U1, "power", "x", &_e), -EINVAL, MDP_MDEV_OBJECT_ATTRIBUTE,
                       true, MDP_ERROR_INVALID_ARGS, "cannot be set");
        test_mkdir(root, P "/" U1 "/subdir");
        EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U1, "subdir", "x", &_e), -EINVAL, MDP_MDEV_OBJECT_ATTRIBUTE,
                       true, MDP_ERROR_INVALID_ARGS,
                       "Attribute \"subdir\" of mdev " U1 " is not a writable file.");
        test_symlink(root, P "/" U1 "/alink", "assign_adapter");
        EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U1, "alink", "x", &_e), -EINVAL, MDP_MDEV_OBJECT_ATTRIBUTE,
                       true, MDP_ERROR_INVALID_ARGS, "is not a writable file");
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U1, "assign_adapter", big, &_e), -EINVAL,
                       MDP_MDEV_OBJECT_VALUE, true, MDP_ERROR_INVALID_ARGS,
                       "Invalid value for attribute assign_adapter: at most 4095 bytes");
        EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U1, "assign_adapter", NULL, &_e), -EINVAL,
                       MDP_MDEV_OBJECT_VALUE, true, MDP_ERROR_INVALID_ARGS, "Invalid value");
        test_rm_rf(root);
}
END_TEST

static const char *const bad_names[] = {
        "../x", "a/b", ".", "..", "", "a\nb", "/abs", "x/", "..\n", "tab\there", "del\x7f",
};
static const char *const bad_uuids[] = {
        "93D027D2-1B51-482E-AAB4-3DA2ABD511C0", /* uppercase: the CLI may normalize, the backend does not */
        "93d027d2-1b51-482e-aab4-3da2abd511c",  "93d027d2-1b51-482e-aab4-3da2abd511c0\n",
        "93d027d21b51482eaab43da2abd511c0",     "../../../../../etc/passwd-aaaaaaaaaa",
        "93d027d2-1b51-482e-aab4-3da2abd511g0", "",
};

START_TEST(test_validation)
{
        _cleanup_free_ char *root = make_tree();
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        char longname[400];

        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(bad_names); i++) {
                const char *n = bad_names[i];

                EXPECT_REFUSED(mdp_mdev_create(ctx, n, "i915-GVTg_V5_4", U2, &_e), -EINVAL,
                               MDP_MDEV_OBJECT_PARENT, true, MDP_ERROR_INVALID_ARGS,
                               "Invalid parent name \"");
                EXPECT_REFUSED(mdp_mdev_create(ctx, "0000:00:02.0", n, U2, &_e), -EINVAL,
                               MDP_MDEV_OBJECT_TYPE, true, MDP_ERROR_INVALID_ARGS, "Invalid type name \"");
                EXPECT_REFUSED(mdp_mdev_set_attr(ctx, U1, n, "1", &_e), -EINVAL, MDP_MDEV_OBJECT_ATTRIBUTE,
                               true, MDP_ERROR_INVALID_ARGS, "Invalid attribute name \"");
                ck_assert(!mdp_mdev_attr_name_is_valid(n));
        }
        EXPECT_REFUSED(mdp_mdev_create(ctx, longname, "i915-GVTg_V5_4", U2, &_e), -EINVAL,
                       MDP_MDEV_OBJECT_PARENT, true, MDP_ERROR_INVALID_ARGS, "at most 255 bytes");
        EXPECT_REFUSED(mdp_mdev_create(ctx, "0000:00:02.0", longname, U2, &_e), -EINVAL,
                       MDP_MDEV_OBJECT_TYPE, true, MDP_ERROR_INVALID_ARGS, "\"...");
        EXPECT_REFUSED(mdp_mdev_create(ctx, "0000:00:02.0", "a\nb", U2, &_e), -EINVAL, MDP_MDEV_OBJECT_TYPE,
                       true, MDP_ERROR_INVALID_ARGS, "Invalid type name \"a\\nb\"");
        EXPECT_REFUSED(mdp_mdev_create(ctx, NULL, "x", U2, &_e), -EINVAL, MDP_MDEV_OBJECT_PARENT, true,
                       MDP_ERROR_INVALID_ARGS, "Invalid parent name (none)");
        for (size_t i = 0; i < ELEMENTSOF(bad_uuids); i++) {
                const char *u = bad_uuids[i];

                EXPECT_REFUSED(
                        mdp_mdev_create(ctx, "0000:00:02.0", "i915-GVTg_V5_4", u, &_e), -EINVAL,
                        MDP_MDEV_OBJECT_DEVICE, true, MDP_ERROR_INVALID_ARGS,
                        "expected the canonical lowercase form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.");
                EXPECT_REFUSED(mdp_mdev_remove(ctx, u, &_e), -EINVAL, MDP_MDEV_OBJECT_DEVICE, true,
                               MDP_ERROR_INVALID_ARGS, "Invalid UUID \"");
                EXPECT_REFUSED(mdp_mdev_set_attr(ctx, u, "assign_adapter", "1", &_e), -EINVAL,
                               MDP_MDEV_OBJECT_DEVICE, true, MDP_ERROR_INVALID_ARGS, "Invalid UUID");
        }
        ck_assert(mdp_mdev_attr_name_is_valid("assign_adapter"));
        ck_assert(!mdp_mdev_attr_name_is_valid(longname));
        test_rm_rf(root);
}
END_TEST

/* Kernel errnos the plain tree cannot produce: the same sentences, built from (op, errno,
 * objects) alone as the daemon will. */
START_TEST(test_messages)
{
        static const struct {
                struct mdp_mdev_error e;
                const char *message, *dbus;
        } cases[] = {
                {{.op = MDP_MDEV_OP_REMOVE, .error = -EBUSY, .uuid = U1, .available = -1},
                 "Cannot remove mdev " U1
                 ": the device is busy: a VFIO user (a running VM?) holds it. Stop it "
                 "and retry.",
                 MDP_ERROR_BUSY},
                {{.op = MDP_MDEV_OP_CREATE,
                  .error = -EINVAL,
                  .parent = "mbochs",
                  .type_id = "mbochs-large",
                  .uuid = U1,
                  .available = -1},
                 "Cannot create mdev " U1
                 " (type mbochs-large on parent mbochs): the kernel rejected the request "
                 "(invalid argument). Check the UUID and that the vendor driver accepts this type now.",
                 MDP_ERROR_KERNEL},
                {{.op = MDP_MDEV_OP_CREATE,
                  .error = -ENOSPC,
                  .object = MDP_MDEV_OBJECT_TYPE,
                  .parent = "mbochs",
                  .type_id = "mbochs-large",
                  .uuid = U1,
                  .available = -1},
                 "Cannot create mdev " U1
                 " (type mbochs-large on parent mbochs): type mbochs-large has no capacity "
                 "left. Remove an mdev of parent mbochs, or choose another type.",
                 MDP_ERROR_NO_CAPACITY},
                {{.op = MDP_MDEV_OP_CREATE,
                  .error = -EEXIST,
                  .object = MDP_MDEV_OBJECT_DEVICE,
                  .parent = "mtty",
                  .type_id = "mtty-2",
                  .uuid = U1,
                  .available = -1},
                 "Cannot create mdev " U1
                 " (type mtty-2 on parent mtty): an mdev with this UUID already exists. "
                 "Choose another UUID, or remove the existing device first.",
                 MDP_ERROR_ALREADY_EXISTS},
                {{.op = MDP_MDEV_OP_CREATE,
                  .error = -ENODEV,
                  .object = MDP_MDEV_OBJECT_PARENT,
                  .parent = "mtty",
                  .type_id = "mtty-2",
                  .uuid = U1,
                  .available = -1},
                 "Cannot create mdev " U1 " (type mtty-2 on parent mtty): parent mtty is not in "
                 "/sys/class/mdev_bus. Check that its driver is loaded (list parents with \"mdevpasidctl "
                 "parents\").",
                 MDP_ERROR_NO_SUCH_PARENT},
                {{.op = MDP_MDEV_OP_SET_ATTR,
                  .error = -EINVAL,
                  .object = MDP_MDEV_OBJECT_VALUE,
                  .uuid = U1,
                  .attr = "assign_adapter",
                  .available = -1},
                 "Cannot set attribute assign_adapter of mdev " U1 ": the vendor driver rejected the value "
                 "(invalid argument). Check the value against the driver's documentation.",
                 MDP_ERROR_KERNEL},
                {{.op = MDP_MDEV_OP_REMOVE, .error = -EACCES, .uuid = U1, .available = -1},
                 "Cannot remove mdev " U1
                 ": permission denied. Run as root, or through the mdevpasid daemon.",
                 MDP_ERROR_NOT_AUTHORIZED},
                {{.op = MDP_MDEV_OP_REMOVE, .error = -EIO, .uuid = U1, .available = -1},
                 "Cannot remove mdev " U1 ": Input/output error.",
                 MDP_ERROR_KERNEL},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *m = mdp_mdev_error_message(&cases[i].e);
                ck_assert_str_eq(m, cases[i].message);
                ck_assert_str_eq(mdp_mdev_error_dbus_name(&cases[i].e), cases[i].dbus);
        }
}
END_TEST

/* On a real capture: the mbochs parent of x86-6.12-sm (create files are mode 0200). */
START_TEST(test_fixture_create)
{
        _cleanup_free_ char *root = test_unpack_fixture("x86-6.12-sm");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_free_ char *content = NULL;
        static const char *const u = "0d5c4a1e-77b3-4c55-9a0c-2f1e6f0a9b11";

        ck_assert_int_eq(mdp_mdev_create(ctx, "mbochs", "mbochs-large", u, NULL), 0);
        content = test_read(root,
                            "sys/devices/virtual/mbochs/mbochs/mdev_supported_types/mbochs-large/create");
        ck_assert_str_eq(content, u);
        /* the live mdbochs mdev of the capture */
        EXPECT_REFUSED(
                mdp_mdev_create(ctx, "mbochs", "mbochs-small", "93d027d2-1b51-482e-aab4-3da2abd511c0", &_e),
                -EEXIST, MDP_MDEV_OBJECT_DEVICE, false, MDP_ERROR_ALREADY_EXISTS, "already exists");
        EXPECT_REFUSED(mdp_mdev_create(ctx, "mtty", "mbochs-small", u, &_e), -ENOENT, MDP_MDEV_OBJECT_TYPE,
                       false, MDP_ERROR_NO_SUCH_TYPE, "parent mtty has no type mbochs-small");
        ck_assert_int_eq(mdp_mdev_remove(ctx, "29a5d629-5236-452f-9c1b-1e3b31a976cc", NULL), 0);
        free(content);
        content =
                test_read(root, "sys/devices/virtual/mtty/mtty/29a5d629-5236-452f-9c1b-1e3b31a976cc/remove");
        ck_assert_str_eq(content, "1");
        test_rm_rf(root);
}
END_TEST

static Suite *backend_suite(void)
{
        Suite *s = suite_create("backend");
        TCase *tc = tcase_create("writes");

        tcase_add_test(tc, test_create_writes_uuid);
        tcase_add_test(tc, test_remove_writes_one);
        tcase_add_test(tc, test_set_attrs_in_order);
        tcase_add_test(tc, test_wait);
        tcase_add_test(tc, test_fixture_create);
        suite_add_tcase(s, tc);
        tc = tcase_create("refusals");
        tcase_add_test(tc, test_create_errors);
        tcase_add_test(tc, test_remove_and_attr_errors);
        tcase_add_test(tc, test_validation);
        tcase_add_test(tc, test_messages);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(backend_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
