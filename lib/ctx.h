/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The library context: where the host is (MDEVPASID_ROOT), where the shipped data is,
 * and where debug messages go. Every host path is built from it by paths.c. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "types.h"
#include "util/macro.h"

enum mdp_path_base {
        MDP_PATH_SYSFS,   /* /sys */
        MDP_PATH_DEV,     /* /dev */
        MDP_PATH_PROC,    /* /proc */
        MDP_PATH_MDEVCTL, /* /etc/mdevctl.d */
        MDP_PATH_CONF,    /* /etc/mdevpasid */
        MDP_PATH_STATE,   /* /var/lib/mdevpasid */
        MDP_PATH_RUNTIME, /* /run/mdevpasid */
        MDP_PATH_DATA,    /* $(pkgdatadir) or $MDEVPASID_DATADIR; never re-rooted */
        MDP_PATH_BOOT,    /* /boot: the kernel's config-<release> */
        _MDP_PATH_BASE_MAX,
};

typedef void (*mdp_log_fn)(void *userdata, int priority, const char *file, int line, const char *fn,
                           const char *fmt, va_list ap);

struct mdp_ctx;

/* Reads MDEVPASID_ROOT and MDEVPASID_DATADIR from the environment. A root that is not an
 * absolute path is -EINVAL. */
int mdp_ctx_new(struct mdp_ctx **ret);
/* root may be NULL or "" for the real host. */
int mdp_ctx_new_with_root(const char *root, struct mdp_ctx **ret);
struct mdp_ctx *mdp_ctx_ref(struct mdp_ctx *ctx);
struct mdp_ctx *mdp_ctx_unref(struct mdp_ctx *ctx);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mdp_ctx *, mdp_ctx_unref)

/* "" when the real host is used. */
const char *mdp_ctx_get_root(const struct mdp_ctx *ctx);
void mdp_ctx_set_log_fn(struct mdp_ctx *ctx, mdp_log_fn fn, void *userdata);
void mdp_ctx_set_log_priority(struct mdp_ctx *ctx, int priority);

/* The vendor-profile seam of mdev classification (IOMMU-SPEC.md §1.4, DESIGN.md §6). The
 * host model asks it about every type and every mdev whose IOMMU group does not already
 * settle the question. parent_driver is the parent's driver name (else its subsystem; NULL
 * when sysfs shows neither), type_id the type directory name. Return 1 when a profile
 * declares the type, with *ret_class set and basis holding a short reason ("profile X");
 * 0 when no profile declares it; a negative errno on failure (the type is then emulated
 * and the basis says the classifier failed). Without a classifier everything is emulated.
 * It is called from whichever thread reads the host model, so it must be thread-safe if
 * the caller reads from several threads. */
typedef int (*mdp_classify_fn)(void *userdata, const char *parent_driver, const char *type_id,
                               enum mdp_mdev_class *ret_class, char *basis, size_t basis_size);
void mdp_ctx_set_classifier(struct mdp_ctx *ctx, mdp_classify_fn fn, void *userdata);

/* paths.c: the one place that builds host paths. */
/* A malloc'd absolute path: root + base + "/" + formatted relative part (fmt may be NULL
 * for the base itself). NULL only when out of memory. */
char *mdp_path(const struct mdp_ctx *ctx, enum mdp_path_base base, const char *fmt, ...) _printf_(3, 4);
/* The same into a caller's buffer; -ENAMETOOLONG when it does not fit. */
int mdp_path_buf(const struct mdp_ctx *ctx, enum mdp_path_base base, char *buf, size_t size,
                 const char *fmt, ...) _printf_(5, 6);
/* A directory fd (O_PATH) for the base, opened once per context and kept, so scans can
 * use openat()/readlinkat() relative to it. The caller must not close it. */
int mdp_ctx_base_fd(struct mdp_ctx *ctx, enum mdp_path_base base);

/* Debug logging for library code. */
void mdp_log(const struct mdp_ctx *ctx, int priority, const char *file, int line, const char *fn,
             const char *fmt, ...) _printf_(6, 7);
#define mdp_dbg(ctx, ...) mdp_log((ctx), 7, __FILE__, __LINE__, __func__, __VA_ARGS__)
