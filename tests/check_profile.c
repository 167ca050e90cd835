/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Vendor profiles: the shipped files, /etc overrides and masks, the example profiles,
 * globs and precedence, and bad files. Temp trees only; the shipped profiles come from
 * the source tree through MDEVPASID_DATADIR. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "host.h"
#include "profile.h"
#include "test-help.h"
#include "util/macro.h"

#define PROFILES "etc/mdevpasid/profiles/"

static char *root;
static struct mdp_ctx *ctx;
static struct mdp_conf_messages msgs;

static void setup(void)
{
        _cleanup_free_ char *datadir = NULL;

        ck_assert_int_ge(asprintf(&datadir, "%s/conf", test_srcdir()), 0);
        setenv("MDEVPASID_DATADIR", datadir, 0);
        root = test_mkdtemp("prof");
        ctx = test_ctx(root);
        msgs = (struct mdp_conf_messages){ 0 };
}

static void teardown(void)
{
        mdp_conf_messages_done(&msgs);
        mdp_ctx_unref(ctx);
        test_rm_rf(root);
        free(root);
}

static struct mdp_profiles *load_ok(void)
{
        struct mdp_profiles *p = NULL;
        int r = mdp_profiles_load(ctx, &p, &msgs);

        ck_assert_msg(r == 0, "load failed (%d): %s", r, strna(msgs.error));
        ck_assert_ptr_null(msgs.error);
        return p;
}

/* Loads expecting failure; returns the error sentence (owned by msgs). */
static const char *load_fails(void)
{
        struct mdp_profiles *p = NULL;
        int r = mdp_profiles_load(ctx, &p, &msgs);

        ck_assert_int_eq(r, -EINVAL);
        ck_assert_ptr_null(p);
        ck_assert_ptr_nonnull(msgs.error);
        return msgs.error;
}

static bool has_warning(const char *a, const char *b)
{
        for (size_t i = 0; i < msgs.n_warnings; i++)
                if (strstr(msgs.warnings[i], a) && (!b || strstr(msgs.warnings[i], b)))
                        return true;
        return false;
}

static int classify(struct mdp_profiles *p, const char *driver, const char *type, enum mdp_mdev_class *c,
                    char *basis, size_t size)
{
        *c = (enum mdp_mdev_class)-1;
        basis[0] = '\0';
        return mdp_profiles_classify(p, driver, type, c, basis, size);
}

START_TEST(test_shipped_profiles_load)
{
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *p = load_ok();
        const char *expected[] = { "50-i915-gvtg.json", "50-mdev-samples.json", "50-vfio-ap.json",
                                   "50-vfio-ccw.json" };

        ck_assert_uint_eq(msgs.n_warnings, 0);
        ck_assert_uint_eq(mdp_profiles_count(p), ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                const struct mdp_profile *pr = mdp_profiles_get(p, i);

                ck_assert_str_eq(pr->name, expected[i]);
                ck_assert_int_eq(pr->origin, MDP_PROFILE_SHIPPED);
                ck_assert(!pr->masked);
                /* Every shipped profile says why its types are emulated, citing the spec. */
                ck_assert_ptr_nonnull(pr->description);
                ck_assert_msg(strstr(pr->description, "Emulated") && strstr(pr->description, "IOMMU-SPEC.md §1."),
                              "%s: description must say why the types are emulated", pr->name);
                ck_assert_uint_ge(pr->n_rules, 1);
                for (size_t j = 0; j < pr->n_rules; j++) {
                        ck_assert_int_eq(pr->rules[j].mdev_class, MDP_MDEV_EMULATED);
                        ck_assert(!pr->rules[j].kernel_path);
                        ck_assert_ptr_eq(pr->rules[j].profile, pr);
                }
        }
        ck_assert_ptr_null(mdp_profiles_get(p, ELEMENTSOF(expected)));
}
END_TEST

START_TEST(test_in_tree_drivers_classify_emulated)
{
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *p = load_ok();
        static const struct {
                const char *driver, *type, *file;
        } cases[] = {
                { "mtty", "mtty-1", "50-mdev-samples.json" },     { "mtty", "mtty-2", "50-mdev-samples.json" },
                { "mdpy", "mdpy-hd", "50-mdev-samples.json" },    { "mdpy", "mdpy-vga", "50-mdev-samples.json" },
                { "mbochs", "mbochs-small", "50-mdev-samples.json" },
                { "i915", "i915-GVTg_V5_4", "50-i915-gvtg.json" }, { "i915", "i915-GVTg_V5_8", "50-i915-gvtg.json" },
                { "vfio_ccw", "vfio_ccw-io", "50-vfio-ccw.json" },
                { "vfio_ap", "vfio_ap-passthrough", "50-vfio-ap.json" },
        };
        enum mdp_mdev_class c;
        char basis[512];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ck_assert_int_eq(classify(p, cases[i].driver, cases[i].type, &c, basis, sizeof(basis)), 1);
                ck_assert_int_eq(c, MDP_MDEV_EMULATED);
                ck_assert_msg(strstr(basis, cases[i].file) && strstr(basis, "emulated"), "basis: %s", basis);
                ck_assert_ptr_nonnull(strstr(basis, "/conf/profiles/"));
        }
        /* The basis names the file, the rule and its patterns. */
        ck_assert_int_eq(classify(p, "mbochs", "mbochs-large", &c, basis, sizeof(basis)), 1);
        ck_assert_ptr_nonnull(strstr(basis, "50-mdev-samples.json types[2] (driver \"mbochs\", type \"mbochs-*\")"));
        /* Types no profile declares: 0, the class untouched. */
        ck_assert_int_eq(classify(p, "nvidia", "nvidia-35", &c, basis, sizeof(basis)), 0);
        ck_assert_int_eq((int)c, -1);
        ck_assert_str_eq(basis, "");
        /* The driver must match too: an mtty type id under another driver is not declared. */
        ck_assert_int_eq(classify(p, "i915", "mtty-1", &c, basis, sizeof(basis)), 0);
        /* Unknown driver: the type id's prefix stands in for it (§1.1: "<driver>-<name>"). */
        ck_assert_int_eq(classify(p, NULL, "mtty-1", &c, basis, sizeof(basis)), 1);
        ck_assert_ptr_nonnull(strstr(basis, "(parent driver unknown: matched on the type id)"));
        ck_assert_int_eq(classify(p, NULL, "vfio_ccw-io", &c, basis, sizeof(basis)), 1);
        ck_assert_int_eq(classify(p, NULL, "vfio-ccw-io", &c, basis, sizeof(basis)), 0);
        ck_assert_int_eq(classify(p, NULL, "mtty", &c, basis, sizeof(basis)), 0);
        ck_assert_int_eq(classify(p, "mtty", NULL, &c, basis, sizeof(basis)), 0);
        /* A NULL set (no profiles loaded) declares nothing. */
        ck_assert_ptr_null(mdp_profiles_match(NULL, "mtty", "mtty-1"));
}
END_TEST

START_TEST(test_etc_override_replaces_shipped)
{
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *p = NULL;
        enum mdp_mdev_class c;
        char basis[512];

        test_write(root, PROFILES "50-mdev-samples.json",
                   "{ \"version\": 1, \"description\": \"local: only mtty\",\n"
                   "  \"types\": [ { \"parent_driver\": \"mtty\", \"type\": \"mtty-*\", \"class\": \"emulated\" } ] }\n");
        p = load_ok();
        ck_assert_uint_eq(mdp_profiles_count(p), 4);
        ck_assert_str_eq(mdp_profiles_get(p, 1)->name, "50-mdev-samples.json");
        ck_assert_int_eq(mdp_profiles_get(p, 1)->origin, MDP_PROFILE_OVERRIDE);
        ck_assert_str_eq(mdp_profiles_get(p, 1)->description, "local: only mtty");
        ck_assert_ptr_nonnull(strstr(mdp_profiles_get(p, 1)->path, root));
        ck_assert_int_eq(mdp_profiles_get(p, 0)->origin, MDP_PROFILE_SHIPPED);
        ck_assert_int_eq(classify(p, "mtty", "mtty-2", &c, basis, sizeof(basis)), 1);
        ck_assert_ptr_nonnull(strstr(basis, root));
        ck_assert_ptr_nonnull(strstr(basis, "/etc/mdevpasid/profiles/50-mdev-samples.json"));
        /* The shipped file is replaced as a whole: its mdpy rule is gone. */
        ck_assert_int_eq(classify(p, "mdpy", "mdpy-hd", &c, basis, sizeof(basis)), 0);
        ck_assert_int_eq(classify(p, "i915", "i915-GVTg_V5_4", &c, basis, sizeof(basis)), 1);
}
END_TEST

START_TEST(test_etc_mask_and_local_files)
{
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *p = NULL;
        enum mdp_mdev_class c;
        char basis[512];

        test_write(root, PROFILES "50-vfio-ap.json", "");
        test_symlink(root, PROFILES "50-vfio-ccw.json", "/dev/null");
        test_write(root, PROFILES "README", "not a profile: ignored");
        test_write(root, PROFILES ".hidden.json", "garbage, ignored");
        test_write(root, PROFILES "70-local.json",
                   "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"vfio_ap\", \"type\": \"vfio_ap-*\", "
                   "\"class\": \"emulated\", \"description\": \"site copy\" } ] }");
        p = load_ok();
        ck_assert_uint_eq(mdp_profiles_count(p), 5);
        ck_assert(mdp_profiles_get(p, 2)->masked);
        ck_assert_uint_eq(mdp_profiles_get(p, 2)->n_rules, 0);
        ck_assert(mdp_profiles_get(p, 3)->masked);
        ck_assert_int_eq(mdp_profiles_get(p, 4)->origin, MDP_PROFILE_LOCAL);
        ck_assert_str_eq(mdp_profile_origin_to_string(MDP_PROFILE_LOCAL), "local");
        ck_assert_int_eq(classify(p, "vfio_ccw", "vfio_ccw-io", &c, basis, sizeof(basis)), 0);
        ck_assert_int_eq(classify(p, "vfio_ap", "vfio_ap-passthrough", &c, basis, sizeof(basis)), 1);
        ck_assert_ptr_nonnull(strstr(basis, "70-local.json"));
}
END_TEST

/* The shipped example with "example" flipped, as an administrator activates it. */
static void install_example(const char *name, bool activate)
{
        _cleanup_free_ char *src = NULL, *text = NULL, *dst = NULL;
        char *flag;

        ck_assert_int_ge(asprintf(&src, "conf/profiles/examples/%s", name), 0);
        text = test_read(test_srcdir(), src);
        ck_assert_ptr_nonnull(text);
        flag = strstr(text, "\"example\": true");
        ck_assert_ptr_nonnull(flag);
        if (activate)
                memcpy(flag, "\"example\":false", strlen("\"example\":false"));
        ck_assert_int_ge(asprintf(&dst, PROFILES "%s", name), 0);
        test_write(root, dst, text);
}

START_TEST(test_example_profiles_inactive_until_edited)
{
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *p = NULL;
        enum mdp_mdev_class c;
        char basis[512];

        /* Shipped examples are not in the profile directory at all. */
        p = load_ok();
        ck_assert_int_eq(classify(p, "idxd", "idxd-dsa-1dwq-v1", &c, basis, sizeof(basis)), 0);
        p = mdp_profiles_unref(p);

        /* Copied as is: still an example, not activated, and the warning says how. */
        install_example("60-intel-dsa-siov.json", false);
        p = load_ok();
        ck_assert_uint_eq(mdp_profiles_count(p), 4);
        ck_assert_int_eq(classify(p, "idxd", "idxd-dsa-1dwq-v1", &c, basis, sizeof(basis)), 0);
        ck_assert(has_warning("60-intel-dsa-siov.json", "example profile not activated"));
        ck_assert(has_warning("set \"example\": false", NULL));
}
END_TEST

START_TEST(test_pasid_granular_example_activated)
{
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *p = NULL;
        const struct mdp_profile_rule *rule;
        enum mdp_mdev_class c;
        char basis[512];

        install_example("60-intel-dsa-siov.json", true);
        install_example("90-siov-template.json", true);
        p = load_ok();
        ck_assert_uint_eq(msgs.n_warnings, 0);
        ck_assert_uint_eq(mdp_profiles_count(p), 6);
        ck_assert_int_eq(classify(p, "idxd", "idxd-dsa-1dwq-v1", &c, basis, sizeof(basis)), 1);
        ck_assert_int_eq(c, MDP_MDEV_PASID_GRANULAR);
        ck_assert_msg(strstr(basis, "/etc/mdevpasid/profiles/60-intel-dsa-siov.json types[0]") &&
                              strstr(basis, "pasid-granular"),
                      "basis: %s", basis);
        rule = mdp_profiles_match(p, "idxd", "idxd-dsa-1swq-v1");
        ck_assert_ptr_nonnull(rule);
        /* Mainline has no PMDEV path (§1.5): the DSA example does not claim one. */
        ck_assert(!rule->kernel_path);
        ck_assert_str_eq(rule->pasid_attribute, "pasid");
        ck_assert_uint_eq(rule->pasids_per_instance, 1);
        ck_assert_uint_eq(rule->n_reserved_pasids, 1);
        ck_assert_uint_eq(rule->reserved_pasids[0].first, 0);
        ck_assert_uint_eq(rule->reserved_pasids[0].last, 0);
        /* The template claims a path and guest PASIDs; "0" and "1-15" merge into one range. */
        rule = mdp_profiles_match(p, "example_vdcm", "example_vdcm-4");
        ck_assert_ptr_nonnull(rule);
        ck_assert_int_eq(rule->mdev_class, MDP_MDEV_PASID_GRANULAR);
        ck_assert(rule->kernel_path);
        ck_assert_uint_eq(rule->max_guest_pasids, 16);
        ck_assert_uint_eq(rule->n_reserved_pasids, 1);
        ck_assert_uint_eq(rule->reserved_pasids[0].last, 15);
        /* The in-tree types are untouched. */
        ck_assert_int_eq(classify(p, "mtty", "mtty-1", &c, basis, sizeof(basis)), 1);
        ck_assert_int_eq(c, MDP_MDEV_EMULATED);
}
END_TEST

START_TEST(test_globs_and_precedence)
{
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *p = NULL;
        enum mdp_mdev_class c;
        char basis[512];

        /* 10- sorts before the shipped 50- files: its mtty-1 rule wins, mtty-2 falls through. */
        test_write(root, PROFILES "10-site.json",
                   "{ \"version\": 1, \"types\": [\n"
                   "  { \"parent_driver\": \"mtty\", \"type\": \"mtty-1\", \"class\": \"pasid-granular\",\n"
                   "    \"kernel_path\": true },\n"
                   "  { \"parent_driver\": \"i915\", \"type\": \"i915-GVTg_V5_[48]\", \"class\": \"pasid-granular\" },\n"
                   "  { \"parent_driver\": \"vfio_?c?\", \"type\": \"*\", \"class\": \"pasid-granular\" },\n"
                   "  { \"parent_driver\": \"*\", \"type\": \"anydrv-*\", \"class\": \"pasid-granular\" } ] }\n");
        p = load_ok();
        ck_assert_int_eq(classify(p, "mtty", "mtty-1", &c, basis, sizeof(basis)), 1);
        ck_assert_int_eq(c, MDP_MDEV_PASID_GRANULAR);
        ck_assert_ptr_nonnull(strstr(basis, "10-site.json types[0]"));
        ck_assert_int_eq(classify(p, "mtty", "mtty-2", &c, basis, sizeof(basis)), 1);
        ck_assert_int_eq(c, MDP_MDEV_EMULATED);
        ck_assert_ptr_nonnull(strstr(basis, "50-mdev-samples.json"));
        /* Character classes. */
        ck_assert_int_eq(classify(p, "i915", "i915-GVTg_V5_8", &c, basis, sizeof(basis)), 1);
        ck_assert_int_eq(c, MDP_MDEV_PASID_GRANULAR);
        ck_assert_int_eq(classify(p, "i915", "i915-GVTg_V5_2", &c, basis, sizeof(basis)), 1);
        ck_assert_int_eq(c, MDP_MDEV_EMULATED);
        /* ? on the driver: vfio_ccw matches vfio_?c?, vfio_ap does not. */
        ck_assert_int_eq(classify(p, "vfio_ccw", "vfio_ccw-io", &c, basis, sizeof(basis)), 1);
        ck_assert_int_eq(c, MDP_MDEV_PASID_GRANULAR);
        ck_assert_int_eq(classify(p, "vfio_ap", "vfio_ap-passthrough", &c, basis, sizeof(basis)), 1);
        ck_assert_int_eq(c, MDP_MDEV_EMULATED);
        /* "*" also matches an unknown driver. */
        ck_assert_int_eq(classify(p, NULL, "anydrv-1", &c, basis, sizeof(basis)), 1);
        ck_assert_ptr_null(strstr(basis, "parent driver unknown"));
        ck_assert_int_eq(classify(p, NULL, "other-1", &c, basis, sizeof(basis)), 0);
        /* Pasid-granular rules without a "pasid" object take one PASID per instance. */
        ck_assert_uint_eq(mdp_profiles_match(p, "mtty", "mtty-1")->pasids_per_instance, 1);
        ck_assert_uint_eq(mdp_profiles_match(p, "mtty", "mtty-2")->pasids_per_instance, 0);
}
END_TEST

START_TEST(test_shadowed_rule_warns)
{
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *p = NULL;

        test_write(root, PROFILES "99-late.json",
                   "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"mtty\", \"type\": \"mtty-*\", "
                   "\"class\": \"pasid-granular\" } ] }");
        p = load_ok();
        ck_assert(has_warning("99-late.json: types[0] (driver \"mtty\", type \"mtty-*\") never matches",
                              "50-mdev-samples.json types[0]"));
}
END_TEST

START_TEST(test_unknown_keys_warn)
{
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *p = NULL;

        test_write(root, PROFILES "20-x.json",
                   "{ \"version\": 1, \"vendor\": \"acme\", \"comment\": \"allowed anywhere\",\n"
                   "  \"types\": [ { \"parent_driver\": \"acme\", \"type\": \"acme-*\", \"class\": \"pasid-granular\",\n"
                   "                 \"kernel_paht\": true, \"pasid\": { \"per_instanse\": 2 } } ] }");
        p = load_ok();
        ck_assert_uint_eq(msgs.n_warnings, 3);
        ck_assert(has_warning("20-x.json: key \"vendor\": unknown key, ignored", "known keys here: version"));
        ck_assert(has_warning("key \"types[0].kernel_paht\": unknown key", "kernel_path"));
        ck_assert(has_warning("key \"types[0].pasid.per_instanse\": unknown key", "per_instance"));
        ck_assert_ptr_null(msgs.warnings[3]);
        /* The misspelt key did not set anything. */
        ck_assert(!mdp_profiles_match(p, "acme", "acme-1")->kernel_path);
}
END_TEST

static const struct {
        const char *content;
        const char *key;    /* expected in the error ("key \"...\""), NULL for file-level errors */
        const char *expect; /* expected in the error */
} bad_files[] = {
        { "{ \"version\": 1, \"types\": [ }", NULL, "line 1, column 28: JSON syntax error" },
        { "{ \"version\": 1,\n  \"types\": [\n    { \"class\": 'x' } ] }", NULL, "line 3, column 16: JSON syntax error" },
        { "{ \"version\": 1, \"types\": [] ", NULL, "unexpected end of file" },
        { "{ \"version\": 1, \"types\": [] } {}", NULL, "line 1, column 31: JSON syntax error: unexpected character" },
        { "[ 1, 2 ]", NULL, "expected a JSON object at the top level, got an array" },
        { "{ \"types\": [] }", "version", "missing: every file must start with \"version\": 1" },
        { "{ \"version\": 2, \"types\": [] }", "version", "expected 1 (the only format version), got number 2" },
        { "{ \"version\": \"1\", \"types\": [] }", "version", "got string \"1\"" },
        { "{ \"version\": 1 }", "types", "missing: expected an array of type rules" },
        { "{ \"version\": 1, \"types\": {} }", "types", "expected an array, got an object" },
        { "{ \"version\": 1, \"types\": [ 5 ] }", "types[0]", "expected an object, got number 5" },
        { "{ \"version\": 1, \"types\": [ { \"type\": \"a-*\", \"class\": \"emulated\" } ] }",
          "types[0].parent_driver", "missing: expected the parent driver name or a glob" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": 7, \"type\": \"a\", \"class\": \"emulated\" } ] }",
          "types[0].parent_driver", "expected a non-empty string of at most 255 bytes, got number 7" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"\", \"class\": \"emulated\" } ] }",
          "types[0].type", "expected a non-empty string" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"a\", \"class\": \"pasid\" } ] }",
          "types[0].class", "expected one of \"emulated\" or \"pasid-granular\", got string \"pasid\"" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"a\" } ] }", "types[0].class",
          "missing: expected \"emulated\" or \"pasid-granular\"" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"a\", \"class\": \"emulated\", "
          "\"kernel_path\": \"yes\" } ] }",
          "types[0].kernel_path", "expected true or false, got string \"yes\"" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"a\", \"class\": \"emulated\", "
          "\"kernel_path\": true } ] }",
          "types[0].kernel_path", "emulated types have no PASID-granular kernel path" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"a\", \"class\": \"emulated\", "
          "\"pasid\": { } } ] }",
          "types[0].pasid", "emulated types have no PASIDs" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"a\", \"class\": \"pasid-granular\", "
          "\"pasid\": { \"attribute\": \"../../remove\" } } ] }",
          "types[0].pasid.attribute", "expected a sysfs attribute name" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"a\", \"class\": \"pasid-granular\", "
          "\"pasid\": { \"per_instance\": -1 } } ] }",
          "types[0].pasid.per_instance", "expected an integer from 0 to 64, got number -1" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"a\", \"class\": \"pasid-granular\", "
          "\"pasid\": { \"max_guest_pasids\": 1.5 } } ] }",
          "types[0].pasid.max_guest_pasids", "expected an integer from 0 to 1048575, got number 1.5" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"a\", \"class\": \"pasid-granular\", "
          "\"pasid\": { \"reserved\": [ \"0\", \"9-3\" ] } } ] }",
          "types[0].pasid.reserved[1]", "expected a PASID or a range \"first-last\"" },
        { "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"a\", \"type\": \"a\", \"class\": \"pasid-granular\", "
          "\"pasid\": { \"reserved\": [ \"1048576\" ] } } ] }",
          "types[0].pasid.reserved[0]", "PASIDs are 20 bits" },
        { "{ \"version\": 1, \"description\": \"a\\u0001b\", \"types\": [] }", "description",
          "without control characters" },
        { "{ \"version\": 1, \"example\": 1, \"types\": [] }", "example", "expected true or false, got number 1" },
};

START_TEST(test_bad_files)
{
        _cleanup_free_ char *path = NULL;
        const char *err;
        char k[128];

        test_write(root, PROFILES "30-bad.json", bad_files[_i].content);
        /* A good local file next to it does not save the load. */
        test_write(root, PROFILES "31-good.json", "{ \"version\": 1, \"types\": [] }");
        err = load_fails();
        ck_assert_int_ge(asprintf(&path, "%s/" PROFILES "30-bad.json", root), 0);
        ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "error does not start with the file: %s", err);
        ck_assert_str_eq(msgs.error_file, path);
        if (bad_files[_i].key) {
                snprintf(k, sizeof(k), "key \"%s\"", bad_files[_i].key);
                ck_assert_msg(strstr(err, k), "case %d: %s not in: %s", _i, k, err);
                ck_assert_str_eq(msgs.error_key, bad_files[_i].key);
        } else
                ck_assert_ptr_null(msgs.error_key);
        ck_assert_msg(strstr(err, bad_files[_i].expect), "case %d: \"%s\" not in: %s", _i, bad_files[_i].expect,
                      err);
}
END_TEST

START_TEST(test_limits)
{
        _cleanup_free_ char *big = NULL, *deep = NULL;
        size_t n = 1024 * 1024, depth = 10000;

        /* 1 MiB: refused before parsing. */
        big = malloc(n + 1);
        memset(big, ' ', n);
        memcpy(big, "{ \"version\": 1, \"types\": [] ", 28);
        big[n - 1] = '}';
        big[n] = '\0';
        test_write(root, PROFILES "40-big.json", big);
        ck_assert_ptr_nonnull(strstr(load_fails(), "40-big.json: larger than 256 KiB"));
        mdp_conf_messages_done(&msgs);
        test_write(root, PROFILES "40-big.json", "{ \"version\": 1, \"types\": [] }");

        /* 10000 levels of nesting: a clear error at the limit, no stack exhaustion. */
        deep = malloc(2 * depth + 64);
        strcpy(deep, "{ \"version\": 1, \"types\": ");
        n = strlen(deep);
        memset(deep + n, '[', depth);
        memset(deep + n + depth, ']', depth);
        strcpy(deep + n + 2 * depth, " }");
        test_write(root, PROFILES "41-deep.json", deep);
        ck_assert_ptr_nonnull(strstr(load_fails(), "nested deeper than 16 levels"));
        mdp_conf_messages_done(&msgs);

        /* A NUL byte inside the file. */
        test_write(root, PROFILES "41-deep.json", "{ \"version\": 1, \"types\": [] }");
        {
                _cleanup_free_ char *p = NULL;
                FILE *f;
                ck_assert_int_ge(asprintf(&p, "%s/" PROFILES "42-nul.json", root), 0);
                f = fopen(p, "we");
                fwrite("{ \"version\": 1,\0 \"types\": [] }", 1, 31, f);
                fclose(f);
        }
        ck_assert_ptr_nonnull(strstr(load_fails(), "42-nul.json: contains a NUL byte at offset 15"));
}
END_TEST

START_TEST(test_pasid_range_parse)
{
        struct mdp_pasid_range r;

        ck_assert_int_eq(mdp_pasid_range_parse("0", &r), 0);
        ck_assert_uint_eq(r.first, 0);
        ck_assert_uint_eq(r.last, 0);
        ck_assert_int_eq(mdp_pasid_range_parse("16-0xfffff", &r), 0);
        ck_assert_uint_eq(r.first, 16);
        ck_assert_uint_eq(r.last, MDP_PASID_MAX);
        ck_assert_int_eq(mdp_pasid_range_parse("0x100000", &r), -EINVAL);
        ck_assert_int_eq(mdp_pasid_range_parse("5-4", &r), -EINVAL);
        ck_assert_int_eq(mdp_pasid_range_parse("-4", &r), -EINVAL);
        ck_assert_int_eq(mdp_pasid_range_parse("4-", &r), -EINVAL);
        ck_assert_int_eq(mdp_pasid_range_parse("4 - 5", &r), -EINVAL);
        ck_assert_int_eq(mdp_pasid_range_parse("", &r), -EINVAL);
        ck_assert_int_eq(mdp_pasid_range_parse(NULL, &r), -EINVAL);
}
END_TEST

/* Through the host model's classifier seam, on a real-kernel capture (mtty, mdpy, mbochs). */
START_TEST(test_host_model_seam)
{
        _cleanup_free_ char *fx = test_unpack_fixture("x86-6.12-sm");
        _cleanup_(mdp_ctx_unrefp) struct mdp_ctx *hctx = test_ctx(fx);
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *p = NULL;
        _cleanup_(mdp_host_unrefp) struct mdp_host *host = NULL;
        const struct mdp_parent *parents;
        const struct mdp_mdev *mdevs;
        const struct mdp_type *t;
        size_t n, n_types = 0;

        ck_assert_int_eq(mdp_profiles_load(hctx, &p, &msgs), 0);
        mdp_ctx_set_classifier(hctx, mdp_profiles_classify, p);
        ck_assert_int_eq(mdp_host_scan(hctx, &host), 0);
        parents = mdp_host_parents(host, &n);
        ck_assert_uint_eq(n, 3);
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < parents[i].n_types; j++, n_types++) {
                        t = &parents[i].types[j];
                        ck_assert_int_eq(t->class, MDP_MDEV_EMULATED);
                        ck_assert_msg(startswith(t->class_basis, "profile ") &&
                                              strstr(t->class_basis, "/conf/profiles/50-mdev-samples.json types["),
                                      "%s: %s", t->id, t->class_basis);
                }
        ck_assert_uint_eq(n_types, 8);
        mdp_host_unref(TAKE_PTR(host));
        mdp_profiles_unref(TAKE_PTR(p));

        /* A site profile declaring mtty-2 PASID-granular classifies the type so; its live
         * instances sit in vfio-noiommu groups, which the host model says override it. */
        test_write(fx, PROFILES "10-site.json",
                   "{ \"version\": 1, \"types\": [ { \"parent_driver\": \"mtty\", \"type\": \"mtty-2\", "
                   "\"class\": \"pasid-granular\" } ] }");
        ck_assert_int_eq(mdp_profiles_load(hctx, &p, &msgs), 0);
        mdp_ctx_set_classifier(hctx, mdp_profiles_classify, p);
        ck_assert_int_eq(mdp_host_scan(hctx, &host), 0);
        t = mdp_host_find_type(host, "mtty", "mtty-2");
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(t->class, MDP_MDEV_PASID_GRANULAR);
        ck_assert_ptr_nonnull(strstr(t->class_basis, "/etc/mdevpasid/profiles/10-site.json types[0]"));
        t = mdp_host_find_type(host, "mtty", "mtty-1");
        ck_assert_int_eq(t->class, MDP_MDEV_EMULATED);
        mdevs = mdp_host_mdevs(host, &n);
        ck_assert_uint_ge(n, 1);
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(mdevs[i].type_id, "mtty-2")) {
                        ck_assert_int_eq(mdevs[i].class, MDP_MDEV_EMULATED);
                        ck_assert_ptr_nonnull(strstr(mdevs[i].class_basis, "group vfio-noiommu (overrides profile"));
                }
        mdp_ctx_set_classifier(hctx, NULL, NULL);
        test_rm_rf(fx);
}
END_TEST

static Suite *profile_suite(void)
{
        Suite *s = suite_create("profile");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_shipped_profiles_load);
        tcase_add_test(tc, test_in_tree_drivers_classify_emulated);
        tcase_add_test(tc, test_etc_override_replaces_shipped);
        tcase_add_test(tc, test_etc_mask_and_local_files);
        tcase_add_test(tc, test_example_profiles_inactive_until_edited);
        tcase_add_test(tc, test_pasid_granular_example_activated);
        tcase_add_test(tc, test_globs_and_precedence);
        tcase_add_test(tc, test_shadowed_rule_warns);
        tcase_add_test(tc, test_unknown_keys_warn);
        tcase_add_loop_test(tc, test_bad_files, 0, ELEMENTSOF(bad_files));
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_pasid_range_parse);
        tcase_add_test(tc, test_host_model_seam);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(profile_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
