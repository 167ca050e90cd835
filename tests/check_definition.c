/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mdevctl definition store: format, parse rules, atomic save, scan isolation, and
 * Debian's mdevctl reading what we wrote (when mdevctl and unshare are available). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "definition.h"
#include "test-help.h"
#include "util/json.h"
#include "util/macro.h"

#define U1 "11111111-2222-3333-4444-555555555555"
#define U2 "11111111-2222-3333-4444-555555555556"
#define P "0000:00:02.0"

/* Bytes Debian's mdevctl 1.2.0 wrote for `define` then two `modify --addattr`. */
static const char mdevctl_bytes[] = "{\n"
                                    "  \"mdev_type\": \"i915-GVTg_V5_4\",\n"
                                    "  \"start\": \"manual\",\n"
                                    "  \"attrs\": [\n"
                                    "    {\n"
                                    "      \"foo\": \"bar\"\n"
                                    "    },\n"
                                    "    {\n"
                                    "      \"x\": \"a\\\"b\\\\c\"\n"
                                    "    }\n"
                                    "  ]\n"
                                    "}";

START_TEST(test_format_matches_mdevctl)
{
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL, *back = NULL;
        _cleanup_free_ char *s = NULL, *s2 = NULL, *err = NULL;

        ck_assert_int_eq(mdp_definition_new(P, U1, "i915-GVTg_V5_4", false, &d), 0);
        ck_assert_int_eq(mdp_definition_add_attr(d, "foo", "bar", -1), 0);
        ck_assert_int_eq(mdp_definition_add_attr(d, "x", "a\"b\\c", -1), 0);
        s = mdp_definition_format(d);
        ck_assert_str_eq(s, mdevctl_bytes);
        ck_assert_int_eq(mdp_definition_parse(P, U1, s, strlen(s), &back, &err), 0);
        s2 = mdp_definition_format(back);
        ck_assert_str_eq(s2, s);
}
END_TEST

START_TEST(test_format_empty_attrs)
{
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL;
        _cleanup_free_ char *s = NULL;

        ck_assert_int_eq(mdp_definition_new(P, U2, "i915-GVTg_V5_4", true, &d), 0);
        s = mdp_definition_format(d);
        ck_assert_str_eq(s, "{\n  \"mdev_type\": \"i915-GVTg_V5_4\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}");
}
END_TEST

static void expect_parse_error(const char *json, const char *needle)
{
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL;
        _cleanup_free_ char *err = NULL;

        ck_assert_int_eq(mdp_definition_parse(P, U1, json, strlen(json), &d, &err), -EINVAL);
        ck_assert_ptr_null(d);
        ck_assert_msg(err && strstr(err, needle), "error for %s was \"%s\", expected \"%s\"", json, strna(err),
                      needle);
}

START_TEST(test_parse_rules)
{
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL, *d2 = NULL;
        _cleanup_free_ char *err = NULL, *rewritten = NULL;
        const char *bogus = "{\"mdev_type\":\"t\",\"start\":\"bogus\",\"attrs\":null,\"comment\":\"keep me\"}";
        const char *dup = "{\"mdev_type\":\"vfio_ap-passthrough\",\"start\":\"auto\",\"attrs\":"
                          "[{\"assign_adapter\":\"5\"},{\"assign_adapter\":\"6\"}]}";

        expect_parse_error("{\"start\":\"auto\"}", "\"mdev_type\" is missing");
        expect_parse_error("{\"mdev_type\":\"t\"}", "\"start\" is missing");
        expect_parse_error("{\"mdev_type\":7,\"start\":\"auto\"}", "\"mdev_type\" must be a string");
        expect_parse_error("{\"mdev_type\":\"../x\",\"start\":\"auto\"}", "not a valid type name");
        expect_parse_error("{\"mdev_type\":\"t\",\"start\":\"auto\",\"attrs\":{}}", "must be an array");
        expect_parse_error("{\"mdev_type\":\"t\",\"start\":\"auto\",\"attrs\":[{\"a\":\"1\",\"b\":\"2\"}]}",
                           "exactly one key");
        expect_parse_error("{\"mdev_type\":\"t\",\"start\":\"auto\",\"attrs\":[{\"a\":5}]}",
                           "must be a string");
        expect_parse_error("{\"mdev_type\":\"t\",\"start\":\"auto\",\"attrs\":[{\"../remove\":\"1\"}]}",
                           "not a valid attribute name");
        expect_parse_error("{\"mdev_type\":\"t\",\"start\":\"auto\",\"attrs\":[{\"a\":\"x\\u0000y\"}]}",
                           "contains a NUL");
        expect_parse_error("{ key: 1 }", "not valid JSON: line 1, column 3");
        expect_parse_error("{\"mdev_type\":\"t\",\"start\":\"auto\"} trailing", "not valid JSON");
        expect_parse_error("[]", "must be a JSON object");

        /* mdevctl: any start other than "auto" means manual; unknown keys survive a rewrite. */
        ck_assert_int_eq(mdp_definition_parse(P, U1, bogus, strlen(bogus), &d, &err), 0);
        ck_assert(!d->autostart);
        ck_assert_str_eq(d->start_unusual, "bogus");
        ck_assert_uint_eq(d->n_attrs, 0);
        rewritten = mdp_definition_format(d);
        ck_assert_ptr_nonnull(strstr(rewritten, "\"comment\": \"keep me\""));

        /* Repeated attribute names are allowed and keep their order (vfio-ap). */
        ck_assert_int_eq(mdp_definition_parse(P, U1, dup, strlen(dup), &d2, &err), 0);
        ck_assert_uint_eq(d2->n_attrs, 2);
        ck_assert_str_eq(d2->attrs[1].value, "6");
}
END_TEST

START_TEST(test_attr_edit)
{
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL;

        ck_assert_int_eq(mdp_definition_new(P, U1, "t", false, &d), 0);
        ck_assert_int_eq(mdp_definition_del_attr(d, -1), -ERANGE);
        ck_assert_int_eq(mdp_definition_add_attr(d, "a", "1", -1), 0);
        ck_assert_int_eq(mdp_definition_add_attr(d, "c", "3", -1), 0);
        ck_assert_int_eq(mdp_definition_add_attr(d, "b", "2", 1), 0);
        ck_assert_int_eq(mdp_definition_add_attr(d, "z", "9", 4), -ERANGE);
        ck_assert_int_eq(mdp_definition_add_attr(d, "a/b", "9", -1), -EINVAL);
        ck_assert_str_eq(d->attrs[1].name, "b");
        /* mdevctl 1.2.0 panics on index == count; we report it. */
        ck_assert_int_eq(mdp_definition_del_attr(d, 3), -ERANGE);
        ck_assert_int_eq(mdp_definition_del_attr(d, -1), 0);
        ck_assert_uint_eq(d->n_attrs, 2);
        ck_assert_str_eq(d->attrs[1].name, "b");
        ck_assert_int_eq(mdp_definition_del_attr(d, 0), 0);
        ck_assert_str_eq(d->attrs[0].name, "b");
}
END_TEST

struct scan_result {
        int n_defs;
        int n_problems;
        char problems[8][512];
};

static int on_def(void *userdata, struct mdp_definition *d)
{
        struct scan_result *r = userdata;
        r->n_defs++;
        mdp_definition_free(d);
        return 0;
}

static void on_problem(void *userdata, const char *path, const char *msg)
{
        struct scan_result *r = userdata;
        if (r->n_problems < 8)
                snprintf(r->problems[r->n_problems], 512, "%s: %s", path, msg);
        r->n_problems++;
}

START_TEST(test_save_load_scan)
{
        _cleanup_free_ char *root = test_mkdtemp("def");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL, *back = NULL;
        _cleanup_free_ char *err = NULL, *content = NULL;
        struct scan_result res = { 0 };

        ck_assert_int_eq(mdp_definition_new(P, U1, "i915-GVTg_V5_4", true, &d), 0);
        ck_assert_int_eq(mdp_definition_add_attr(d, "foo", "bar", -1), 0);
        ck_assert_int_eq(mdp_definition_save(ctx, d), 0);
        ck_assert_int_eq(mdp_definition_load(ctx, P, U1, &back, &err), 0);
        ck_assert(back->autostart);
        ck_assert_str_eq(back->attrs[0].value, "bar");
        content = test_read(root, "etc/mdevctl.d/" P "/" U1);
        ck_assert_int_ne(content[strlen(content) - 1], '\n');

        /* One malformed file beside a good one: the good one loads, the bad one is named. */
        test_write(root, "etc/mdevctl.d/" P "/" U2, "{ \"mdev_type\": ");
        test_write(root, "etc/mdevctl.d/" P "/README", "not a definition");
        test_mkdir(root, "etc/mdevctl.d/" P "/subdir");
        test_mkdir(root, "etc/mdevctl.d/scripts.d/callouts");
        test_write(root, "etc/mdevctl.d/stray-file", "x");
        ck_assert_int_eq(mdp_definitions_scan(ctx, NULL, on_def, on_problem, &res), 0);
        ck_assert_int_eq(res.n_defs, 1);
        ck_assert_int_eq(res.n_problems, 2);
        ck_assert_msg(strstr(res.problems[0], U2) || strstr(res.problems[1], U2), "bad file not named");
        ck_assert_msg(strstr(res.problems[0], "not valid JSON") || strstr(res.problems[1], "not valid JSON"),
                      "no reason given");

        ck_assert_int_eq(mdp_definition_remove(ctx, P, U1), 0);
        ck_assert_int_eq(mdp_definition_remove(ctx, P, U1), -ENOENT);
        ck_assert_int_eq(mdp_definition_remove(ctx, "../etc", U1), -EINVAL);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_scan_missing_dir)
{
        _cleanup_free_ char *root = test_mkdtemp("def");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        struct scan_result res = { 0 };

        ck_assert_int_eq(mdp_definitions_scan(ctx, NULL, on_def, on_problem, &res), 0);
        ck_assert_int_eq(res.n_defs, 0);
        test_rm_rf(root);
}
END_TEST

START_TEST(test_save_failure_leaves_nothing_behind)
{
        _cleanup_free_ char *root = test_mkdtemp("def");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = test_ctx(root);
        _cleanup_(mdp_definition_freep) struct mdp_definition *d = NULL;
        _cleanup_free_ char *dir = NULL, *cmd = NULL;
        int leftovers;
        FILE *f;

        /* The rename cannot replace a non-empty directory: the save fails, the directory and
         * its content are untouched, and no temporary file is left. */
        test_write(root, "etc/mdevctl.d/" P "/" U1 "/keep", "precious");
        ck_assert_int_eq(mdp_definition_new(P, U1, "t", false, &d), 0);
        ck_assert_int_lt(mdp_definition_save(ctx, d), 0);
        ck_assert(test_exists(root, "etc/mdevctl.d/" P "/" U1 "/keep"));
        ck_assert_int_ge(asprintf(&dir, "%s/etc/mdevctl.d/%s", root, P), 0);
        ck_assert_int_ge(asprintf(&cmd, "ls -A '%s' | grep -c '^\\.#' || true", dir), 0);
        f = popen(cmd, "r");
        ck_assert_int_eq(fscanf(f, "%d", &leftovers), 1);
        pclose(f);
        ck_assert_int_eq(leftovers, 0);
        test_rm_rf(root);
}
END_TEST

/* Debian's mdevctl reads what we wrote (MDEVCTL.md §6.1: private mount namespace). */
START_TEST(test_mdevctl_reads_our_files)
{
        const char *mdevctl = getenv("MDEVCTL");
        _cleanup_free_ char *root = NULL, *cmd = NULL, *out = NULL;
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *ctx = NULL;
        _cleanup_(mdp_definition_freep) struct mdp_definition *a = NULL, *b = NULL;
        FILE *f;
        char buf[4096];
        size_t n;

        if (isempty(mdevctl) || streq(mdevctl, "no") || access("/etc/mdevctl.d", F_OK) < 0 || geteuid() != 0) {
                fprintf(stderr, "skipped: needs root, mdevctl and /etc/mdevctl.d\n");
                return;
        }
        root = test_mkdtemp("mdevctl");
        ctx = test_ctx(root);
        test_mkdir(root, "etc/mdevctl.d/scripts.d/callouts");
        test_mkdir(root, "etc/mdevctl.d/scripts.d/notifiers");
        test_mkdir(root, "sys/class/mdev_bus");
        test_mkdir(root, "sys/bus/mdev/devices");
        ck_assert_int_eq(mdp_definition_new(P, U1, "i915-GVTg_V5_4", true, &a), 0);
        ck_assert_int_eq(mdp_definition_add_attr(a, "assign_adapter", "5", -1), 0);
        ck_assert_int_eq(mdp_definition_add_attr(a, "assign_adapter", "6\"q", -1), 0);
        ck_assert_int_eq(mdp_definition_new("matrix", U2, "vfio_ap-passthrough", false, &b), 0);
        ck_assert_int_eq(mdp_definition_save(ctx, a), 0);
        ck_assert_int_eq(mdp_definition_save(ctx, b), 0);
        ck_assert_int_ge(asprintf(&cmd,
                                  "env -u LD_PRELOAD unshare -m --propagation private sh -c "
                                  "'mount --bind %s/etc/mdevctl.d /etc/mdevctl.d && mount --bind %s/sys /sys && "
                                  "%s list --defined --dumpjson' 2>&1",
                                  root, root, mdevctl),
                         0);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        ck_assert_int_eq(pclose(f), 0);
        /* mdevctl prints the same JSON structure back: our bytes parse as its model. */
        ck_assert_msg(strstr(buf, "\"" U1 "\": {\n          \"mdev_type\": \"i915-GVTg_V5_4\",\n"
                                  "          \"start\": \"auto\""),
                      "mdevctl output: %s", buf);
        ck_assert_msg(strstr(buf, "\"assign_adapter\": \"6\\\"q\""), "mdevctl output: %s", buf);
        ck_assert_msg(strstr(buf, "\"matrix\": ["), "mdevctl output: %s", buf);
        test_rm_rf(root);
}
END_TEST

static Suite *definition_suite(void)
{
        Suite *s = suite_create("definition");
        TCase *tc = tcase_create("definition");

        tcase_add_test(tc, test_format_matches_mdevctl);
        tcase_add_test(tc, test_format_empty_attrs);
        tcase_add_test(tc, test_parse_rules);
        tcase_add_test(tc, test_attr_edit);
        tcase_add_test(tc, test_save_load_scan);
        tcase_add_test(tc, test_scan_missing_dir);
        tcase_add_test(tc, test_save_failure_leaves_nothing_behind);
        tcase_add_test(tc, test_mdevctl_reads_our_files);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(definition_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
