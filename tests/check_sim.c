/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulated host against the real-kernel captures, without any daemon: this process
 * writes sysfs through the umockdev preload and the shim (as the daemon will) and checks
 * the write's errno, the tree, the uevents a libudev monitor receives, capacity, blocking
 * removes, parent lifecycle and faults against tests/fixtures/real-kernel/<variant>. Then the
 * integration harness itself: a private bus, a spawned service, teardown. */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "sim/sim-client.h"
#include "test-help.h"

#define FIXTURE "x86-6.12-sm"
/* The live mdevs of the x86-6.12-sm capture. */
#define MTTY_LIVE "29a5d629-5236-452f-9c1b-1e3b31a976cc"   /* mtty-2, group 4, vfio1 */
#define MDPY_LIVE "cc2a83fb-38a3-4a2a-9b14-a61bd6c96a31"   /* mdpy-vga */
#define MBOCHS_LIVE "93d027d2-1b51-482e-aab4-3da2abd511c0" /* mbochs-small */
#define U1 "0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b01"
#define U2 "0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b02"
#define U3 "0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b03"
#define U4 "0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b04"
#define U5 "0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b05"
#define MTTY_TYPES "/sys/class/mdev_bus/mtty/mdev_supported_types/"
#define MBOCHS_TYPES "/sys/class/mdev_bus/mbochs/mdev_supported_types/"

static long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A sysfs write as the daemon does it (lib/util/fileio.c write_attr): 0 or -errno. */
static int sysfs_write(const char *path, const char *value)
{
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, value, strlen(value));
        if (n < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        close(fd);
        return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

static int create(const char *type_dir, const char *uuid)
{
        char p[512], v[128];
        snprintf(p, sizeof(p), "%s/create", type_dir);
        snprintf(v, sizeof(v), "%s\n", uuid);
        return sysfs_write(p, v);
}

static int remove_mdev(const char *uuid)
{
        char p[256];
        snprintf(p, sizeof(p), "/sys/bus/mdev/devices/%s/remove", uuid);
        return sysfs_write(p, "1\n");
}

static long available(const char *type_dir)
{
        char p[512], buf[64] = "";
        FILE *f;

        snprintf(p, sizeof(p), "%s/available_instances", type_dir);
        f = fopen(p, "re");
        ck_assert_msg(f, "cannot read %s", p);
        ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
        fclose(f);
        return strtol(buf, NULL, 10);
}

static bool exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

static struct harness *start(const char *fixture)
{
        return harness_start(&(struct harness_opts){.fixture = fixture, .no_bus = true});
}

static char *sim(struct harness *h, const char *cmd)
{
        char *out = NULL;
        int r = harness_sim(h, &out, "%s", cmd);
        ck_assert_msg(r == 0, "sim command \"%s\" failed: %s %s", cmd, strerror(-r), out ? out : "");
        return out;
}

/* "<uuid> <parent> <type> group=G vfio-dev=N ..." from "list": G and N for uuid. */
static void mdev_numbers(struct harness *h, const char *uuid, int *group, int *vfio_dev)
{
        char *out = sim(h, "list"), *line = strstr(out, uuid);
        ck_assert_msg(line, "sim does not list %s", uuid);
        ck_assert_int_eq(sscanf(strstr(line, "group="), "group=%d vfio-dev=%d", group, vfio_dev), 2);
        free(out);
}

/* ----- uevents ---------------------------------------------------------------------------------- */

struct mon {
        struct udev *udev;
        struct udev_monitor *m;
};

static void mon_open(struct mon *mo, const char *source, const char *subsystem)
{
        mo->udev = udev_new();
        ck_assert_ptr_nonnull(mo->udev);
        mo->m = udev_monitor_new_from_netlink(mo->udev, source);
        ck_assert_ptr_nonnull(mo->m);
        if (subsystem)
                ck_assert_int_ge(udev_monitor_filter_add_match_subsystem_devtype(mo->m, subsystem, NULL), 0);
        ck_assert_int_ge(udev_monitor_enable_receiving(mo->m), 0);
}

static void mon_close(struct mon *mo)
{
        udev_monitor_unref(mo->m);
        udev_unref(mo->udev);
}

static struct udev_device *mon_next(struct mon *mo, int timeout_ms)
{
        long end = now_ms() + timeout_ms;
        for (;;) {
                struct pollfd p = {.fd = udev_monitor_get_fd(mo->m), .events = POLLIN};
                struct udev_device *d;
                long left = end - now_ms();
                if (left <= 0 || poll(&p, 1, (int)left) <= 0)
                        return NULL;
                d = udev_monitor_receive_device(mo->m);
                if (d)
                        return d;
        }
}

/* Event as one line, numbers of the instance replaced: "ACTION DEVPATH SUBSYSTEM [DRIVER=x]
 * [DEVNAME=...] [MDEV_STATE=x]" with the UUID as {U}, group {G}, vfio-dev index {N}. */
static char *normalize(const char *in);

static char *event_line(struct udev_device *d)
{
        const char *drv = udev_device_get_property_value(d, "DRIVER");
        const char *dn = udev_device_get_property_value(d, "DEVNAME");
        const char *st = udev_device_get_property_value(d, "MDEV_STATE");
        char *raw, *n;

        ck_assert_int_ge(asprintf(&raw, "%s %s %s%s%s%s%s%s%s", udev_device_get_action(d), udev_device_get_devpath(d),
                                  udev_device_get_subsystem(d), drv ? " DRIVER=" : "", drv ? drv : "",
                                  dn ? " DEVNAME=" : "", dn ? (strncmp(dn, "/dev/", 5) == 0 ? dn + 5 : dn) : "",
                                  st ? " MDEV_STATE=" : "", st ? st : ""),
                         0);
        n = normalize(raw);
        free(raw);
        return n;
}

static char *collect_events(struct mon *mo, int count, int timeout_ms)
{
        char *all = calloc(1, 1);
        size_t len = 0;

        for (int i = 0; i < count; i++) {
                struct udev_device *d = mon_next(mo, timeout_ms);
                char *l;
                ck_assert_msg(d, "only %d of %d uevents arrived; got:\n%s", i, count, all);
                l = event_line(d);
                all = realloc(all, len + strlen(l) + 2);
                len += (size_t)sprintf(all + len, "%s\n", l);
                free(l);
                udev_device_unref(d);
        }
        return all;
}

/* Replaces every match of re (extended) in s by rep. */
static char *replace_re(const char *s, const char *re, const char *rep)
{
        regex_t rx;
        regmatch_t m;
        char *out = calloc(1, 1);
        size_t len = 0;
        const char *p = s;

        ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED), 0);
        while (regexec(&rx, p, 1, &m, p == s ? 0 : REG_NOTBOL) == 0 && m.rm_eo > 0) {
                out = realloc(out, len + (size_t)m.rm_so + strlen(rep) + 1);
                memcpy(out + len, p, (size_t)m.rm_so);
                len += (size_t)m.rm_so;
                strcpy(out + len, rep);
                len += strlen(rep);
                p += m.rm_eo;
        }
        out = realloc(out, len + strlen(p) + 1);
        strcpy(out + len, p);
        regfree(&rx);
        return out;
}

static char *normalize(const char *in)
{
        static const char *const rules[][2] = {
                {"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "{U}"},
                {"iommu_groups/[0-9]+", "iommu_groups/{G}"},
                {"virtual/vfio/[0-9]+", "virtual/vfio/{G}"},
                {"class/vfio/[0-9]+", "class/vfio/{G}"},
                {"vfio/[0-9]+", "vfio/{G}"},
                {"vfio[0-9]+", "vfio{N}"},
                {"MINOR=[0-9]+", "MINOR={M}"},
                {":[0-9]+\\|", ":{M}|"}, /* the minor in a "dev" file, newlines shown as | */
        };
        char *cur = strdup(in);
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
                char *next = replace_re(cur, rules[i][0], rules[i][1]);
                free(cur);
                cur = next;
        }
        return cur;
}

/* The capture's busybox uevent log, lines from the first one naming `from` to the one whose
 * DEVPATH ends in `to_devpath` with action `to_action`, as event lines. */
static char *capture_events(const char *variant, const char *from, const char *to_action, const char *to_devpath)
{
        char *path, *line = NULL, *all = calloc(1, 1);
        size_t cap = 0, len = 0;
        bool on = false;
        FILE *f;

        ck_assert_int_ge(asprintf(&path, "%s/tests/fixtures/real-kernel/%s/23-log-busybox-uevent.txt", test_srcdir(),
                                  variant),
                         0);
        f = fopen(path, "re");
        ck_assert_msg(f, "cannot open %s", path);
        while (getline(&line, &cap, f) > 0) {
                char action[32] = "", devpath[512] = "", sub[64] = "", drv[64] = "", devname[64] = "", st[32] = "";
                char *tok, *save = NULL, *l, *n;
                bool last;

                if (!on && strstr(line, from))
                        on = true;
                if (!on)
                        continue;
                for (tok = strtok_r(line + 4, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
                        if (sscanf(tok, "ACTION=%31s", action) == 1 || sscanf(tok, "DEVPATH=%511s", devpath) == 1 ||
                            sscanf(tok, "SUBSYSTEM=%63s", sub) == 1 || sscanf(tok, "DRIVER=%63s", drv) == 1 ||
                            sscanf(tok, "DEVNAME=%63s", devname) == 1 || sscanf(tok, "MDEV_STATE=%31s", st) == 1)
                                continue;
                }
                ck_assert_int_ge(asprintf(&l, "%s %s %s%s%s%s%s%s%s", action, devpath, sub, *drv ? " DRIVER=" : "", drv,
                                          *devname ? " DEVNAME=" : "", devname, *st ? " MDEV_STATE=" : "", st),
                                 0);
                n = normalize(l);
                all = realloc(all, len + strlen(n) + 2);
                len += (size_t)sprintf(all + len, "%s\n", n);
                last = strcmp(action, to_action) == 0 && strlen(devpath) >= strlen(to_devpath) &&
                       strcmp(devpath + strlen(devpath) - strlen(to_devpath), to_devpath) == 0;
                free(l);
                free(n);
                if (last)
                        break;
        }
        free(line);
        fclose(f);
        free(path);
        ck_assert_msg(on, "%s not in the capture's uevent log", from);
        return all;
}

/* ----- (a) errors from write(), like the kernel's (19-error-cases.txt) -------------------------- */

START_TEST(test_create_errors)
{
        struct harness *h = start(FIXTURE);
        char p[256];

        /* create_store(): 36 or 37 bytes holding a UUID, else EINVAL */
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", "not-a-uuid"), -EINVAL);
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", "0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b0"), -EINVAL);
        ck_assert_int_eq(sysfs_write(MTTY_TYPES "mtty-1/create", U1 "xx"), -EINVAL);
        ck_assert_int_eq(sysfs_write(MTTY_TYPES "mtty-1/create", "0d7e1a52_5b64-4ad3-9c1e-9f0a8e4c6b01"), -EINVAL);
        ck_assert(!exists("/sys/bus/mdev/devices/" U1));
        /* a duplicate on any parent, in any case: EEXIST */
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-small", MTTY_LIVE), -EEXIST);
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", U1), 0);
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", "0D7E1A52-5B64-4AD3-9C1E-9F0A8E4C6B01"), -EEXIST);
        /* the UUID without a newline is fine too; uppercase is shown in lowercase */
        ck_assert_int_eq(sysfs_write(MTTY_TYPES "mtty-1/create", "0D7E1A52-5B64-4AD3-9C1E-9F0A8E4C6B02"), 0);
        ck_assert(exists("/sys/bus/mdev/devices/" U2));
        /* no capacity: ENOSPC (mbochs-large: 3 left after the live mbochs-small) */
        ck_assert_int_eq(available(MBOCHS_TYPES "mbochs-large"), 3);
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-large", U3), 0);
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-large", U4), 0);
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-large", U5), 0);
        ck_assert_int_eq(available(MBOCHS_TYPES "mbochs-large"), 0);
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-large", "0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b06"), -ENOSPC);
        ck_assert(!exists("/sys/bus/mdev/devices/0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b06"));
        /* remove: absent device ENOENT at open; garbage EINVAL; "0" does nothing */
        ck_assert_int_eq(remove_mdev("0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b99"), -ENOENT);
        ck_assert_int_eq(sysfs_write("/sys/bus/mdev/devices/" U1 "/remove", "yes"), -EINVAL);
        ck_assert_int_eq(sysfs_write("/sys/bus/mdev/devices/" U1 "/remove", "0"), 0);
        ck_assert(exists("/sys/bus/mdev/devices/" U1));
        /* read-only attributes refuse write access (EACCES, as kernfs does even for root),
         * and keep their value; nothing can be created in sysfs */
        ck_assert_int_eq(sysfs_write(MTTY_TYPES "mtty-1/available_instances", "99"), -EACCES);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-1"), 20);
        snprintf(p, sizeof(p), "%s", MTTY_TYPES "mtty-1/newfile");
        ck_assert_int_eq(open(p, O_WRONLY | O_CREAT, 0644), -1);
        ck_assert_int_eq(errno, EACCES);
        /* stdio writes (fopen, and a redirected stdout as bash's echo uses) take the same path */
        {
                FILE *f = fopen(MTTY_TYPES "mtty-1/create", "w");
                ck_assert_ptr_nonnull(f);
                fputs("bad\n", f);
                ck_assert_int_eq(fclose(f), EOF);
                ck_assert_int_eq(errno, EINVAL);
        }
        harness_stop(h);
}
END_TEST

/* ----- (b) the tree after create is the capture's live mdev ------------------------------------ */

/* Entries below base (relative to root, recursive), one per line:
 * "<rel> <type> <mode> <link target | content>", normalized, sorted. */
static void walk(const char *root, const char *rel, char ***lines, size_t *n)
{
        char *path, *sub;
        DIR *d;
        struct dirent *de;

        ck_assert_int_ge(asprintf(&path, "%s/%s", root, rel), 0);
        d = opendir(path);
        ck_assert_msg(d, "cannot open %s", path);
        while ((de = readdir(d))) {
                struct stat st;
                char *full, *line, *desc, buf[4096];
                ssize_t k;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                ck_assert_int_ge(asprintf(&full, "%s/%s", path, de->d_name), 0);
                ck_assert_int_ge(asprintf(&sub, "%s/%s", rel, de->d_name), 0);
                ck_assert_int_eq(lstat(full, &st), 0);
                if (S_ISLNK(st.st_mode)) {
                        k = readlink(full, buf, sizeof(buf) - 1);
                        buf[k > 0 ? k : 0] = '\0';
                        ck_assert_int_ge(asprintf(&desc, "link -> %s", buf), 0);
                } else if (S_ISDIR(st.st_mode)) {
                        ck_assert_int_ge(asprintf(&desc, "dir %04o", st.st_mode & 07777), 0);
                        walk(root, sub, lines, n);
                } else {
                        int fd = open(full, O_RDONLY | O_CLOEXEC);
                        k = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
                        if (fd >= 0)
                                close(fd);
                        buf[k > 0 ? k : 0] = '\0';
                        for (char *c = buf; *c; c++)
                                if (*c == '\n')
                                        *c = '|';
                        ck_assert_int_ge(asprintf(&desc, "file %04o %s", st.st_mode & 07777, buf), 0);
                }
                ck_assert_int_ge(asprintf(&line, "%s %s", sub, desc), 0);
                *lines = realloc(*lines, (*n + 1) * sizeof(char *));
                (*lines)[(*n)++] = normalize(line);
                free(line);
                free(desc);
                free(full);
                free(sub);
        }
        closedir(d);
        free(path);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *describe(const char *root, const char *rel)
{
        char **lines = NULL, *all = calloc(1, 1);
        size_t n = 0, len = 0;

        walk(root, rel, &lines, &n);
        qsort(lines, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n; i++) {
                all = realloc(all, len + strlen(lines[i]) + 2);
                len += (size_t)sprintf(all + len, "%s\n", lines[i]);
                free(lines[i]);
        }
        free(lines);
        return all;
}

/* What the sim has beyond the capture: only what the capture did not copy but 13-manual-create
 * shows a real device has (subsystem links). */
static char *drop_lines(const char *text, const char *re)
{
        regex_t rx;
        char *copy = strdup(text), *out = calloc(1, strlen(text) + 1), *save = NULL;

        ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (regexec(&rx, l, 0, NULL, 0) != 0) {
                        strcat(out, l);
                        strcat(out, "\n");
                }
        regfree(&rx);
        free(copy);
        return out;
}

static void compare_tree(const char *capture_root, const char *sim_root, const char *cap_rel, const char *sim_rel,
                         const char *extra_re)
{
        char *want = describe(capture_root, cap_rel), *got_all = describe(sim_root, sim_rel);
        char *got = extra_re ? drop_lines(got_all, extra_re) : strdup(got_all);

        ck_assert_msg(strcmp(want, got) == 0, "%s differs from the capture's %s:\n--- capture\n%s--- sim\n%s", sim_rel,
                      cap_rel, want, got);
        free(want);
        free(got);
        free(got_all);
}

START_TEST(test_create_tree_matches_capture)
{
        struct harness *h = start(FIXTURE);
        char *cap = test_unpack_fixture(FIXTURE);
        char rel[256], crel[256];
        int g, n, cg, cn;
        struct stat st;

        ck_assert_int_eq(create(MTTY_TYPES "mtty-2", U1), 0);
        mdev_numbers(h, U1, &g, &n);
        mdev_numbers(h, MTTY_LIVE, &cg, &cn);
        ck_assert_int_eq(cg, 4);
        ck_assert_int_eq(cn, 1);
        /* lowest free numbers, as ida/idr give them: groups 0-6 taken, vfio0 by the vfio-pci edu */
        ck_assert_int_eq(g, 7);
        ck_assert_int_eq(n, 4);

        /* the device directory: everything the capture copied, plus the subsystem links */
        snprintf(crel, sizeof(crel), "sys/devices/virtual/mtty/mtty/%s", MTTY_LIVE);
        snprintf(rel, sizeof(rel), "sys/devices/virtual/mtty/mtty/%s", U1);
        compare_tree(cap, harness_root(h), crel, rel, "/subsystem link -> ");
        {
                char *t = describe(harness_root(h), rel);
                ck_assert_msg(strstr(t, "/{U}/subsystem link -> ../../../../../bus/mdev\n"), "%s", t);
                ck_assert_msg(strstr(t, "/vfio-dev/vfio{N}/subsystem link -> ../../../../../../../class/vfio-dev\n"), "%s", t);
                ck_assert_msg(strstr(t, "/{U}/uevent file 0644 DRIVER=mtty|\n"), "%s", t);
                free(t);
        }
        /* its IOMMU group and vfio group device */
        snprintf(crel, sizeof(crel), "sys/kernel/iommu_groups/%d", cg);
        snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d", g);
        compare_tree(cap, harness_root(h), crel, rel, NULL);
        snprintf(crel, sizeof(crel), "sys/devices/virtual/vfio/%d", cg);
        snprintf(rel, sizeof(rel), "sys/devices/virtual/vfio/%d", g);
        compare_tree(cap, harness_root(h), crel, rel, "/subsystem link -> ");
        /* the links into it, as the capture has them for its device */
        {
                char *pairs[5][2];
                ck_assert_int_ge(asprintf(&pairs[0][0], "sys/bus/mdev/devices/%s", MTTY_LIVE), 0);
                ck_assert_int_ge(asprintf(&pairs[0][1], "sys/bus/mdev/devices/%s", U1), 0);
                ck_assert_int_ge(asprintf(&pairs[1][0], "sys/bus/mdev/drivers/mtty/%s", MTTY_LIVE), 0);
                ck_assert_int_ge(asprintf(&pairs[1][1], "sys/bus/mdev/drivers/mtty/%s", U1), 0);
                ck_assert_int_ge(asprintf(&pairs[2][0], "sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/devices/%s",
                                          MTTY_LIVE),
                                 0);
                ck_assert_int_ge(asprintf(&pairs[2][1], "sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/devices/%s",
                                          U1),
                                 0);
                ck_assert_int_ge(asprintf(&pairs[3][0], "sys/class/vfio/%d", cg), 0);
                ck_assert_int_ge(asprintf(&pairs[3][1], "sys/class/vfio/%d", g), 0);
                ck_assert_int_ge(asprintf(&pairs[4][0], "sys/kernel/iommu_groups/%d/devices/%s", cg, MTTY_LIVE), 0);
                ck_assert_int_ge(asprintf(&pairs[4][1], "sys/kernel/iommu_groups/%d/devices/%s", g, U1), 0);
                for (size_t i = 0; i < 5; i++) {
                        char cp[512], sp[512], ct[512], stt[512], *norm_c, *norm_s;
                        ssize_t k;
                        snprintf(cp, sizeof(cp), "%s/%s", cap, pairs[i][0]);
                        snprintf(sp, sizeof(sp), "%s/%s", harness_root(h), pairs[i][1]);
                        k = readlink(cp, ct, sizeof(ct) - 1);
                        ck_assert_msg(k > 0, "capture has no %s", pairs[i][0]);
                        ct[k] = '\0';
                        k = readlink(sp, stt, sizeof(stt) - 1);
                        ck_assert_msg(k > 0, "sim has no %s", pairs[i][1]);
                        stt[k] = '\0';
                        norm_c = normalize(ct);
                        norm_s = normalize(stt);
                        ck_assert_msg(strcmp(norm_c, norm_s) == 0, "%s -> %s, capture %s -> %s", pairs[i][1], stt,
                                      pairs[i][0], ct);
                        free(norm_c);
                        free(norm_s);
                        free(pairs[i][0]);
                        free(pairs[i][1]);
                }
        }
        /* /dev/vfio/<group>: a char device 245:<minor> through the preload, mode 0600 */
        snprintf(rel, sizeof(rel), "/dev/vfio/%d", g);
        ck_assert_int_eq(stat(rel, &st), 0);
        ck_assert(S_ISCHR(st.st_mode));
        ck_assert_int_eq(major(st.st_rdev), 245);
        ck_assert_int_eq(st.st_mode & 0777, 0600);
        ck_assert_int_eq(stat("/dev/vfio/vfio", &st), 0);
        ck_assert_int_eq(major(st.st_rdev), 10);
        ck_assert_int_eq(minor(st.st_rdev), 196);

        /* remove: everything of the device goes, the capture's tree comes back */
        ck_assert_int_eq(remove_mdev(U1), 0);
        snprintf(rel, sizeof(rel), "%s/sys/kernel/iommu_groups/%d", harness_root(h), g);
        ck_assert(!exists(rel));
        snprintf(rel, sizeof(rel), "/dev/vfio/%d", g);
        ck_assert(!exists(rel));
        ck_assert(!exists("/sys/devices/virtual/mtty/mtty/" U1));
        ck_assert(!exists("/sys/bus/mdev/devices/" U1));
        ck_assert(!exists("/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/devices/" U1));
        test_rm_rf(cap);
        free(cap);
        harness_stop(h);
}
END_TEST

/* ----- (c) uevents, in the kernel's order (23-log-busybox-uevent.txt) -------------------------- */

START_TEST(test_uevents_match_capture)
{
        struct harness *h = start(FIXTURE);
        struct mon udev_mon, kernel_mon, mdev_only;
        char *want, *got;
        struct udev_device *d;

        mon_open(&udev_mon, "udev", NULL);
        mon_open(&kernel_mon, "kernel", NULL);
        mon_open(&mdev_only, "udev", "mdev"); /* the subsystem hash the BPF filter checks */

        ck_assert_int_eq(create(MTTY_TYPES "mtty-2", U1), 0);
        /* the capture: the mtty mdev created and removed before rmmod */
        want = capture_events(FIXTURE, "add DEVPATH=/devices/virtual/mtty/mtty/90604233", "bind",
                              "90604233-c639-4457-8b15-0fab81db600c");
        got = collect_events(&udev_mon, 4, 2000);
        ck_assert_str_eq(got, want);
        free(got);
        got = collect_events(&kernel_mon, 4, 2000);
        ck_assert_str_eq(got, want);
        free(got);
        free(want);

        /* the files an event names exist when it arrives (no race, TESTING.md §B pitfall 3) */
        d = mon_next(&mdev_only, 2000);
        ck_assert_ptr_nonnull(d);
        ck_assert_str_eq(udev_device_get_action(d), "add");
        ck_assert_str_eq(udev_device_get_sysattr_value(d, "mdev_type/name"), "Dual port serial");
        udev_device_unref(d);
        d = mon_next(&mdev_only, 2000);
        ck_assert_str_eq(udev_device_get_action(d), "bind");
        ck_assert_str_eq(udev_device_get_driver(d), "mtty");
        ck_assert_ptr_nonnull(udev_device_get_sysattr_value(d, "iommu_group/name"));
        udev_device_unref(d);

        ck_assert_int_eq(remove_mdev(U1), 0);
        want = capture_events(FIXTURE, "remove DEVPATH=/devices/virtual/mtty/mtty/90604233", "remove",
                              "mtty/90604233-c639-4457-8b15-0fab81db600c");
        got = collect_events(&udev_mon, 4, 2000);
        ck_assert_str_eq(got, want);
        free(got);
        free(want);
        got = collect_events(&mdev_only, 2, 2000);
        ck_assert_str_eq(got, "unbind /devices/virtual/mtty/mtty/{U} mdev\n"
                              "remove /devices/virtual/mtty/mtty/{U} mdev\n");
        free(got);
        /* nothing else came */
        d = mon_next(&mdev_only, 100);
        ck_assert_msg(!d, "unexpected %s", d ? udev_device_get_action(d) : "");

        /* ENOSPC: add then remove of the mdev, nothing else (the probe failed) */
        ck_assert_int_eq(sim_client_callf(harness_root(h), 5000, NULL, "capacity mbochs mbochs-large 0"), 0);
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-large", U2), -ENOSPC);
        want = capture_events(FIXTURE, "add DEVPATH=/devices/virtual/mbochs/mbochs/ac7483bd", "remove",
                              "ac7483bd-8307-4655-b421-6ede70f62071");
        got = collect_events(&udev_mon, 2, 2000);
        ck_assert_str_eq(got, want);
        free(got);
        free(want);
        /* EEXIST and EINVAL: no event */
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", MTTY_LIVE), -EEXIST);
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", "nope"), -EINVAL);
        d = mon_next(&udev_mon, 200);
        ck_assert_msg(!d, "unexpected %s %s", d ? udev_device_get_action(d) : "", d ? udev_device_get_devpath(d) : "");

        mon_close(&udev_mon);
        mon_close(&kernel_mon);
        mon_close(&mdev_only);
        harness_stop(h);
}
END_TEST

/* Events are queued per receiver, never dropped, when a monitor reads late (the unix datagram
 * queue holds only net.unix.max_dgram_qlen messages). */
START_TEST(test_uevents_not_lost_when_reader_is_slow)
{
        struct harness *h = start(FIXTURE);
        struct mon mo;
        char u[64], *got, *status;
        int n = 0;

        mon_open(&mo, "udev", "mdev");
        for (int i = 0; i < 12; i++) {
                snprintf(u, sizeof(u), "0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6c%02d", i);
                ck_assert_int_eq(create(MTTY_TYPES "mtty-1", u), 0);
        }
        got = collect_events(&mo, 24, 5000); /* 12 x (add, bind) */
        for (char *p = got; (p = strstr(p, "bind ")); p++)
                n++;
        ck_assert_int_eq(n, 12);
        free(got);
        status = sim(h, "status");
        ck_assert_msg(strstr(status, "events_waited ") && !strstr(status, "events_waited 0\n"),
                      "the receiver's queue never filled: %s", status);
        free(status);
        mon_close(&mo);
        harness_stop(h);
}
END_TEST

/* ----- (d) capacity: the sample drivers' shared pools ---------------------------------------- */

START_TEST(test_available_instances)
{
        struct harness *h = start(FIXTURE);

        /* mtty: 24 ports; the live mtty-2 takes 2 */
        ck_assert_int_eq(available(MTTY_TYPES "mtty-1"), 22);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-2"), 11);
        ck_assert_int_eq(create(MTTY_TYPES "mtty-2", U1), 0);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-1"), 20);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-2"), 10);
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", U2), 0);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-1"), 19);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-2"), 9);
        /* mbochs: 256 MB; small 4, medium 16, large 64 */
        ck_assert_int_eq(available(MBOCHS_TYPES "mbochs-small"), 63);
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-medium", U3), 0);
        ck_assert_int_eq(available(MBOCHS_TYPES "mbochs-small"), 59);
        ck_assert_int_eq(available(MBOCHS_TYPES "mbochs-medium"), 14);
        ck_assert_int_eq(available(MBOCHS_TYPES "mbochs-large"), 3);
        /* mdpy: 4 devices of any type */
        ck_assert_int_eq(available("/sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-hd"), 3);
        ck_assert_int_eq(create("/sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-xga", U4), 0);
        ck_assert_int_eq(available("/sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-hd"), 2);
        ck_assert_int_eq(available("/sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga"), 2);
        /* removal gives it back */
        ck_assert_int_eq(remove_mdev(U1), 0);
        ck_assert_int_eq(remove_mdev(MTTY_LIVE), 0);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-1"), 23);
        ck_assert_int_eq(remove_mdev(U2), 0);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-1"), 24);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-2"), 12);
        ck_assert_int_eq(remove_mdev(U3), 0);
        ck_assert_int_eq(available(MBOCHS_TYPES "mbochs-medium"), 15);
        /* the vendor attributes of each driver */
        {
                FILE *f = fopen("/sys/bus/mdev/devices/" U4 "/vendor/resolution", "re");
                char buf[64] = "";
                ck_assert_ptr_nonnull(f);
                ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
                fclose(f);
                ck_assert_str_eq(buf, "1024x768\n");
        }
        /* capacity set by the test */
        free(sim(h, "capacity mtty mtty-2 1"));
        ck_assert_int_eq(available(MTTY_TYPES "mtty-2"), 1);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-1"), 2);
        harness_stop(h);
}
END_TEST

/* ----- (e) remove, and a remove that blocks while the device is held ------------------------- */

struct remover {
        const char *uuid;
        int result;
        long took_ms;
        volatile bool done;
};

static void *remover_thread(void *data)
{
        struct remover *r = data;
        long t0 = now_ms();
        r->result = remove_mdev(r->uuid);
        r->took_ms = now_ms() - t0;
        r->done = true;
        return NULL;
}

START_TEST(test_blocked_remove)
{
        struct harness *h = start(FIXTURE);
        struct remover a = {.uuid = U1}, b = {.uuid = U1};
        pthread_t ta, tb;
        long t0;

        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", U1), 0);
        free(sim(h, "hold " U1)); /* a VFIO user has the device open */
        ck_assert_int_eq(pthread_create(&ta, NULL, remover_thread, &a), 0);
        ck_assert_int_eq(pthread_create(&tb, NULL, remover_thread, &b), 0);
        usleep(300 * 1000);
        ck_assert(!a.done && !b.done); /* both writers block in write() */
        ck_assert(exists("/sys/bus/mdev/devices/" U1)); /* and the device is all there */
        /* other writers are not blocked meanwhile */
        t0 = now_ms();
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", U2), 0);
        ck_assert_int_eq(remove_mdev(U2), 0);
        ck_assert_int_lt(now_ms() - t0, 1000);
        ck_assert(!a.done);
        free(sim(h, "release " U1));
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        ck_assert_int_eq(a.result, 0);
        ck_assert_int_eq(b.result, 0); /* the second writer waited for the first removal */
        ck_assert_int_ge(a.took_ms, 300);
        ck_assert(!exists("/sys/bus/mdev/devices/" U1));
        ck_assert_int_eq(harness_sim(h, NULL, "release " U1), -ENOENT);
        harness_stop(h);
}
END_TEST

/* ----- (f) parent unregister / register (22-parent-removal.txt, 04-insmod) --------------------- */

START_TEST(test_parent_lifecycle)
{
        struct harness *h = start(FIXTURE);
        struct mon mo;
        char *got, *want, *out;
        int rr;

        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", U1), 0);
        mon_open(&mo, "udev", NULL);
        free(sim(h, "unregister mtty"));
        /* children first (each: vfio-dev, vfio, unbind, remove), then change, then the device */
        got = collect_events(&mo, 2 * 4 + 5, 2000);
        want = capture_events(FIXTURE, "remove DEVPATH=/devices/virtual/mtty/mtty/90604233", "remove", "/module/mtty");
        /* the capture had one child; we have two: compare the child block and the tail */
        {
                const char *tail = strstr(want, "change /devices/virtual/mtty/mtty mtty MDEV_STATE=unregistered");
                char *child = strndup(want, (size_t)(tail - want));
                char *two = NULL;
                ck_assert_ptr_nonnull(tail);
                ck_assert_int_ge(asprintf(&two, "%s%s%s", child, child, tail), 0);
                ck_assert_str_eq(got, two);
                free(child);
                free(two);
        }
        free(got);
        free(want);
        ck_assert(!exists("/sys/class/mdev_bus/mtty"));
        ck_assert(!exists("/sys/devices/virtual/mtty/mtty"));
        ck_assert(!exists("/sys/bus/mdev/devices/" U1));
        ck_assert(!exists("/sys/bus/mdev/devices/" MTTY_LIVE));
        ck_assert(exists("/sys/class/mdev_bus/mdpy"));
        /* MDEV_STATE is on the event only, never in the uevent file */
        rr = harness_sim(h, &out, "register mtty");
        ck_assert_int_eq(rr, 0);
        free(out);
        got = collect_events(&mo, 5, 2000);
        want = capture_events(FIXTURE, "add DEVPATH=/bus/mdev/drivers/mtty", "add", "/module/mtty");
        ck_assert_str_eq(got, want);
        free(got);
        free(want);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-1"), 24);
        ck_assert_int_eq(available(MTTY_TYPES "mtty-2"), 12);
        {
                FILE *f = fopen("/sys/devices/virtual/mtty/mtty/uevent", "re");
                char buf[64] = "";
                ck_assert_ptr_nonnull(f);
                ck_assert_ptr_null(fgets(buf, sizeof(buf), f)); /* empty */
                fclose(f);
        }
        ck_assert_int_eq(create(MTTY_TYPES "mtty-2", U2), 0);
        ck_assert_int_eq(harness_sim(h, NULL, "register mtty"), -EALREADY);

        /* a held child keeps the unregistration waiting; creates meanwhile get ENODEV */
        free(sim(h, "hold " U2));
        {
                char *argv[] = {"unregister", "mtty", NULL};
                pid_t pid = fork();
                if (pid == 0)
                        _exit(sim_client_call(harness_root(h), 10000, argv, NULL) == 0 ? 0 : 1);
                usleep(200 * 1000);
                ck_assert(exists("/sys/devices/virtual/mtty/mtty/" U2));
                ck_assert_int_eq(waitpid(pid, &rr, WNOHANG), 0);
                free(sim(h, "release " U2));
                ck_assert_int_eq(waitpid(pid, &rr, 0), pid);
                ck_assert(WIFEXITED(rr) && WEXITSTATUS(rr) == 0);
        }
        ck_assert(!exists("/sys/class/mdev_bus/mtty"));
        ck_assert_int_eq(harness_sim(h, NULL, "unregister mtty"), -EALREADY);
        mon_close(&mo);
        harness_stop(h);
}
END_TEST

/* SR-IOV: a VF link appears under its PF, announced by "change" on the PF. */
START_TEST(test_sriov_change)
{
        struct harness *h = start(FIXTURE);
        struct mon mo;
        char *got;

        mon_open(&mo, "udev", "pci");
        free(sim(h, "sriov 0000:00:02.0 0000:00:01.0"));
        got = collect_events(&mo, 1, 2000);
        ck_assert_str_eq(got, "change /devices/pci0000:00/0000:00:02.0 pci\n");
        free(got);
        ck_assert(exists("/sys/bus/pci/devices/0000:00:02.0/virtfn0"));
        ck_assert(exists("/sys/bus/pci/devices/0000:00:01.0/physfn"));
        mon_close(&mo);
        harness_stop(h);
}
END_TEST

/* ----- (g) fault injection --------------------------------------------------------------------- */

START_TEST(test_faults)
{
        struct harness *h = start(FIXTURE);
        struct mon mo;
        long t0;
        char *out;

        mon_open(&mo, "udev", "mdev");
        /* create fails with a given errno, once */
        free(sim(h, "fault fail-create EIO"));
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", U1), -EIO);
        ck_assert(!exists("/sys/bus/mdev/devices/" U1));
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", U1), 0);
        /* ... for one type only, until cleared */
        free(sim(h, "fault fail-create EBUSY 0 mbochs/mbochs-large"));
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-large", U2), -EBUSY);
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-large", U2), -EBUSY);
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-small", U2), 0);
        free(sim(h, "fault clear"));
        out = collect_events(&mo, 4, 1000); /* U1 and U2 appeared, nothing for the failures */
        ck_assert_str_eq(out, "add /devices/virtual/mtty/mtty/{U} mdev\n"
                              "bind /devices/virtual/mtty/mtty/{U} mdev DRIVER=mtty\n"
                              "add /devices/virtual/mbochs/mbochs/{U} mdev\n"
                              "bind /devices/virtual/mbochs/mbochs/{U} mdev DRIVER=mbochs\n");
        free(out);
        /* a device that never appears: the write succeeds, nothing else happens */
        free(sim(h, "fault ghost-create"));
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", U3), 0);
        {
                struct udev_device *d = mon_next(&mo, 300);
                ck_assert_msg(!d, "an event came for a device that never appears");
        }
        ck_assert(!exists("/sys/bus/mdev/devices/" U3));
        ck_assert_int_eq(available(MTTY_TYPES "mtty-1"), 21);
        /* a remove that takes its time */
        free(sim(h, "fault delay-remove 400 1 " U1));
        t0 = now_ms();
        ck_assert_int_eq(remove_mdev(U1), 0);
        ck_assert_int_ge(now_ms() - t0, 400);
        ck_assert(!exists("/sys/bus/mdev/devices/" U1));
        /* garbage in an attribute stays while pinned, whatever the sim does */
        free(sim(h, "fault garbage class/mdev_bus/mtty/mdev_supported_types/mtty-1/available_instances banana\\n"));
        ck_assert_int_eq(create(MTTY_TYPES "mtty-2", U4), 0);
        {
                FILE *f = fopen(MTTY_TYPES "mtty-1/available_instances", "re");
                char buf[64] = "";
                ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
                fclose(f);
                ck_assert_str_eq(buf, "banana\n");
        }
        ck_assert_int_eq(available(MTTY_TYPES "mtty-2"), 10); /* others still follow (24 - 2 - 2) / 2 */
        out = sim(h, "fault list");
        ck_assert_msg(strstr(out, "garbage devices/virtual/mtty/mtty/mdev_supported_types/mtty-1/available_instances"),
                      "%s", out);
        free(out);
        /* the parent vanishes as a create starts: ENODEV, and it is gone */
        free(sim(h, "fault vanish-parent mbochs before-create"));
        ck_assert_int_eq(create(MBOCHS_TYPES "mbochs-small", U5), -ENODEV);
        ck_assert(!exists("/sys/class/mdev_bus/mbochs"));
        ck_assert(!exists("/sys/bus/mdev/devices/" U2));
        /* ... or right after a create succeeded */
        free(sim(h, "fault vanish-parent mdpy after-create"));
        ck_assert_int_eq(create("/sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga", U5), 0);
        ck_assert(!exists("/sys/class/mdev_bus/mdpy"));
        ck_assert(!exists("/sys/bus/mdev/devices/" U5));
        ck_assert_int_eq(harness_sim(h, NULL, "fault fail-create ENOTANERRNO"), -EINVAL);
        mon_close(&mo);
        harness_stop(h);
}
END_TEST

/* A write from a descriptor opened before the device went away: ENODEV, as kernfs answers. */
START_TEST(test_stale_descriptor)
{
        struct harness *h = start(FIXTURE);
        int fd;

        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", U1), 0);
        fd = open("/sys/bus/mdev/devices/" U1 "/remove", O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        free(sim(h, "remove " U1));
        ck_assert_int_eq(write(fd, "1", 1), -1);
        ck_assert_int_eq(errno, ENODEV);
        close(fd);
        harness_stop(h);
}
END_TEST

/* ----- every capture loads; the IOMMUFD kernel's vfio-dev char devices -------------------------- */

START_TEST(test_all_captures)
{
        static const char *const variants[] = {"x86-6.1-sm", "x86-6.12-sm", "x86-6.12-sm-pasid", "x86-6.12-legacy",
                                               "arm64-6.12-smmuv3", "x86-custom-6.12-iommufd-sm"};
        const char *v = variants[_i];
        struct harness *h = start(v);
        char *out = sim(h, "list"), path[512];
        int lines = 0, g, n;
        struct stat st;
        struct mon mo;

        for (char *p = out; (p = strchr(p, '\n')); p++)
                lines++;
        ck_assert_msg(lines == 3, "%s: %d live mdevs:\n%s", v, lines, out);
        free(out);
        out = sim(h, "parents");
        ck_assert_msg(strstr(out, "mtty devices/virtual/mtty/mtty subsystem=mtty driver=mtty registered"), "%s", out);
        free(out);
        mon_open(&mo, "udev", "vfio-dev");
        ck_assert_int_eq(create(MTTY_TYPES "mtty-1", U1), 0);
        mdev_numbers(h, U1, &g, &n);
        snprintf(path, sizeof(path), "/dev/vfio/%d", g);
        ck_assert_msg(exists(path), "%s: no %s", v, path);
        snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/vfio-dev/vfio%d/dev", U1, n);
        {
                struct udev_device *d = mon_next(&mo, 2000);
                const char *dn;
                ck_assert_ptr_nonnull(d);
                dn = udev_device_get_property_value(d, "DEVNAME");
                if (strcmp(v, "x86-custom-6.12-iommufd-sm") == 0) {
                        /* VFIO_DEVICE_CDEV: vfio-dev/vfioN is /dev/vfio/devices/vfioN */
                        char node[64];
                        ck_assert(exists(path));
                        snprintf(node, sizeof(node), "/dev/vfio/devices/vfio%d", n);
                        ck_assert_int_eq(stat(node, &st), 0);
                        ck_assert(S_ISCHR(st.st_mode));
                        ck_assert_int_eq(major(st.st_rdev), 247);
                        ck_assert_int_eq((int)minor(st.st_rdev), n);
                        ck_assert_str_eq(dn, node);
                        ck_assert(exists("/dev/iommu"));
                } else {
                        ck_assert(!exists(path));
                        ck_assert_ptr_null(dn);
                        ck_assert(!exists("/dev/iommu"));
                }
                udev_device_unref(d);
        }
        /* /proc from the capture's 02-kernel.txt */
        snprintf(path, sizeof(path), "%s/proc/sys/kernel/osrelease", harness_root(h));
        ck_assert(exists(path));
        snprintf(path, sizeof(path), "%s/proc/cmdline", harness_root(h));
        ck_assert(exists(path));
        mon_close(&mo);
        harness_stop(h);
}
END_TEST

/* ----- generated hosts (tests/tools/gen-fake-sysfs.py), both layouts ------------------------------- */

static char *generate(const char *layout, int active, bool kernel_like)
{
        char *dir = test_mkdtemp("simgen"), *cmd;

        ck_assert_int_ge(asprintf(&cmd,
                                  "env -u LD_PRELOAD python3 '%s/tests/tools/gen-fake-sysfs.py' '%s/host' --layout %s "
                                  "--active %d --defined %d %s >/dev/null",
                                  test_srcdir(), dir, layout, active, active, kernel_like ? "--kernel-like" : ""),
                         0);
        ck_assert_int_eq(system(cmd), 0);
        free(cmd);
        return dir;
}

START_TEST(test_generated_hosts)
{
        /* 0: single, 1: sriov, 2: single --kernel-like */
        const char *layout = _i == 1 ? "sriov" : "single";
        int n = _i == 1 ? 40 : 200; /* the disk here is slow: each SR-IOV VF is 16 types */
        char *dir = generate(layout, n, _i == 2), *host, *out;
        struct harness *h;
        int lines = 0;

        ck_assert_int_ge(asprintf(&host, "%s/host", dir), 0);
        h = harness_start(&(struct harness_opts){.sysfs = host, .sysfs_move = true, .no_bus = true});
        {
                char moved[512];
                snprintf(moved, sizeof(moved), "%s/sys", host);
                ck_assert(!exists(moved)); /* moved in, not copied */
        }
        out = sim(h, "list");
        for (char *p = out; (p = strchr(p, '\n')); p++)
                lines++;
        ck_assert_int_eq(lines, n);
        free(out);
        /* definitions come along */
        {
                char p[512];
                snprintf(p, sizeof(p), "%s/etc/mdevctl.d", harness_root(h));
                ck_assert(exists(p));
        }
        if (_i != 1) {
                const char *t = "/sys/class/mdev_bus/0000:00:02.0/mdev_supported_types/i915-GVTg_V5_4";
                long before = available(t);
                char link[256] = "";
                ck_assert_int_eq(create(t, U1), 0);
                ck_assert_int_eq(available(t), before - 1);
                ck_assert(exists("/sys/bus/mdev/devices/" U1 "/iommu_group"));
                ck_assert_int_gt(readlink("/sys/bus/mdev/devices/" U1 "/driver", link, sizeof(link) - 1), 0);
                /* the driver the generated children show (kernel-like), else the only one there is */
                ck_assert_str_eq(strrchr(link, '/') + 1, "vfio_mdev");
                if (_i == 2) {
                        /* a generated child: its emulated group goes with it */
                        char *list = sim(h, "list"), path[256], first[37] = "";
                        int g, nv;
                        memcpy(first, list, 36); /* the first generated mdev */
                        mdev_numbers(h, first, &g, &nv);
                        snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/%d", harness_root(h), g);
                        ck_assert_msg(exists(path), "%s", path);
                        ck_assert_int_eq(remove_mdev(first), 0);
                        ck_assert_msg(!exists(path), "%s stayed", path);
                        free(list);
                }
        } else {
                /* one mdev per VF; the other types of a VF are still free (the generator's choice) */
                const char *t = "/sys/class/mdev_bus/0000:41:00.0/mdev_supported_types/nvidia-551";
                ck_assert_int_eq(available(t), 1);
                ck_assert_int_eq(create(t, U1), 0);
                ck_assert_int_eq(available(t), 0);
                ck_assert_int_eq(create(t, U2), -ENOSPC);
                ck_assert(exists("/sys/bus/mdev/devices/" U1 "/iommu_group"));
        }
        harness_stop(h);
        test_rm_rf(dir);
        free(dir);
        free(host);
}
END_TEST

/* ----- the command-line form: start --daemon, ctl, stop ----------------------------------------- */

/* Alive and not a zombie: a daemonized sim is reaped by whoever adopted it. */
static bool pid_alive(pid_t pid)
{
        char path[64], buf[512];
        const char *paren;
        ssize_t n;
        int fd;

        if (kill(pid, 0) < 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        paren = strrchr(buf, ')');
        return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static int run(char *const argv[], char **out)
{
        int p[2], status;
        pid_t pid;
        size_t len = 0;
        ssize_t n;
        char buf[4096];

        ck_assert_int_eq(pipe(p), 0);
        pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                close(p[0]);
                close(p[1]);
                unsetenv("LD_PRELOAD");
                execv(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        *out = calloc(1, 1);
        while ((n = read(p[0], buf, sizeof(buf))) > 0) {
                *out = realloc(*out, len + (size_t)n + 1);
                memcpy(*out + len, buf, (size_t)n);
                len += (size_t)n;
                (*out)[len] = '\0';
        }
        close(p[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

START_TEST(test_cli_daemon)
{
        const char *sim_bin = harness_program("tests/sim/mdp-kernel-sim");
        char *out = NULL, root[256] = "", *p;
        int pid = 0;
        long t0 = now_ms();

        ck_assert_int_eq(run(HARNESS_ARGV((char *)sim_bin, "start", "--daemon", "--fixture", "x86-6.1-sm"), &out), 0);
        fprintf(stderr, "check_sim: mdp-kernel-sim start --daemon ready in %ld ms\n", now_ms() - t0);
        ck_assert_ptr_nonnull(p = strstr(out, "UMOCKDEV_DIR='"));
        sscanf(p, "UMOCKDEV_DIR='%255[^']'", root);
        ck_assert_ptr_nonnull(p = strstr(out, "MDP_SIM_PID='"));
        sscanf(p, "MDP_SIM_PID='%d'", &pid);
        ck_assert(strstr(out, "MDEVPASID_ROOT='"));
        ck_assert(strstr(out, "mdpsimshim.so:libumockdev-preload.so.0'"));
        ck_assert_int_gt(pid, 0);
        ck_assert_int_eq(kill(pid, 0), 0);
        free(out);
        ck_assert_int_eq(run(HARNESS_ARGV((char *)sim_bin, "ctl", root, "types", "mtty"), &out), 0);
        ck_assert_str_eq(out, "mtty mtty-1 available=22 cost=1 pool=shared:2/24\n"
                              "mtty mtty-2 available=11 cost=2 pool=shared:2/24\n");
        free(out);
        ck_assert_int_eq(run(HARNESS_ARGV((char *)sim_bin, "ctl", root, "hold", "nope"), &out), 1);
        free(out);
        ck_assert_int_eq(run(HARNESS_ARGV((char *)sim_bin, "ctl", root, "stop"), &out), 0);
        free(out);
        ck_assert(!pid_alive(pid)); /* gone */
        ck_assert(!exists(root));   /* and its testbed with it */
        ck_assert_int_eq(run(HARNESS_ARGV((char *)sim_bin, "ctl", root, "ping"), &out), 1);
        free(out);
        ck_assert_int_eq(run(HARNESS_ARGV((char *)sim_bin, "start", "--fixture", "no-such-capture"), &out), 1);
        free(out);
}
END_TEST

/* ----- (h) the harness: a private bus, a spawned service, teardown ------------------------------- */

static char *call_s(struct harness *h, const char *method, const char *arg)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *s;
        char *r;

        ck_assert_int_ge(sd_bus_call_method(harness_bus(h), "org.mdevpasid1.Test", "/org/mdevpasid1/Test",
                                            "org.mdevpasid1.Test", method, &e, &reply, "s", arg),
                         0);
        ck_assert_int_ge(sd_bus_message_read(reply, "s", &s), 0);
        r = strdup(s);
        sd_bus_message_unref(reply);
        return r;
}

static int call_write(struct harness *h, const char *path, const char *data)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int v = -1;

        ck_assert_int_ge(sd_bus_call_method(harness_bus(h), "org.mdevpasid1.Test", "/org/mdevpasid1/Test",
                                            "org.mdevpasid1.Test", "WriteFile", &e, &reply, "ss", path, data),
                         0);
        ck_assert_int_ge(sd_bus_message_read(reply, "i", &v), 0);
        sd_bus_message_unref(reply);
        return v;
}

START_TEST(test_harness_service)
{
        long t0 = now_ms();
        struct harness *h = harness_start(&(struct harness_opts){.fixture = FIXTURE});
        const char *service = harness_program("tests/sim/mdp-test-service");
        struct harness_watch *w;
        struct harness_run run_r;
        pid_t pid, sim_pid = harness_sim_pid(h), bus_pid = harness_bus_pid(h);
        char *v, *root = strdup(harness_root(h));
        sd_bus_message *m = NULL;

        fprintf(stderr, "check_sim: sim + bus ready in %ld ms\n", now_ms() - t0);
        t0 = now_ms();
        pid = harness_spawn_service(h, "org.mdevpasid1.Test", 10000, HARNESS_ARGV((char *)service, "org.mdevpasid1.Test"),
                                    HARNESS_ARGV("MDP_EXTRA=1"));
        fprintf(stderr, "check_sim: service owned its name in %ld ms\n", now_ms() - t0);

        /* the environment it got */
        v = call_s(h, "GetEnv", "UMOCKDEV_DIR");
        ck_assert_str_eq(v, root);
        free(v);
        v = call_s(h, "GetEnv", "MDEVPASID_ROOT");
        ck_assert_str_eq(v, root);
        free(v);
        v = call_s(h, "GetEnv", "DBUS_SYSTEM_BUS_ADDRESS");
        ck_assert_str_eq(v, harness_bus_address(h));
        free(v);
        v = call_s(h, "GetEnv", "LD_PRELOAD");
        ck_assert_msg(strstr(v, "mdpsimshim.so:libumockdev-preload.so.0") &&
                              (!getenv("ASAN_LIB") || !*getenv("ASAN_LIB") || strncmp(v, getenv("ASAN_LIB"), strlen(getenv("ASAN_LIB"))) == 0),
                      "%s", v);
        free(v);
        v = call_s(h, "GetEnv", "MDEVPASID_DATADIR");
        ck_assert_str_eq(v, getenv("MDEVPASID_DATADIR") ? getenv("MDEVPASID_DATADIR") : "");
        free(v);
        v = call_s(h, "GetEnv", "MDP_EXTRA");
        ck_assert_str_eq(v, "1");
        free(v);
        v = call_s(h, "Echo", "hi");
        ck_assert_str_eq(v, "hi");
        free(v);

        /* a spawned program writes sysfs through the shim: the kernel answers */
        t0 = now_ms();
        ck_assert_int_eq(call_write(h, MTTY_TYPES "mtty-1/create", U1 "\n"), 0);
        fprintf(stderr, "check_sim: create round trip (bus call + write + 4 uevents) %ld ms\n", now_ms() - t0);
        ck_assert(exists("/sys/bus/mdev/devices/" U1));
        ck_assert_int_eq(call_write(h, MTTY_TYPES "mtty-1/create", U1 "\n"), EEXIST);

        /* signals */
        w = harness_watch_signal(h, "org.mdevpasid1.Test", "/org/mdevpasid1/Test", "org.mdevpasid1.Test", "Pinged");
        ck_assert_int_eq(harness_wait_signal(w, 100, NULL), -ETIMEDOUT);
        ck_assert_int_ge(sd_bus_call_method(harness_bus(h), "org.mdevpasid1.Test", "/org/mdevpasid1/Test",
                                            "org.mdevpasid1.Test", "Emit", NULL, NULL, "s", "x"),
                         0);
        ck_assert_int_eq(harness_wait_signal(w, 2000, &m), 0);
        {
                const char *s;
                ck_assert_int_ge(sd_bus_message_read(m, "s", &s), 0);
                ck_assert_str_eq(s, "x");
        }
        sd_bus_message_unref(m);
        harness_watch_free(w);

        /* commands with the same environment */
        ck_assert_int_eq(harness_run(h, HARNESS_ARGV((char *)harness_program("tests/sim/mdp-kernel-sim"), "ctl", root, "list"),
                                     NULL, NULL, 5000, &run_r),
                         0);
        ck_assert_int_eq(run_r.exit_code, 0);
        ck_assert_msg(strstr(run_r.out, U1 " mtty mtty-1"), "%s", run_r.out);
        harness_run_clear(&run_r);
        ck_assert_int_eq(harness_run(h, HARNESS_ARGV("/bin/sh", "-c", "cat; echo err >&2; exit 3"),
                                     HARNESS_ARGV("ASAN_OPTIONS=detect_leaks=0"), "stdin text", 5000, &run_r),
                         0);
        ck_assert_int_eq(run_r.exit_code, 3);
        ck_assert_str_eq(run_r.out, "stdin text");
        ck_assert_str_eq(run_r.err, "err\n");
        harness_run_clear(&run_r);
        ck_assert_int_eq(harness_run(h, HARNESS_ARGV("/bin/sleep", "10"), HARNESS_ARGV("ASAN_OPTIONS=detect_leaks=0"),
                                     NULL, 200, &run_r),
                         0);
        ck_assert(run_r.timed_out);
        harness_run_clear(&run_r);
        /* a shell script writes sysfs too (dash and bash builtins) */
        ck_assert_int_eq(harness_run(h, HARNESS_ARGV("/bin/bash", "-c", "echo " U2 " > " MTTY_TYPES "mtty-1/create && echo nope > " MTTY_TYPES "mtty-1/create"),
                                     HARNESS_ARGV("ASAN_OPTIONS=detect_leaks=0"), NULL, 5000, &run_r),
                         0);
        ck_assert_int_eq(run_r.exit_code, 1);
        ck_assert_msg(strstr(run_r.err, "write error: Invalid argument"), "%s", run_r.err);
        ck_assert(exists("/sys/bus/mdev/devices/" U2));
        harness_run_clear(&run_r);

        /* kill -9 of the service: reaped, forgotten */
        ck_assert_int_ge(harness_kill(h, pid, SIGKILL, 2000), 0);
        ck_assert_int_eq(kill(pid, 0), -1);

        pid = harness_spawn_service(h, "org.mdevpasid1.Test", 10000, HARNESS_ARGV((char *)service, "org.mdevpasid1.Test"), NULL);
        harness_stop(h);
        /* nothing left: service, bus, sim and the testbed */
        ck_assert_int_eq(kill(pid, 0), -1);
        ck_assert_int_eq(kill(bus_pid, 0), -1);
        ck_assert_int_eq(kill(sim_pid, 0), -1);
        ck_assert(!exists(root));
        free(root);
}
END_TEST

/* An extra bus policy is loaded after the permissive default: its denials win. */
START_TEST(test_harness_bus_policy)
{
        char *dir = test_mkdtemp("simpol"), *policy;
        struct harness *h;
        pid_t pid;
        FILE *f;

        ck_assert_int_ge(asprintf(&policy, "%s/deny.conf", dir), 0);
        f = fopen(policy, "we");
        fputs("<busconfig><policy context=\"default\"><deny own=\"org.mdevpasid1.Denied\"/></policy></busconfig>\n", f);
        fclose(f);
        h = harness_start(&(struct harness_opts){.fixture = FIXTURE, .bus_policy = policy});
        pid = harness_spawn(h, HARNESS_ARGV((char *)harness_program("tests/sim/mdp-test-service"), "org.mdevpasid1.Denied"),
                            NULL);
        ck_assert_int_eq(harness_wait_name(h, "org.mdevpasid1.Denied", 5000, pid), -ECHILD);
        harness_spawn_service(h, "org.mdevpasid1.Allowed", 10000,
                              HARNESS_ARGV((char *)harness_program("tests/sim/mdp-test-service"), "org.mdevpasid1.Allowed"),
                              NULL);
        harness_stop(h);
        test_rm_rf(dir);
        free(dir);
        free(policy);
}
END_TEST

/* With CK_FORK a failed test never reaches harness_stop(): everything must die with the
 * test process anyway, and the testbed must go. */
START_TEST(test_harness_dies_with_test)
{
        int p[2], status;
        pid_t test, pids[3];
        char root[256] = "";
        long end;

        ck_assert_int_eq(pipe(p), 0);
        test = fork();
        if (test == 0) {
                struct harness *h = harness_start(&(struct harness_opts){.fixture = FIXTURE});
                pid_t svc = harness_spawn_service(h, "org.mdevpasid1.Test", 10000,
                                                  HARNESS_ARGV((char *)harness_program("tests/sim/mdp-test-service"),
                                                               "org.mdevpasid1.Test"),
                                                  NULL);
                pid_t v[3] = {harness_sim_pid(h), harness_bus_pid(h), svc};
                ck_assert_int_eq(write(p[1], v, sizeof(v)), (ssize_t)sizeof(v));
                ck_assert_int_eq(write(p[1], harness_root(h), strlen(harness_root(h)) + 1),
                                 (ssize_t)strlen(harness_root(h)) + 1);
                _exit(1); /* as a failed assertion would: no teardown */
        }
        close(p[1]);
        ck_assert_int_eq(read(p[0], pids, sizeof(pids)), (ssize_t)sizeof(pids));
        ck_assert_int_gt(read(p[0], root, sizeof(root) - 1), 0);
        close(p[0]);
        ck_assert_int_eq(waitpid(test, &status, 0), test);
        end = now_ms() + 10000;
        for (int i = 0; i < 3; i++)
                while (kill(pids[i], 0) == 0 && now_ms() < end)
                        usleep(10000);
        for (int i = 0; i < 3; i++)
                ck_assert_msg(kill(pids[i], 0) == -1, "pid %d survived its test", (int)pids[i]);
        while (exists(root) && now_ms() < end)
                usleep(10000);
        ck_assert_msg(!exists(root), "%s survived its test", root);
}
END_TEST

static Suite *sim_suite(void)
{
        Suite *s = suite_create("sim");
        TCase *tc = tcase_create("kernel");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_create_errors);
        tcase_add_test(tc, test_create_tree_matches_capture);
        tcase_add_test(tc, test_uevents_match_capture);
        tcase_add_test(tc, test_uevents_not_lost_when_reader_is_slow);
        tcase_add_test(tc, test_available_instances);
        tcase_add_test(tc, test_blocked_remove);
        tcase_add_test(tc, test_parent_lifecycle);
        tcase_add_test(tc, test_sriov_change);
        tcase_add_test(tc, test_faults);
        tcase_add_test(tc, test_stale_descriptor);
        tcase_add_loop_test(tc, test_all_captures, 0, 6);
        tcase_add_loop_test(tc, test_generated_hosts, 0, 3);
        tcase_add_test(tc, test_cli_daemon);
        suite_add_tcase(s, tc);

        tc = tcase_create("harness");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_harness_service);
        tcase_add_test(tc, test_harness_bus_policy);
        tcase_add_test(tc, test_harness_dies_with_test);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char **argv)
{
        SRunner *sr;
        int failed;

        harness_preload_self(argc, argv); /* this process writes sysfs itself */
        sr = srunner_create(sim_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
