/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Storage faults (issue 10): a full or read-only /etc (and /var/lib) while a definition or
 * the state file is written. The old file must stay as it was, no temporary file may be
 * left behind, and the error must say what is wrong.
 *
 * What is real: the file systems. Each test runs in its own mount namespace (Check forks
 * every test; unshare(CLONE_NEWNS) in that child) and mounts a tiny tmpfs (size= for a full
 * disk, nr_inodes= for a file system out of inodes) or a read-only bind mount over the
 * test's MDEVPASID_ROOT. The mounts vanish with the test process.
 * What is faked: nothing in the library; the daemon tests run the real mdevpasidd on a
 * private bus over the simulated host (tests/harness.h), the crash loop included: it sends
 * Define/Undefine/Modify/Start/Stop/AttachVm/DetachVm calls, kill -9s the daemon at a random
 * moment, restarts it and checks the definitions, state.json (devices, operations, vms),
 * sysfs and the daemon's objects agree and that every acknowledged call held.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "definition.h"
#include "harness.h"
#include "util/json.h"
#include "mdp-names.h"
#include "state.h"
#include "test-help.h"
#include "util/macro.h"

#define U1 "5a1c0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c01"
#define U2 "5a1c0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c02"

/* A private mount namespace for this forked test. false (and a SKIP line) without the
 * privilege to make one. */
static long now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000L + ts.tv_nsec / 1000L;
}

static bool private_mounts(const char *test)
{
        if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
            mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
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

        /* "none" where the kernel ignores the type: valgrind checks every string argument */
        ck_assert_msg(mount(p, p, "none", MS_BIND, NULL) == 0, "bind %s: %s", p, strerror(errno));
        ck_assert_msg(mount("none", p, "none", MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) == 0,
                      "remount ro %s: %s", p, strerror(errno));
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

START_TEST(test_leftover_temporaries)
{
        _cleanup_free_ char *root = test_mkdtemp("faults");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);

        /* what a kill inside write_file_atomic() leaves, and look-alikes that are not ours */
        test_write(root, "etc/mdevctl.d/mtty/" U1, "{}");
        test_write(root, "etc/mdevctl.d/mtty/.#" U1 ".Ab12Z9", "{\"mdev_type\":");
        test_write(root, "etc/mdevctl.d/mdpy/.#" U2 ".q1w2e3", "");
        test_write(root, "etc/mdevctl.d/mdpy/.#notes.q1w2e3", "keep");
        test_write(root, "etc/mdevctl.d/mdpy/.#" U2 ".toolong7", "keep");
        test_write(root, "etc/mdevctl.d/mdpy/#" U2 ".q1w2e3", "keep");
        test_write(root, "var/lib/mdevpasid/.#state.json.k9Lm0p", "{");
        test_write(root, "var/lib/mdevpasid/.#other.json.k9Lm0p", "keep");

        ck_assert_int_eq(mdp_definitions_remove_leftovers(ctx), 2);
        ck_assert(!test_exists(root, "etc/mdevctl.d/mtty/.#" U1 ".Ab12Z9"));
        ck_assert(!test_exists(root, "etc/mdevctl.d/mdpy/.#" U2 ".q1w2e3"));
        ck_assert(test_exists(root, "etc/mdevctl.d/mtty/" U1));
        ck_assert(test_exists(root, "etc/mdevctl.d/mdpy/.#notes.q1w2e3"));
        ck_assert(test_exists(root, "etc/mdevctl.d/mdpy/.#" U2 ".toolong7"));
        ck_assert(test_exists(root, "etc/mdevctl.d/mdpy/#" U2 ".q1w2e3"));
        ck_assert_int_eq(mdp_state_remove_leftovers(ctx), 1);
        ck_assert(!test_exists(root, "var/lib/mdevpasid/.#state.json.k9Lm0p"));
        ck_assert(test_exists(root, "var/lib/mdevpasid/.#other.json.k9Lm0p"));
        ck_assert_int_eq(mdp_definitions_remove_leftovers(ctx), 0);
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

/* ---- crash consistency: kill -9 at random points ------------------------------------------ */

/* The pool: each UUID always on the same parent and type, so "duplicated" is well defined. */
static const struct {
        const char *uuid, *parent, *type;
} pool[] = {
        {"7c4e1a00-0000-4000-8000-000000000001", "mtty", "mtty-1"},
        {"7c4e1a00-0000-4000-8000-000000000002", "mtty", "mtty-1"},
        {"7c4e1a00-0000-4000-8000-000000000003", "mtty", "mtty-2"},
        {"7c4e1a00-0000-4000-8000-000000000004", "mdpy", "mdpy-vga"},
        {"7c4e1a00-0000-4000-8000-000000000005", "mdpy", "mdpy-xga"},
        {"7c4e1a00-0000-4000-8000-000000000006", "mbochs", "mbochs-small"},
};
#define POOL ELEMENTSOF(pool)

enum op { OP_NONE, OP_DEFINE, OP_UNDEFINE, OP_MODIFY, OP_START, OP_STOP, OP_ATTACH, OP_DETACH };
static const char *const op_names[] = {"-",     "Define", "Undefine", "Modify",
                                       "Start", "Stop",   "AttachVm", "DetachVm"};

/* Each pool device gets its own VM (one unit), so an attach's outcome is its own. */
static void vm_name(size_t i, char buf[32])
{
        snprintf(buf, 32, "crash-vm-%zu", i + 1);
}

static bool vm_exists(struct harness *h, const char *name)
{
        _cleanup_free_ char *path = NULL, *v = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        ck_assert_int_ge(sd_bus_path_encode(MDP_OBJECT_VMS, name, &path), 0);
        r = sd_bus_get_property_string(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_VM, "Name", &e, &v);
        sd_bus_error_free(&e);
        return r >= 0;
}

/* Whether state.json's "vms" section (daemon/vms.c) records the VM. */
static bool state_has_vm(const struct mdp_state *st, const char *name)
{
        json_object *vms = mdp_state_section(st, "vms");

        if (!vms)
                return false;
        ck_assert_msg(json_object_is_type(vms, json_type_array), "state.json: \"vms\" is not an array");
        for (size_t k = 0; k < json_object_array_length(vms); k++) {
                const char *n = mdp_json_get_string(json_object_array_get_idx(vms, k), "name");
                if (n && strcmp(n, name) == 0)
                        return true;
        }
        return false;
}

struct call {
        enum op op;
        int done; /* 0 pending, 1 replied, -1 failed (error or no reply) */
        char error[512];
};

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct call *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        c->done = e ? -1 : 1;
        if (e)
                snprintf(c->error, sizeof(c->error), "%s (%s)", e->name, e->message);
        return 0;
}

static int attach_async(struct harness *h, sd_bus_slot **slot, size_t i, void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char name[32];
        int r;

        vm_name(i, name);
        r = sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                           MDP_IFACE_MANAGER, "AttachVm");
        if (r >= 0)
                r = sd_bus_message_append(m, "sa{sv}", name, 2, "Units", "as", 1, pool[i].uuid, "Viommu",
                                          "s", "none");
        if (r >= 0)
                r = sd_bus_call_async(harness_bus(h), slot, m, on_reply, userdata, 0);
        return r;
}

static char *dev_string(struct harness *h, const char *uuid, const char *prop)
{
        _cleanup_free_ char *path = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *v = NULL;

        ck_assert_int_ge(sd_bus_path_encode(MDP_OBJECT_DEVICES, uuid, &path), 0);
        if (sd_bus_get_property_string(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_DEVICE, prop, &e, &v) <
            0)
                v = NULL;
        sd_bus_error_free(&e);
        return v;
}

static bool live_in_sysfs(struct harness *h, const char *uuid)
{
        _cleanup_free_ char *p = NULL;
        ck_assert_int_ge(asprintf(&p, "%s/bus/mdev/devices/%s", harness_sys(h), uuid), 0);
        return access(p, F_OK) == 0;
}

struct disk {
        unsigned n[POOL]; /* definition files per pool UUID (any parent) */
        bool autostart[POOL];
        unsigned problems; /* files that do not parse */
        char first_problem[512];
};

static int on_def(void *userdata, struct mdp_definition *d)
{
        struct disk *disk = userdata;

        for (size_t i = 0; i < POOL; i++)
                if (strcmp(d->uuid, pool[i].uuid) == 0) {
                        ck_assert_str_eq(d->parent, pool[i].parent);
                        ck_assert_str_eq(d->type, pool[i].type);
                        disk->n[i]++;
                        disk->autostart[i] = d->autostart;
                }
        mdp_definition_free(d);
        return 0;
}

static void on_problem(void *userdata, const char *path, const char *problem)
{
        struct disk *disk = userdata;

        if (disk->problems++ == 0)
                snprintf(disk->first_problem, sizeof(disk->first_problem), "%s: %s", path, problem);
}

/* Waits until no pool device is half-way (starting, stopping: the restarted daemon is still
 * undoing what the kill interrupted) and the daemon's State matches sysfs for each. The sim
 * can answer a create or remove write that was in flight when the daemon died after the new
 * daemon has started (a real kernel finishes it inside the dead process's write()); the
 * daemon then learns of the change from the uevent. A state that never comes fails. */
static void settle(struct harness *h, unsigned round)
{
        for (unsigned tries = 0;; tries++) {
                const char *why = NULL;
                size_t i;

                for (i = 0; i < POOL && !why; i++) {
                        _cleanup_free_ char *st = dev_string(h, pool[i].uuid, "State");
                        bool active = st && strcmp(st, "active") == 0;

                        if (st && (strcmp(st, "starting") == 0 || strcmp(st, "stopping") == 0))
                                why = "half-way";
                        else if (active != live_in_sysfs(h, pool[i].uuid))
                                why = active ? "active for the daemon, absent from sysfs"
                                             : "in sysfs, not active for the daemon";
                }
                if (!why)
                        return;
                ck_assert_msg(tries < 1000, "round %u: %s stayed %s", round, pool[i - 1].uuid, why);
                usleep(20 * 1000);
        }
}

/* Definitions, state.json, sysfs and the daemon agree; what was acknowledged holds. Returns
 * the model for the next round: defined[] and live[] as they now are. */
static void check_consistent(struct harness *h, unsigned round, const struct call calls[POOL],
                             bool defined[POOL], bool live[POOL], bool attached[POOL],
                             bool adopted_live[POOL], unsigned *restarted_by_autostart, unsigned *adopted,
                             unsigned *temp_files)
{
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(harness_root(h));
        _cleanup_(mdp_state_freep) struct mdp_state *st = NULL;
        _cleanup_free_ char *err = NULL;
        struct disk disk = {0};

        ck_assert_int_eq(mdp_definitions_scan(ctx, NULL, on_def, on_problem, &disk), 0);
        /* A kill inside write_file_atomic() leaves its temporary file (".#<uuid>.XXXXXX"); the
         * restarted daemon removes them (it is the only writer). Counted across rounds. */
        for (size_t i = 0; i < POOL; i++) {
                _cleanup_free_ char *rel = NULL, *dir = NULL;
                DIR *dd;
                struct dirent *de;

                if (i > 0 && strcmp(pool[i].parent, pool[i - 1].parent) == 0)
                        continue;
                ck_assert_int_ge(asprintf(&rel, "etc/mdevctl.d/%s", pool[i].parent), 0);
                dir = path_in(harness_root(h), rel);
                if (!(dd = opendir(dir)))
                        continue;
                while ((de = readdir(dd)))
                        if (strncmp(de->d_name, ".#", 2) == 0) {
                                (*temp_files)++;
                                ck_assert_msg(false, "round %u: %s/%s left behind", round, dir, de->d_name);
                        }
                closedir(dd);
        }
        ck_assert_msg(disk.problems == 0, "round %u: %u definition files do not parse: %s", round,
                      disk.problems, disk.first_problem);
        ck_assert_msg(mdp_state_load(ctx, &st, &err) == 0, "round %u: state.json: %s", round, err);

        for (size_t i = 0; i < POOL; i++) {
                const char *u = pool[i].uuid;
                _cleanup_free_ char *state = dev_string(h, u, "State"), *owner = dev_string(h, u, "Owner");
                bool on_disk = disk.n[i] > 0, in_sysfs = live_in_sysfs(h, u);
                const struct mdp_state_device *sd = mdp_state_device_get(st, u);

                ck_assert_msg(disk.n[i] <= 1, "round %u: %s defined %u times", round, u, disk.n[i]);
                /* the daemon's view is the disk's and the kernel's */
                ck_assert_msg(daemon_defines(h, u) == on_disk,
                              "round %u: %s: on disk %d, daemon says defined %d", round, u, on_disk,
                              daemon_defines(h, u));
                ck_assert_msg(in_sysfs == (state && strcmp(state, "active") == 0),
                              "round %u: %s: in sysfs %d, daemon state %s", round, u, in_sysfs,
                              state ? state : "(none)");
                /* A live pool device (only the daemon creates them) is the daemon's and recorded
                 * in state.json, or, defined, counted as started by mdevctl: the sim answered
                 * its create after the restart (see settle()). Never foreign, never unknown. */
                if (in_sysfs) {
                        bool mine = owner && strcmp(owner, "mdevpasid") == 0;

                        /* Such an adopted device, undefined in a later round, is defined by
                         * nobody and so foreign: still not the daemon's. */
                        ck_assert_msg(mine || (owner && strcmp(owner, "mdevctl") == 0 && on_disk) ||
                                              (owner && strcmp(owner, "foreign") == 0 && !on_disk &&
                                               adopted_live[i]),
                                      "round %u: %s live, owner %s, defined %d", round, u,
                                      owner ? owner : "(none)", on_disk);
                        ck_assert_msg(mine == (sd != NULL), "round %u: %s owner %s, in state.json %d", round,
                                      u, owner, sd != NULL);
                        *adopted += !mine && !adopted_live[i];
                        adopted_live[i] = !mine;
                } else {
                        ck_assert_msg(!sd, "round %u: %s in state.json but not in sysfs", round, u);
                        adopted_live[i] = false;
                }
                ck_assert_msg(!mdp_state_op_get(st, u), "round %u: %s: an operation is still recorded",
                              round, u);
                /* what the daemon acknowledged before the kill holds after it */
                if (calls[i].done == 1) {
                        switch (calls[i].op) {
                        case OP_DEFINE:
                        case OP_MODIFY:
                                ck_assert_msg(on_disk, "round %u: %s %s acknowledged, then lost", round,
                                              op_names[calls[i].op], u);
                                break;
                        case OP_UNDEFINE:
                                ck_assert_msg(!on_disk, "round %u: Undefine %s acknowledged, file back",
                                              round, u);
                                break;
                        case OP_START:
                                ck_assert_msg(in_sysfs, "round %u: Start %s acknowledged, device gone",
                                              round, u);
                                break;
                        case OP_STOP:
                                /* Autostart runs once per parent registration, not per daemon
                                 * start (daemon/autostart.c), so a stopped "auto" device stays
                                 * stopped across the restart too. */
                                ck_assert_msg(!in_sysfs, "round %u: Stop %s acknowledged, device back%s",
                                              round, u,
                                              disk.autostart[i] ? " (autostarted by the restart)" : "");
                                *restarted_by_autostart += in_sysfs;
                                break;
                        default:
                                break;
                        }
                }
                /* the VM and its assignment: the daemon, state.json and what was acknowledged */
                {
                        char name[32];
                        bool vm = (vm_name(i, name), vm_exists(h, name));

                        ck_assert_msg(vm == state_has_vm(st, name),
                                      "round %u: VM %s: daemon %d, state.json %d", round, name, vm,
                                      state_has_vm(st, name));
                        if (calls[i].done == 1 && calls[i].op == OP_ATTACH)
                                ck_assert_msg(vm, "round %u: AttachVm %s acknowledged, then lost", round,
                                              name);
                        if (calls[i].done == 1 && calls[i].op == OP_DETACH)
                                ck_assert_msg(!vm, "round %u: DetachVm %s acknowledged, VM back", round,
                                              name);
                        attached[i] = vm;
                }
                defined[i] = on_disk;
                live[i] = in_sysfs;
        }
}

/* Calls sent at once (Define, Undefine, Modify, Start, Stop, AttachVm, DetachVm), the daemon
 * killed after a random delay (often mid-call), restarted,
 * checked. Seeded: MDP_CRASH_SEED repeats a run; the seed is printed. */
START_TEST(test_crash_consistency)
{
        struct harness *h = harness_start(&(struct harness_opts){.fixture = "x86-6.12-sm"});
        const char *env = getenv("MDP_CRASH_SEED");
        unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : (unsigned)time(NULL) ^ (unsigned)getpid();
        unsigned rounds = 20, acked = 0, lost_replies = 0, resurrected = 0, adopted = 0, temp_files = 0;
        bool defined[POOL] = {0}, live[POOL] = {0}, attached[POOL] = {0}, adopted_live[POOL] = {0};
        pid_t d;

        fprintf(stderr, "crash consistency: seed %u (MDP_CRASH_SEED=%u repeats this run)\n", seed, seed);
        d = spawn_daemon(h);
        for (unsigned round = 0; round < rounds; round++) {
                struct call calls[POOL] = {0};
                sd_bus_slot *slots[POOL] = {0};
                /* at once (mid-dispatch), soon (mid-write), or later (mid-start or after it) */
                unsigned pick = (unsigned)rand_r(&seed) % 20, jitter = (unsigned)rand_r(&seed);
                unsigned delay_us = pick < 5 ? 0 : pick < 12 ? jitter % 20000 : jitter % 250000;
                long t_kill, t_up;
                int status;

                /* at most one call per UUID per round: its outcome is then well defined */
                for (size_t i = 0; i < POOL; i++) {
                        const char *u = pool[i].uuid;
                        unsigned dice = (unsigned)rand_r(&seed) % 6;
                        int r = 0;

                        if (dice == 0)
                                continue;
                        if (!defined[i])
                                calls[i].op = live[i] ? OP_STOP : OP_DEFINE;
                        else if (live[i])
                                calls[i].op = dice == 1   ? OP_STOP
                                              : dice <= 3 ? (attached[i] ? OP_DETACH : OP_ATTACH)
                                              : dice == 4 ? OP_UNDEFINE
                                                          : OP_MODIFY;
                        else
                                calls[i].op = dice <= 3 ? OP_START : dice == 4 ? OP_UNDEFINE : OP_MODIFY;
                        switch (calls[i].op) {
                        case OP_DEFINE:
                                r = sd_bus_call_method_async(
                                        harness_bus(h), &slots[i], MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                        MDP_IFACE_MANAGER, "Define", on_reply, &calls[i], "sssba(ss)a{sv}",
                                        pool[i].parent, pool[i].type, u, dice % 2, 0, 0);
                                break;
                        case OP_UNDEFINE:
                                r = sd_bus_call_method_async(harness_bus(h), &slots[i], MDP_BUS_NAME,
                                                             MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Undefine",
                                                             on_reply, &calls[i], "ss", u, pool[i].parent);
                                break;
                        case OP_MODIFY:
                                r = sd_bus_call_method_async(
                                        harness_bus(h), &slots[i], MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                        MDP_IFACE_MANAGER, "Modify", on_reply, &calls[i], "ssa{sv}", u,
                                        pool[i].parent, 1, "Start", "s", dice % 2 ? "auto" : "manual");
                                break;
                        case OP_START:
                                r = sd_bus_call_method_async(harness_bus(h), &slots[i], MDP_BUS_NAME,
                                                             MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Start",
                                                             on_reply, &calls[i], "ss", u, pool[i].parent);
                                break;
                        case OP_STOP:
                                r = sd_bus_call_method_async(harness_bus(h), &slots[i], MDP_BUS_NAME,
                                                             MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Stop",
                                                             on_reply, &calls[i], "s", u);
                                break;
                        case OP_ATTACH:
                                r = attach_async(h, &slots[i], i, &calls[i]);
                                break;
                        case OP_DETACH: {
                                char name[32];
                                vm_name(i, name);
                                r = sd_bus_call_method_async(harness_bus(h), &slots[i], MDP_BUS_NAME,
                                                             MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "DetachVm",
                                                             on_reply, &calls[i], "s", name);
                                break;
                        }
                        default:
                                break;
                        }
                        ck_assert_int_ge(r, 0);
                }
                ck_assert_int_ge(sd_bus_flush(harness_bus(h)), 0);
                /* let some calls finish, keep processing replies as they come */
                for (long end = now_us() + delay_us; now_us() < end;) {
                        while (sd_bus_process(harness_bus(h), NULL) > 0)
                                ;
                        (void)sd_bus_wait(harness_bus(h), 1000);
                }
                status = harness_kill(h, d, SIGKILL, 5000);
                ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
                /* every call now has its answer: a reply sent before the kill, or NoReply */
                for (unsigned tries = 0;; tries++) {
                        bool pending = false;

                        while (sd_bus_process(harness_bus(h), NULL) > 0)
                                ;
                        for (size_t i = 0; i < POOL; i++)
                                pending |= calls[i].op != OP_NONE && calls[i].done == 0;
                        if (!pending)
                                break;
                        ck_assert_msg(tries < 500, "round %u: calls without an answer after the kill",
                                      round);
                        (void)sd_bus_wait(harness_bus(h), 10000);
                }
                for (size_t i = 0; i < POOL; i++) {
                        acked += calls[i].done == 1;
                        lost_replies += calls[i].done == -1;
                        sd_bus_slot_unref(slots[i]);
                }

                t_kill = now_us();
                d = spawn_daemon(h);
                t_up = now_us();
                settle(h, round);
                {
                        char line[4096] = "";
                        for (size_t i = 0; i < POOL; i++)
                                if (calls[i].op != OP_NONE)
                                        snprintf(line + strlen(line), sizeof(line) - strlen(line),
                                                 " %zu:%s%s%s", i + 1, op_names[calls[i].op],
                                                 calls[i].done == 1 ? "" : "?",
                                                 calls[i].done == -1 && !strstr(calls[i].error, "NoReply")
                                                         ? calls[i].error
                                                         : "");
                        fprintf(stderr, "round %u: kill after %u us:%s (restart %ld ms)\n", round, delay_us,
                                line, (t_up - t_kill) / 1000);
                }
                check_consistent(h, round, calls, defined, live, attached, adopted_live, &resurrected,
                                 &adopted, &temp_files);
        }
        fprintf(stderr,
                "crash consistency: %u rounds, %u calls acknowledged, %u cut off by the kill, %u stopped "
                "\"auto\" devices autostarted again by the restart, %u created by the sim after the "
                "restart, %u temporary definition files seen\n",
                rounds, acked, lost_replies, resurrected, adopted, temp_files);
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
        tcase_add_test(tc, test_leftover_temporaries);
        tcase_add_test(tc, test_daemon_full_and_read_only_etc);
        tcase_add_test(tc, test_crash_consistency);
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
