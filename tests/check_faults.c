/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Storage faults (issue 10): a full or read-only /etc (and /var/lib) while a definition or
 * the state file is written. The old file must stay as it was, no temporary file may be
 * left behind, and the error must say what is wrong.
 *
 * What is real: the file systems. Each test runs in its own mount namespace (Check forks
 * every test; unshare(CLONE_NEWNS) in that child) and mounts a tiny tmpfs (size= for a full
 * disk, nr_inodes= for a file system out of inodes) or a read-only bind mount over the
 * test's MDEVPASID_ROOT. The mounts vanish with the test process.
 * What is faked: nothing in the library; the daemon test runs the real mdevpasidd on a
 * private bus over the simulated host (tests/harness.h).
 * Needs root (CAP_SYS_ADMIN) for the mounts: without it each test says SKIP and passes. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "definition.h"
#include "harness.h"
#include "mdp-names.h"
#include "state.h"
#include "test-help.h"
#include "util/macro.h"

#define U1 "5a1c0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c01"
#define U2 "5a1c0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c02"

/* A private mount namespace for this forked test. false (and a SKIP line) without the
 * privilege to make one. */
static bool private_mounts(const char *test)
{
        if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "SKIP: %s: needs root to mount a tmpfs in a private namespace (%s)\n", test,
                        strerror(errno));
                return false;
        }
        return true;
}

static char *path_in(const char *root, const char *rel)
{
        char *p;
        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        return p;
}

static void mount_tmpfs(const char *root, const char *rel, const char *options)
{
        _cleanup_free_ char *p = path_in(root, rel);

        test_mkdir(root, rel);
        ck_assert_msg(mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, options) == 0,
                      "mount tmpfs %s on %s: %s", options, p, strerror(errno));
}

static void mount_readonly(const char *root, const char *rel)
{
        _cleanup_free_ char *p = path_in(root, rel);

        ck_assert_msg(mount(p, p, NULL, MS_BIND, NULL) == 0, "bind %s: %s", p, strerror(errno));
        ck_assert_msg(mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) == 0, "remount ro %s: %s",
                      p, strerror(errno));
}

static void unmount(const char *root, const char *rel)
{
        _cleanup_free_ char *p = path_in(root, rel);
        ck_assert_msg(umount2(p, MNT_DETACH) == 0, "umount %s: %s", p, strerror(errno));
}

/* Fills the file system holding root/rel's directory: pages until ENOSPC. */
static void fill_space(const char *root, const char *rel)
{
        _cleanup_free_ char *p = path_in(root, rel);
        char block[4096];
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ssize_t n;

        ck_assert_msg(fd >= 0, "%s: %s", p, strerror(errno));
        memset(block, 'x', sizeof(block));
        while ((n = write(fd, block, sizeof(block))) > 0)
                ;
        ck_assert_msg(n < 0 && errno == ENOSPC, "filling %s: %s", p,
                      n < 0 ? strerror(errno) : "short write");
        close(fd);
}

/* Uses up every inode of the file system holding root/dir with empty files. */
static void fill_inodes(const char *root, const char *dir)
{
        for (unsigned i = 0;; i++) {
                char rel[256];
                _cleanup_free_ char *p = NULL;
                int fd;

                snprintf(rel, sizeof(rel), "%s/filler-%u", dir, i);
                p = path_in(root, rel);
                fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd < 0) {
                        ck_assert_msg(errno == ENOSPC, "%s: %s", p, strerror(errno));
                        return;
                }
                close(fd);
                ck_assert_uint_lt(i, 100000);
        }
}

/* The directory's entries other than keep (NULL: any), joined; "" when there are none. */
static char *stray_files(const char *root, const char *rel, const char *keep, const char *keep2)
{
        _cleanup_free_ char *p = path_in(root, rel);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        DIR *d = opendir(p);
        struct dirent *de;

        ck_assert_msg(d, "%s: %s", p, strerror(errno));
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' || (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0))
                        if ((!keep || strcmp(de->d_name, keep) != 0) &&
                            (!keep2 || strcmp(de->d_name, keep2) != 0) &&
                            strncmp(de->d_name, "filler", 6) != 0)
                                fprintf(f, "%s ", de->d_name);
        closedir(d);
        fclose(f);
        return out;
}

static struct mdp_definition *new_def(const char *parent, const char *uuid, unsigned n_attrs)
{
        struct mdp_definition *d = NULL;

        ck_assert_int_eq(mdp_definition_new(parent, uuid, "mtty-1", false, &d), 0);
        for (unsigned i = 0; i < n_attrs; i++) {
                char name[32];
                snprintf(name, sizeof(name), "attr%u", i);
                /* long values: the new file needs pages the full file system does not have */
                ck_assert_int_eq(mdp_definition_add_attr(d, name, "0123456789abcdef0123456789abcdef", -1),
                                 0);
        }
        return d;
}

/* The definition file still reads back as the old one. */
static void assert_def_is(struct mdp_ctx *ctx, const char *root, const char *parent, const char *uuid,
                          const char *expect)
{
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL;
        _cleanup_free_ char *rel = NULL, *text = NULL, *err = NULL;

        ck_assert_int_ge(asprintf(&rel, "etc/mdevctl.d/%s/%s", parent, uuid), 0);
        text = test_read(root, rel);
        ck_assert_msg(text, "%s is gone", rel);
        ck_assert_str_eq(text, expect);
        ck_assert_msg(mdp_definition_load(ctx, parent, uuid, &d, &err) == 0, "%s: %s", rel, err);
}

START_TEST(test_definition_disk_full)
{
        _cleanup_free_ char *root = test_mkdtemp("faults"), *old = NULL, *stray = NULL;
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = new_def("mtty", U1, 0), *big = NULL;

        if (!private_mounts("definition_disk_full"))
                return;
        ctx = test_ctx(root);
        /* 16 pages: the definitions, then nothing left */
        mount_tmpfs(root, "etc", "size=64k,mode=0755");
        ck_assert_int_eq(mdp_definition_save(ctx, d), 0);
        old = mdp_definition_format(d);
        assert_def_is(ctx, root, "mtty", U1, old);

        fill_space(root, "etc/filler");
        big = new_def("mtty", U1, 200); /* about 10 KiB */
        ck_assert_int_eq(mdp_definition_save(ctx, big), -ENOSPC);
        assert_def_is(ctx, root, "mtty", U1, old);
        stray = stray_files(root, "etc/mdevctl.d/mtty", U1, NULL);
        ck_assert_msg(!*stray, "left behind in mdevctl.d/mtty: %s", stray);
        /* a new definition fails the same way and leaves nothing */
        {
                _cleanup_(mdp_definition_freep) struct mdp_definition *d2 = new_def("mtty", U2, 200);
                _cleanup_free_ char *stray2 = NULL;
                ck_assert_int_eq(mdp_definition_save(ctx, d2), -ENOSPC);
                stray2 = stray_files(root, "etc/mdevctl.d/mtty", U1, NULL);
                ck_assert_msg(!*stray2, "left behind in mdevctl.d/mtty: %s", stray2);
        }

        /* space again: the same save goes through */
        {
                _cleanup_free_ char *filler = path_in(root, "etc/filler");
                ck_assert_int_eq(unlink(filler), 0);
        }
        ck_assert_int_eq(mdp_definition_save(ctx, big), 0);
        {
                _cleanup_free_ char *now = mdp_definition_format(big);
                assert_def_is(ctx, root, "mtty", U1, now);
        }
        unmount(root, "etc");
        test_rm_rf(root);
}
END_TEST

START_TEST(test_definition_no_inodes)
{
        _cleanup_free_ char *root = test_mkdtemp("faults"), *old = NULL, *stray = NULL;
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = new_def("mtty", U1, 0), *d2 = NULL;

        if (!private_mounts("definition_no_inodes"))
                return;
        ctx = test_ctx(root);
        mount_tmpfs(root, "etc", "size=1m,nr_inodes=64,mode=0755");
        ck_assert_int_eq(mdp_definition_save(ctx, d), 0);
        old = mdp_definition_format(d);
        fill_inodes(root, "etc/mdevctl.d");

        /* the temporary file cannot be made: the old file is all there is */
        ck_assert_int_eq(mdp_definition_add_attr(d, "x", "1", -1), 0);
        ck_assert_int_eq(mdp_definition_save(ctx, d), -ENOSPC);
        assert_def_is(ctx, root, "mtty", U1, old);
        stray = stray_files(root, "etc/mdevctl.d/mtty", U1, NULL);
        ck_assert_msg(!*stray, "left behind: %s", stray);
        /* a new parent's directory cannot be made either */
        d2 = new_def("mdpy", U2, 0);
        ck_assert_int_eq(mdp_definition_save(ctx, d2), -ENOSPC);
        unmount(root, "etc");
        test_rm_rf(root);
}
END_TEST

START_TEST(test_definition_read_only)
{
        _cleanup_free_ char *root = test_mkdtemp("faults"), *old = NULL, *stray = NULL;
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = new_def("mtty", U1, 1), *d2 = NULL;

        if (!private_mounts("definition_read_only"))
                return;
        ctx = test_ctx(root);
        ck_assert_int_eq(mdp_definition_save(ctx, d), 0);
        old = mdp_definition_format(d);
        mount_readonly(root, "etc");

        ck_assert_int_eq(mdp_definition_add_attr(d, "x", "1", -1), 0);
        ck_assert_int_eq(mdp_definition_save(ctx, d), -EROFS);
        assert_def_is(ctx, root, "mtty", U1, old);
        ck_assert_int_eq(mdp_definition_remove(ctx, "mtty", U1), -EROFS);
        assert_def_is(ctx, root, "mtty", U1, old);
        d2 = new_def("mdpy", U2, 0); /* a parent with no directory yet */
        ck_assert_int_eq(mdp_definition_save(ctx, d2), -EROFS);
        stray = stray_files(root, "etc/mdevctl.d/mtty", U1, NULL);
        ck_assert_msg(!*stray, "left behind: %s", stray);

        unmount(root, "etc");
        ck_assert_int_eq(mdp_definition_save(ctx, d), 0);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_state_disk_full_and_read_only)
{
        _cleanup_free_ char *root = test_mkdtemp("faults"), *old = NULL, *now = NULL, *stray = NULL;
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        _cleanup_(mdp_state_freep) struct mdp_state *s = NULL, *back = NULL;
        _cleanup_free_ char *err = NULL;

        if (!private_mounts("state_disk_full"))
                return;
        ctx = test_ctx(root);
        mount_tmpfs(root, "var/lib/mdevpasid", "size=64k,mode=0755");
        ck_assert_int_eq(mdp_state_new(&s), 0);
        ck_assert_int_eq(mdp_state_device_set(s, U1, "mtty", "mtty-1", false, 1), 1);
        ck_assert_int_eq(mdp_state_save(ctx, s), 0);
        old = test_read(root, "var/lib/mdevpasid/state.json");
        ck_assert_ptr_nonnull(old);

        fill_space(root, "var/lib/mdevpasid/filler");
        /* enough entries that the new file needs more than the page the old one frees */
        for (unsigned i = 0; i < 200; i++) {
                char u[MDP_UUID_STRING_MAX];
                snprintf(u, sizeof(u), "5a1c0e2d-7b3f-4e8a-9c6d-%012x", i + 16);
                ck_assert_int_eq(mdp_state_device_set(s, u, "mtty", "mtty-1", true, i), 1);
        }
        ck_assert_int_eq(mdp_state_save(ctx, s), -ENOSPC);
        now = test_read(root, "var/lib/mdevpasid/state.json");
        ck_assert_str_eq(now, old);
        ck_assert_int_eq(mdp_state_load(ctx, &back, &err), 0);
        ck_assert_ptr_nonnull(mdp_state_device_get(back, U1));
        stray = stray_files(root, "var/lib/mdevpasid", "state.json", NULL);
        ck_assert_msg(!*stray, "left behind: %s", stray);
        unmount(root, "var/lib/mdevpasid");

        /* read-only /var/lib */
        ck_assert_int_eq(mdp_state_save(ctx, back), 0);
        mount_readonly(root, "var/lib");
        ck_assert_int_eq(mdp_state_save(ctx, s), -EROFS);
        free(now);
        now = test_read(root, "var/lib/mdevpasid/state.json");
        ck_assert_str_eq(now, old);
        unmount(root, "var/lib");
        test_rm_rf(root);
}
END_TEST

/* ---- the daemon: what a caller sees ------------------------------------------------------ */

static pid_t spawn_daemon(struct harness *h)
{
        char *argv[] = {(char *)harness_program("daemon/mdevpasidd"), "--start-timeout=5000",
                        "--stop-timeout=1500", "--autostart-delay=100", NULL};
        return harness_spawn_service(h, MDP_BUS_NAME, 20000, argv, NULL);
}

/* A Manager call that must fail; its error message (malloc'd), the name in *ret_name. */
static char *call_fails(struct harness *h, char **ret_name, const char *member, const char *types, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char *msg;
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, member, &e,
                                &reply, types, ap);
        va_end(ap);
        sd_bus_message_unref(reply);
        ck_assert_msg(r < 0, "%s succeeded on a full or read-only file system", member);
        msg = strdup(e.message ? e.message : "");
        *ret_name = strdup(e.name ? e.name : "");
        sd_bus_error_free(&e);
        return msg;
}

static void call_succeeds(struct harness *h, const char *member, const char *types, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, member, &e,
                                &reply, types, ap);
        va_end(ap);
        ck_assert_msg(r >= 0, "%s failed: %s: %s", member, e.name, e.message);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
}

/* Whether the daemon has the device defined (its Defined property; false when it has no
 * object for it). */
static bool daemon_defines(struct harness *h, const char *uuid)
{
        _cleanup_free_ char *path = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int v = 0, r;

        ck_assert_int_ge(sd_bus_path_encode(MDP_OBJECT_DEVICES, uuid, &path), 0);
        r = sd_bus_get_property_trivial(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_DEVICE, "Defined", &e,
                                        'b', &v);
        sd_bus_error_free(&e);
        return r >= 0 && v;
}

/* The error is about storage, says which file and what to do, and is not one of the
 * daemon's own conditions (NoCapacity means the parent has no room for another mdev). */
static void assert_storage_error(const char *name, const char *msg, const char *uuid, const char *errno_text,
                                 const char *advice)
{
        fprintf(stderr, "storage error as the caller sees it: %s: %s\n", name, msg);
        ck_assert_msg(strstr(msg, uuid) && strstr(msg, "/etc/mdevctl.d/") && strstr(msg, errno_text) &&
                              strstr(msg, advice),
                      "unclear error %s: \"%s\"", name, msg);
        ck_assert_msg(strcmp(name, MDP_ERROR_NO_CAPACITY) != 0 &&
                              strcmp(name, MDP_ERROR_NOT_AUTHORIZED) != 0 &&
                              strcmp(name, MDP_ERROR_REFUSED) != 0,
                      "a storage failure reported as %s: %s", name, msg);
}

START_TEST(test_daemon_full_and_read_only_etc)
{
        struct harness *h;
        _cleanup_free_ char *old = NULL, *msg = NULL, *name = NULL, *now = NULL;
        const char *root;
        pid_t d;

        if (!private_mounts("daemon_full_and_read_only_etc"))
                return;
        h = harness_start(&(struct harness_opts){.fixture = "x86-6.12-sm"});
        root = harness_root(h);
        mount_tmpfs(root, "etc/mdevctl.d", "size=64k,mode=0755");
        d = spawn_daemon(h);
        call_succeeds(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U1, 0, 0, 0);
        old = test_read(root, "etc/mdevctl.d/mtty/" U1);
        ck_assert_ptr_nonnull(old);

        /* disk full: Define and Modify fail, saying so; nothing changes */
        fill_space(root, "etc/mdevctl.d/.filler");
        msg = call_fails(h, &name, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U2, 0, 0, 0);
        assert_storage_error(name, msg, U2, "No space left on device", "Free space");
        ck_assert(!daemon_defines(h, U2));
        ck_assert(!test_exists(root, "etc/mdevctl.d/mtty/" U2));
        free(msg);
        free(name);
        msg = call_fails(h, &name, "Modify", "ssa{sv}", U1, "mtty", 1, "Start", "s", "auto");
        assert_storage_error(name, msg, U1, "No space left on device", "Free space");
        now = test_read(root, "etc/mdevctl.d/mtty/" U1);
        ck_assert_str_eq(now, old);
        {
                _cleanup_free_ char *stray = stray_files(root, "etc/mdevctl.d/mtty", U1, NULL);
                ck_assert_msg(!*stray, "left behind: %s", stray);
        }

        /* read-only: Define, Modify and Undefine fail, saying so; the daemon keeps serving */
        {
                _cleanup_free_ char *filler = path_in(root, "etc/mdevctl.d/.filler");
                ck_assert_int_eq(unlink(filler), 0);
        }
        mount_readonly(root, "etc/mdevctl.d");
        free(msg);
        free(name);
        msg = call_fails(h, &name, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U2, 0, 0, 0);
        assert_storage_error(name, msg, U2, "Read-only file system", "Make /etc writable");
        free(msg);
        free(name);
        msg = call_fails(h, &name, "Undefine", "ss", U1, "mtty");
        assert_storage_error(name, msg, U1, "Read-only file system", "Make /etc writable");
        ck_assert(daemon_defines(h, U1));
        free(now);
        now = test_read(root, "etc/mdevctl.d/mtty/" U1);
        ck_assert_str_eq(now, old);
        call_succeeds(h, "ListDevices", "b", 0);

        /* writable again: the same calls go through */
        unmount(root, "etc/mdevctl.d");
        call_succeeds(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", U2, 0, 0, 0);
        ck_assert(daemon_defines(h, U2));
        harness_kill(h, d, SIGTERM, 5000);
        unmount(root, "etc/mdevctl.d");
        harness_stop(h);
}
END_TEST

static Suite *faults_suite(void)
{
        Suite *s = suite_create("faults");
        TCase *tc = tcase_create("storage");

        tcase_add_test(tc, test_definition_disk_full);
        tcase_add_test(tc, test_definition_no_inodes);
        tcase_add_test(tc, test_definition_read_only);
        tcase_add_test(tc, test_state_disk_full_and_read_only);
        tcase_add_test(tc, test_daemon_full_and_read_only_etc);
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(faults_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
