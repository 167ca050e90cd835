/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Vendor profiles: what the product knows about mdev types that sysfs cannot say
 * (IOMMU-SPEC.md §1.4). A profile is a JSON file that declares, for the types it matches
 * (globs on parent driver and type id), whether they are PASID-granular, whether the
 * kernel has an assignment path for them (the engine's kernel.pmdev_path, §1.5), which
 * vendor sysfs attribute holds an instance's PASID, and the PASID budget rules.
 *
 * Files: $(pkgdatadir)/profiles/NAME.json (shipped; MDEVPASID_DATADIR in tests) and
 * /etc/mdevpasid/profiles/NAME.json (local). A local file replaces the shipped file of the
 * same name; an empty local file (or a symlink to /dev/null) masks it. Files are consulted
 * in file-name order (strcmp), rules in the order of their "types" array, and the first
 * matching rule wins. Files with "example": true are never activated. The format is in
 * docs/policy.md and the shipped files. */

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "ctx.h"
#include "types.h"
#include "util/macro.h"

enum mdp_profile_origin {
        MDP_PROFILE_SHIPPED,  /* $(pkgdatadir)/profiles */
        MDP_PROFILE_LOCAL,    /* /etc/mdevpasid/profiles, no shipped file of that name */
        MDP_PROFILE_OVERRIDE, /* /etc/mdevpasid/profiles, replaces the shipped file */
};
const char *mdp_profile_origin_to_string(enum mdp_profile_origin o); /* "shipped", "local", "override" */

struct mdp_profile;

/* One entry of a profile's "types" array. */
struct mdp_profile_rule {
        const struct mdp_profile *profile;
        unsigned index;      /* position in "types" */
        char *parent_driver; /* fnmatch glob on the parent's driver string */
        char *type_id;       /* fnmatch glob on the type directory name */
        enum mdp_mdev_class mdev_class;
        bool kernel_path;      /* the kernel can assign this type per PASID (§1.5) */
        char *pasid_attribute; /* vendor attribute in the mdev's sysfs directory; NULL: none */
        unsigned pasids_per_instance; /* PASIDs an instance consumes on its parent (0 if emulated) */
        unsigned max_guest_pasids;    /* guest PASIDs one instance may get through +pv (0: none) */
        struct mdp_pasid_range *reserved_pasids; /* the device's own PASIDs, never handed out */
        size_t n_reserved_pasids;
        char *description;
};

struct mdp_profile {
        char *name; /* file name: "50-mdev-samples.json" */
        char *path; /* the file that was read */
        enum mdp_profile_origin origin;
        bool masked; /* an empty local file (or /dev/null link) disables the shipped one */
        char *description;
        struct mdp_profile_rule *rules;
        size_t n_rules;
};

struct mdp_profiles;

/* Loads every profile. Any bad file fails the whole load (-EINVAL, msgs->error names the
 * file, the key and what was expected): a half-loaded set would silently reclassify types.
 * Warnings (unknown keys, example files, rules that can never match) go to msgs either way. */
int mdp_profiles_load(struct mdp_ctx *ctx, struct mdp_profiles **ret, struct mdp_conf_messages *msgs);
struct mdp_profiles *mdp_profiles_ref(struct mdp_profiles *p);
struct mdp_profiles *mdp_profiles_unref(struct mdp_profiles *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_profiles *, mdp_profiles_unref)

/* Profiles in precedence order (file name). Masked ones are listed with no rules. */
size_t mdp_profiles_count(const struct mdp_profiles *p);
const struct mdp_profile *mdp_profiles_get(const struct mdp_profiles *p, size_t i);

/* The first rule matching the type, or NULL. parent_driver may be NULL (unknown): the kernel
 * builds type ids as "<driver>-<name>" (IOMMU-SPEC.md §1.1), so a rule then matches when its
 * driver glob matches "" or a prefix of the type id that ends before a '-'. */
const struct mdp_profile_rule *mdp_profiles_match(const struct mdp_profiles *p, const char *parent_driver,
                                                  const char *type_id);

/* "profile <path> types[<i>] (driver \"<glob>\", type \"<glob>\"): <class>" */
void mdp_profile_rule_basis(const struct mdp_profile_rule *rule, char *buf, size_t size);

/* The host model's classifier seam (mdp_classify_fn in ctx.h); userdata is the
 * struct mdp_profiles. Returns 1 and the class of the first matching rule with its basis,
 * 0 when no profile declares the type. */
int mdp_profiles_classify(void *userdata, const char *parent_driver, const char *type_id,
                          enum mdp_mdev_class *ret_class, char *basis, size_t basis_size);
