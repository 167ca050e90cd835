/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-help.h"
#include "util/fileio.h"
#include "util/macro.h"

const char *test_srcdir(void)
{
        const char *s = getenv("top_srcdir");
        return s ? s : TOP_SRCDIR;
}

char *test_mkdtemp(const char *tag)
{
        char *p;

        ck_assert_int_ge(asprintf(&p, "/tmp/mdp-%s.XXXXXX", tag), 0);
        ck_assert_msg(mkdtemp(p), "mkdtemp %s: %s", p, strerror(errno));
        return p;
}

char *test_unpack_fixture(const char *variant)
{
        char *root = test_mkdtemp("fx");
        _cleanup_free_ char *tarball = NULL, *cmd = NULL;

        ck_assert_int_ge(asprintf(&tarball, "%s/tests/fixtures/real-kernel/%s/sysfs-fixture.tar.gz",
                                  test_srcdir(), variant),
                         0);
        ck_assert_msg(access(tarball, R_OK) == 0, "fixture %s missing", tarball);
        ck_assert_int_ge(asprintf(&cmd, "env -u LD_PRELOAD tar -xzf '%s' -C '%s'", tarball, root), 0);
        /* LD_PRELOAD (umockdev, ASan) must not reach tar. */
        ck_assert_int_eq(system(cmd), 0);
        return root;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        if (flag == FTW_DP)
                return rmdir(path) < 0 ? 0 : 0;
        (void)unlink(path);
        return 0;
}

void test_rm_rf(const char *path)
{
        if (!path || strncmp(path, "/tmp/", 5) != 0)
                return; /* never outside /tmp */
        nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

struct mdp_ctx *test_ctx(const char *root)
{
        struct mdp_ctx *ctx = NULL;

        ck_assert_int_eq(mdp_ctx_new_with_root(root, &ctx), 0);
        return ctx;
}

static char *join(const char *root, const char *relpath)
{
        char *p;
        ck_assert_int_ge(asprintf(&p, "%s/%s", root, relpath), 0);
        return p;
}

static void make_parent_dirs(const char *path)
{
        _cleanup_free_ char *dir = strdup(path);
        char *slash = strrchr(dir, '/');

        if (slash && slash != dir) {
                *slash = '\0';
                ck_assert_int_eq(mkdir_p(dir, 0755), 0);
        }
}

void test_write(const char *root, const char *relpath, const char *content)
{
        _cleanup_free_ char *p = join(root, relpath);
        _cleanup_fclose_ FILE *f = NULL;

        make_parent_dirs(p);
        f = fopen(p, "we");
        ck_assert_msg(f, "open %s: %s", p, strerror(errno));
        fputs(content, f);
}

void test_symlink(const char *root, const char *relpath, const char *target)
{
        _cleanup_free_ char *p = join(root, relpath);

        make_parent_dirs(p);
        (void)unlink(p);
        ck_assert_msg(symlink(target, p) == 0, "symlink %s: %s", p, strerror(errno));
}

void test_mkdir(const char *root, const char *relpath)
{
        _cleanup_free_ char *p = join(root, relpath);
        ck_assert_int_eq(mkdir_p(p, 0755), 0);
}

char *test_read(const char *root, const char *relpath)
{
        _cleanup_free_ char *p = join(root, relpath);
        char *s = NULL;

        if (read_full_file(AT_FDCWD, p, 1 << 24, &s, NULL) < 0)
                return NULL;
        return s;
}

static char **fp_lines;
static size_t fp_n, fp_cap;
static size_t fp_root_len;

static uint64_t fnv1a_file(const char *path)
{
        uint64_t h = 1469598103934665603ULL;
        unsigned char buf[4096];
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        ssize_t n;

        if (fd < 0)
                return 0;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                for (ssize_t i = 0; i < n; i++)
                        h = (h ^ buf[i]) * 1099511628211ULL;
        return h;
}

static int fp_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        char target[PATH_MAX] = "";
        char *line;
        uint64_t h = 0;

        (void)flag;
        (void)ftw;
        if (S_ISLNK(st->st_mode)) {
                ssize_t n = readlink(path, target, sizeof(target) - 1);
                target[n > 0 ? n : 0] = '\0';
        } else if (S_ISREG(st->st_mode))
                h = fnv1a_file(path);
        ck_assert_int_ge(asprintf(&line, "%s %o %lld %lld.%09ld %s %016llx", path + fp_root_len,
                                  (unsigned)st->st_mode, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
                                  st->st_mtim.tv_nsec, target, (unsigned long long)h),
                         0);
        if (fp_n == fp_cap) {
                fp_cap = fp_cap ? fp_cap * 2 : 256;
                fp_lines = realloc(fp_lines, fp_cap * sizeof(char *));
                ck_assert_ptr_nonnull(fp_lines);
        }
        fp_lines[fp_n++] = line;
        return 0;
}

static int fp_compare(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

char *test_tree_fingerprint(const char *root)
{
        size_t len = 1;
        char *out, *w;

        fp_n = 0;
        fp_root_len = strlen(root);
        ck_assert_int_eq(nftw(root, fp_one, 32, FTW_PHYS), 0);
        qsort(fp_lines, fp_n, sizeof(char *), fp_compare);
        for (size_t i = 0; i < fp_n; i++)
                len += strlen(fp_lines[i]) + 1;
        out = w = malloc(len);
        ck_assert_ptr_nonnull(out);
        for (size_t i = 0; i < fp_n; i++) {
                w = stpcpy(w, fp_lines[i]);
                *w++ = '\n';
                free(fp_lines[i]);
        }
        *w = '\0';
        free(fp_lines);
        fp_lines = NULL;
        fp_n = fp_cap = 0;
        return out;
}

bool test_exists(const char *root, const char *relpath)
{
        _cleanup_free_ char *p = join(root, relpath);
        struct stat st;
        return lstat(p, &st) == 0;
}

void test_make_siov_parent(const char *root)
{
        _cleanup_free_ char *link = NULL, *config_path = NULL;
        uint8_t config[4096] = {0xf4, 0x1a, 0x00, 0x10};
        FILE *f;

        test_mkdir(root, "sys/bus/pci/drivers/example_vdcm");
        ck_assert_int_ge(asprintf(&link, "%s/" TEST_SIOV_PF_DIR "/driver", root), 0);
        ck_assert_int_eq(unlink(link), 0);
        test_symlink(root, TEST_SIOV_PF_DIR "/driver", "../../../../../bus/pci/drivers/example_vdcm");
#define TYPE_DIR TEST_SIOV_PF_DIR "/mdev_supported_types/" TEST_SIOV_TYPE
        test_write(root, TYPE_DIR "/name", "wq\n");
        test_write(root, TYPE_DIR "/description", "one work queue\n");
        test_write(root, TYPE_DIR "/device_api", "vfio-pci\n");
        test_write(root, TYPE_DIR "/available_instances", "8\n");
        test_write(root, TYPE_DIR "/create", "");
        test_mkdir(root, TYPE_DIR "/devices");
#undef TYPE_DIR
        test_symlink(root, "sys/class/mdev_bus/" TEST_SIOV_PF,
                     "../../devices/platform/4010000000.pcie/pci0000:00/" TEST_SIOV_PF);
        /* §3.3: PASID extended capability at 0x100, Max PASID Width 20 */
        config[0x100] = 0x1b;
        config[0x102] = 0x01;
        config[0x105] = 20;
        ck_assert_int_ge(asprintf(&config_path, "%s/" TEST_SIOV_PF_DIR "/config", root), 0);
        f = fopen(config_path, "we");
        ck_assert_msg(f, "cannot write %s", config_path);
        ck_assert_uint_eq(fwrite(config, 1, sizeof(config), f), sizeof(config));
        fclose(f);
}
