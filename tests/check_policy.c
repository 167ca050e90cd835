/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Policy and daemon configuration: the shipped files, good and bad files, unknown keys,
 * conflicting rules and their precedence, per-VM overrides and domain metadata, PASID
 * quotas and reserved ranges, size and depth limits, the list of files used. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "policy.h"
#include "test-help.h"
#include "util/macro.h"

#define CONF "etc/mdevpasid/mdevpasid.conf"
#define POLICY "etc/mdevpasid/policy.d/"

static char *root;
static struct mdp_ctx *ctx;
static struct mdp_conf_messages msgs;

static void setup(void)
{
        root = test_mkdtemp("pol");
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

static struct mdp_policy *load_ok(void)
{
        struct mdp_policy *p = NULL;
        int r = mdp_policy_load(ctx, &p, &msgs);

        ck_assert_msg(r == 0, "load failed (%d): %s", r, strna(msgs.error));
        return p;
}

static const char *load_fails(void)
{
        struct mdp_policy *p = (struct mdp_policy *)0x1;
        int r = mdp_policy_load(ctx, &p, &msgs);

        ck_assert_int_eq(r, -EINVAL);
        ck_assert_ptr_eq(p, (struct mdp_policy *)0x1); /* untouched */
        ck_assert_ptr_nonnull(msgs.error);
        return msgs.error;
}

static bool has(char *const *l, size_t n, const char *a, const char *b)
{
        for (size_t i = 0; i < n; i++)
                if (strstr(l[i], a) && (!b || strstr(l[i], b)))
                        return true;
        return false;
}
#define has_warning(a, b) has(msgs.warnings, msgs.n_warnings, (a), (b))

static char *path_of(const char *rel)
{
        char *p;
        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        return p;
}

static void install_shipped(const char *src, const char *dst)
{
        _cleanup_free_ char *text = test_read(test_srcdir(), src);

        ck_assert_msg(text, "%s missing", src);
        test_write(root, dst, text);
}

static void assert_config_eq(const struct mdp_daemon_config *a, const struct mdp_daemon_config *b)
{
        ck_assert_uint_eq(a->start_timeout_ms, b->start_timeout_ms);
        ck_assert_uint_eq(a->remove_timeout_ms, b->remove_timeout_ms);
        ck_assert_int_eq(a->autostart, b->autostart);
        ck_assert_uint_eq(a->autostart_attempts, b->autostart_attempts);
        ck_assert_uint_eq(a->autostart_retry_interval_ms, b->autostart_retry_interval_ms);
        ck_assert_uint_eq(a->hook_timeout_ms, b->hook_timeout_ms);
        ck_assert_int_eq(a->hook_on_timeout, b->hook_on_timeout);
        ck_assert_int_eq(a->hook_on_unavailable, b->hook_on_unavailable);
        ck_assert_int_eq(a->log_level, b->log_level);
}

static struct mdp_vm_policy resolve(struct mdp_policy *p, const char *vm, const struct mdp_domain_policy *md)
{
        struct mdp_vm_policy v;

        ck_assert_int_eq(mdp_policy_resolve_vm(p, vm, md, &v), 0);
        return v;
}

static struct mdp_domain_policy metadata(void)
{
        return (struct mdp_domain_policy){ .present = true,
                                           .guest_pasid = MDP_DOMAIN_GUEST_PASID_UNSET,
                                           .prefer = -1,
                                           .allow_experimental = MDP_UNKNOWN,
                                           .migration_required = MDP_UNKNOWN,
                                           .pasid_quota = -1 };
}

START_TEST(test_no_files_means_defaults)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = load_ok();
        struct mdp_daemon_config def;
        struct mdp_vm_policy v;
        size_t n = 99;

        ck_assert_ptr_null(mdp_policy_files(p, &n));
        ck_assert_uint_eq(n, 0);
        mdp_daemon_config_init(&def);
        assert_config_eq(mdp_policy_daemon_config(p), &def);
        ck_assert_uint_eq(def.hook_timeout_ms, 30000);
        ck_assert_int_eq(def.hook_on_timeout, MDP_HOOK_VETO);
        v = resolve(p, "vm1", NULL);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_NEST);
        ck_assert(!v.options.allow_experimental);
        ck_assert(!v.options.migration_required);
        for (int c = 0; c < _MDP_VMM_CAP_MAX; c++)
                ck_assert_int_eq(v.options.vmm[c], MDP_UNKNOWN);
        ck_assert_uint_eq(v.pasid_quota, MDP_POLICY_DEFAULT_VM_PASID_QUOTA);
        ck_assert_uint_eq(v.n_sources, 0);
        ck_assert_uint_eq(v.n_warnings, 0);
        mdp_vm_policy_done(&v);
        ck_assert_uint_eq(msgs.n_warnings, 0);
}
END_TEST

START_TEST(test_shipped_conf_is_the_defaults)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        _cleanup_free_ char *conf = path_of(CONF);
        struct mdp_daemon_config def;
        const char *const *files;
        size_t n;

        install_shipped("conf/mdevpasid.conf", CONF);
        p = load_ok();
        ck_assert_uint_eq(msgs.n_warnings, 0);
        mdp_daemon_config_init(&def);
        assert_config_eq(mdp_policy_daemon_config(p), &def);
        files = mdp_policy_files(p, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(files[0], conf);
        ck_assert_ptr_null(files[1]);
}
END_TEST

START_TEST(test_daemon_config_values)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        const struct mdp_daemon_config *c;

        test_write(root, CONF,
                   "{ \"version\": 1, \"devices\": { \"start_timeout_ms\": 500, \"remove_timeout_ms\": 60000 },\n"
                   "  \"autostart\": { \"enabled\": false, \"attempts\": 10, \"retry_interval_ms\": 250 },\n"
                   "  \"hook\": { \"timeout_ms\": 5000, \"on_timeout\": \"allow\", \"on_daemon_unavailable\": \"allow\" },\n"
                   "  \"log_level\": \"debug\" }");
        p = load_ok();
        c = mdp_policy_daemon_config(p);
        ck_assert_uint_eq(c->start_timeout_ms, 500);
        ck_assert_uint_eq(c->remove_timeout_ms, 60000);
        ck_assert(!c->autostart);
        ck_assert_uint_eq(c->autostart_attempts, 10);
        ck_assert_uint_eq(c->autostart_retry_interval_ms, 250);
        ck_assert_uint_eq(c->hook_timeout_ms, 5000);
        ck_assert_int_eq(c->hook_on_timeout, MDP_HOOK_ALLOW);
        ck_assert_int_eq(c->hook_on_unavailable, MDP_HOOK_ALLOW);
        ck_assert_int_eq(c->log_level, LOG_DEBUG);
}
END_TEST

START_TEST(test_shipped_example_policy)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        struct mdp_parent_policy pp;
        struct mdp_vm_policy v;

        install_shipped("conf/policy.d/50-example.json", POLICY "50-example.json");
        p = load_ok();
        ck_assert_msg(msgs.n_warnings == 0, "%s", msgs.warnings ? msgs.warnings[0] : "");

        v = resolve(p, "web-1", NULL);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_NEST);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_IOMMUFD], MDP_YES);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_INTEL_IOMMU_CACHING_MODE], MDP_YES);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_INTEL_IOMMU_X_FLTS], MDP_NO);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_PV_PASID_ALLOC], MDP_NO);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_INTEL_IOMMU_SVM], MDP_UNKNOWN);
        ck_assert_uint_eq(v.pasid_quota, 64);
        ck_assert(has(v.sources, v.n_sources, "vmm.iommufd = true (", "50-example.json vmm.iommufd)"));
        mdp_vm_policy_done(&v);

        v = resolve(p, "db-orders", NULL);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_SHADOW);
        ck_assert(v.options.migration_required);
        ck_assert(has(v.sources, v.n_sources, "prefer = shadow (", "50-example.json vms[0].prefer (match \"db-*\"))"));
        mdp_vm_policy_done(&v);

        v = resolve(p, "lab-pasid-01", NULL);
        ck_assert(v.options.allow_experimental);
        ck_assert_uint_eq(v.pasid_quota, 1024);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_PV_PASID_ALLOC], MDP_YES);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_IOMMUFD], MDP_YES); /* host-wide value kept */
        mdp_vm_policy_done(&v);

        ck_assert_int_eq(mdp_policy_resolve_parent(p, "0000:6a:01.0", NULL, &pp), 0);
        ck_assert_uint_eq(pp.pasid_quota, 4096);
        ck_assert_uint_eq(pp.n_reserved, 1); /* "0" and "1-63" merge */
        ck_assert_uint_eq(pp.reserved[0].first, 0);
        ck_assert_uint_eq(pp.reserved[0].last, 63);
        mdp_parent_policy_done(&pp);
        ck_assert_int_eq(mdp_policy_resolve_parent(p, "0000:6a:02.0", NULL, &pp), 0);
        ck_assert_uint_eq(pp.pasid_quota, MDP_QUOTA_UNLIMITED);
        ck_assert_uint_eq(pp.n_reserved, 1);
        ck_assert_uint_eq(pp.reserved[0].last, 0);
        mdp_parent_policy_done(&pp);
}
END_TEST

START_TEST(test_files_used_in_order)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        _cleanup_free_ char *a = path_of(POLICY "10-a.json"), *b = path_of(POLICY "20-b.json"),
                            *c = path_of(CONF);
        const char *const *files;
        size_t n;

        test_write(root, POLICY "20-b.json", "{ \"version\": 1 }");
        test_write(root, POLICY "10-a.json", "{ \"version\": 1 }");
        test_write(root, POLICY "README", "not JSON, not read");
        test_write(root, POLICY "30-c.json.disabled", "{ broken");
        test_write(root, POLICY ".hidden.json", "{ broken");
        test_write(root, CONF, "{ \"version\": 1 }");
        p = load_ok();
        files = mdp_policy_files(p, &n);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(files[0], c);
        ck_assert_str_eq(files[1], a);
        ck_assert_str_eq(files[2], b);
}
END_TEST

START_TEST(test_unknown_keys_warn)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        struct mdp_vm_policy v;

        test_write(root, CONF, "{ \"version\": 1, \"hook\": { \"timeout\": 5 }, \"defaults\": {} }");
        test_write(root, POLICY "10-a.json",
                   "{ \"version\": 1, \"defualts\": { \"prefer\": \"shadow\" },\n"
                   "  \"defaults\": { \"prefer_mode\": \"shadow\" },\n"
                   "  \"vmm\": { \"intel-iommu.x-flts\": true, \"intel-iommu.flts\": true, \"comment\": \"ok\" },\n"
                   "  \"vms\": [ { \"match\": \"a\", \"colour\": \"blue\" } ],\n"
                   "  \"parents\": [ { \"match\": \"p\", \"quota\": 5 } ] }");
        p = load_ok();
        ck_assert_ptr_null(msgs.error);
        ck_assert_uint_eq(msgs.n_warnings, 7);
        ck_assert(has_warning("mdevpasid.conf: key \"hook.timeout\": unknown key, ignored", "timeout_ms"));
        ck_assert(has_warning("mdevpasid.conf: key \"defaults\": unknown key", NULL));
        ck_assert(has_warning("10-a.json: key \"defualts\": unknown key, ignored", "known keys here: version"));
        ck_assert(has_warning("key \"defaults.prefer_mode\": unknown key", NULL));
        ck_assert(has_warning("key \"vmm.intel-iommu.flts\": unknown VMM capability, ignored",
                              "intel-iommu.x-flts"));
        ck_assert(has_warning("key \"vms[0].colour\": unknown key", NULL));
        ck_assert(has_warning("key \"parents[0].quota\": unknown key", "pasid_quota"));
        /* Nothing misspelt took effect; the good key did. */
        v = resolve(p, "a", NULL);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_NEST);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_INTEL_IOMMU_X_FLTS], MDP_YES);
        mdp_vm_policy_done(&v);
}
END_TEST

START_TEST(test_conflicting_files)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        _cleanup_free_ char *a = path_of(POLICY "10-a.json"), *b = path_of(POLICY "20-b.json");
        struct mdp_parent_policy pp;
        struct mdp_vm_policy v;
        char expect[1024];

        test_write(root, POLICY "10-a.json",
                   "{ \"version\": 1, \"defaults\": { \"prefer\": \"nest\", \"pasid_quota\": 8 },\n"
                   "  \"vmm\": { \"iommufd\": true, \"virtio-iommu-pci\": true }, \"reserved_pasids\": [\"1-3\"] }");
        test_write(root, POLICY "20-b.json",
                   "{ \"version\": 1, \"defaults\": { \"prefer\": \"shadow\", \"pasid_quota\": 8 },\n"
                   "  \"vmm\": { \"iommufd\": false }, \"reserved_pasids\": [\"10\"] }");
        p = load_ok();
        /* Two conflicts (prefer, iommufd); the equal pasid_quota is no conflict. */
        ck_assert_uint_eq(msgs.n_warnings, 2);
        snprintf(expect, sizeof(expect),
                 "conflicting policy: prefer is nest in %s defaults.prefer but shadow in %s defaults.prefer; the later "
                 "file (in file-name order) wins: shadow",
                 a, b);
        ck_assert_msg(has_warning(expect, NULL), "missing: %s", expect);
        ck_assert(has_warning("conflicting policy: vmm.iommufd is true in", "wins: false"));
        v = resolve(p, "x", NULL);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_SHADOW);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_IOMMUFD], MDP_NO);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_VIRTIO_IOMMU], MDP_YES); /* only in 10-a: kept */
        ck_assert_uint_eq(v.pasid_quota, 8);
        ck_assert(has(v.sources, v.n_sources, "prefer = shadow (", "20-b.json defaults.prefer)"));
        mdp_vm_policy_done(&v);
        /* Reserved ranges accumulate across files. */
        ck_assert_int_eq(mdp_policy_resolve_parent(p, "any", NULL, &pp), 0);
        ck_assert_uint_eq(pp.n_reserved, 2);
        ck_assert_uint_eq(pp.reserved[0].first, 1);
        ck_assert_uint_eq(pp.reserved[0].last, 3);
        ck_assert_uint_eq(pp.reserved[1].first, 10);
        ck_assert(has(pp.sources, pp.n_sources, "reserved_pasids += 1-3 (", "10-a.json reserved_pasids)"));
        mdp_parent_policy_done(&pp);
}
END_TEST

START_TEST(test_per_vm_overrides)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        struct mdp_domain_policy md;
        struct mdp_vm_policy v;

        test_write(root, POLICY "10-a.json",
                   "{ \"version\": 1, \"defaults\": { \"prefer\": \"nest\" }, \"vmm\": { \"arm-smmuv3.accel\": true },\n"
                   "  \"vms\": [ { \"match\": \"db-*\", \"prefer\": \"shadow\", \"pasid_quota\": 16 },\n"
                   "            { \"match\": \"web-?\", \"allow_experimental\": true } ] }");
        test_write(root, POLICY "20-b.json",
                   "{ \"version\": 1, \"vms\": [ { \"match\": \"db-1\", \"prefer\": \"nest\",\n"
                   "  \"vmm\": { \"arm-smmuv3.accel\": false } } ] }");
        p = load_ok();
        ck_assert_uint_eq(msgs.n_warnings, 0); /* rules for VMs conflict only when both match */

        /* db-2: only the glob rule. */
        v = resolve(p, "db-2", NULL);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_SHADOW);
        ck_assert_uint_eq(v.pasid_quota, 16);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_SMMUV3_ACCEL], MDP_YES);
        ck_assert_uint_eq(v.n_warnings, 0);
        mdp_vm_policy_done(&v);

        /* db-1: both match, the later one (20-b) wins prefer, with a conflict warning; the
         * quota from the first stays (the later rule does not set it). */
        v = resolve(p, "db-1", NULL);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_NEST);
        ck_assert_uint_eq(v.pasid_quota, 16);
        ck_assert_int_eq(v.options.vmm[MDP_VMM_SMMUV3_ACCEL], MDP_NO);
        ck_assert_uint_eq(v.n_warnings, 1);
        ck_assert(has(v.warnings, v.n_warnings, "VM 'db-1': conflicting rules: prefer is shadow in",
                      "20-b.json vms[0].prefer (match \"db-1\"); the later rule wins: nest"));
        ck_assert(has(v.sources, v.n_sources, "vmm.arm-smmuv3.accel = false (", "vms[0].vmm.arm-smmuv3.accel"));
        mdp_vm_policy_done(&v);

        /* Globs: ? matches one character. */
        v = resolve(p, "web-1", NULL);
        ck_assert(v.options.allow_experimental);
        mdp_vm_policy_done(&v);
        v = resolve(p, "web-10", NULL);
        ck_assert(!v.options.allow_experimental);
        mdp_vm_policy_done(&v);

        /* Metadata prefer beats the global default but not a VM rule. */
        md = metadata();
        md.prefer = MDP_PREFER_SHADOW;
        v = resolve(p, "app", &md);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_SHADOW);
        ck_assert(has(v.sources, v.n_sources, "prefer = shadow (domain metadata <mdevpasid:policy prefer>)", NULL));
        mdp_vm_policy_done(&v);
        v = resolve(p, "db-1", &md);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_NEST);
        ck_assert(has(v.warnings, v.n_warnings, "VM 'db-1': domain metadata prefer='shadow' overridden by",
                      "(a per-VM policy rule beats the metadata)"));
        mdp_vm_policy_done(&v);
        /* A NULL VM name applies no VM rule. */
        v = resolve(p, NULL, NULL);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_NEST);
        mdp_vm_policy_done(&v);
}
END_TEST

START_TEST(test_metadata_only_narrows)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        struct mdp_domain_policy md;
        struct mdp_vm_policy v;

        test_write(root, POLICY "10-a.json",
                   "{ \"version\": 1, \"defaults\": { \"pasid_quota\": 100 },\n"
                   "  \"vms\": [ { \"match\": \"lab\", \"allow_experimental\": true, \"migration_required\": true } ] }");
        p = load_ok();

        /* Widening requests are ignored, with a warning each. */
        md = metadata();
        md.allow_experimental = MDP_YES;
        md.pasid_quota = 500;
        v = resolve(p, "prod", &md);
        ck_assert(!v.options.allow_experimental);
        ck_assert_uint_eq(v.pasid_quota, 100);
        ck_assert_uint_eq(v.n_warnings, 2);
        ck_assert(has(v.warnings, v.n_warnings, "domain metadata allow-experimental='yes' ignored", NULL));
        ck_assert(has(v.warnings, v.n_warnings, "domain metadata pasid-quota='500' capped at the host's 100", NULL));
        mdp_vm_policy_done(&v);

        md = metadata();
        md.migration_required = MDP_NO;
        v = resolve(p, "lab", &md);
        ck_assert(v.options.migration_required);
        ck_assert(has(v.warnings, v.n_warnings, "domain metadata migration-required='no' ignored", "requires migration"));
        mdp_vm_policy_done(&v);

        /* Narrowing requests apply and are cited. */
        md = metadata();
        md.allow_experimental = MDP_NO;
        md.migration_required = MDP_YES;
        md.pasid_quota = 4;
        v = resolve(p, "lab", &md);
        ck_assert(!v.options.allow_experimental);
        ck_assert(v.options.migration_required);
        ck_assert_uint_eq(v.pasid_quota, 4);
        ck_assert_uint_eq(v.n_warnings, 0);
        ck_assert(has(v.sources, v.n_sources,
                      "allow_experimental = false (domain metadata <mdevpasid:policy allow-experimental='no'>)", NULL));
        ck_assert(has(v.sources, v.n_sources, "pasid_quota = 4 (domain metadata <mdevpasid:policy pasid-quota>)", NULL));
        mdp_vm_policy_done(&v);

        /* Metadata migration-required='yes' on a VM without the requirement adds it. */
        md = metadata();
        md.migration_required = MDP_YES;
        v = resolve(p, "prod", &md);
        ck_assert(v.options.migration_required);
        mdp_vm_policy_done(&v);

        /* Metadata that is not present changes nothing. */
        md = metadata();
        md.present = false;
        md.pasid_quota = 1;
        v = resolve(p, "prod", &md);
        ck_assert_uint_eq(v.pasid_quota, 100);
        mdp_vm_policy_done(&v);
}
END_TEST

START_TEST(test_parent_quotas_and_reserved)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        struct mdp_profile_rule rule = { 0 };
        struct mdp_profile prof = { .path = (char *)"/usr/share/mdevpasid/profiles/60-x.json" };
        struct mdp_pasid_range vendor[] = { { 0, 0 }, { 100, 120 } };
        struct mdp_parent_policy pp;

        test_write(root, POLICY "10-a.json",
                   "{ \"version\": 1, \"reserved_pasids\": [\"0x10-0x1f\"],\n"
                   "  \"parents\": [ { \"match\": \"0000:6a:*\", \"pasid_quota\": 2048, \"reserved_pasids\": [\"1-5\"] },\n"
                   "                 { \"match\": \"0000:6a:01.0\", \"pasid_quota\": 512, \"reserved_pasids\": [\"4-8\"] },\n"
                   "                 { \"match\": \"mtty\", \"pasid_quota\": 0 } ] }");
        p = load_ok();
        rule.profile = &prof;
        rule.parent_driver = (char *)"x";
        rule.type_id = (char *)"x-*";
        rule.mdev_class = MDP_MDEV_PASID_GRANULAR;
        rule.reserved_pasids = vendor;
        rule.n_reserved_pasids = ELEMENTSOF(vendor);

        ck_assert_int_eq(mdp_policy_resolve_parent(p, "0000:6a:01.0", &rule, &pp), 0);
        ck_assert_uint_eq(pp.pasid_quota, 512);
        ck_assert(has(pp.warnings, pp.n_warnings, "parent '0000:6a:01.0': conflicting rules: pasid_quota is 2048",
                      "the later rule wins: 512"));
        /* 0 (vendor), 1-5 and 4-8 (rules) merge to 0-8; 16-31 global; 100-120 vendor. */
        ck_assert_uint_eq(pp.n_reserved, 3);
        ck_assert_uint_eq(pp.reserved[0].first, 0);
        ck_assert_uint_eq(pp.reserved[0].last, 8);
        ck_assert_uint_eq(pp.reserved[1].first, 16);
        ck_assert_uint_eq(pp.reserved[1].last, 31);
        ck_assert_uint_eq(pp.reserved[2].first, 100);
        ck_assert_uint_eq(pp.reserved[2].last, 120);
        ck_assert(has(pp.sources, pp.n_sources, "reserved_pasids += 0, 100-120 (profile /usr/share/mdevpasid/", NULL));
        ck_assert(has(pp.sources, pp.n_sources, "pasid_quota = 512 (", "parents[1] (match \"0000:6a:01.0\"))"));
        mdp_parent_policy_done(&pp);

        ck_assert_int_eq(mdp_policy_resolve_parent(p, "0000:6a:00.0", NULL, &pp), 0);
        ck_assert_uint_eq(pp.pasid_quota, 2048);
        ck_assert_uint_eq(pp.n_warnings, 0);
        mdp_parent_policy_done(&pp);
        /* A quota of 0 is a quota (nothing may be handed out), not "unlimited". */
        ck_assert_int_eq(mdp_policy_resolve_parent(p, "mtty", NULL, &pp), 0);
        ck_assert_uint_eq(pp.pasid_quota, 0);
        mdp_parent_policy_done(&pp);
}
END_TEST

static const struct {
        const char *file; /* relative to root */
        const char *content;
        const char *key; /* NULL: file-level error */
        const char *expect;
} bad_files[] = {
        { POLICY "10-bad.json", "{ \"version\": 1, \"defaults\": { \"prefer\": \"nest\", } }", NULL,
          "line 1, column 49: JSON syntax error: unexpected character" },
        { POLICY "10-bad.json", "{ \"defaults\": {} }", "version", "missing: every file must start with \"version\": 1" },
        { POLICY "10-bad.json", "{ \"version\": 1.0 }", "version", "expected 1 (the only format version), got number 1.0" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"defaults\": { \"prefer\": \"fastest\" } }", "defaults.prefer",
          "expected one of \"nest\" or \"shadow\", got string \"fastest\"" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"defaults\": { \"allow_experimental\": \"yes\" } }",
          "defaults.allow_experimental", "expected true or false, got string \"yes\"" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"defaults\": { \"pasid_quota\": 2000000 } }", "defaults.pasid_quota",
          "expected an integer from 0 to 1048576, got number 2000000" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"defaults\": [] }", "defaults", "expected an object, got an array" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"vmm\": { \"iommufd\": 1 } }", "vmm.iommufd",
          "expected true or false, got number 1" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"vms\": { \"match\": \"a\" } }", "vms", "expected an array, got an object" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"vms\": [ \"db-*\" ] }", "vms[0]", "expected an object, got string \"db-*\"" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"vms\": [ { \"prefer\": \"nest\" } ] }", "vms[0].match",
          "missing: expected a VM name or a glob" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"vms\": [ { \"match\": \"a\" }, { \"match\": \"\" } ] }",
          "vms[1].match", "expected a non-empty string" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"vms\": [ { \"match\": \"a\", \"vmm\": { \"iommufd\": null, \"virtio-iommu-pci\": \"on\" } } ] }",
          "vms[0].vmm.virtio-iommu-pci", "expected true or false, got string \"on\"" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"parents\": [ { \"pasid_quota\": 1 } ] }", "parents[0].match",
          "missing: expected a parent name or a glob" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"parents\": [ { \"match\": \"p\", \"reserved_pasids\": \"1-5\" } ] }",
          "parents[0].reserved_pasids", "expected an array, got string \"1-5\"" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"reserved_pasids\": [ \"0\", 5 ] }", "reserved_pasids[1]",
          "expected a PASID or a range \"first-last\"" },
        { POLICY "10-bad.json", "{ \"version\": 1, \"reserved_pasids\": [ \"0-0x100000\" ] }", "reserved_pasids[0]",
          "PASIDs are 20 bits" },
        { CONF, "{ \"version\": 1, \"hook\": { \"timeout_ms\": 0 } }", "hook.timeout_ms",
          "expected an integer from 100 to 600000, got number 0" },
        { CONF, "{ \"version\": 1, \"hook\": { \"on_timeout\": \"pass\" } }", "hook.on_timeout",
          "expected one of \"veto\" or \"allow\", got string \"pass\"" },
        { CONF, "{ \"version\": 1, \"autostart\": { \"attempts\": 0 } }", "autostart.attempts",
          "expected an integer from 1 to 100, got number 0" },
        { CONF, "{ \"version\": 1, \"autostart\": { \"enabled\": \"no\" } }", "autostart.enabled",
          "expected true or false" },
        { CONF, "{ \"version\": 1, \"devices\": { \"start_timeout_ms\": -5 } }", "devices.start_timeout_ms",
          "expected an integer from 100 to 3600000, got number -5" },
        { CONF, "{ \"version\": 1, \"log_level\": \"verbose\" }", "log_level",
          "expected one of \"emerg\", \"alert\", \"crit\", \"err\", \"warning\", \"notice\", \"info\" or \"debug\"" },
        { CONF, "[]", NULL, "expected a JSON object at the top level, got an array" },
};

START_TEST(test_bad_files)
{
        _cleanup_free_ char *path = path_of(bad_files[_i].file);
        const char *err;

        /* Good files around the bad one do not save the load. */
        test_write(root, POLICY "05-good.json", "{ \"version\": 1, \"defaults\": { \"prefer\": \"shadow\" } }");
        test_write(root, POLICY "99-good.json", "{ \"version\": 1 }");
        test_write(root, bad_files[_i].file, bad_files[_i].content);
        err = load_fails();
        ck_assert_msg(startswith(err, path), "case %d: error does not start with the file: %s", _i, err);
        ck_assert_str_eq(msgs.error_file, path);
        if (bad_files[_i].key) {
                char k[128];
                snprintf(k, sizeof(k), ": key \"%s\": ", bad_files[_i].key);
                ck_assert_msg(strstr(err, k), "case %d: %s not in %s", _i, k, err);
                ck_assert_str_eq(msgs.error_key, bad_files[_i].key);
        } else
                ck_assert_ptr_null(msgs.error_key);
        ck_assert_msg(strstr(err, bad_files[_i].expect), "case %d: \"%s\" not in \"%s\"", _i, bad_files[_i].expect,
                      err);
}
END_TEST

START_TEST(test_limits)
{
        const size_t big_size = 1024 * 1024, depth = 10000;
        _cleanup_free_ char *big = malloc(big_size + 1), *deep = malloc(2 * depth + 64);
        size_t n;

        /* A 1 MiB file: refused by size, before any parsing. */
        memset(big, ' ', big_size);
        memcpy(big, "{ \"version\": 1 ", 15);
        big[big_size - 1] = '}';
        big[big_size] = '\0';
        test_write(root, POLICY "10-big.json", big);
        ck_assert_ptr_nonnull(strstr(load_fails(), "10-big.json: larger than 256 KiB"));
        mdp_conf_messages_done(&msgs);
        test_write(root, POLICY "10-big.json", "{ \"version\": 1 }");

        /* Nesting 10000 deep: a clear error at the limit. */
        strcpy(deep, "{ \"version\": 1, \"defaults\": ");
        n = strlen(deep);
        memset(deep + n, '[', depth);
        memset(deep + n + depth, ']', depth);
        strcpy(deep + n + 2 * depth, " }");
        test_write(root, CONF, deep);
        {
                const char *e = load_fails();
                ck_assert_msg(strstr(e, "mdevpasid.conf: line 1, column 44: nested deeper than 16 levels"), "%s", e);
        }
        mdp_conf_messages_done(&msgs);
        test_write(root, CONF, "{ \"version\": 1 }");

        /* Too many files. */
        for (int i = 0; i < 257; i++) {
                char name[64];
                snprintf(name, sizeof(name), POLICY "f%03d.json", i);
                test_write(root, name, "{ \"version\": 1 }");
        }
        ck_assert_ptr_nonnull(strstr(load_fails(), "more than 256 policy files"));
}
END_TEST

START_TEST(test_default_policy_object)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        struct mdp_vm_policy v;
        size_t n;

        ck_assert_int_eq(mdp_policy_new_default(&p), 0);
        ck_assert_ptr_null(mdp_policy_files(p, &n));
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_eq(mdp_policy_ref(p), p);
        mdp_policy_unref(p);
        v = resolve(p, "x", NULL);
        ck_assert_int_eq(v.options.prefer, MDP_PREFER_NEST);
        mdp_vm_policy_done(&v);
        ck_assert_ptr_null(mdp_policy_unref(NULL));
}
END_TEST

START_TEST(test_daemon_config_alone)
{
        struct mdp_daemon_config c = { 0 };

        /* The hook reads only mdevpasid.conf: a broken rule file does not change its timeout. */
        test_write(root, POLICY "10-bad.json", "{ broken");
        test_write(root, CONF, "{ \"version\": 1, \"hook\": { \"timeout_ms\": 1500, \"on_daemon_unavailable\": \"allow\" } }");
        ck_assert_int_eq(mdp_daemon_config_load(ctx, &c, &msgs), 0);
        ck_assert_uint_eq(c.hook_timeout_ms, 1500);
        ck_assert_int_eq(c.hook_on_unavailable, MDP_HOOK_ALLOW);
        ck_assert_int_eq(c.hook_on_timeout, MDP_HOOK_VETO);
        ck_assert_ptr_null(msgs.error);
        /* A bad mdevpasid.conf is an error, and the output is untouched. */
        test_write(root, CONF, "{ \"version\": 1, \"hook\": { \"timeout_ms\": \"30s\" } }");
        ck_assert_int_eq(mdp_daemon_config_load(ctx, &c, &msgs), -EINVAL);
        ck_assert_uint_eq(c.hook_timeout_ms, 1500);
        ck_assert_ptr_nonnull(strstr(msgs.error, "key \"hook.timeout_ms\": expected an integer from 100 to 600000"));
        mdp_conf_messages_done(&msgs);
        /* No file: the defaults. */
        test_rm_rf(root);
        ck_assert_int_eq(mdp_daemon_config_load(ctx, &c, &msgs), 0);
        ck_assert_uint_eq(c.hook_timeout_ms, 30000);
}
END_TEST

/* From a domain and the policy to the engine's request, then a plan that cites the files. */
START_TEST(test_fill_request_and_plan)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        _cleanup_(mdp_domain_freep) struct mdp_domain *d = NULL;
        _cleanup_(mdp_plan_freep) struct mdp_plan *plan = NULL;
        _cleanup_free_ char *xml = NULL, *err = NULL, *file = path_of(POLICY "10-a.json");
        struct mdp_plan_request req;
        struct mdp_unit_input unit;
        struct mdp_vm_policy v;

        test_write(root, POLICY "10-a.json",
                   "{ \"version\": 1, \"vmm\": { \"virtio-iommu-pci\": true, \"iommufd\": true },\n"
                   "  \"vms\": [ { \"match\": \"vm-*\", \"prefer\": \"shadow\" } ] }");
        p = load_ok();
        xml = test_read(test_srcdir(), "tests/fixtures/domains/virtio.xml");
        ck_assert_int_eq(mdp_domain_parse(xml, strlen(xml), &d, &err), 0);
        v = resolve(p, d->name, &d->policy);

        mdp_plan_request_init(&req);
        mdp_policy_fill_request(p, &v, d, &req);
        ck_assert_str_eq(req.vm, "vm-virtio");
        ck_assert_int_eq(req.guest, MDP_GUEST_NOPASID);
        ck_assert_str_eq(req.guest_basis, "<iommu model='virtio'> and no mdevpasid metadata ⇒ nopasid");
        ck_assert_int_eq(req.arch, MDP_ARCH_X86_64);
        ck_assert_int_eq(req.options.prefer, MDP_PREFER_SHADOW);
        ck_assert_int_eq(req.options.vmm[MDP_VMM_VIRTIO_IOMMU], MDP_YES);
        ck_assert_uint_eq(req.n_policy_files, 1);
        ck_assert_str_eq(req.policy_files[0], file);

        /* One emulated mdev under the virtio vIOMMU: the engine shadows it and cites the file. */
        mdp_unit_input_init(&unit);
        unit.id = "c2177883-f1bb-47f0-914d-32a22e3a8804";
        unit.kind = MDP_UNIT_EMDEV;
        unit.parent = "mtty";
        unit.has_group = MDP_YES;
        unit.group_viable = MDP_YES;
        req.units = &unit;
        req.n_units = 1;
        req.kernel.has[MDP_KFEAT_TYPE1V2] = MDP_YES;
        ck_assert_int_eq(mdp_engine_plan(&req, &plan), 0);
        {
                _cleanup_free_ char *text = NULL;
                mdp_plan_format_text(plan, &text);
                ck_assert_msg(plan->strategy == MDP_STRATEGY_SHADOW, "%s", text);
        }
        ck_assert_uint_eq(plan->n_policy_files, 1);
        ck_assert_str_eq(plan->policy_files[0], file);
        mdp_vm_policy_done(&v);
}
END_TEST

static Suite *policy_suite(void)
{
        Suite *s = suite_create("policy");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_no_files_means_defaults);
        tcase_add_test(tc, test_shipped_conf_is_the_defaults);
        tcase_add_test(tc, test_daemon_config_values);
        tcase_add_test(tc, test_shipped_example_policy);
        tcase_add_test(tc, test_files_used_in_order);
        tcase_add_test(tc, test_unknown_keys_warn);
        tcase_add_test(tc, test_conflicting_files);
        tcase_add_test(tc, test_per_vm_overrides);
        tcase_add_test(tc, test_metadata_only_narrows);
        tcase_add_test(tc, test_parent_quotas_and_reserved);
        tcase_add_loop_test(tc, test_bad_files, 0, ELEMENTSOF(bad_files));
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_default_policy_object);
        tcase_add_test(tc, test_daemon_config_alone);
        tcase_add_test(tc, test_fill_request_and_plan);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(policy_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
