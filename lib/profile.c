/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Vendor profiles (IOMMU-SPEC.md §1.4–§1.5): loading, precedence and classification. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "conf-json.h"
#include "ctx-private.h"
#include "mdp-names.h"
#include "profile.h"
#include "util/strbuf.h"

#define PROFILE_MAX_FILES 256
#define PROFILE_MAX_SIZE (256 * 1024)
#define PROFILE_MAX_DEPTH 16
#define PROFILE_MAX_RULES 1024
#define PROFILE_MAX_PASIDS_PER_INSTANCE 64

struct mdp_profiles {
        int n_ref;
        struct mdp_profile *profiles;
        size_t n_profiles;
};

static const char *const origin_names[] = {
        [MDP_PROFILE_SHIPPED] = "shipped",
        [MDP_PROFILE_LOCAL] = "local",
        [MDP_PROFILE_OVERRIDE] = "override",
};

_public_ const char *mdp_profile_origin_to_string(enum mdp_profile_origin o)
{
        return (unsigned)o < ELEMENTSOF(origin_names) ? origin_names[o] : NULL;
}

static void profile_done(struct mdp_profile *p)
{
        for (size_t i = 0; i < p->n_rules; i++) {
                struct mdp_profile_rule *r = &p->rules[i];
                free(r->parent_driver);
                free(r->type_id);
                free(r->pasid_attribute);
                free(r->reserved_pasids);
                free(r->description);
        }
        free(p->rules);
        free(p->name);
        free(p->path);
        free(p->description);
}

_public_ struct mdp_profiles *mdp_profiles_ref(struct mdp_profiles *p)
{
        if (p)
                __atomic_add_fetch(&p->n_ref, 1, __ATOMIC_SEQ_CST);
        return p;
}

_public_ struct mdp_profiles *mdp_profiles_unref(struct mdp_profiles *p)
{
        if (!p || __atomic_sub_fetch(&p->n_ref, 1, __ATOMIC_SEQ_CST) > 0)
                return NULL;
        for (size_t i = 0; i < p->n_profiles; i++)
                profile_done(&p->profiles[i]);
        free(p->profiles);
        free(p);
        return NULL;
}

_public_ size_t mdp_profiles_count(const struct mdp_profiles *p)
{
        return p ? p->n_profiles : 0;
}

_public_ const struct mdp_profile *mdp_profiles_get(const struct mdp_profiles *p, size_t i)
{
        return p && i < p->n_profiles ? &p->profiles[i] : NULL;
}

/* A sysfs attribute name: one path component a vendor driver could create. */
static bool attribute_name_is_valid(const char *s)
{
        return !isempty(s) && strlen(s) <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                            "0123456789_-.") == strlen(s) &&
               !streq(s, ".") && !streq(s, "..");
}

static int dup_opt(const char *s, char **ret)
{
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int parse_rule(struct conf_reader *rd, json_object *o, const char *key, struct mdp_profile_rule *rule)
{
        static const char *const known[] = { "parent_driver", "type", "class", "kernel_path", "pasid",
                                             "description", NULL };
        static const char *const pasid_known[] = { "attribute", "per_instance", "max_guest_pasids", "reserved",
                                                   NULL };
        static const char *const classes[] = { "emulated", "pasid-granular", NULL };
        const char *driver = NULL, *type = NULL, *attr = NULL, *desc = NULL;
        char k[CONF_KEY_MAX], pk[CONF_KEY_MAX];
        json_object *pasid = NULL;
        uint64_t u;
        int cls = -1, r;

        if (conf_expect_object(rd, o, key) < 0)
                return rd->error;
        conf_check_keys(rd, o, key, known);
        conf_get_glob(rd, o, key, "parent_driver", &driver);
        conf_get_glob(rd, o, key, "type", &type);
        conf_get_enum(rd, o, key, "class", classes, &cls);
        conf_get_bool(rd, o, key, "kernel_path", &rule->kernel_path);
        conf_get_string(rd, o, key, "description", 1024, &desc);
        r = conf_get_object(rd, o, key, "pasid", &pasid);
        if (rd->error < 0)
                return rd->error;
        if (!driver)
                return conf_error(rd, (conf_key(k, key, "parent_driver"), k),
                                  "missing: expected the parent driver name or a glob (\"i915\", \"*\")");
        if (!type)
                return conf_error(rd, (conf_key(k, key, "type"), k),
                                  "missing: expected the mdev type id or a glob (\"i915-GVTg_V5_*\")");
        if (cls < 0)
                return conf_error(rd, (conf_key(k, key, "class"), k),
                                  "missing: expected \"emulated\" or \"pasid-granular\"");
        rule->mdev_class = cls == 1 ? MDP_MDEV_PASID_GRANULAR : MDP_MDEV_EMULATED;
        /* §1.4: an emulated type's DMA is mediated in software: it has no PASID of its own and
         * no IOMMU path, so those keys would only mislead. */
        if (rule->mdev_class == MDP_MDEV_EMULATED && rule->kernel_path)
                return conf_error(rd, (conf_key(k, key, "kernel_path"), k),
                                  "expected false or no key for class \"emulated\": emulated types have no "
                                  "PASID-granular kernel path");
        if (rule->mdev_class == MDP_MDEV_EMULATED && r > 0)
                return conf_error(rd, (conf_key(k, key, "pasid"), k),
                                  "expected no key for class \"emulated\": emulated types have no PASIDs");
        rule->pasids_per_instance = rule->mdev_class == MDP_MDEV_PASID_GRANULAR ? 1 : 0;
        if (pasid) {
                conf_key(pk, key, "pasid");
                conf_check_keys(rd, pasid, pk, pasid_known);
                if (conf_get_string(rd, pasid, pk, "attribute", 64, &attr) > 0 && !attribute_name_is_valid(attr))
                        return conf_error(rd, (conf_key(k, pk, "attribute"), k),
                                          "expected a sysfs attribute name (letters, digits, '_', '-', '.'), got "
                                          "\"%s\"",
                                          attr);
                if (conf_get_uint(rd, pasid, pk, "per_instance", 0, PROFILE_MAX_PASIDS_PER_INSTANCE, &u) > 0)
                        rule->pasids_per_instance = (unsigned)u;
                if (conf_get_uint(rd, pasid, pk, "max_guest_pasids", 0, MDP_PASID_MAX, &u) > 0)
                        rule->max_guest_pasids = (unsigned)u;
                conf_get_pasid_ranges(rd, pasid, pk, "reserved", &rule->reserved_pasids, &rule->n_reserved_pasids);
                if (rd->error < 0)
                        return rd->error;
        }
        if (dup_opt(driver, &rule->parent_driver) < 0 || dup_opt(type, &rule->type_id) < 0 ||
            dup_opt(attr, &rule->pasid_attribute) < 0 || dup_opt(desc, &rule->description) < 0)
                return -ENOMEM;
        return 0;
}

static int parse_profile(struct conf_reader *rd, json_object *root, struct mdp_profile *p, bool *ret_example)
{
        static const char *const known[] = { "version", "description", "example", "types", NULL };
        const char *desc = NULL;
        json_object *types = NULL;
        char k[CONF_KEY_MAX];
        bool example = false;
        size_t n;

        conf_check_keys(rd, root, NULL, known);
        conf_get_string(rd, root, NULL, "description", 4096, &desc);
        conf_get_bool(rd, root, NULL, "example", &example);
        conf_get_array(rd, root, NULL, "types", PROFILE_MAX_RULES, &types);
        if (rd->error < 0)
                return rd->error;
        if (!types)
                return conf_error(rd, "types", "missing: expected an array of type rules");
        if (dup_opt(desc, &p->description) < 0)
                return -ENOMEM;
        *ret_example = example;
        n = json_object_array_length(types);
        p->rules = calloc(n ? n : 1, sizeof(*p->rules));
        if (!p->rules)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int r;

                conf_index(k, "types", i);
                p->rules[i].index = (unsigned)i;
                p->n_rules = i + 1;
                r = parse_rule(rd, json_object_array_get_idx(types, i), k, &p->rules[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A local file masks the shipped one when it is empty or a link to /dev/null. */
static bool is_mask(const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return false;
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                return true;
        return S_ISREG(st.st_mode) && st.st_size == 0;
}

struct candidate {
        char *name;
        char *path;
        enum mdp_profile_origin origin;
};

static int candidate_cmp(const void *a, const void *b)
{
        return strcmp(((const struct candidate *)a)->name, ((const struct candidate *)b)->name);
}

static bool profile_name_ok(const char *name)
{
        size_t n = strlen(name);
        return name[0] != '.' && n > 5 && streq(name + n - 5, ".json");
}

/* Adds the *.json files of dir; a name already present is replaced (local over shipped). */
static int scan_dir(struct mdp_conf_messages *msgs, const char *dir, bool local, struct candidate **cands,
                    size_t *n)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        if (!d) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                struct conf_reader rd = { .file = dir, .msgs = msgs };
                conf_error(&rd, NULL, "cannot read the profile directory: %s", strerror(errno));
                return -errno;
        }
        while ((de = readdir(d))) {
                struct candidate *c = NULL;

                if (!profile_name_ok(de->d_name))
                        continue;
                for (size_t i = 0; i < *n; i++)
                        if (streq((*cands)[i].name, de->d_name))
                                c = &(*cands)[i];
                if (!c) {
                        struct candidate *l;

                        if (*n >= PROFILE_MAX_FILES) {
                                struct conf_reader rd = { .file = dir, .msgs = msgs };
                                return conf_error(&rd, NULL, "more than %d profiles: remove unused ones",
                                                  PROFILE_MAX_FILES);
                        }
                        l = realloc(*cands, (*n + 1) * sizeof(**cands));
                        if (!l)
                                return -ENOMEM;
                        *cands = l;
                        c = &l[(*n)++];
                        *c = (struct candidate){ .name = strdup(de->d_name) };
                        if (!c->name)
                                return -ENOMEM;
                        c->origin = local ? MDP_PROFILE_LOCAL : MDP_PROFILE_SHIPPED;
                } else {
                        free(c->path);
                        c->origin = MDP_PROFILE_OVERRIDE;
                }
                if (asprintf(&c->path, "%s/%s", dir, de->d_name) < 0) {
                        c->path = NULL;
                        return -ENOMEM;
                }
        }
        return 0;
}

/* Rules with the same two globs as an earlier one can never match: say so. */
static void warn_shadowed(struct mdp_profiles *set, struct mdp_conf_messages *msgs)
{
        for (size_t a = 0; a < set->n_profiles; a++)
                for (size_t i = 0; i < set->profiles[a].n_rules; i++) {
                        const struct mdp_profile_rule *later = &set->profiles[a].rules[i];
                        bool found = false;

                        for (size_t b = 0; b <= a && !found; b++)
                                for (size_t j = 0; j < set->profiles[b].n_rules && !found; j++) {
                                        const struct mdp_profile_rule *earlier = &set->profiles[b].rules[j];

                                        if (b == a && j >= i)
                                                break;
                                        if (!streq(earlier->parent_driver, later->parent_driver) ||
                                            !streq(earlier->type_id, later->type_id))
                                                continue;
                                        found = true;
                                        conf_messages_warn(msgs,
                                                           "%s: types[%u] (driver \"%s\", type \"%s\") never "
                                                           "matches: %s types[%u] has the same patterns and "
                                                           "comes first (file-name order, first match wins)",
                                                           later->profile->path, later->index,
                                                           later->parent_driver, later->type_id,
                                                           earlier->profile->path, earlier->index);
                                }
                }
}

_public_ int mdp_profiles_load(struct mdp_ctx *ctx, struct mdp_profiles **ret, struct mdp_conf_messages *msgs)
{
        _cleanup_(mdp_profiles_unrefp) struct mdp_profiles *set = NULL;
        _cleanup_free_ char *shipped = NULL, *local = NULL;
        struct candidate *cands = NULL;
        size_t n = 0;
        int r;

        shipped = mdp_path(ctx, MDP_PATH_DATA, MDP_PROFILES_SUBDIR);
        local = mdp_path(ctx, MDP_PATH_CONF, MDP_PROFILES_SUBDIR);
        set = calloc(1, sizeof(*set));
        if (!shipped || !local || !set)
                return -ENOMEM;
        set->n_ref = 1;

        r = scan_dir(msgs, shipped, false, &cands, &n);
        if (r >= 0)
                r = scan_dir(msgs, local, true, &cands, &n);
        if (r >= 0 && n > 0) {
                qsort(cands, n, sizeof(*cands), candidate_cmp);
                set->profiles = calloc(n, sizeof(*set->profiles));
                if (!set->profiles)
                        r = -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct conf_reader rd = { .file = cands[i].path, .msgs = msgs };
                struct mdp_profile *p = &set->profiles[set->n_profiles];
                _cleanup_json_ json_object *root = NULL;
                bool example = false;

                *p = (struct mdp_profile){ .origin = cands[i].origin,
                                           .name = TAKE_PTR(cands[i].name),
                                           .path = TAKE_PTR(cands[i].path) };
                set->n_profiles++;
                if (p->origin != MDP_PROFILE_SHIPPED && is_mask(p->path)) {
                        p->masked = true;
                        mdp_dbg(ctx, "profile %s masked by %s", p->name, p->path);
                        continue;
                }
                r = conf_parse_file(&rd, AT_FDCWD, p->path, PROFILE_MAX_SIZE, PROFILE_MAX_DEPTH, &root);
                if (r >= 0)
                        r = parse_profile(&rd, root, p, &example);
                if (r >= 0 && example) {
                        /* Example profiles describe hardware the host may not have: activating one
                         * must be a deliberate edit, not a copy. */
                        conf_warn(&rd, "example",
                                  "example profile not activated: check every value against your vendor's "
                                  "documentation, then set \"example\": false");
                        profile_done(p);
                        set->n_profiles--;
                }
        }
        for (size_t i = 0; i < n; i++) {
                free(cands[i].name);
                free(cands[i].path);
        }
        free(cands);
        if (r < 0)
                return r;
        for (size_t i = 0; i < set->n_profiles; i++)
                for (size_t j = 0; j < set->profiles[i].n_rules; j++)
                        set->profiles[i].rules[j].profile = &set->profiles[i];
        warn_shadowed(set, msgs);
        mdp_dbg(ctx, "loaded %zu vendor profiles from %s and %s", set->n_profiles, shipped, local);
        *ret = TAKE_PTR(set);
        return 0;
}

/* The kernel names a type "<parent driver>-<type name>" (IOMMU-SPEC.md §1.1), so when the
 * driver is unknown (a capture without the subsystem link) it is one of the type id's
 * prefixes that end before a '-'. */
static bool driver_matches_type_prefix(const char *glob, const char *type_id)
{
        _cleanup_free_ char *prefix = strdup(type_id);

        if (!prefix)
                return false;
        for (char *dash = strchr(prefix, '-'); dash; dash = strchr(dash + 1, '-')) {
                bool ok;

                *dash = '\0';
                ok = fnmatch(glob, prefix, 0) == 0;
                *dash = '-';
                if (ok)
                        return true;
        }
        return false;
}

static const struct mdp_profile_rule *match(const struct mdp_profiles *p, const char *parent_driver,
                                            const char *type_id, bool *ret_inferred)
{
        if (!p || !type_id)
                return NULL;
        for (size_t i = 0; i < p->n_profiles; i++)
                for (size_t j = 0; j < p->profiles[i].n_rules; j++) {
                        const struct mdp_profile_rule *r = &p->profiles[i].rules[j];
                        bool inferred = false;

                        if (fnmatch(r->type_id, type_id, 0) != 0)
                                continue;
                        if (parent_driver) {
                                if (fnmatch(r->parent_driver, parent_driver, 0) != 0)
                                        continue;
                        } else if (fnmatch(r->parent_driver, "", 0) != 0) {
                                if (!driver_matches_type_prefix(r->parent_driver, type_id))
                                        continue;
                                inferred = true;
                        }
                        if (ret_inferred)
                                *ret_inferred = inferred;
                        return r;
                }
        return NULL;
}

_public_ const struct mdp_profile_rule *mdp_profiles_match(const struct mdp_profiles *p, const char *parent_driver,
                                                           const char *type_id)
{
        return match(p, parent_driver, type_id, NULL);
}

_public_ void mdp_profile_rule_basis(const struct mdp_profile_rule *rule, char *buf, size_t size)
{
        snprintf(buf, size, "profile %s types[%u] (driver \"%s\", type \"%s\"): %s", rule->profile->path,
                 rule->index, rule->parent_driver, rule->type_id, mdp_mdev_class_to_string(rule->mdev_class));
}

_public_ int mdp_profiles_classify(void *userdata, const char *parent_driver, const char *type_id,
                                   enum mdp_mdev_class *ret_class, char *basis, size_t basis_size)
{
        bool inferred = false;
        const struct mdp_profile_rule *rule = match(userdata, parent_driver, type_id, &inferred);
        size_t n;

        if (!rule)
                return 0;
        *ret_class = rule->mdev_class;
        if (basis && basis_size) {
                mdp_profile_rule_basis(rule, basis, basis_size);
                n = strlen(basis);
                if (inferred && n < basis_size)
                        snprintf(basis + n, basis_size - n, " (parent driver unknown: matched on the type id)");
        }
        return 1;
}
