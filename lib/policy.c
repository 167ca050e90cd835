/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Daemon configuration and policy rules: strict loading, deterministic precedence
 * (policy.h), and the mapping onto the engine's options (IOMMU-SPEC.md §6.2). */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf-json.h"
#include "mdp-names.h"
#include "policy.h"
#include "util/strbuf.h"

#define POLICY_MAX_FILES 256
#define POLICY_MAX_SIZE (256 * 1024)
#define POLICY_MAX_DEPTH 16
#define POLICY_MAX_RULES 4096

/* The settings a rule can give, as one array so merging and conflict reports are generic.
 * A value of -1 means "not set here". */
enum {
        F_PREFER,
        F_ALLOW_EXPERIMENTAL,
        F_MIGRATION_REQUIRED,
        F_PASID_QUOTA,
        F_VMM_FIRST,
        _F_MAX = F_VMM_FIRST + _MDP_VMM_CAP_MAX,
};

struct values {
        int64_t v[_F_MAX];
        const char *src[_F_MAX]; /* "<file> <key>", owned by the policy's string pool */
};

struct vm_rule {
        const char *match;
        struct values values;
};

struct parent_rule {
        const char *match;
        const char *src; /* "<file> parents[i] (match \"...\")" */
        int64_t pasid_quota;
        struct mdp_pasid_range *reserved;
        size_t n_reserved;
};

struct reserved_src {
        struct mdp_pasid_range *ranges;
        size_t n;
        const char *src;
};

struct mdp_policy {
        int n_ref;
        struct mdp_daemon_config daemon;
        char **files;
        size_t n_files;
        struct values global;
        struct vm_rule *vms;
        size_t n_vms;
        struct parent_rule *parents;
        size_t n_parents;
        struct reserved_src *reserved; /* top-level reserved_pasids, one entry per file */
        size_t n_reserved;
        char **pool;
        size_t n_pool;
};

/* ---- small helpers ---- */

static const char *pool_add(struct mdp_policy *p, char *take)
{
        char **l;

        if (!take)
                return NULL;
        l = realloc(p->pool, (p->n_pool + 1) * sizeof(char *));
        if (!l) {
                free(take);
                return NULL;
        }
        l[p->n_pool++] = take;
        p->pool = l;
        return take;
}

static const char *pool_printf(struct mdp_policy *p, const char *fmt, ...) _printf_(2, 3);
static const char *pool_printf(struct mdp_policy *p, const char *fmt, ...)
{
        struct strbuf sb = { 0 };
        va_list ap;

        va_start(ap, fmt);
        strbuf_vprintf(&sb, fmt, ap);
        va_end(ap);
        return pool_add(p, strbuf_steal(&sb));
}

static int strv_push(char ***l, size_t *n, char *take)
{
        char **x;

        if (!take)
                return -ENOMEM;
        x = realloc(*l, (*n + 2) * sizeof(char *));
        if (!x) {
                free(take);
                return -ENOMEM;
        }
        x[(*n)++] = take;
        x[*n] = NULL;
        *l = x;
        return 0;
}

static int strv_pushf(char ***l, size_t *n, const char *fmt, ...) _printf_(3, 4);
static int strv_pushf(char ***l, size_t *n, const char *fmt, ...)
{
        struct strbuf sb = { 0 };
        va_list ap;

        va_start(ap, fmt);
        strbuf_vprintf(&sb, fmt, ap);
        va_end(ap);
        return strv_push(l, n, strbuf_steal(&sb));
}

static void values_init(struct values *v)
{
        for (size_t i = 0; i < _F_MAX; i++) {
                v->v[i] = -1;
                v->src[i] = NULL;
        }
}

static void field_name(int f, char *buf, size_t size)
{
        static const char *const names[] = { "prefer", "allow_experimental", "migration_required", "pasid_quota" };

        if (f < F_VMM_FIRST)
                snprintf(buf, size, "%s", names[f]);
        else
                snprintf(buf, size, "vmm.%s", mdp_vmm_cap_to_string((enum mdp_vmm_cap)(f - F_VMM_FIRST)));
}

static void field_value(int f, int64_t v, char *buf, size_t size)
{
        if (f == F_PREFER)
                snprintf(buf, size, "%s", mdp_prefer_to_string((enum mdp_prefer)v));
        else if (f == F_PASID_QUOTA)
                snprintf(buf, size, "%" PRId64, v);
        else
                snprintf(buf, size, "%s", v ? "true" : "false");
}

/* ---- daemon config ---- */

_public_ void mdp_daemon_config_init(struct mdp_daemon_config *c)
{
        *c = (struct mdp_daemon_config){
                .start_timeout_ms = 10000,
                .remove_timeout_ms = 10000,
                .autostart = true,
                .autostart_attempts = 3,
                .autostart_retry_interval_ms = 2000,
                .hook_timeout_ms = 30000,
                .hook_on_timeout = MDP_HOOK_VETO,
                .hook_on_unavailable = MDP_HOOK_VETO,
                .log_level = LOG_INFO,
        };
}

static int parse_daemon_config(struct conf_reader *rd, json_object *root, struct mdp_daemon_config *c)
{
        static const char *const known[] = { "version", "devices", "autostart", "hook", "log_level", NULL };
        static const char *const devices_known[] = { "start_timeout_ms", "remove_timeout_ms", NULL };
        static const char *const autostart_known[] = { "enabled", "attempts", "retry_interval_ms", NULL };
        static const char *const hook_known[] = { "timeout_ms", "on_timeout", "on_daemon_unavailable", NULL };
        static const char *const fallbacks[] = { "veto", "allow", NULL };
        static const char *const levels[] = { "emerg", "alert",  "crit", "err",
                                              "warning", "notice", "info", "debug", NULL };
        json_object *o;
        uint64_t u;
        int e;

        conf_check_keys(rd, root, NULL, known);
        if (conf_get_object(rd, root, NULL, "devices", &o) > 0) {
                conf_check_keys(rd, o, "devices", devices_known);
                if (conf_get_uint(rd, o, "devices", "start_timeout_ms", 100, 3600000, &u) > 0)
                        c->start_timeout_ms = (unsigned)u;
                if (conf_get_uint(rd, o, "devices", "remove_timeout_ms", 100, 3600000, &u) > 0)
                        c->remove_timeout_ms = (unsigned)u;
        }
        if (conf_get_object(rd, root, NULL, "autostart", &o) > 0) {
                conf_check_keys(rd, o, "autostart", autostart_known);
                conf_get_bool(rd, o, "autostart", "enabled", &c->autostart);
                if (conf_get_uint(rd, o, "autostart", "attempts", 1, 100, &u) > 0)
                        c->autostart_attempts = (unsigned)u;
                if (conf_get_uint(rd, o, "autostart", "retry_interval_ms", 100, 3600000, &u) > 0)
                        c->autostart_retry_interval_ms = (unsigned)u;
        }
        if (conf_get_object(rd, root, NULL, "hook", &o) > 0) {
                conf_check_keys(rd, o, "hook", hook_known);
                /* libvirt waits for a hook forever (ECOSYSTEM.md §1.4): keep the bound short. */
                if (conf_get_uint(rd, o, "hook", "timeout_ms", 100, 600000, &u) > 0)
                        c->hook_timeout_ms = (unsigned)u;
                if (conf_get_enum(rd, o, "hook", "on_timeout", fallbacks, &e) > 0)
                        c->hook_on_timeout = (enum mdp_hook_fallback)e;
                if (conf_get_enum(rd, o, "hook", "on_daemon_unavailable", fallbacks, &e) > 0)
                        c->hook_on_unavailable = (enum mdp_hook_fallback)e;
        }
        if (conf_get_enum(rd, root, NULL, "log_level", levels, &e) > 0)
                c->log_level = e;
        return rd->error;
}

/* ---- policy.d ---- */

/* Reads the settings of one rule object: defaults (no "vmm" inside) or vms[i]. */
static int parse_settings(struct mdp_policy *p, struct conf_reader *rd, json_object *o, const char *path,
                          const char *src_fmt_prefix, struct values *v)
{
        static const char *const prefers[] = { "nest", "shadow", NULL };
        char k[CONF_KEY_MAX];
        uint64_t u;
        bool b;
        int e;

        if (conf_get_enum(rd, o, path, "prefer", prefers, &e) > 0) {
                v->v[F_PREFER] = e == 0 ? MDP_PREFER_NEST : MDP_PREFER_SHADOW;
                conf_key(k, path, "prefer");
                v->src[F_PREFER] = pool_printf(p, "%s %s", src_fmt_prefix, k);
        }
        if (conf_get_bool(rd, o, path, "allow_experimental", &b) > 0) {
                v->v[F_ALLOW_EXPERIMENTAL] = b;
                conf_key(k, path, "allow_experimental");
                v->src[F_ALLOW_EXPERIMENTAL] = pool_printf(p, "%s %s", src_fmt_prefix, k);
        }
        if (conf_get_bool(rd, o, path, "migration_required", &b) > 0) {
                v->v[F_MIGRATION_REQUIRED] = b;
                conf_key(k, path, "migration_required");
                v->src[F_MIGRATION_REQUIRED] = pool_printf(p, "%s %s", src_fmt_prefix, k);
        }
        if (conf_get_uint(rd, o, path, "pasid_quota", 0, MDP_PASID_MAX_COUNT, &u) > 0) {
                v->v[F_PASID_QUOTA] = (int64_t)u;
                conf_key(k, path, "pasid_quota");
                v->src[F_PASID_QUOTA] = pool_printf(p, "%s %s", src_fmt_prefix, k);
        }
        return rd->error;
}

/* "vmm": { "<QEMU spelling>": true|false, ... } (engine.h enum mdp_vmm_cap). */
static int parse_vmm(struct mdp_policy *p, struct conf_reader *rd, json_object *o, const char *path,
                     const char *src_prefix, struct values *v)
{
        char k[CONF_KEY_MAX];

        json_object_object_foreach(o, key, val)
        {
                int cap = mdp_vmm_cap_from_string(key);
                bool b = false;

                (void)val;
                conf_key(k, path, key);
                if (streq(key, "comment"))
                        continue;
                if (cap < 0) {
                        struct strbuf sb = { 0 };
                        for (int i = 0; i < _MDP_VMM_CAP_MAX; i++)
                                strbuf_printf(&sb, "%s%s", i ? ", " : "", mdp_vmm_cap_to_string((enum mdp_vmm_cap)i));
                        _cleanup_free_ char *list = strbuf_steal(&sb);
                        conf_warn(rd, k,
                                  "unknown VMM capability, ignored: the engine treats it as absent (known: %s)",
                                  strna(list));
                        continue;
                }
                if (conf_get_bool(rd, o, path, key, &b) < 0)
                        return rd->error;
                v->v[F_VMM_FIRST + cap] = b;
                v->src[F_VMM_FIRST + cap] = pool_printf(p, "%s %s", src_prefix, k);
        }
        return rd->error;
}

static void merge_global(struct mdp_policy *p, struct mdp_conf_messages *msgs, const struct values *fv)
{
        char name[96], a[32], b[32];

        for (int f = 0; f < _F_MAX; f++) {
                if (fv->v[f] < 0)
                        continue;
                if (p->global.v[f] >= 0 && p->global.v[f] != fv->v[f]) {
                        field_name(f, name, sizeof(name));
                        field_value(f, p->global.v[f], a, sizeof(a));
                        field_value(f, fv->v[f], b, sizeof(b));
                        conf_messages_warn(msgs,
                                           "conflicting policy: %s is %s in %s but %s in %s; the later file (in "
                                           "file-name order) wins: %s",
                                           name, a, p->global.src[f], b, fv->src[f], b);
                }
                p->global.v[f] = fv->v[f];
                p->global.src[f] = fv->src[f];
        }
}

static int parse_policy_file(struct mdp_policy *p, struct conf_reader *rd, json_object *root,
                             struct mdp_conf_messages *msgs)
{
        static const char *const known[] = { "version", "description", "defaults", "vmm", "vms", "parents",
                                             "reserved_pasids", NULL };
        static const char *const defaults_known[] = { "prefer", "allow_experimental", "migration_required",
                                                      "pasid_quota", NULL };
        static const char *const vm_known[] = { "match", "prefer", "allow_experimental", "migration_required",
                                                "pasid_quota", "vmm", NULL };
        static const char *const parent_known[] = { "match", "pasid_quota", "reserved_pasids", NULL };
        json_object *o, *arr;
        struct values fv;
        const char *desc;
        char k[CONF_KEY_MAX];
        int r;

        values_init(&fv);
        conf_check_keys(rd, root, NULL, known);
        conf_get_string(rd, root, NULL, "description", 4096, &desc);
        if (conf_get_object(rd, root, NULL, "defaults", &o) > 0) {
                conf_check_keys(rd, o, "defaults", defaults_known);
                parse_settings(p, rd, o, "defaults", rd->file, &fv);
        }
        if (conf_get_object(rd, root, NULL, "vmm", &o) > 0)
                parse_vmm(p, rd, o, "vmm", rd->file, &fv);
        if (rd->error < 0)
                return rd->error;

        r = conf_get_array(rd, root, NULL, "vms", POLICY_MAX_RULES, &arr);
        for (size_t i = 0; r > 0 && i < json_object_array_length(arr); i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                struct vm_rule *l, rule = { 0 };
                const char *match = NULL, *prefix;

                conf_index(k, "vms", i);
                if (conf_expect_object(rd, e, k) < 0)
                        return rd->error;
                conf_check_keys(rd, e, k, vm_known);
                if (conf_get_glob(rd, e, k, "match", &match) == 0) {
                        char mk[CONF_KEY_MAX];
                        conf_key(mk, k, "match");
                        return conf_error(rd, mk, "missing: expected a VM name or a glob (\"db-*\")");
                }
                if (rd->error < 0)
                        return rd->error;
                rule.match = pool_add(p, strdup(match));
                prefix = pool_printf(p, "%s", rd->file);
                values_init(&rule.values);
                if (!rule.match || !prefix)
                        return -ENOMEM;
                parse_settings(p, rd, e, k, prefix, &rule.values);
                if (conf_get_object(rd, e, k, "vmm", &o) > 0) {
                        char vk[CONF_KEY_MAX];
                        conf_key(vk, k, "vmm");
                        parse_vmm(p, rd, o, vk, prefix, &rule.values);
                }
                if (rd->error < 0)
                        return rd->error;
                /* Sources name the rule's glob so an explanation shows why it applied. */
                for (int f = 0; f < _F_MAX; f++)
                        if (rule.values.src[f])
                                rule.values.src[f] = pool_printf(p, "%s (match \"%s\")", rule.values.src[f], match);
                l = realloc(p->vms, (p->n_vms + 1) * sizeof(*l));
                if (!l)
                        return -ENOMEM;
                p->vms = l;
                l[p->n_vms++] = rule;
        }
        if (rd->error < 0)
                return rd->error;

        r = conf_get_array(rd, root, NULL, "parents", POLICY_MAX_RULES, &arr);
        for (size_t i = 0; r > 0 && i < json_object_array_length(arr); i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                struct parent_rule *l, rule = { .pasid_quota = -1 };
                const char *match = NULL;
                uint64_t u;

                conf_index(k, "parents", i);
                if (conf_expect_object(rd, e, k) < 0)
                        return rd->error;
                conf_check_keys(rd, e, k, parent_known);
                if (conf_get_glob(rd, e, k, "match", &match) == 0) {
                        char mk[CONF_KEY_MAX];
                        conf_key(mk, k, "match");
                        return conf_error(rd, mk, "missing: expected a parent name or a glob (\"0000:65:00.*\")");
                }
                if (conf_get_uint(rd, e, k, "pasid_quota", 0, MDP_PASID_MAX_COUNT, &u) > 0)
                        rule.pasid_quota = (int64_t)u;
                conf_get_pasid_ranges(rd, e, k, "reserved_pasids", &rule.reserved, &rule.n_reserved);
                if (rd->error < 0) {
                        free(rule.reserved);
                        return rd->error;
                }
                rule.match = pool_add(p, strdup(match));
                rule.src = pool_printf(p, "%s %s (match \"%s\")", rd->file, k, match);
                l = rule.match && rule.src ? realloc(p->parents, (p->n_parents + 1) * sizeof(*l)) : NULL;
                if (!l) {
                        free(rule.reserved);
                        return -ENOMEM;
                }
                p->parents = l;
                l[p->n_parents++] = rule;
        }
        if (rd->error < 0)
                return rd->error;

        {
                struct reserved_src rs = { 0 };

                if (conf_get_pasid_ranges(rd, root, NULL, "reserved_pasids", &rs.ranges, &rs.n) > 0) {
                        struct reserved_src *l = realloc(p->reserved, (p->n_reserved + 1) * sizeof(*l));
                        rs.src = pool_printf(p, "%s reserved_pasids", rd->file);
                        if (!l || !rs.src) {
                                free(rs.ranges);
                                return -ENOMEM;
                        }
                        p->reserved = l;
                        l[p->n_reserved++] = rs;
                }
                if (rd->error < 0)
                        return rd->error;
        }
        merge_global(p, msgs, &fv);
        return 0;
}

static int policy_new(struct mdp_policy **ret)
{
        struct mdp_policy *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        p->n_ref = 1;
        mdp_daemon_config_init(&p->daemon);
        values_init(&p->global);
        *ret = p;
        return 0;
}

_public_ int mdp_policy_new_default(struct mdp_policy **ret)
{
        return policy_new(ret);
}

_public_ struct mdp_policy *mdp_policy_ref(struct mdp_policy *p)
{
        if (p)
                __atomic_add_fetch(&p->n_ref, 1, __ATOMIC_SEQ_CST);
        return p;
}

_public_ struct mdp_policy *mdp_policy_unref(struct mdp_policy *p)
{
        if (!p || __atomic_sub_fetch(&p->n_ref, 1, __ATOMIC_SEQ_CST) > 0)
                return NULL;
        strv_free(p->files);
        free(p->vms);
        for (size_t i = 0; i < p->n_parents; i++)
                free(p->parents[i].reserved);
        free(p->parents);
        for (size_t i = 0; i < p->n_reserved; i++)
                free(p->reserved[i].ranges);
        free(p->reserved);
        for (size_t i = 0; i < p->n_pool; i++)
                free(p->pool[i]);
        free(p->pool);
        free(p);
        return NULL;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json names of dir, sorted; ENOENT is an empty list. */
static int list_policy_dir(struct mdp_conf_messages *msgs, const char *dir, char ***ret, size_t *ret_n)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        int r = 0;

        if (!d) {
                if (errno == ENOENT || errno == ENOTDIR) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                struct conf_reader rd = { .file = dir, .msgs = msgs };
                r = -errno;
                conf_error(&rd, NULL, "cannot read the policy directory: %s", strerror(-r));
                return r;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);

                if (de->d_name[0] == '.' || len <= 5 || !streq(de->d_name + len - 5, ".json"))
                        continue;
                if (n >= POLICY_MAX_FILES) {
                        struct conf_reader rd = { .file = dir, .msgs = msgs };
                        r = conf_error(&rd, NULL, "more than %d policy files: merge some", POLICY_MAX_FILES);
                        break;
                }
                if ((r = strv_push(&names, &n, strdup(de->d_name))) < 0)
                        break;
        }
        if (r < 0) {
                strv_free(names);
                return r;
        }
        if (n > 0)
                qsort(names, n, sizeof(char *), name_cmp);
        *ret = names;
        *ret_n = n;
        return 0;
}

static int load_daemon_config(struct mdp_ctx *ctx, struct mdp_daemon_config *c, struct mdp_conf_messages *msgs,
                              char **ret_path)
{
        _cleanup_free_ char *conf = mdp_path(ctx, MDP_PATH_CONF, MDP_CONF_FILE);
        _cleanup_json_ json_object *root = NULL;
        struct conf_reader rd = { .file = conf, .msgs = msgs };
        int r;

        if (!conf)
                return -ENOMEM;
        if (access(conf, F_OK) < 0) {
                if (errno == ENOENT) {
                        *ret_path = NULL;
                        return 0;
                }
                r = -errno;
                conf_error(&rd, NULL, "cannot be read: %s", strerror(-r));
                return r;
        }
        r = conf_parse_file(&rd, AT_FDCWD, conf, POLICY_MAX_SIZE, POLICY_MAX_DEPTH, &root);
        if (r >= 0)
                r = parse_daemon_config(&rd, root, c);
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(conf);
        return 0;
}

_public_ int mdp_daemon_config_load(struct mdp_ctx *ctx, struct mdp_daemon_config *ret, struct mdp_conf_messages *msgs)
{
        _cleanup_free_ char *path = NULL;
        struct mdp_daemon_config c;
        int r;

        mdp_daemon_config_init(&c);
        r = load_daemon_config(ctx, &c, msgs, &path);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

_public_ int mdp_policy_load(struct mdp_ctx *ctx, struct mdp_policy **ret, struct mdp_conf_messages *msgs)
{
        _cleanup_(mdp_policy_unrefp) struct mdp_policy *p = NULL;
        _cleanup_free_ char *dir = NULL, *conf_used = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n_names = 0;
        int r;

        r = policy_new(&p);
        if (r < 0)
                return r;
        dir = mdp_path(ctx, MDP_PATH_CONF, MDP_POLICY_SUBDIR);
        if (!dir)
                return -ENOMEM;

        r = load_daemon_config(ctx, &p->daemon, msgs, &conf_used);
        if (r < 0)
                return r;
        if (conf_used && (r = strv_push(&p->files, &p->n_files, TAKE_PTR(conf_used))) < 0)
                return r;

        r = list_policy_dir(msgs, dir, &names, &n_names);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_names; i++) {
                _cleanup_json_ json_object *root = NULL;
                const char *path = pool_printf(p, "%s/%s", dir, names[i]);
                struct conf_reader rd = { .file = path, .msgs = msgs };

                if (!path)
                        return -ENOMEM;
                r = conf_parse_file(&rd, AT_FDCWD, path, POLICY_MAX_SIZE, POLICY_MAX_DEPTH, &root);
                if (r >= 0)
                        r = parse_policy_file(p, &rd, root, msgs);
                if (r < 0)
                        return r;
                if ((r = strv_push(&p->files, &p->n_files, strdup(path))) < 0)
                        return r;
        }
        mdp_dbg(ctx, "policy: %zu files, %zu VM rules, %zu parent rules", p->n_files, p->n_vms, p->n_parents);
        *ret = TAKE_PTR(p);
        return 0;
}

_public_ const struct mdp_daemon_config *mdp_policy_daemon_config(const struct mdp_policy *p)
{
        return &p->daemon;
}

_public_ const char *const *mdp_policy_files(const struct mdp_policy *p, size_t *ret_n)
{
        if (ret_n)
                *ret_n = p->n_files;
        return (const char *const *)p->files;
}

/* ---- resolution ---- */

_public_ void mdp_vm_policy_done(struct mdp_vm_policy *v)
{
        if (!v)
                return;
        strv_free(v->sources);
        strv_free(v->warnings);
        v->sources = v->warnings = NULL;
        v->n_sources = v->n_warnings = 0;
}

_public_ int mdp_policy_resolve_vm(const struct mdp_policy *p, const char *vm, const struct mdp_domain_policy *md,
                                   struct mdp_vm_policy *ret)
{
        struct mdp_vm_policy out = { 0 };
        struct values v = p->global;
        const char *vmn = vm ? vm : "(unnamed)";
        bool by_vm_rule[_F_MAX] = { false };
        const char *md_src[_F_MAX] = { NULL };
        char name[96], a[32], b[32];
        int r = 0;

        /* Step 4 of the precedence: per-VM rules, in order. */
        for (size_t i = 0; vm && i < p->n_vms; i++) {
                const struct vm_rule *rule = &p->vms[i];

                if (fnmatch(rule->match, vm, 0) != 0)
                        continue;
                for (int f = 0; f < _F_MAX && r >= 0; f++) {
                        if (rule->values.v[f] < 0)
                                continue;
                        if (by_vm_rule[f] && v.v[f] != rule->values.v[f]) {
                                field_name(f, name, sizeof(name));
                                field_value(f, v.v[f], a, sizeof(a));
                                field_value(f, rule->values.v[f], b, sizeof(b));
                                r = strv_pushf(&out.warnings, &out.n_warnings,
                                               "VM '%s': conflicting rules: %s is %s in %s but %s in %s; the later "
                                               "rule wins: %s",
                                               vmn, name, a, v.src[f], b, rule->values.src[f], b);
                        }
                        v.v[f] = rule->values.v[f];
                        v.src[f] = rule->values.src[f];
                        by_vm_rule[f] = true;
                }
        }

        /* Step 3: the domain metadata narrows; its "prefer" beats everything but a VM rule. */
        if (md && md->present && r >= 0) {
                int64_t allow = v.v[F_ALLOW_EXPERIMENTAL] > 0, migration = v.v[F_MIGRATION_REQUIRED] > 0;
                int64_t quota = v.v[F_PASID_QUOTA] >= 0 ? v.v[F_PASID_QUOTA] : MDP_POLICY_DEFAULT_VM_PASID_QUOTA;

                if (md->prefer >= 0) {
                        if (!by_vm_rule[F_PREFER]) {
                                v.v[F_PREFER] = md->prefer;
                                md_src[F_PREFER] = "domain metadata <mdevpasid:policy prefer>";
                        } else if (v.v[F_PREFER] != md->prefer)
                                r = strv_pushf(&out.warnings, &out.n_warnings,
                                               "VM '%s': domain metadata prefer='%s' overridden by %s (a per-VM "
                                               "policy rule beats the metadata)",
                                               vmn, mdp_prefer_to_string((enum mdp_prefer)md->prefer), v.src[F_PREFER]);
                }
                if (md->allow_experimental == MDP_NO && allow) {
                        v.v[F_ALLOW_EXPERIMENTAL] = 0;
                        md_src[F_ALLOW_EXPERIMENTAL] = "domain metadata <mdevpasid:policy allow-experimental='no'>";
                } else if (md->allow_experimental == MDP_YES && !allow && r >= 0)
                        r = strv_pushf(&out.warnings, &out.n_warnings,
                                       "VM '%s': domain metadata allow-experimental='yes' ignored: the host policy "
                                       "does not allow experimental cells (set \"allow_experimental\": true in a "
                                       "policy.d rule for this VM)",
                                       vmn);
                if (md->migration_required == MDP_YES && !migration) {
                        v.v[F_MIGRATION_REQUIRED] = 1;
                        md_src[F_MIGRATION_REQUIRED] = "domain metadata <mdevpasid:policy migration-required='yes'>";
                } else if (md->migration_required == MDP_NO && migration && r >= 0)
                        r = strv_pushf(&out.warnings, &out.n_warnings,
                                       "VM '%s': domain metadata migration-required='no' ignored: %s requires "
                                       "migration",
                                       vmn, v.src[F_MIGRATION_REQUIRED]);
                if (md->pasid_quota >= 0 && md->pasid_quota < quota) {
                        v.v[F_PASID_QUOTA] = md->pasid_quota;
                        md_src[F_PASID_QUOTA] = "domain metadata <mdevpasid:policy pasid-quota>";
                } else if (md->pasid_quota > quota && r >= 0)
                        r = strv_pushf(&out.warnings, &out.n_warnings,
                                       "VM '%s': domain metadata pasid-quota='%" PRId64
                                       "' capped at the host's %" PRId64,
                                       vmn, md->pasid_quota, quota);
        }

        /* Onto the engine's options; unset settings keep the built-in defaults. */
        mdp_engine_options_init(&out.options);
        out.pasid_quota = MDP_POLICY_DEFAULT_VM_PASID_QUOTA;
        if (v.v[F_PREFER] >= 0)
                out.options.prefer = (enum mdp_prefer)v.v[F_PREFER];
        if (v.v[F_ALLOW_EXPERIMENTAL] >= 0)
                out.options.allow_experimental = v.v[F_ALLOW_EXPERIMENTAL];
        if (v.v[F_MIGRATION_REQUIRED] >= 0)
                out.options.migration_required = v.v[F_MIGRATION_REQUIRED];
        if (v.v[F_PASID_QUOTA] >= 0)
                out.pasid_quota = (uint32_t)v.v[F_PASID_QUOTA];
        for (int c = 0; c < _MDP_VMM_CAP_MAX; c++)
                if (v.v[F_VMM_FIRST + c] >= 0)
                        out.options.vmm[c] = mdp_tristate_from_bool(v.v[F_VMM_FIRST + c]);

        for (int f = 0; f < _F_MAX && r >= 0; f++) {
                const char *src = md_src[f] ? md_src[f] : v.src[f];

                if (!src)
                        continue;
                field_name(f, name, sizeof(name));
                field_value(f, v.v[f], a, sizeof(a));
                r = strv_pushf(&out.sources, &out.n_sources, "%s = %s (%s)", name, a, src);
        }
        if (r < 0) {
                mdp_vm_policy_done(&out);
                return r;
        }
        *ret = out;
        return 0;
}

_public_ void mdp_policy_fill_request(const struct mdp_policy *p, const struct mdp_vm_policy *v,
                                     const struct mdp_domain *d, struct mdp_plan_request *req)
{
        req->options = v->options;
        req->policy_files = (const char *const *)p->files;
        req->n_policy_files = p->n_files;
        if (!d)
                return;
        req->vm = d->name;
        req->guest = d->guest_mode;
        req->guest_basis = d->guest_mode_basis;
        req->arch = mdp_domain_arch(d);
}

_public_ void mdp_parent_policy_done(struct mdp_parent_policy *pp)
{
        if (!pp)
                return;
        free(pp->reserved);
        strv_free(pp->sources);
        strv_free(pp->warnings);
        *pp = (struct mdp_parent_policy){ 0 };
}

static int add_ranges(struct mdp_pasid_range **all, size_t *n, const struct mdp_pasid_range *r, size_t k)
{
        struct mdp_pasid_range *l;

        if (k == 0)
                return 0;
        l = realloc(*all, (*n + k) * sizeof(*l));
        if (!l)
                return -ENOMEM;
        memcpy(l + *n, r, k * sizeof(*r));
        *all = l;
        *n += k;
        return 0;
}

static void format_ranges(const struct mdp_pasid_range *r, size_t n, struct strbuf *sb)
{
        for (size_t i = 0; i < n; i++) {
                if (r[i].first == r[i].last)
                        strbuf_printf(sb, "%s%" PRIu32, i ? ", " : "", r[i].first);
                else
                        strbuf_printf(sb, "%s%" PRIu32 "-%" PRIu32, i ? ", " : "", r[i].first, r[i].last);
        }
}

static int push_reserved_source(struct mdp_parent_policy *out, const struct mdp_pasid_range *r, size_t n,
                                const char *src)
{
        struct strbuf sb = { 0 };

        strbuf_append(&sb, "reserved_pasids += ");
        format_ranges(r, n, &sb);
        strbuf_printf(&sb, " (%s)", src);
        return strv_push(&out->sources, &out->n_sources, strbuf_steal(&sb));
}

_public_ int mdp_policy_resolve_parent(const struct mdp_policy *p, const char *parent,
                                       const struct mdp_profile_rule *profile_rule, struct mdp_parent_policy *ret)
{
        struct mdp_parent_policy out = { .pasid_quota = MDP_QUOTA_UNLIMITED };
        const char *quota_src = NULL;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < p->n_reserved; i++) {
                r = add_ranges(&out.reserved, &out.n_reserved, p->reserved[i].ranges, p->reserved[i].n);
                if (r >= 0)
                        r = push_reserved_source(&out, p->reserved[i].ranges, p->reserved[i].n, p->reserved[i].src);
        }
        for (size_t i = 0; r >= 0 && parent && i < p->n_parents; i++) {
                const struct parent_rule *rule = &p->parents[i];

                if (fnmatch(rule->match, parent, 0) != 0)
                        continue;
                if (rule->pasid_quota >= 0) {
                        if (quota_src && out.pasid_quota != rule->pasid_quota)
                                r = strv_pushf(&out.warnings, &out.n_warnings,
                                               "parent '%s': conflicting rules: pasid_quota is %" PRIu32
                                               " in %s but %" PRId64 " in %s; the later rule wins: %" PRId64,
                                               parent, out.pasid_quota, quota_src, rule->pasid_quota, rule->src,
                                               rule->pasid_quota);
                        out.pasid_quota = (uint32_t)rule->pasid_quota;
                        quota_src = rule->src;
                }
                if (r >= 0 && rule->n_reserved > 0) {
                        r = add_ranges(&out.reserved, &out.n_reserved, rule->reserved, rule->n_reserved);
                        if (r >= 0)
                                r = push_reserved_source(&out, rule->reserved, rule->n_reserved, rule->src);
                }
        }
        if (r >= 0 && profile_rule && profile_rule->n_reserved_pasids > 0) {
                char basis[512];

                mdp_profile_rule_basis(profile_rule, basis, sizeof(basis));
                r = add_ranges(&out.reserved, &out.n_reserved, profile_rule->reserved_pasids,
                               profile_rule->n_reserved_pasids);
                if (r >= 0)
                        r = push_reserved_source(&out, profile_rule->reserved_pasids, profile_rule->n_reserved_pasids,
                                                 basis);
        }
        if (r >= 0 && quota_src)
                r = strv_pushf(&out.sources, &out.n_sources, "pasid_quota = %" PRIu32 " (%s)", out.pasid_quota,
                               quota_src);
        if (r < 0) {
                mdp_parent_policy_done(&out);
                return r;
        }
        out.n_reserved = pasid_ranges_normalize(out.reserved, out.n_reserved);
        *ret = out;
        return 0;
}
