/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manager's life: start-up (coldplug, reconcile, bus, autostart, READY=1), uevents,
 * reload, warnings and the state file. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "bus-errors.h"
#include "manager.h"
#include "vms.h"
#include "mdp-names.h"
#include "ops.h"
#include "strv.h"
#include "udev.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "worker.h"

#define FOREIGN_LISTED_MAX 10

void manager_options_default(struct manager_options *o)
{
        struct mdp_daemon_config c;

        mdp_daemon_config_init(&c);
        *o = (struct manager_options){.autostart_delay_max_ms = 60000};
        manager_options_apply_config(o, &c);
}

void manager_options_apply_config(struct manager_options *o, const struct mdp_daemon_config *c)
{
        if (!(o->set & OPT_START_TIMEOUT))
                o->start_timeout_ms = c->start_timeout_ms;
        if (!(o->set & OPT_STOP_TIMEOUT))
                o->stop_timeout_ms = c->remove_timeout_ms;
        if (!(o->set & OPT_AUTOSTART_ATTEMPTS))
                o->autostart_attempts = c->autostart_attempts;
        if (!(o->set & OPT_AUTOSTART_DELAY))
                o->autostart_delay_ms = c->autostart_retry_interval_ms;
        if (!(o->set & OPT_LOG_LEVEL))
                o->log_level = c->log_level;
        o->autostart = c->autostart;
}

uint64_t now_realtime_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- uevents ---- */

static void on_parent_event(void *userdata, enum uevent_kind kind, const char *name)
{
        struct manager *m = userdata;
        bool registered = false;
        struct parent *p;

        if (!mdp_sysfs_name_is_valid(name))
                return;
        /* A removed device or an unregistration matters only for parents we know. */
        if ((kind == UEVENT_PARENT_UNREGISTERED || kind == UEVENT_DEVICE_REMOVED) &&
            !manager_get_parent(m, name))
                return;
        (void)manager_refresh_parent(m, name, &registered);
        p = manager_get_parent(m, name);
        if (registered && p && m->startup_done)
                autostart_parent(m, p, false);
}

static void on_mdev_event(void *userdata, const char *action, const char *uuid)
{
        struct manager *m = userdata;
        struct device *d;

        if (!mdp_uuid_is_canonical(uuid))
                return;
        /* A device someone else created may be mdevctl starting a definition it wrote behind
         * our back (mdevctl define, then start): read that UUID's definitions before the
         * device is classified, or it would be called foreign. Our own starts know theirs. */
        d = manager_get_device(m, uuid);
        if (streq(action, "add") && !(d && d->op))
                (void)manager_refresh_definitions(m, uuid);
        (void)manager_refresh_mdev(m, uuid);
}

static int name_compare(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parents that exist in sysfs but not in the model (a registration event we did not see)
 * and parents in the model that are gone. refresh_known: re-read the parents the model
 * already has too (a reload); a PCI change event reads only new and gone ones, so an event
 * costs one directory listing, not a re-read of every parent. */
static void resync_parents(struct manager *m, bool refresh_known)
{
        _cleanup_free_ char **names = NULL;
        _cleanup_free_ struct parent **known = NULL;
        size_t n = 0, n_known = 0;

        if (mdp_parent_list(m->ctx, &names, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                bool registered = false;
                struct parent *p;

                if (!refresh_known && manager_get_parent(m, names[i]))
                        continue;
                (void)manager_refresh_parent(m, names[i], &registered);
                p = manager_get_parent(m, names[i]);
                if (registered && p && m->startup_done)
                        autostart_parent(m, p, false);
        }
        if (manager_sorted_parents(m, &known, &n_known) < 0)
                return;
        if (n > 1) /* for bsearch(): mdp_parent_list()'s order is not strcmp()'s */
                qsort(names, n, sizeof(*names), name_compare);
        for (size_t i = 0; i < n_known; i++) {
                const char *key = known[i]->name;
                bool listed = n > 0 && bsearch(&key, names, n, sizeof(*names), name_compare);

                if (!listed) {
                        _cleanup_free_ char *name = strdup(known[i]->name);
                        if (name)
                                (void)manager_refresh_parent(m, name, NULL);
                }
        }
}

static void on_pci_change(void *userdata, const char *name, const char *devpath)
{
        _cleanup_free_ struct parent **known = NULL;
        struct manager *m = userdata;
        struct parent *pf;
        size_t n = 0;

        /* SR-IOV: VF links changed on a PF. A VF that becomes a parent announces itself with
         * MDEV_STATE=registered; look at class/mdev_bus as well in case that was missed. */
        if (!mdp_sysfs_name_is_valid(name))
                return;
        pf = manager_get_parent(m, name);
        if (pf) {
                (void)manager_refresh_parent(m, name, NULL);
                pf = manager_get_parent(m, name);
        }
        /* VFs that are parents already: their physfn link came (listed in the PF's virtfns
         * now) or went (their physfn still names the PF). */
        for (size_t k = 0; pf && pf->pci && k < pf->pci->n_virtfns; k++)
                if (manager_get_parent(m, pf->pci->virtfns[k]))
                        (void)manager_refresh_parent(m, pf->pci->virtfns[k], NULL);
        if (manager_sorted_parents(m, &known, &n) >= 0)
                for (size_t i = 0; i < n; i++)
                        if (known[i]->pci && streq_ptr(known[i]->pci->physfn, name)) {
                                _cleanup_free_ char *vf = strdup(known[i]->name);
                                if (vf)
                                        (void)manager_refresh_parent(m, vf, NULL);
                        }
        resync_parents(m, false);
}

static const struct udev_callbacks udev_callbacks = {
        .parent_event = on_parent_event,
        .mdev_event = on_mdev_event,
        .pci_change = on_pci_change,
};

/* ---- warnings ---- */

static int compare_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char **manager_compute_warnings(struct manager *m)
{
        _cleanup_strv_free_ char **autostart = NULL, **foreign = NULL;
        char **w = NULL;
        struct device *d;
        size_t n_foreign = 0;

        for (size_t i = 0; m->definition_problems && m->definition_problems[i]; i++) {
                char *s;
                if (asprintf(&s, "Skipped definition file %s", m->definition_problems[i]) >= 0)
                        (void)strv_consume(&w, s);
        }
        for (size_t i = 0; m->notices && m->notices[i]; i++)
                (void)strv_push_dup(&w, m->notices[i]);
        HASHMAP_FOREACH (d, m->devices, c) {
                if (d->autostart_warning)
                        (void)strv_push_dup(&autostart, d->autostart_warning);
                if (m->n_foreign > 0 && d->mdev && device_exists(d) && device_owner(d) == OWNER_FOREIGN) {
                        char *s;
                        n_foreign++;
                        if (asprintf(&s,
                                     "mdev %s (type %s on parent %s) was created by someone else and is not "
                                     "defined: mdevpasid leaves it alone.",
                                     d->uuid, device_type(d), device_parent(d)) >= 0)
                                (void)strv_consume(&foreign, s);
                }
        }
        if (autostart) {
                qsort(autostart, strv_length(autostart), sizeof(char *), compare_str);
                for (size_t i = 0; autostart[i]; i++)
                        (void)strv_push_dup(&w, autostart[i]);
        }
        if (foreign) {
                size_t nf = strv_length(foreign);
                qsort(foreign, nf, sizeof(char *), compare_str);
                for (size_t i = 0; i < nf && i < FOREIGN_LISTED_MAX; i++)
                        (void)strv_push_dup(&w, foreign[i]);
                if (nf > FOREIGN_LISTED_MAX) {
                        char *s;
                        if (asprintf(&s, "%zu more mdevs were created by someone else and are left alone.",
                                     nf - FOREIGN_LISTED_MAX) >= 0)
                                (void)strv_consume(&w, s);
                }
        }
        vms_append_warnings(m, &w);
        if (!w)
                w = calloc(1, sizeof(char *));
        return w;
}

static int on_warnings_defer(sd_event_source *s, void *userdata)
{
        struct manager *m = userdata;
        char **w;

        m->warnings_defer = sd_event_source_disable_unref(m->warnings_defer);
        w = manager_compute_warnings(m);
        if (!w)
                return 0;
        if (strv_equal(w, m->warnings)) {
                strv_free(w);
                return 0;
        }
        strv_free(m->warnings);
        m->warnings = w;
        if (m->bus_ready)
                (void)sd_bus_emit_properties_changed(m->bus, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Warnings",
                                                     NULL);
        return 0;
}

void manager_warnings_dirty(struct manager *m)
{
        if (!m->bus_ready || m->warnings_defer)
                return;
        if (sd_event_add_defer(m->event, &m->warnings_defer, on_warnings_defer, m) < 0)
                m->warnings_defer = NULL;
}

void manager_add_notice(struct manager *m, char *sentence)
{
        if (!sentence)
                return;
        log_warning("%s", sentence);
        (void)strv_consume(&m->notices, sentence);
        manager_warnings_dirty(m);
}

/* ---- state ---- */

int manager_save_state(struct manager *m)
{
        int r;

        if (m->state_readonly)
                return 0;
        r = mdp_state_save(m->ctx, m->state);
        if (r < 0)
                log_error_errno(r, "Cannot write %s/%s: %m", MDP_HOST_STATE_DIR, MDP_STATE_FILE);
        return r;
}

static void load_state(struct manager *m)
{
        _cleanup_free_ char *err = NULL, *path = NULL, *aside = NULL;
        char *notice;
        int r;

        r = mdp_state_load(m->ctx, &m->state, &err);
        if (r >= 0)
                return;
        (void)mdp_state_new(&m->state);
        path = mdp_path(m->ctx, MDP_PATH_STATE, MDP_STATE_FILE);
        if (r == -EPROTONOSUPPORT) {
                m->state_readonly = true;
                if (asprintf(&notice,
                             "State file %s: %s. It is left untouched and nothing is recorded until it is "
                             "moved away or mdevpasid is upgraded.",
                             strna(err), "") >= 0)
                        manager_add_notice(m, notice);
                return;
        }
        /* Unreadable: keep it for a person to look at, start afresh. */
        if (path && asprintf(&aside, "%s.broken-%llu", path, (unsigned long long)now_realtime_usec()) >= 0 &&
            rename(path, aside) == 0) {
                if (asprintf(&notice,
                             "State file %s was unreadable and was moved to %s; ownership of running mdevs "
                             "is learned afresh.",
                             strna(err), aside) >= 0)
                        manager_add_notice(m, notice);
        } else {
                m->state_readonly = true;
                if (asprintf(&notice,
                             "State file %s is unreadable and could not be moved aside; nothing is "
                             "recorded until it is fixed.",
                             strna(err)) >= 0)
                        manager_add_notice(m, notice);
        }
}

/* ---- configuration, policy, profiles, IOMMUs ---- */

static void apply_policy(struct manager *m, struct mdp_policy *p)
{
        mdp_policy_unref(m->policy);
        m->policy = p;
        manager_options_apply_config(&m->options, mdp_policy_daemon_config(p));
        if (!(m->options.set & OPT_LOG_LEVEL) && !getenv(MDP_ENV_LOG_LEVEL))
                log_set_max_level(m->options.log_level);
}

/* All or nothing: on failure the previous policy stays. */
static int load_policy(struct manager *m, char **ret_error)
{
        struct mdp_conf_messages msgs = {0};
        struct mdp_policy *p = NULL;
        int r;

        r = mdp_policy_load(m->ctx, &p, &msgs);
        for (size_t i = 0; i < msgs.n_warnings; i++)
                log_warning("%s", msgs.warnings[i]);
        if (r < 0) {
                log_error("Configuration not loaded: %s", msgs.error ? msgs.error : strerror(-r));
                if (ret_error)
                        *ret_error = strdup(msgs.error ? msgs.error : strerror(-r));
                mdp_conf_messages_done(&msgs);
                return r;
        }
        mdp_conf_messages_done(&msgs);
        apply_policy(m, p);
        return 0;
}

static void load_iommus(struct manager *m)
{
        struct mdp_host *h = NULL;
        int r;

        r = mdp_host_scan_parts(m->ctx, MDP_SCAN_IOMMUS, &h);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the IOMMU instances: %m");
                return;
        }
        mdp_host_unref(m->iommus);
        m->iommus = h;
}

static int load_profiles(struct manager *m, char **ret_error)
{
        struct mdp_conf_messages msgs = {0};
        struct mdp_profiles *p = NULL;
        int r;

        r = mdp_profiles_load(m->ctx, &p, &msgs);
        for (size_t i = 0; i < msgs.n_warnings; i++)
                log_warning("%s", msgs.warnings[i]);
        if (r < 0) {
                log_error("Vendor profiles not loaded: %s", msgs.error ? msgs.error : strerror(-r));
                if (ret_error)
                        *ret_error = msgs.error ? strdup(msgs.error) : strdup(strerror(-r));
                mdp_conf_messages_done(&msgs);
                return r;
        }
        mdp_conf_messages_done(&msgs);
        mdp_profiles_unref(m->profiles);
        m->profiles = p;
        mdp_ctx_set_classifier(m->ctx, mdp_profiles_classify, m->profiles);
        return 0;
}

/* ---- start-up ---- */

static int coldplug(struct manager *m)
{
        _cleanup_free_ char **parents = NULL;
        const struct mdp_mdev *mdevs;
        size_t n = 0, n_mdevs = 0;
        int r;

        r = mdp_kernel_features_read(m->ctx, &m->kernel);
        if (r < 0)
                log_warning_errno(r, "Cannot read the kernel features: %m");

        r = mdp_parent_list(m->ctx, &parents, &n);
        if (r < 0)
                return log_error_errno(r, "Cannot list mdev parents: %m");
        for (size_t i = 0; i < n; i++)
                (void)manager_refresh_parent(m, parents[i], NULL);

        /* One snapshot for every live mdev: it shares group and parent lookups across them;
         * devices point into it until a uevent replaces their record. */
        r = mdp_host_scan_parts(m->ctx, MDP_SCAN_MDEVS | MDP_SCAN_GROUPS, &m->snapshot);
        if (r < 0)
                return log_error_errno(r, "Cannot read the live mdevs (is %s the sysfs root?): %m",
                                       MDP_HOST_SYSFS);
        if (mdp_host_error(m->snapshot))
                log_warning("sysfs: %s", mdp_host_error(m->snapshot));
        mdevs = mdp_host_mdevs(m->snapshot, &n_mdevs);
        for (size_t i = 0; i < n_mdevs; i++) {
                struct device_snapshot s;
                struct device *d;

                r = manager_ensure_device(m, mdevs[i].uuid, &d);
                if (r < 0)
                        return log_error_errno(r, "Cannot track mdev %s: %m", mdevs[i].uuid);
                device_begin(d, &s);
                d->mdev = &mdevs[i];
                d->state = DEVICE_ACTIVE;
                device_commit(d, &s);
                if (mdevs[i].error)
                        log_device(LOG_WARNING, mdevs[i].uuid, "mdev %s: %s", mdevs[i].uuid, mdevs[i].error);
        }
        r = manager_load_definitions(m);
        if (r < 0)
                return r;
        log_info("Coldplug: %zu parent%s, %zu active mdev%s, %zu device object%s.", hashmap_size(m->parents),
                 hashmap_size(m->parents) == 1 ? "" : "s", n_mdevs, n_mdevs == 1 ? "" : "s",
                 hashmap_size(m->devices), hashmap_size(m->devices) == 1 ? "" : "s");
        return 0;
}

static const char *intent_verb(enum mdp_state_op_kind k)
{
        return k == MDP_STATE_OP_START    ? "A start"
               : k == MDP_STATE_OP_CREATE ? "A create"
               : k == MDP_STATE_OP_STOP   ? "A stop"
                                          : "A removal";
}

/* Operations a restart interrupted (kill -9 mid-start): a start or create whose device
 * exists is undone, exactly as a failed start would have been; a stop or removal whose
 * device is still there is reported and the device stays. */
static void reconcile_intents(struct manager *m, struct device ***ret_undo, size_t *ret_n_undo)
{
        _cleanup_free_ const struct mdp_state_op **ops = NULL;
        struct device **undo = NULL;
        size_t n = 0, n_undo = 0;

        *ret_undo = NULL;
        *ret_n_undo = 0;
        if (mdp_state_op_list(m->state, &ops, &n) < 0 || n == 0)
                return;
        undo = calloc(n, sizeof(*undo));
        if (!undo)
                return;
        for (size_t i = 0; i < n; i++) {
                const struct mdp_state_op *o = ops[i];
                struct device *d = manager_get_device(m, o->uuid);
                bool present = d && d->mdev && streq_ptr(d->mdev->parent, o->parent);
                char *notice = NULL;

                if (o->kind == MDP_STATE_OP_START || o->kind == MDP_STATE_OP_CREATE) {
                        if (present) {
                                if (asprintf(&notice,
                                             "%s of mdev %s (type %s on parent %s) was interrupted by a "
                                             "daemon "
                                             "restart; the half-started device is removed again. Start it "
                                             "anew.",
                                             intent_verb(o->kind), o->uuid, o->type, o->parent) >= 0)
                                        manager_add_notice(m, notice);
                                undo[n_undo++] = d;
                        } else if (asprintf(&notice,
                                            "%s of mdev %s (type %s on parent %s) was interrupted by a "
                                            "daemon "
                                            "restart before the device existed; nothing was left behind.",
                                            intent_verb(o->kind), o->uuid, o->type, o->parent) >= 0)
                                manager_add_notice(m, notice);
                        (void)mdp_state_device_remove(m->state, o->uuid);
                } else {
                        if (present) {
                                if (asprintf(&notice,
                                             "%s of mdev %s (type %s on parent %s) was interrupted by a "
                                             "daemon "
                                             "restart; the device is still active.",
                                             intent_verb(o->kind), o->uuid, o->type, o->parent) >= 0)
                                        manager_add_notice(m, notice);
                        } else
                                log_device(
                                        LOG_INFO, o->uuid,
                                        "%s of mdev %s was interrupted by a daemon restart but completed.",
                                        intent_verb(o->kind), o->uuid);
                }
                (void)mdp_state_op_remove(m->state, o->uuid);
        }
        *ret_undo = undo;
        *ret_n_undo = n_undo;
}

/* Ownership entries whose device is gone (removed while we were down) or is now another
 * device under the same UUID are dropped. */
static void reconcile_ownership(struct manager *m)
{
        _cleanup_free_ const struct mdp_state_device **owned = NULL;
        _cleanup_strv_free_ char **drop = NULL;
        size_t n = 0;

        if (mdp_state_device_list(m->state, &owned, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                struct device *d = manager_get_device(m, owned[i]->uuid);

                if (d && d->mdev && streq_ptr(d->mdev->parent, owned[i]->parent) &&
                    streq_ptr(d->mdev->type_id, owned[i]->type))
                        continue;
                log_device(LOG_INFO, owned[i]->uuid,
                           "mdev %s that mdevpasid had started is gone; forgetting it.", owned[i]->uuid);
                (void)strv_push_dup(&drop, owned[i]->uuid);
        }
        for (size_t i = 0; drop && drop[i]; i++)
                (void)mdp_state_device_remove(m->state, drop[i]);
}

static void notify_ready(struct manager *m)
{
        char status[256];

        if (m->ready_sent)
                return;
        m->ready_sent = true;
        snprintf(status, sizeof(status), "READY=1\nSTATUS=Managing %zu parent%s and %zu mdev object%s.",
                 hashmap_size(m->parents), hashmap_size(m->parents) == 1 ? "" : "s",
                 hashmap_size(m->devices), hashmap_size(m->devices) == 1 ? "" : "s");
        (void)sd_notify(false, status);
        log_info("Ready: %zu parents, %zu mdev objects, udev source \"%s\".", hashmap_size(m->parents),
                 hashmap_size(m->devices), udev_watch_source(m->udev));
}

void manager_initial_autostart_done(struct manager *m)
{
        if (m->initial_autostarts > 0)
                m->initial_autostarts--;
        if (m->initial_autostarts == 0 && m->startup_done)
                notify_ready(m);
}

/* The liveness marker: an exclusive flock() on <runtime dir>/mdevpasidd.lock, held until
 * exit (the kernel drops it however we exit). mdevpasidctl's reads check it before loading
 * libsystemd to ask the bus (lib/client.c: mdp_client_daemon_state_offline()): a file
 * nobody holds means no daemon runs on this runtime dir. Not having it only costs readers
 * that shortcut, so a failure is a warning; a second daemon finding it held goes on (the
 * bus name decides which one serves). */
static void take_lock(struct manager *m)
{
        _cleanup_free_ char *dir = mdp_path(m->ctx, MDP_PATH_RUNTIME, NULL);
        _cleanup_free_ char *path = mdp_path(m->ctx, MDP_PATH_RUNTIME, MDP_DAEMON_LOCK_FILE);
        int fd, r;

        if (!dir || !path)
                return;
        r = mkdir_p(dir, 0755);
        if (r < 0) {
                log_warning_errno(r,
                                  "Cannot create %s (%m): mdevpasidctl will not see that the daemon runs "
                                  "without asking the bus.",
                                  dir);
                return;
        }
        fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
        if (fd < 0) {
                log_warning_errno(errno,
                                  "Cannot open %s (%m): mdevpasidctl will not see that the daemon runs "
                                  "without asking the bus.",
                                  path);
                return;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        log_warning("Another mdevpasidd holds %s: it runs on the same runtime directory.",
                                    path);
                else
                        log_warning_errno(errno, "Cannot lock %s: %m", path);
        }
        /* Kept even when another daemon holds the lock: it is held either way. */
        m->lock_fd = fd;
}

int manager_startup(struct manager *m)
{
        _cleanup_free_ char *policy_error = NULL, *profile_error = NULL;
        _cleanup_free_ struct parent **parents = NULL;
        _cleanup_free_ struct device **undo = NULL;
        size_t n = 0, n_undo = 0;
        int r;

        take_lock(m);
        /* The monitor first, so nothing that happens during the scan is lost. */
        r = udev_watch_new(m->event, &udev_callbacks, m, &m->udev);
        if (r < 0)
                return log_error_errno(r, "Cannot monitor uevents: %m");
        /* A daemon killed inside an atomic write leaves its temporary file behind; this is the
         * only writer, and nothing of its own runs yet. */
        r = mdp_state_remove_leftovers(m->ctx);
        if (r > 0)
                log_info("Removed the temporary state file of an interrupted write.");
        r = mdp_definitions_remove_leftovers(m->ctx);
        if (r > 0)
                log_info("Removed %d temporary file(s) of interrupted writes from %s.", r, MDP_HOST_MDEVCTL_DIR);
        load_state(m);
        if (load_policy(m, &policy_error) < 0) {
                char *notice = NULL;
                struct mdp_policy *p = NULL;

                if (asprintf(&notice,
                             "Configuration not loaded (%s); the built-in defaults are used until it is "
                             "fixed and "
                             "reloaded.",
                             strna(policy_error)) >= 0)
                        manager_add_notice(m, notice);
                if (mdp_policy_new_default(&p) >= 0)
                        apply_policy(m, p);
        }
        if (load_profiles(m, &profile_error) < 0) {
                char *notice = NULL;
                if (asprintf(&notice,
                             "Vendor profiles not loaded (%s); every mdev type is classified as emulated "
                             "until "
                             "this is fixed and reloaded.",
                             strna(profile_error)) >= 0)
                        manager_add_notice(m, notice);
        }
        load_iommus(m);
        r = coldplug(m);
        if (r < 0)
                return r;
        reconcile_intents(m, &undo, &n_undo);
        reconcile_ownership(m);
        vms_load(m);
        (void)manager_save_state(m);

        r = manager_connect_bus(m);
        if (r < 0)
                return r;
        m->startup_done = true;

        for (size_t i = 0; i < n_undo; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                struct device *d = undo[i];

                if (op_stop(m, d, OP_ORIGIN_RECOVERY, NULL, &error) < 0)
                        log_device(LOG_ERR, d->uuid, "Cannot undo the interrupted start of mdev %s: %s",
                                   d->uuid, error.message ? error.message : "unknown error");
        }
        r = manager_sorted_parents(m, &parents, &n);
        if (r < 0)
                return r;
        autostart_parents(m, parents, n, true);
        if (m->initial_autostarts == 0)
                notify_ready(m);
        return 0;
}

/* ---- reload ---- */

int manager_reload(struct manager *m, char **ret_error)
{
        _cleanup_free_ struct device **devs = NULL;
        _cleanup_free_ char **mdevs = NULL;
        size_t n = 0, n_mdevs = 0;
        int r;

        (void)sd_notify(false, "RELOADING=1\nSTATUS=Reloading.");
        log_info("Reloading the configuration, policy, vendor profiles and definitions.");
        {
                struct mdp_conf_messages msgs = {0};
                struct mdp_policy *policy = NULL;

                /* Both are checked before either is applied: a bad file changes nothing. */
                r = mdp_policy_load(m->ctx, &policy, &msgs);
                if (r < 0 && ret_error)
                        *ret_error = strdup(msgs.error ? msgs.error : strerror(-r));
                mdp_conf_messages_done(&msgs);
                if (r >= 0) {
                        r = load_profiles(m, ret_error);
                        if (r < 0)
                                mdp_policy_unref(policy);
                        else
                                apply_policy(m, policy);
                }
                if (r < 0) {
                        log_error("Reload failed: %s", ret_error && *ret_error ? *ret_error : strerror(-r));
                        (void)sd_notify(false,
                                        "READY=1\nSTATUS=Reload failed; the previous configuration stays.");
                        return r;
                }
        }
        vms_reload(m);
        load_iommus(m);
        if (m->bus_ready)
                (void)sd_bus_emit_properties_changed(m->bus, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Iommus",
                                                     NULL);
        mdp_kernel_features_free(m->kernel);
        m->kernel = NULL;
        (void)mdp_kernel_features_read(m->ctx, &m->kernel);
        if (m->bus_ready)
                (void)sd_bus_emit_properties_changed(m->bus, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER,
                                                     "KernelFeatures", NULL);
        /* Profiles change how types classify: re-read every parent and mdev. */
        resync_parents(m, true);
        if (mdp_mdev_list(m->ctx, &mdevs, &n_mdevs) >= 0)
                for (size_t i = 0; i < n_mdevs; i++)
                        (void)manager_refresh_mdev(m, mdevs[i]);
        if (manager_sorted_devices(m, &devs, &n) >= 0)
                for (size_t i = 0; i < n; i++) {
                        bool listed = false;
                        if (!devs[i]->mdev)
                                continue;
                        for (size_t k = 0; k < n_mdevs && !listed; k++)
                                listed = streq(mdevs[k], devs[i]->uuid);
                        if (!listed)
                                (void)manager_refresh_mdev(m, devs[i]->uuid);
                }
        r = manager_load_definitions(m);
        (void)sd_notify(false, "READY=1\nSTATUS=Reloaded.");
        if (r < 0 && ret_error && asprintf(ret_error, "Cannot read /etc/mdevctl.d: %s", strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

/* ---- signals ---- */

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct manager *m = userdata;

        log_info("Received %s: exiting.", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        (void)sd_notify(false, "STOPPING=1");
        if (op_count() > 0)
                log_info("%u operation%s still running; the kernel finishes pending removals on its own.",
                         op_count(), op_count() == 1 ? " is" : "s are");
        return sd_event_exit(m->event, 0);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        _cleanup_free_ char *err = NULL;

        (void)manager_reload(userdata, &err);
        return 0;
}

/* ---- construction ---- */

int manager_new(const struct manager_options *options, struct manager **ret)
{
        _cleanup_(manager_freep) struct manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->lock_fd = -1;
        if (options)
                m->options = *options;
        else
                manager_options_default(&m->options);
        m->parents = hashmap_new();
        m->devices = hashmap_new();
        if (!m->parents || !m->devices)
                return -ENOMEM;
        r = mdp_bus_errors_register();
        if (r < 0)
                return r;
        r = mdp_ctx_new(&m->ctx);
        if (r < 0)
                return log_error_errno(r, "Invalid %s (it must be an absolute path): %m", MDP_ENV_ROOT);
        mdp_ctx_set_log_fn(m->ctx, log_ctx_callback, NULL);
        if (log_get_max_level() >= LOG_DEBUG)
                mdp_ctx_set_log_priority(m->ctx, LOG_DEBUG);
        r = sd_event_new(&m->event);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Cannot handle signals (are they blocked?): %m");
        (void)sd_event_set_watchdog(m->event, true);
        r = worker_new(m->event, &m->worker);
        if (r < 0)
                return log_error_errno(r, "Cannot set up worker threads: %m");
        *ret = TAKE_PTR(m);
        return 0;
}

struct manager *manager_free(struct manager *m)
{
        struct device *d;
        struct parent *p;

        if (!m)
                return NULL;
        m->warnings_defer = sd_event_source_disable_unref(m->warnings_defer);
        m->snapshot_post = sd_event_source_disable_unref(m->snapshot_post);
        m->autostart_defer = sd_event_source_disable_unref(m->autostart_defer);
        manager_snapshot_cache_clear(m);
        m->bus_ready = false;
        authz_free_all(m);
        sd_bus_flush_close_unref(m->bus);
        udev_watch_free(m->udev);
        if (m->devices) {
                HASHMAP_FOREACH (d, m->devices, c)
                        device_free(d);
                hashmap_free(m->devices);
        }
        if (m->parents) {
                HASHMAP_FOREACH (p, m->parents, c2)
                        parent_free(p);
                hashmap_free(m->parents);
        }
        vms_free_all(m);
        mdp_host_unref(m->snapshot);
        mdp_state_free(m->state);
        mdp_profiles_unref(m->profiles);
        mdp_policy_unref(m->policy);
        mdp_host_unref(m->iommus);
        mdp_kernel_features_free(m->kernel);
        strv_free(m->definition_problems);
        strv_free(m->notices);
        strv_free(m->warnings);
        worker_free(m->worker);
        sd_event_unref(m->event);
        mdp_ctx_unref(m->ctx);
        if (m->lock_fd >= 0)
                close(m->lock_fd);
        free(m);
        return NULL;
}

int manager_run(struct manager *m)
{
        return sd_event_loop(m->event);
}
