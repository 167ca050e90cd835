/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for lib/util and the context's path building. Pure: temp files only. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "snapshot.h"
#include "test-help.h"
#include "util/fileio.h"
#include "util/hashmap.h"
#include "util/macro.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/uuid.h"

START_TEST(test_parse_numbers)
{
        uint64_t v;
        unsigned u;

        ck_assert_int_eq(safe_atou64("24\n", &v), 0);
        ck_assert_uint_eq(v, 24);
        ck_assert_int_eq(safe_atou64("0", &v), 0);
        ck_assert_uint_eq(v, 0);
        ck_assert_int_eq(safe_atou64("18446744073709551615", &v), 0);
        ck_assert_uint_eq(v, UINT64_MAX);
        ck_assert_int_eq(safe_atou64("18446744073709551616", &v), -ERANGE);
        v = 7;
        ck_assert_int_eq(safe_atou64("", &v), -EINVAL);
        ck_assert_int_eq(safe_atou64("-1", &v), -EINVAL);
        ck_assert_int_eq(safe_atou64("12abc", &v), -EINVAL);
        ck_assert_int_eq(safe_atou64("12\n\n", &v), -EINVAL);
        ck_assert_int_eq(safe_atou64(" 12", &v), -EINVAL);
        ck_assert_uint_eq(v, 7); /* untouched on failure */
        ck_assert_int_eq(safe_atou("4294967296", &u), -ERANGE);
        ck_assert_int_eq(safe_atox64("480080f00f4a\n", &v), 0);
        ck_assert_uint_eq(v, 0x480080f00f4aULL);
        ck_assert_int_eq(safe_atox64("0xD2008C22260206", &v), 0);
        ck_assert_uint_eq(v, 0xd2008c22260206ULL);
        ck_assert_int_eq(safe_atox64("1ffffffffffffffff", &v), -ERANGE);
        ck_assert_int_eq(safe_atox64("xyz", &v), -EINVAL);
        ck_assert_int_eq(safe_atox64("0x", &v), -EINVAL);
}
END_TEST

START_TEST(test_utf8)
{
        ck_assert(utf8_is_valid(""));
        ck_assert(utf8_is_valid("mtty-1 ports \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
        ck_assert(utf8_is_valid("\xf4\x8f\xbf\xbf"));  /* U+10FFFF */
        ck_assert(!utf8_is_valid("\xff"));             /* never in UTF-8 */
        ck_assert(!utf8_is_valid("a\x80"));            /* a lone continuation byte */
        ck_assert(!utf8_is_valid("\xc3"));             /* cut short by the end */
        ck_assert(!utf8_is_valid("\xc3("));            /* cut short by ASCII */
        ck_assert(!utf8_is_valid("\xc0\xaf"));         /* overlong "/" */
        ck_assert(!utf8_is_valid("\xe0\x80\xaf"));     /* overlong, 3 bytes */
        ck_assert(!utf8_is_valid("\xf0\x80\x80\xaf")); /* overlong, 4 bytes */
        ck_assert(!utf8_is_valid("\xed\xa0\x80"));     /* a surrogate */
        ck_assert(!utf8_is_valid("\xf4\x90\x80\x80")); /* above U+10FFFF */
}
END_TEST

START_TEST(test_uuid)
{
        char out[MDP_UUID_STRING_MAX];

        ck_assert(mdp_uuid_is_canonical("93d027d2-1b51-482e-aab4-3da2abd511c0"));
        ck_assert(!mdp_uuid_is_canonical("93D027D2-1B51-482E-AAB4-3DA2ABD511C0"));
        ck_assert(!mdp_uuid_is_canonical("93d027d2-1b51-482e-aab4-3da2abd511c"));
        ck_assert(!mdp_uuid_is_canonical("93d027d2-1b51-482e-aab4-3da2abd511c0\n"));
        ck_assert(!mdp_uuid_is_canonical("93d027d21b51482eaab43da2abd511c0"));
        ck_assert(!mdp_uuid_is_canonical("../../../../../etc/passwd-aaaaaaaaaa"));
        ck_assert(!mdp_uuid_is_canonical(NULL));
        ck_assert_int_eq(mdp_uuid_normalize("93D027D2-1B51-482E-AAB4-3DA2ABD511C0", out), 0);
        ck_assert_str_eq(out, "93d027d2-1b51-482e-aab4-3da2abd511c0");
        ck_assert_int_eq(mdp_uuid_normalize("not-a-uuid", out), -EINVAL);
        ck_assert_int_eq(mdp_uuid_generate(out), 0);
        ck_assert(mdp_uuid_is_canonical(out));
        ck_assert_int_eq(out[14], '4');
}
END_TEST

START_TEST(test_read_attr)
{
        _cleanup_free_ char *root = test_mkdtemp("util");
        char buf[8], path[256];
        _cleanup_free_ char *s = NULL;

        test_write(root, "a", "24\n");
        snprintf(path, sizeof(path), "%s/a", root);
        ck_assert_int_eq(read_attr(AT_FDCWD, path, buf, sizeof(buf)), 2);
        ck_assert_str_eq(buf, "24");
        /* Exactly fills the buffer without the newline: still too big for the NUL. */
        test_write(root, "b", "12345678");
        snprintf(path, sizeof(path), "%s/b", root);
        ck_assert_int_eq(read_attr(AT_FDCWD, path, buf, sizeof(buf)), -E2BIG);
        test_write(root, "c", "1234567");
        snprintf(path, sizeof(path), "%s/c", root);
        ck_assert_int_eq(read_attr(AT_FDCWD, path, buf, sizeof(buf)), 7);
        snprintf(path, sizeof(path), "%s/missing", root);
        ck_assert_int_eq(read_attr(AT_FDCWD, path, buf, sizeof(buf)), -ENOENT);
        snprintf(path, sizeof(path), "%s/c", root);
        ck_assert_int_eq(read_full_file(AT_FDCWD, path, 4, &s, NULL), -EFBIG);
        ck_assert_int_eq(read_full_file(AT_FDCWD, root, 4, &s, NULL), -EISDIR);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_write_attr_never_creates)
{
        _cleanup_free_ char *root = test_mkdtemp("util");
        _cleanup_free_ char *s = NULL;
        char path[256];

        snprintf(path, sizeof(path), "%s/create", root);
        ck_assert_int_eq(write_attr(AT_FDCWD, path, "x"), -ENOENT);
        ck_assert(!test_exists(root, "create"));
        test_write(root, "create", "old content that is longer");
        ck_assert_int_eq(write_attr(AT_FDCWD, path, "new"), 0);
        s = test_read(root, "create");
        ck_assert_str_eq(s, "new");
        test_rm_rf(root);
}
END_TEST

START_TEST(test_write_file_atomic)
{
        _cleanup_free_ char *root = test_mkdtemp("util");
        _cleanup_free_ char *s = NULL;
        char path[256];
        struct stat st;

        snprintf(path, sizeof(path), "%s/def", root);
        ck_assert_int_eq(write_file_atomic(path, "one", 3, 0644), 0);
        ck_assert_int_eq(write_file_atomic(path, "two!", 4, 0600), 0);
        s = test_read(root, "def");
        ck_assert_str_eq(s, "two!");
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 0777, 0600);
        /* A directory that does not exist: error, and nothing left behind. */
        snprintf(path, sizeof(path), "%s/nodir/def", root);
        ck_assert_int_eq(write_file_atomic(path, "x", 1, 0644), -ENOENT);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_hashmap)
{
        struct hashmap *h = hashmap_new();
        enum { N = 20000 };
        char (*keys)[16] = calloc(N, 16);
        void *old;
        size_t count = 0;
        int *v;

        ck_assert_ptr_nonnull(h);
        for (int i = 0; i < N; i++) {
                snprintf(keys[i], 16, "k%d", i);
                ck_assert_int_eq(hashmap_put(h, keys[i], (void *)(intptr_t)(i + 1)), 0);
        }
        ck_assert_int_eq(hashmap_put(h, "k5", (void *)1), -EEXIST);
        ck_assert_uint_eq(hashmap_size(h), N);
        for (int i = 0; i < N; i += 2)
                ck_assert_ptr_eq(hashmap_remove(h, keys[i]), (void *)(intptr_t)(i + 1));
        ck_assert_uint_eq(hashmap_size(h), N / 2);
        for (int i = 0; i < N; i++)
                ck_assert_ptr_eq(hashmap_get(h, keys[i]), i % 2 ? (void *)(intptr_t)(i + 1) : NULL);
        ck_assert_ptr_null(hashmap_remove(h, "absent"));
        ck_assert_int_eq(hashmap_replace(h, "k1", (void *)99, &old), 0);
        ck_assert_ptr_eq(old, (void *)2);
        HASHMAP_FOREACH(v, h, i)
        {
                (void)v;
                count++;
        }
        ck_assert_uint_eq(count, N / 2);
        hashmap_free(h);
        free(keys);
}
END_TEST

START_TEST(test_strbuf)
{
        struct strbuf sb = { 0 };
        _cleanup_free_ char *s = NULL;

        for (int i = 0; i < 1000; i++)
                strbuf_printf(&sb, "%d,", i);
        strbuf_append(&sb, "end");
        s = strbuf_steal(&sb);
        ck_assert_ptr_nonnull(s);
        ck_assert(strncmp(s, "0,1,2,", 6) == 0);
        ck_assert_str_eq(s + strlen(s) - 7, "999,end");
}
END_TEST

/* The snapshot format (lib/snapshot.h): written, sealed, mapped and read back; short
 * records read as "" (an older daemon), unknown tags and extra fields are skipped (a newer
 * one), and broken files are refused rather than read past their end. */
START_TEST(test_snapshot_format)
{
        static const char magic[] = MDP_SNAPSHOT_MAGIC;
        struct strbuf sb = {0};
        struct mdp_snapshot_reader rd;
        struct mdp_snapshot_record rec;
        const void *map;
        size_t size;
        int64_t v;
        int fd;

        mdp_snapshot_begin(&sb);
        mdp_snapshot_record(&sb, 'P', 3);
        mdp_snapshot_field(&sb, "mtty");
        mdp_snapshot_field(&sb, NULL);
        mdp_snapshot_field_int(&sb, -1);
        mdp_snapshot_record(&sb, 'Z', 1); /* a tag from a later version */
        mdp_snapshot_field(&sb, "future");
        mdp_snapshot_record(&sb, 'A', 2);
        mdp_snapshot_field(&sb, "name");
        mdp_snapshot_field_int(&sb, INT64_MIN);
        fd = mdp_snapshot_to_memfd(&sb);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_lt(write(fd, "x", 1), 0);
        ck_assert_int_lt(ftruncate(fd, 1), 0);
        ck_assert_int_eq(mdp_snapshot_map(fd, &map, &size), 0);
        ck_assert_uint_eq(size, sb.len);
        ck_assert_int_eq(mdp_snapshot_reader_init(&rd, map, size), 0);
        ck_assert_int_eq(mdp_snapshot_next(&rd, &rec), 1);
        ck_assert_int_eq(rec.tag, 'P');
        ck_assert_str_eq(rec.field[0], "mtty");
        ck_assert_str_eq(rec.field[1], "");
        ck_assert_int_eq(mdp_snapshot_int(rec.field[2], &v), 0);
        ck_assert_int_eq(v, -1);
        ck_assert_str_eq(rec.field[3], ""); /* not in the record: not known */
        ck_assert_int_eq(mdp_snapshot_next(&rd, &rec), 1);
        ck_assert_int_eq(rec.tag, 'Z');
        ck_assert_int_eq(mdp_snapshot_next(&rd, &rec), 1);
        ck_assert_int_eq(mdp_snapshot_int(rec.field[1], &v), 0);
        ck_assert(v == INT64_MIN);
        ck_assert_int_eq(mdp_snapshot_next(&rd, &rec), 0);
        munmap((void *)map, size);
        close(fd);

        /* an unsealed file is not mapped: it could shrink under the reader */
        fd = memfd_create("unsealed", MFD_CLOEXEC);
        ck_assert_int_eq(write(fd, sb.buf, sb.len), (ssize_t)sb.len);
        ck_assert_int_eq(mdp_snapshot_map(fd, &map, &size), -EPERM);
        close(fd);
        strbuf_done(&sb);

        /* broken files */
        ck_assert_int_eq(mdp_snapshot_reader_init(&rd, "mdevpasid-snapshot 2\n", 21), -EBADMSG);
        ck_assert_int_eq(mdp_snapshot_reader_init(&rd, magic, 5), -EBADMSG);
        {
                static const struct {
                        const char *bytes;
                        size_t len;
                } bad[] = {
                        {"P\0" "2\0" "a\0", 6},        /* one field short of its count */
                        {"P\0" "1\0" "abc", 7},         /* no NUL at the end */
                        {"P\0" "-1\0", 5},              /* negative count */
                        {"P\0" "x\0", 4},               /* count not a number */
                        {"PQ\0" "0\0", 5},              /* tag of two letters */
                        {"P\0" "99999999999999999999\0", 23}, /* count past any file */
                        {"P", 1},
                };
                for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                        char buf[64];

                        memcpy(buf, magic, sizeof(magic) - 1);
                        memcpy(buf + sizeof(magic) - 1, bad[i].bytes, bad[i].len);
                        ck_assert_int_eq(mdp_snapshot_reader_init(&rd, buf, sizeof(magic) - 1 + bad[i].len), 0);
                        ck_assert_msg(mdp_snapshot_next(&rd, &rec) == -EBADMSG, "bad[%zu] read", i);
                }
        }
        ck_assert_int_eq(mdp_snapshot_int("", &v), -EBADMSG);
        ck_assert_int_eq(mdp_snapshot_int("-", &v), -EBADMSG);
        ck_assert_int_eq(mdp_snapshot_int("12a", &v), -EBADMSG);
        ck_assert_int_eq(mdp_snapshot_int("9223372036854775808", &v), -EBADMSG);
        ck_assert_int_eq(mdp_snapshot_int("9223372036854775807", &v), 0);
        ck_assert(v == INT64_MAX);
        ck_assert_uint_eq(mdp_snapshot_section_from_string("definitions"), MDP_SNAPSHOT_DEFINITIONS);
        ck_assert_uint_eq(mdp_snapshot_section_from_string("Definitions"), 0);
}
END_TEST

START_TEST(test_paths)
{
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *host = NULL, *rooted = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        struct mdp_ctx *bad = NULL;
        char buf[16];

        ck_assert_int_eq(mdp_ctx_new_with_root(NULL, &host), 0);
        a = mdp_path(host, MDP_PATH_SYSFS, "class/mdev_bus/%s", "mtty");
        ck_assert_str_eq(a, "/sys/class/mdev_bus/mtty");
        ck_assert_int_eq(mdp_ctx_new_with_root("/tmp/x///", &rooted), 0);
        b = mdp_path(rooted, MDP_PATH_MDEVCTL, "%s/%s", "mtty", "u");
        ck_assert_str_eq(b, "/tmp/x/etc/mdevctl.d/mtty/u");
        c = mdp_path(rooted, MDP_PATH_STATE, NULL);
        ck_assert_str_eq(c, "/tmp/x/var/lib/mdevpasid");
        d = mdp_path(rooted, MDP_PATH_RUNTIME, "x");
        ck_assert_str_eq(d, "/tmp/x/run/mdevpasid/x");
        ck_assert_int_eq(mdp_path_buf(rooted, MDP_PATH_DEV, buf, sizeof(buf), "vfio/vfio"), -ENAMETOOLONG);
        ck_assert_int_eq(mdp_ctx_new_with_root("relative/root", &bad), -EINVAL);
        ck_assert_ptr_null(bad);
        /* "/" is the real host. */
        ck_assert_int_eq(mdp_ctx_new_with_root("/", &bad), 0);
        ck_assert_str_eq(mdp_ctx_get_root(bad), "");
        mdp_ctx_unref(bad);
}
END_TEST

static Suite *util_suite(void)
{
        Suite *s = suite_create("util");
        TCase *tc = tcase_create("util");

        tcase_add_test(tc, test_parse_numbers);
        tcase_add_test(tc, test_utf8);
        tcase_add_test(tc, test_uuid);
        tcase_add_test(tc, test_read_attr);
        tcase_add_test(tc, test_write_attr_never_creates);
        tcase_add_test(tc, test_write_file_atomic);
        tcase_add_test(tc, test_hashmap);
        tcase_add_test(tc, test_strbuf);
        tcase_add_test(tc, test_paths);
        tcase_add_test(tc, test_snapshot_format);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(util_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
