/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Autostart: when a parent registers (or is there at start-up), each of its "auto"
 * definitions is started once (MDEVCTL.md §3.2, without its gaps).
 *
 * Retry policy: a start that fails for a reason that can pass (Timeout, Busy, KernelError,
 * NoSuchType: some drivers add types after registering, NoSuchParent: the parent flapped)
 * is tried again after autostart.retry_interval_ms (mdevpasid.conf), doubling each time up
 * to a minute, for at most autostart.attempts attempts in all (defaults: 3 attempts, 2 s
 * then 4 s apart). autostart.enabled false turns autostart off. Reasons that need a person
 * (NoCapacity, InvalidArgs, InvalidConfig, NotAuthorized) are not retried. A device that is
 * already active (whoever started it, mdevctl included) is left alone: the daemon never
 * races anyone for an active UUID. Pending retries end when the parent unregisters, the
 * definition goes or turns manual, or the device becomes active. The last failure stays in
 * Manager.Warnings (and Device.LastError) until the device starts.
 *
 * Once per registration: like mdevctl's udev rule, autostart runs when a parent registers,
 * not whenever the daemon starts. A daemon restarted on a running host (crash, upgrade,
 * kill -9) would otherwise start again every auto device an administrator had stopped. A
 * marker /run/mdevpasid/autostarted/<parent> says "done for this registration": /run is
 * empty after a boot, and the marker goes when the parent unregisters. The cost: a parent
 * that unregisters and registers again while the daemon is down keeps its old marker, and
 * a start cut off by a kill during the round is undone by recovery, not retried. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manager.h"
#include "mdp-names.h"
#include "ops.h"
#include "util/fileio.h"
#include "util/log.h"

static void try_start(struct manager *m, struct device *d, bool initial);

static bool marker_exists(struct manager *m, const char *parent)
{
        _cleanup_free_ char *path = mdp_path(m->ctx, MDP_PATH_RUNTIME, "autostarted/%s", parent);

        return path && access(path, F_OK) == 0;
}

static void marker_set(struct manager *m, const char *parent)
{
        _cleanup_free_ char *dir = mdp_path(m->ctx, MDP_PATH_RUNTIME, "autostarted");
        _cleanup_free_ char *path = mdp_path(m->ctx, MDP_PATH_RUNTIME, "autostarted/%s", parent);
        int fd, r;

        if (!dir || !path)
                return;
        r = mkdir_p(dir, 0755);
        if (r >= 0) {
                fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
                r = fd < 0 ? -errno : 0;
                if (fd >= 0)
                        close(fd);
        }
        if (r < 0)
                log_parent(LOG_WARNING, parent,
                           "Cannot record that parent %s was autostarted (%s: %s): a restarted daemon "
                           "would autostart its mdevs again.",
                           parent, path, strerror(-r));
}

static void marker_clear(struct manager *m, const char *parent)
{
        _cleanup_free_ char *path = mdp_path(m->ctx, MDP_PATH_RUNTIME, "autostarted/%s", parent);

        if (path && unlink(path) < 0 && errno != ENOENT)
                log_parent(LOG_WARNING, parent, "Cannot remove %s: %s", path, strerror(errno));
}

static bool retryable(const char *name)
{
        return name && (streq(name, MDP_ERROR_TIMEOUT) || streq(name, MDP_ERROR_BUSY) ||
                        streq(name, MDP_ERROR_KERNEL) || streq(name, MDP_ERROR_NO_SUCH_TYPE) ||
                        streq(name, MDP_ERROR_NO_SUCH_PARENT));
}

static void set_warning(struct manager *m, struct device *d, const char *msg)
{
        char *s = NULL;

        if (streq_ptr(d->autostart_warning, msg))
                return;
        if (msg && !(s = strdup(msg)))
                return;
        free(d->autostart_warning);
        d->autostart_warning = s;
        manager_warnings_dirty(m);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct device *d = userdata;

        d->autostart_timer = sd_event_source_disable_unref(d->autostart_timer);
        try_start(d->manager, d, false);
        return 0;
}

static void on_done(struct manager *m, const char *uuid, int r, const char *error_name, const char *message,
                    void *userdata)
{
        bool initial = (bool)(uintptr_t)userdata;
        struct device *d = manager_get_device(m, uuid);
        const char *parent = d && d->autostart_parent ? d->autostart_parent : "?";

        if (d)
                d->autostart_running = false;
        autostart_progress_dirty(m);
        if (r >= 0) {
                log_device(LOG_INFO, uuid, "Autostarted mdev %s on parent %s.", uuid, parent);
                if (d)
                        set_warning(m, d, NULL);
        } else if (streq_ptr(error_name, MDP_ERROR_ALREADY_EXISTS)) {
                log_device(LOG_INFO, uuid, "Autostart of mdev %s skipped: %s", uuid, strna(message));
        } else if (d && retryable(error_name) && d->autostart_attempts < m->options.autostart_attempts &&
                   manager_get_parent(m, parent)) {
                uint64_t delay = (uint64_t)m->options.autostart_delay_ms << (d->autostart_attempts - 1);

                if (delay > m->options.autostart_delay_max_ms)
                        delay = m->options.autostart_delay_max_ms;
                log_device(LOG_WARNING, uuid,
                           "Autostart of mdev %s on parent %s failed (attempt %u of %u): %s Retrying in "
                           "%llu ms.",
                           uuid, parent, d->autostart_attempts, m->options.autostart_attempts,
                           strna(message), (unsigned long long)delay);
                d->autostart_timer = sd_event_source_disable_unref(d->autostart_timer);
                if (sd_event_add_time_relative(m->event, &d->autostart_timer, CLOCK_MONOTONIC, delay * 1000,
                                               1000, on_retry, d) < 0)
                        log_device(LOG_ERR, uuid, "Cannot schedule the autostart retry of mdev %s.", uuid);
        } else {
                _cleanup_free_ char *w = NULL;

                if (asprintf(&w, "Autostart of mdev %s on parent %s failed%s: %s", uuid, parent,
                             d && d->autostart_attempts > 1 ? " (gave up after several attempts)" : "",
                             strna(message)) < 0)
                        w = NULL;
                log_device(LOG_ERR, uuid, "%s", strna(w));
                if (d)
                        set_warning(m, d, w);
        }
        if (initial)
                manager_initial_autostart_done(m);
}

static void try_start(struct manager *m, struct device *d, bool initial)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const struct mdp_definition *def;
        const char *parent = d->autostart_parent;
        int r;

        if (!parent || !manager_get_parent(m, parent))
                return;
        def = device_definition_on(d, parent);
        if (!def || !def->autostart)
                return; /* undefined or made manual meanwhile */
        if (d->mdev) {
                if (streq_ptr(d->mdev->parent, parent))
                        log_device(LOG_INFO, d->uuid,
                                   "mdev %s is already active on parent %s: nothing to autostart.", d->uuid,
                                   parent);
                else
                        log_device(LOG_WARNING, d->uuid,
                                   "mdev %s is defined to autostart on parent %s but is active on parent "
                                   "%s: left "
                                   "alone.",
                                   d->uuid, parent, strna(d->mdev->parent));
                set_warning(m, d, NULL);
                return;
        }
        if (d->op) {
                log_device(LOG_INFO, d->uuid,
                           "mdev %s is busy (an operation is running): autostart skipped.", d->uuid);
                return;
        }
        d->autostart_attempts++;
        log_device(LOG_INFO, d->uuid, "Autostarting mdev %s (type %s on parent %s)%s.", d->uuid, def->type,
                   parent, d->autostart_attempts > 1 ? ", retry" : "");
        if (initial)
                m->initial_autostarts++;
        d->autostart_running = true;
        autostart_progress_dirty(m);
        r = op_start(m, d, def, OP_ORIGIN_AUTOSTART, NULL, on_done, (void *)(uintptr_t)initial, &error);
        if (r < 0) {
                if (!sd_bus_error_is_set(&error))
                        sd_bus_error_set_errnof(&error, -r, "Cannot start mdev %s: %s", d->uuid,
                                                strerror(-r));
                on_done(m, d->uuid, r, error.name, error.message, (void *)(uintptr_t)initial);
        }
}

static void autostart_one(struct manager *m, struct parent *p, struct device *d, bool initial)
{
        const struct mdp_definition *def = device_definition_on(d, p->name);

        if (!def || !def->autostart || d->autostart_generation == p->generation)
                return;
        d->autostart_generation = p->generation;
        d->autostart_attempts = 0;
        d->autostart_timer = sd_event_source_disable_unref(d->autostart_timer);
        free(d->autostart_parent);
        d->autostart_parent = strdup(p->name);
        if (!d->autostart_parent)
                return;
        try_start(m, d, initial);
}

static bool autostart_enabled(struct manager *m, struct parent *p)
{
        if (!m->options.autostart)
                log_parent(LOG_INFO, p->name,
                           "Autostart is disabled (mdevpasid.conf): parent %s's auto "
                           "definitions are not started.",
                           p->name);
        return m->options.autostart;
}

void autostart_parent(struct manager *m, struct parent *p, bool initial)
{
        _cleanup_free_ struct device **devs = NULL;
        size_t n = 0;

        if (!autostart_enabled(m, p))
                return;
        marker_set(m, p->name);
        if (manager_sorted_devices(m, &devs, &n) < 0) {
                log_parent(LOG_ERR, p->name, "Cannot autostart the mdevs of parent %s: out of memory.",
                           p->name);
                return;
        }
        /* UUID order: deterministic, unlike mdevctl's readdir order. */
        for (size_t i = 0; i < n; i++)
                autostart_one(m, p, devs[i], initial);
}

struct pending_start {
        size_t parent, order; /* index in the parents given; position in UUID order */
        char uuid[MDP_UUID_STRING_MAX];
};

static int pending_compare(const void *a, const void *b)
{
        const struct pending_start *x = a, *y = b;

        if (x->parent != y->parent)
                return x->parent < y->parent ? -1 : 1;
        return x->order < y->order ? -1 : x->order > y->order;
}

static int parent_name_compare(const void *key, const void *elem)
{
        return strcmp(key, (*(struct parent *const *)elem)->name);
}

/* Start-up: autostart_parent() for each of parents (sorted by name), in the same order,
 * with one sort of the devices instead of one per parent: with a parent per device (SR-IOV
 * VFs) that was O(n^2 log n), minutes at 10,000 VFs (bench/README.md). Devices are found
 * again by UUID when their turn comes. */
void autostart_parents(struct manager *m, struct parent **parents, size_t n_parents, bool initial)
{
        _cleanup_free_ struct device **devs = NULL;
        _cleanup_free_ struct pending_start *todo = NULL;
        _cleanup_free_ struct parent **fresh = NULL;
        size_t n = 0, n_todo = 0, cap = 0, n_fresh = 0;

        if (n_parents == 0)
                return;
        if (!m->options.autostart) {
                for (size_t i = 0; i < n_parents; i++)
                        (void)autostart_enabled(m, parents[i]);
                return;
        }
        /* Parents already autostarted in this registration (a restarted daemon) are left as
         * they are; the others keep their order, so bsearch() below still works. */
        fresh = calloc(n_parents, sizeof(*fresh));
        if (!fresh)
                goto oom;
        for (size_t i = 0; i < n_parents; i++) {
                if (marker_exists(m, parents[i]->name)) {
                        log_parent(LOG_INFO, parents[i]->name,
                                   "Parent %s was already autostarted since it registered: its auto "
                                   "definitions are not started again.",
                                   parents[i]->name);
                        continue;
                }
                marker_set(m, parents[i]->name);
                fresh[n_fresh++] = parents[i];
        }
        parents = fresh;
        n_parents = n_fresh;
        if (n_parents == 0)
                return;
        if (manager_sorted_devices(m, &devs, &n) < 0)
                goto oom;
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < devs[i]->n_defs; k++) {
                        const struct mdp_definition *def = devs[i]->defs[k];
                        struct parent **found;

                        if (!def->autostart)
                                continue;
                        found = bsearch(def->parent, parents, n_parents, sizeof(*parents),
                                        parent_name_compare);
                        if (!found)
                                continue;
                        if (n_todo == cap) {
                                struct pending_start *t = reallocarray(todo, MAX(64u, cap * 2), sizeof(*t));
                                if (!t)
                                        goto oom;
                                todo = t;
                                cap = MAX(64u, cap * 2);
                        }
                        todo[n_todo] =
                                (struct pending_start){.parent = (size_t)(found - parents), .order = i};
                        snprintf(todo[n_todo].uuid, sizeof(todo[n_todo].uuid), "%s", devs[i]->uuid);
                        n_todo++;
                }
        if (n_todo > 1)
                qsort(todo, n_todo, sizeof(*todo), pending_compare);
        for (size_t i = 0; i < n_todo; i++) {
                struct device *d = manager_get_device(m, todo[i].uuid);

                if (d)
                        autostart_one(m, parents[todo[i].parent], d, initial);
        }
        return;
oom:
        log_error("Cannot autostart the mdevs of %zu parents: out of memory.", n_parents);
}

void autostart_cancel_device(struct device *d)
{
        if (d->autostart_timer)
                autostart_progress_dirty(d->manager);
        d->autostart_timer = sd_event_source_disable_unref(d->autostart_timer);
}

void autostart_progress(struct manager *m, uint32_t *ret_done, uint32_t *ret_failed, uint32_t *ret_in_progress)
{
        uint32_t done = 0, failed = 0, in_progress = 0;
        struct device *d;

        HASHMAP_FOREACH (d, m->devices, c) {
                struct parent *p = d->autostart_parent ? manager_get_parent(m, d->autostart_parent) : NULL;

                /* only this registration's round: a parent that went and came back starts a new one */
                if (!p || d->autostart_generation != p->generation)
                        continue;
                if (d->autostart_running || d->autostart_timer)
                        in_progress++;
                else if (d->autostart_warning)
                        failed++;
                else
                        done++;
        }
        *ret_done = done;
        *ret_failed = failed;
        *ret_in_progress = in_progress;
}

static int on_progress_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct manager *m = userdata;
        int r;

        m->autostart_defer = sd_event_source_disable_unref(m->autostart_defer);
        r = sd_bus_emit_properties_changed(m->bus, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "AutostartProgress",
                                           NULL);
        if (r < 0)
                log_warning("Cannot send PropertiesChanged for AutostartProgress: %s", strerror(-r));
        return 0;
}

/* At most one PropertiesChanged per 100 ms: the value is counted over every device
 * (autostart_progress()), and announcing each of a round's n starts would count n times. */
void autostart_progress_dirty(struct manager *m)
{
        if (!m->bus_ready || m->autostart_defer)
                return;
        if (sd_event_add_time_relative(m->event, &m->autostart_defer, CLOCK_MONOTONIC, 100 * 1000, 10 * 1000,
                                       on_progress_timer, m) < 0)
                m->autostart_defer = NULL;
}

void autostart_cancel_parent(struct manager *m, const char *parent)
{
        struct device *d;

        marker_clear(m, parent);

        HASHMAP_FOREACH (d, m->devices, c)
                if (d->autostart_timer && streq_ptr(d->autostart_parent, parent)) {
                        log_device(LOG_INFO, d->uuid,
                                   "Parent %s went away: autostart retries of mdev %s end.", parent,
                                   d->uuid);
                        autostart_cancel_device(d);
                }
}
