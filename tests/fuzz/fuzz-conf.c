/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The operator's files (lib/policy.c, lib/profile.c, lib/conf-json.c): mdevpasid.conf,
 * policy.d/NAME.json and profiles/NAME.json, loaded through the same calls the daemon, hook and
 * CLI make, from a private root (the loaders read files; the text goes through the file).
 * Input: byte 0 picks the file (0 conf, 1 policy, 2 profile), byte 1 the VM and parent
 * names the rules are resolved for, the rest is the file. */
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "ctx.h"
#include "fuzz.h"
#include "policy.h"
#include "profile.h"
#include "util/strbuf.h"

static const char *const vms[] = {"fuzz", "db-1", "web", "vm0"};
static const char *const parents[] = {"0000:00:02.0", "mtty", "0000:6a:01.0", "matrix"};
static const char *const types[][2] = {
        {"mtty", "mtty-1"}, {"i915", "i915-GVTg_V5_4"}, {"idxd", "dsa-1swq"}, {NULL, "vfio_ap-passthrough"}};

static struct mdp_ctx *ctx;
static char conf_dir[256], policy_dir[512], profile_dir[512];

static void setup(void)
{
        struct strbuf sb = {0};
        _cleanup_free_ char *data = NULL;
        const char *root;

        if (ctx)
                return;
        root = fuzz_tmpdir();
        /* An empty shipped-data directory: only the fuzzed file is loaded. */
        strbuf_printf(&sb, "%s/data", root);
        data = strbuf_steal(&sb);
        fuzz_write_file(data, ".keep", "", 0);
        setenv("MDEVPASID_DATADIR", data, 1);
        snprintf(conf_dir, sizeof(conf_dir), "%s/etc/mdevpasid", root);
        snprintf(policy_dir, sizeof(policy_dir), "%s/policy.d", conf_dir);
        snprintf(profile_dir, sizeof(profile_dir), "%s/profiles", conf_dir);
        fuzz_write_file(policy_dir, ".keep", "", 0);
        fuzz_write_file(profile_dir, ".keep", "", 0);
        if (mdp_ctx_new_with_root(root, &ctx) < 0)
                abort();
}

static void remove_file(const char *dir, const char *name)
{
        char path[1024];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        (void)unlink(path);
}

FUZZ_TARGET(conf)
{
        struct mdp_conf_messages msgs = {0};
        struct mdp_daemon_config dc;
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *policy = NULL;
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *profiles = NULL;
        unsigned kind, pick;

        if (size < 2)
                return 0;
        setup();
        kind = data[0] % 3;
        pick = data[1] % ELEMENTSOF(vms);
        remove_file(conf_dir, "mdevpasid.conf");
        remove_file(policy_dir, "50-fuzz.json");
        remove_file(profile_dir, "50-fuzz.json");
        fuzz_write_file(kind == 0   ? conf_dir
                        : kind == 1 ? policy_dir
                                    : profile_dir,
                        kind == 0 ? "mdevpasid.conf" : "50-fuzz.json", data + 2, size - 2);

        mdp_daemon_config_init(&dc);
        if (kind == 0) {
                (void)mdp_daemon_config_load(ctx, &dc, &msgs);
                mdp_conf_messages_done(&msgs);
        }
        if (mdp_policy_load(ctx, &policy, &msgs) < 0)
                FUZZ_ASSERT(msgs.error);
        mdp_conf_messages_done(&msgs);
        if (mdp_profiles_load(ctx, &profiles, &msgs) < 0)
                FUZZ_ASSERT(msgs.error);
        mdp_conf_messages_done(&msgs);

        if (policy) {
                struct mdp_vm_policy v = {0};
                struct mdp_parent_policy pp = {0};
                const struct mdp_profile_rule *rule = NULL;

                if (profiles)
                        rule = mdp_profiles_match(profiles, types[pick][0], types[pick][1]);
                if (mdp_policy_resolve_vm(policy, vms[pick], NULL, &v) >= 0)
                        mdp_vm_policy_done(&v);
                if (mdp_policy_resolve_parent(policy, parents[pick], rule, &pp) >= 0) {
                        for (size_t i = 0; i < pp.n_reserved; i++) {
                                FUZZ_ASSERT(pp.reserved[i].first <= pp.reserved[i].last);
                                FUZZ_ASSERT(pp.reserved[i].last <= MDP_PASID_MAX);
                                /* sorted, merged */
                                FUZZ_ASSERT(i == 0 || pp.reserved[i].first > pp.reserved[i - 1].last + 1);
                        }
                        mdp_parent_policy_done(&pp);
                }
        }
        if (profiles) {
                for (size_t i = 0; i < mdp_profiles_count(profiles); i++) {
                        const struct mdp_profile *p = mdp_profiles_get(profiles, i);
                        char basis[512];

                        FUZZ_ASSERT(p && p->name && p->path);
                        for (size_t j = 0; j < p->n_rules; j++) {
                                const struct mdp_profile_rule *r = &p->rules[j];

                                FUZZ_ASSERT(r->profile == p && r->type_id);
                                for (size_t k = 0; k < r->n_reserved_pasids; k++)
                                        FUZZ_ASSERT(r->reserved_pasids[k].first <=
                                                            r->reserved_pasids[k].last &&
                                                    r->reserved_pasids[k].last <= MDP_PASID_MAX);
                                mdp_profile_rule_basis(r, basis, sizeof(basis));
                        }
                }
        }
        return 0;
}
