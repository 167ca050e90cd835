/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rendering of plans (lib/engine-render.c): the JSON keys are an interface (issue 3: vm,
 * strategy, reason, units[unit, kind, strategy, reason, explanation], kernel_backend, qemu,
 * libvirt_xml, policy_files) and the text is what people read; both are compared with
 * golden files in tests/golden/. MDP_UPDATE_GOLDEN=1 rewrites them (review the diff). */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-test.h"
#include "engine.h"
#include "test-help.h"
#include "util/json.h"
#include "util/macro.h"
#include "util/strbuf.h"

#define VF   "0000:01:00.1"
#define MDEV "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"

static struct engine_env env;

static void golden(const char *name, const char *actual)
{
        _cleanup_free_ char *dir = NULL, *expected = NULL;

        ck_assert_int_ge(asprintf(&dir, "%s/tests/golden", test_srcdir()), 0);
        if (getenv("MDP_UPDATE_GOLDEN")) {
                test_write(dir, name, actual);
                return;
        }
        expected = test_read(dir, name);
        ck_assert_msg(expected, "missing tests/golden/%s (run with MDP_UPDATE_GOLDEN=1)", name);
        ck_assert_msg(streq(expected, actual), "tests/golden/%s differs; got:\n%s", name, actual);
}

/* x86, G1: a VF that could nest next to an emulated mdev: reconciled to shadowing, with one
 * unknown fact and two policy files. */
static struct mdp_plan *mixed_plan(void)
{
        struct mdp_unit_input *u;

        env_upstream(&env);
        env.req.vm = "web1";
        env.req.guest = MDP_GUEST_NOPASID;
        env.req.guest_basis = "--viommu nopasid";
        env.req.kernel.basis[MDP_KFEAT_IOMMUFD] = "/dev/iommu";
        env.policy_files[0] = "/etc/mdevpasid/mdevpasid.conf";
        env.policy_files[1] = "/etc/mdevpasid/policy.d/10-web.json";
        env.req.policy_files = env.policy_files;
        env.req.n_policy_files = 2;
        env_add(&env, MDP_UNIT_VF, MDP_IOMMU_VTD, VF);
        u = env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_VTD, MDEV);
        u->iommu.fl1gp = MDP_UNKNOWN;
        env.units[0].behind_pci_bridge = MDP_UNKNOWN;
        return env_plan(&env);
}

static struct mdp_plan *refused_plan(void)
{
        env_upstream(&env);
        env.req.vm = "db2";
        env.req.guest = MDP_GUEST_PASID;
        env.req.guest_basis = "<iommu model='intel'> with <driver pasid_bits='20'/>";
        env_add(&env, MDP_UNIT_PF, MDP_IOMMU_VTD, "0000:3b:00.0");
        return env_plan(&env);
}

static char *json_text(const struct mdp_plan *p)
{
        _cleanup_json_ json_object *o = NULL;

        struct strbuf sb = {};

        /* the project's own pretty writer: byte-stable across json-c versions */
        ck_assert_int_eq(mdp_plan_to_json(p, &o), 0);
        mdp_json_write_pretty(&sb, o);
        return strbuf_steal(&sb);
}

static void assert_keys(json_object *o, const char *const *keys, size_t n)
{
        size_t i = 0;

        ck_assert(json_object_is_type(o, json_type_object));
        json_object_object_foreach(o, key, val)
        {
                (void)val;
                ck_assert_uint_lt(i, n);
                ck_assert_str_eq(key, keys[i]);
                i++;
        }
        ck_assert_uint_eq(i, n);
}

START_TEST(json_fixed_keys)
{
        static const char *const top[] = {"vm",   "strategy",    "reason",      "units", "kernel_backend",
                                          "qemu", "libvirt_xml", "policy_files"};
        static const char *const unit[] = {"unit", "kind", "strategy", "reason", "explanation"};
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = mixed_plan();
        _cleanup_json_ json_object *o = NULL;
        json_object *units, *v;

        ck_assert_int_eq(mdp_plan_to_json(p, &o), 0);
        assert_keys(o, top, ELEMENTSOF(top));
        ck_assert(json_object_object_get_ex(o, "units", &units));
        ck_assert_uint_eq(json_object_array_length(units), 2);
        for (size_t i = 0; i < 2; i++)
                assert_keys(json_object_array_get_idx(units, i), unit, ELEMENTSOF(unit));

        ck_assert_str_eq(mdp_json_get_string(o, "vm"), "web1");
        ck_assert_str_eq(mdp_json_get_string(o, "strategy"), "shadow");
        ck_assert(json_object_object_get_ex(o, "reason", &v) && v == NULL); /* null, not "none" */
        ck_assert_str_eq(mdp_json_get_string(o, "kernel_backend"), "iommufd-ioas");
        ck_assert(json_object_object_get_ex(o, "policy_files", &v));
        ck_assert_uint_eq(json_object_array_length(v), 2);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)),
                         "/etc/mdevpasid/policy.d/10-web.json");
        v = json_object_array_get_idx(units, 1);
        ck_assert_str_eq(mdp_json_get_string(v, "kind"), "emdev");
        ck_assert(json_object_object_get_ex(v, "explanation", &v));
        /* the guest mode and its basis come first; unknowns come after the rules */
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)),
                         "guest vIOMMU mode G1 (nopasid): --viommu nopasid");
}
END_TEST

START_TEST(json_refused)
{
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = refused_plan();
        _cleanup_json_ json_object *o = NULL;
        json_object *v;

        ck_assert_int_eq(mdp_plan_to_json(p, &o), 0);
        ck_assert_str_eq(mdp_json_get_string(o, "strategy"), "refused");
        ck_assert_str_eq(mdp_json_get_string(o, "reason"), "NO_PASID_NEST");
        ck_assert(json_object_object_get_ex(o, "kernel_backend", &v) && v == NULL);
        ck_assert(json_object_object_get_ex(o, "libvirt_xml", &v) && v == NULL);
        ck_assert(json_object_object_get_ex(o, "qemu", &v));
        ck_assert_uint_eq(json_object_array_length(v), 0);
        ck_assert(json_object_object_get_ex(o, "policy_files", &v));
        ck_assert_uint_eq(json_object_array_length(v), 0);
}
END_TEST

START_TEST(golden_json)
{
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = mixed_plan();
        _cleanup_(mdp_plan_freep) struct mdp_plan *r = refused_plan();
        _cleanup_free_ char *a = json_text(p), *b = json_text(r);
        _cleanup_free_ char *a2 = NULL, *b2 = NULL;

        ck_assert_int_ge(asprintf(&a2, "%s\n", a), 0);
        ck_assert_int_ge(asprintf(&b2, "%s\n", b), 0);
        golden("engine-plan-shadow.json", a2);
        golden("engine-plan-refused.json", b2);
}
END_TEST

START_TEST(golden_text)
{
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = mixed_plan();
        _cleanup_(mdp_plan_freep) struct mdp_plan *r = refused_plan();
        _cleanup_free_ char *a = NULL, *b = NULL;

        ck_assert_int_eq(mdp_plan_format_text(p, &a), 0);
        ck_assert_int_eq(mdp_plan_format_text(r, &b), 0);
        golden("engine-plan-shadow.txt", a);
        golden("engine-plan-refused.txt", b);
}
END_TEST

START_TEST(text_table)
{
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = mixed_plan();
        _cleanup_free_ char *t = NULL;

        ck_assert_int_eq(mdp_plan_format_text(p, &t), 0);
        /* the table: columns aligned to the longest unit id */
        ck_assert_ptr_nonnull(strstr(t, "UNIT                                  KIND   STRATEGY  REASON\n" VF
                                        "                          vf     shadow    -\n" MDEV
                                        "  emdev  shadow    -\n"));
        ck_assert_ptr_nonnull(
                strstr(t, "  unknown: guest placement (behind a conventional PCI bridge?) unknown"));
        ck_assert_ptr_nonnull(strstr(t, "Policy files: /etc/mdevpasid/mdevpasid.conf, "
                                        "/etc/mdevpasid/policy.d/10-web.json\n"));
        ck_assert_int_eq(mdp_plan_format_text(NULL, &t), -EINVAL);
}
END_TEST

static Suite *render_suite(void)
{
        Suite *s = suite_create("engine-render");
        TCase *tc = tcase_create("render");

        tcase_add_test(tc, json_fixed_keys);
        tcase_add_test(tc, json_refused);
        tcase_add_test(tc, golden_json);
        tcase_add_test(tc, golden_text);
        tcase_add_test(tc, text_table);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(render_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
