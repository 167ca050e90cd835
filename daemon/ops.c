/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Start, Create, Stop and Remove as asynchronous operations (ops.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-errors.h"
#include "mdev-backend.h"
#include "mdp-names.h"
#include "ops.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "vfio-holders.h"
#include "worker.h"

enum op_kind {
        OP_START,
        OP_CREATE,
        OP_STOP,
        OP_REMOVE,
};

enum op_phase {
        PHASE_QUEUED,    /* waiting for the parent's create slot */
        PHASE_CREATE,    /* create write running */
        PHASE_WAIT,      /* waiting for the device to be present and bound */
        PHASE_ATTRS,     /* attribute writes running */
        PHASE_UNDO,      /* removing what a failed start created */
        PHASE_REMOVE,    /* holder check + remove write running */
        PHASE_WAIT_GONE, /* remove returned; waiting for the device to go */
};

enum job_kind {
        JOB_CREATE,
        JOB_ATTRS,
        JOB_REMOVE,
        JOB_HOLDERS,
};

struct op_job {
        struct work work;
        struct op *op;
        enum job_kind kind;
        bool running;
        bool check_holders;
        /* results */
        int r;
        struct mdp_mdev_error err;
        size_t failed_index;
        char *holders; /* description, NULL when nobody was found */
};

struct op {
        uint64_t id; /* unique: tells whether a device still runs this operation */
        struct manager *m;
        struct mdp_ctx *ctx; /* own reference: a job may outlive the manager at exit */
        enum op_kind kind;
        enum op_origin origin;
        enum op_phase phase;
        char uuid[MDP_UUID_STRING_MAX];
        char *parent, *type;
        struct mdp_attr *attrs;
        size_t n_attrs;
        char *nodes[2]; /* VFIO nodes a holder would have open */
        size_t n_nodes;
        sd_bus_message *message;
        op_done_fn done;
        void *userdata;
        sd_event_source *timer;
        struct op *queue_next;
        struct op_job job, holders_job;
        bool created;     /* the create write succeeded: a failure must undo it */
        bool replied;     /* the caller has its answer already */
        bool parent_gone; /* the parent unregistered while queued or creating */
        bool detached;    /* finished from the caller's view; freed when its jobs end */
        char *failure;    /* message of a failed start, kept while undoing */
        const char *failure_name;
        int failure_errno;
        struct op *all_next, *all_prev;
};

static struct op *all_ops;
static unsigned n_ops;
static uint64_t next_op_id = 1;

/* Whether the operation id still runs on the device: a model refresh can finish (and
 * free) the operation that asked for it. */
static bool op_still_running(struct manager *m, const char *uuid, uint64_t id)
{
        struct device *d = manager_get_device(m, uuid);

        return d && d->op && d->op->id == id;
}

unsigned op_count(void)
{
        return n_ops;
}

const char *op_parent(const struct op *op)
{
        return op->parent;
}

const char *op_type(const struct op *op)
{
        return op->type;
}

static const char *op_verb(const struct op *op)
{
        switch (op->kind) {
        case OP_START:
                return "start";
        case OP_CREATE:
                return "create";
        case OP_STOP:
                return "stop";
        default:
                return "remove";
        }
}

static void op_free(struct op *op)
{
        if (!op)
                return;
        if (op->all_prev)
                op->all_prev->all_next = op->all_next;
        else if (all_ops == op)
                all_ops = op->all_next;
        if (op->all_next)
                op->all_next->all_prev = op->all_prev;
        n_ops--;
        sd_event_source_disable_unref(op->timer);
        sd_bus_message_unref(op->message);
        for (size_t i = 0; i < op->n_attrs; i++) {
                free(op->attrs[i].name);
                free(op->attrs[i].value);
        }
        free(op->attrs);
        for (size_t i = 0; i < op->n_nodes; i++)
                free(op->nodes[i]);
        free(op->job.holders);
        free(op->holders_job.holders);
        free(op->failure);
        free(op->parent);
        free(op->type);
        mdp_ctx_unref(op->ctx);
        free(op);
}

static struct op *op_new(struct manager *m, enum op_kind kind, enum op_origin origin, const char *uuid,
                         const char *parent, const char *type, sd_bus_message *message)
{
        struct op *op = calloc(1, sizeof(*op));

        if (!op)
                return NULL;
        op->id = next_op_id++;
        op->all_next = all_ops;
        if (all_ops)
                all_ops->all_prev = op;
        all_ops = op;
        n_ops++;
        op->m = m;
        op->ctx = mdp_ctx_ref(m->ctx);
        op->kind = kind;
        op->origin = origin;
        memcpy(op->uuid, uuid, MDP_UUID_STRING_MAX);
        op->parent = strdup(parent);
        op->type = strdup(type);
        op->message = sd_bus_message_ref(message);
        if (!op->parent || !op->type) {
                op_free(op);
                return NULL;
        }
        return op;
}

static int op_copy_attrs(struct op *op, const struct mdp_attr *attrs, size_t n)
{
        if (n == 0)
                return 0;
        op->attrs = calloc(n, sizeof(*op->attrs));
        if (!op->attrs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                op->attrs[i].name = strdup(attrs[i].name);
                op->attrs[i].value = strdup(attrs[i].value);
                op->n_attrs = i + 1;
                if (!op->attrs[i].name || !op->attrs[i].value)
                        return -ENOMEM;
        }
        return 0;
}

/* ---- worker side: touches only the job and the op's immutable inputs ---- */

static void job_run(struct work *w)
{
        struct op_job *j = (struct op_job *)w;
        struct op *op = j->op;

        switch (j->kind) {
        case JOB_CREATE:
                j->r = mdp_mdev_create(op->ctx, op->parent, op->type, op->uuid, &j->err);
                break;
        case JOB_ATTRS:
                j->r = 0;
                for (size_t i = 0; i < op->n_attrs; i++) {
                        j->r = mdp_mdev_set_attr(op->ctx, op->uuid, op->attrs[i].name, op->attrs[i].value,
                                                 &j->err);
                        if (j->r < 0) {
                                j->failed_index = i;
                                break;
                        }
                }
                break;
        case JOB_REMOVE:
                if (j->check_holders && op->n_nodes > 0) {
                        struct mdp_vfio_holder *h = NULL;
                        size_t n = 0;

                        if (mdp_vfio_holders_find(op->ctx, (const char *const *)op->nodes, op->n_nodes, &h,
                                                  &n) >= 0 &&
                            n > 0) {
                                j->holders = mdp_vfio_holders_describe(h, n);
                                free(h);
                                j->r = -EBUSY;
                                break;
                        }
                        free(h);
                }
                j->r = mdp_mdev_remove(op->ctx, op->uuid, &j->err);
                break;
        case JOB_HOLDERS: {
                struct mdp_vfio_holder *h = NULL;
                size_t n = 0;

                j->r = mdp_vfio_holders_find(op->ctx, (const char *const *)op->nodes, op->n_nodes, &h, &n);
                if (j->r >= 0 && n > 0)
                        j->holders = mdp_vfio_holders_describe(h, n);
                free(h);
                break;
        }
        }
}

static void job_done(struct work *w);

static int job_submit_full(struct op *op, struct op_job *j, enum job_kind kind, bool check_holders)
{
        int r;

        free(j->holders);
        *j = (struct op_job){
                .work = {.run = job_run, .done = job_done},
                .op = op,
                .kind = kind,
                .running = true,
                .check_holders = check_holders,
        };
        r = worker_submit(op->m->worker, &j->work);
        if (r < 0)
                j->running = false;
        return r;
}

static int job_submit(struct op *op, struct op_job *j, enum job_kind kind)
{
        return job_submit_full(op, j, kind, false);
}

/* ---- replies and endings ---- */

static void op_maybe_free(struct op *op)
{
        if (op->detached && !op->job.running && !op->holders_job.running)
                op_free(op);
}

/* The device view while the operation ends: begin a change, drop the op, commit. */
static void device_release_op(struct op *op, enum device_state state, const char *last_error,
                              bool set_last_error)
{
        struct device *d = manager_get_device(op->m, op->uuid);
        struct device_snapshot s;

        if (!d || d->op != op)
                return;
        device_begin(d, &s);
        d->op = NULL;
        d->state = d->mdev ? (state == DEVICE_INACTIVE ? DEVICE_ACTIVE : state) : DEVICE_INACTIVE;
        if (set_last_error)
                device_set_last_error(d, last_error);
        device_commit(d, &s);
}

static void op_clear_intent(struct op *op)
{
        if (mdp_state_op_remove(op->m->state, op->uuid) > 0)
                (void)manager_save_state(op->m);
}

static void op_reply_error(struct op *op, const char *name, const char *message, int errnum)
{
        if (!op->replied && op->origin == OP_ORIGIN_BUS && op->message) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_error_set(&e, name, message);
                (void)sd_bus_reply_method_error(op->message, &e);
        }
        if (!op->replied && op->done)
                op->done(op->m, op->uuid, errnum < 0 ? errnum : -EIO, name, message, op->userdata);
        op->replied = true;
}

static void op_reply_success(struct op *op)
{
        if (!op->replied && op->origin == OP_ORIGIN_BUS && op->message) {
                if (op->kind == OP_CREATE)
                        (void)sd_bus_reply_method_return(op->message, "s", op->uuid);
                else
                        (void)sd_bus_reply_method_return(op->message, NULL);
        }
        if (!op->replied && op->done)
                op->done(op->m, op->uuid, 0, NULL, NULL, op->userdata);
        op->replied = true;
}

/* Leaves the parent's create slot, letting the next queued create run. */
static void launch_next_create(struct manager *m, struct parent *p);

static void op_leave_create_slot(struct op *op)
{
        struct parent *p = manager_get_parent(op->m, op->parent);

        if (p && p->create_running == op) {
                p->create_running = NULL;
                launch_next_create(op->m, p);
        }
}

static void op_finish(struct op *op)
{
        op->timer = sd_event_source_disable_unref(op->timer);
        op->detached = true;
        op_maybe_free(op);
}

static void start_finish_failure(struct op *op, const char *undo_note)
{
        _cleanup_free_ char *msg = NULL;

        if (undo_note && asprintf(&msg, "%s %s", op->failure, undo_note) < 0)
                msg = NULL;
        log_device(LOG_WARNING, op->uuid, "%s", msg ? msg : op->failure);
        op_clear_intent(op);
        device_release_op(op, DEVICE_INACTIVE, msg ? msg : op->failure, true);
        op_reply_error(op, op->failure_name, msg ? msg : op->failure, op->failure_errno);
        op_finish(op);
}

static int arm_timer(struct op *op, unsigned ms, sd_event_time_handler_t handler);

static int on_undo_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct op *op = userdata;
        _cleanup_free_ char *note = NULL;

        if (asprintf(&note,
                     "Undoing it did not finish within %u ms (a VFIO user may hold mdev %s); the kernel "
                     "removes it when the holder lets go.",
                     op->m->options.stop_timeout_ms, op->uuid) < 0)
                note = NULL;
        /* Reply now; the op lives until the remove write returns. */
        log_device(LOG_WARNING, op->uuid, "%s %s", op->failure, strna(note));
        op_reply_error(op, op->failure_name, op->failure, op->failure_errno);
        op->timer = sd_event_source_disable_unref(op->timer);
        return 0;
}

/* A start failed after (or while) the device was created: say so, then remove it again. */
static void start_fail(struct op *op, const char *name, int errnum, char *message)
{
        free(op->failure);
        op->failure = message ? message : strdup("Cannot start the mdev: out of memory.");
        op->failure_name = name;
        op->failure_errno = errnum;
        op->timer = sd_event_source_disable_unref(op->timer);
        op_leave_create_slot(op);
        if (!op->created) {
                start_finish_failure(op, NULL);
                return;
        }
        op->phase = PHASE_UNDO;
        if (job_submit(op, &op->job, JOB_REMOVE) < 0) {
                start_finish_failure(op, "Undoing it failed: no worker thread; the device is left active.");
                return;
        }
        (void)arm_timer(op, op->m->options.stop_timeout_ms, on_undo_timeout);
}

static void start_succeeded(struct op *op)
{
        struct manager *m = op->m;
        int r;

        op->timer = sd_event_source_disable_unref(op->timer);
        r = mdp_state_device_set(m->state, op->uuid, op->parent, op->type, op->kind == OP_CREATE,
                                 now_realtime_usec());
        if (r < 0)
                log_device_errno(LOG_WARNING, r, op->uuid, "Cannot record ownership of mdev %s: %m",
                                 op->uuid);
        (void)mdp_state_op_remove(m->state, op->uuid);
        (void)manager_save_state(m);
        log_device(LOG_INFO, op->uuid, "%s mdev %s (type %s on parent %s).",
                   op->kind == OP_CREATE ? "Created" : "Started", op->uuid, op->type, op->parent);
        device_release_op(op, DEVICE_ACTIVE, NULL, true);
        op_reply_success(op);
        op_finish(op);
}

static char *step_message(struct op *op, unsigned step, const char *what, const char *sentence)
{
        char *s;
        unsigned steps = 2 + (unsigned)op->n_attrs;

        if (asprintf(&s, "Cannot %s mdev %s (type %s on parent %s): step %u of %u (%s) failed: %s",
                     op_verb(op), op->uuid, op->type, op->parent, step, steps, what, sentence) < 0)
                return NULL;
        return s;
}

static void start_attrs(struct op *op)
{
        if (op->n_attrs == 0) {
                start_succeeded(op);
                return;
        }
        op->phase = PHASE_ATTRS;
        op->timer = sd_event_source_disable_unref(op->timer);
        if (job_submit(op, &op->job, JOB_ATTRS) < 0)
                start_fail(op, MDP_ERROR_KERNEL, -EAGAIN,
                           step_message(op, 3, "setting attributes", "no worker thread could be started."));
}

/* Present and bound to its vendor driver: the kernel sends add before bind, and the
 * device is usable only after bind (TESTING.md layer 7 §4.3). */
static bool device_ready(struct manager *m, const char *uuid)
{
        struct device *d = manager_get_device(m, uuid);

        return d && d->mdev && d->mdev->driver;
}

static int on_wait_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct op *op = userdata;
        struct mdp_mdev_error e = {0};
        _cleanup_free_ char *sentence = NULL;
        struct device *d;

        struct manager *m = op->m;
        char uuid[MDP_UUID_STRING_MAX];
        uint64_t id = op->id;

        op->timer = sd_event_source_disable_unref(op->timer);
        /* A last look at sysfs, in case a uevent was lost. */
        memcpy(uuid, op->uuid, sizeof(uuid));
        (void)manager_refresh_mdev(m, uuid);
        if (!op_still_running(m, uuid, id) || op->phase != PHASE_WAIT)
                return 0; /* the refresh moved it on */
        if (device_ready(op->m, op->uuid)) {
                start_attrs(op);
                return 0;
        }
        d = manager_get_device(op->m, op->uuid);
        e = (struct mdp_mdev_error){
                .op = d && d->mdev ? MDP_MDEV_OP_WAIT_BOUND : MDP_MDEV_OP_WAIT_PRESENT,
                .error = -ETIMEDOUT,
                .object = MDP_MDEV_OBJECT_DEVICE,
                .uuid = op->uuid,
                .parent = op->parent,
                .type_id = op->type,
                .available = -1,
                .timeout_ms = op->m->options.start_timeout_ms,
        };
        sentence = mdp_mdev_error_message(&e);
        start_fail(op, MDP_ERROR_TIMEOUT, -ETIMEDOUT,
                   step_message(op, 2, "waiting for the device to appear and bind to its driver",
                                strna(sentence)));
        return 0;
}

static int arm_timer(struct op *op, unsigned ms, sd_event_time_handler_t handler)
{
        op->timer = sd_event_source_disable_unref(op->timer);
        return sd_event_add_time_relative(op->m->event, &op->timer, CLOCK_MONOTONIC, (uint64_t)ms * 1000,
                                          1000, handler, op);
}

static void create_done(struct op *op, struct op_job *j)
{
        _cleanup_free_ char *sentence = NULL;

        op_leave_create_slot(op);
        if (op->parent_gone && j->r >= 0)
                op->created = true;
        if (j->r < 0) {
                sentence = mdp_mdev_error_message(&j->err);
                /* The backend's sentence names the device, type and parent already. */
                start_fail(op, mdp_mdev_error_dbus_name(&j->err), j->r,
                           sentence ? TAKE_PTR(sentence) : strdup("Cannot create the mdev."));
                return;
        }
        op->created = true;
        if (op->parent_gone) {
                /* The parent unregistered while the write ran: its children went with it. */
                if (asprintf(&sentence,
                             "Cannot %s mdev %s: parent %s unregistered as the device was created; the "
                             "kernel removed it with its parent. Check that the parent's driver is loaded "
                             "(list parents with \"mdevpasidctl parents\").",
                             op_verb(op), op->uuid, op->parent) < 0)
                        sentence = NULL;
                start_fail(op, MDP_ERROR_NO_SUCH_PARENT, -ENODEV, TAKE_PTR(sentence));
                return;
        }
        op->phase = PHASE_WAIT;
        (void)arm_timer(op, op->m->options.start_timeout_ms, on_wait_timeout);
        /* Read sysfs now: the kernel creates and binds the device inside the create write,
         * so it is usually there already; the uevents confirm it otherwise. */
        (void)manager_refresh_mdev(op->m, op->uuid);
}

static void attrs_done(struct op *op, struct op_job *j)
{
        _cleanup_free_ char *sentence = NULL, *what = NULL;

        if (j->r >= 0) {
                start_succeeded(op);
                return;
        }
        sentence = mdp_mdev_error_message(&j->err);
        if (asprintf(&what, "setting attribute %s, %zu of %zu", op->attrs[j->failed_index].name,
                     j->failed_index + 1, op->n_attrs) < 0)
                what = NULL;
        start_fail(op, mdp_mdev_error_dbus_name(&j->err), j->r,
                   step_message(op, 3 + (unsigned)j->failed_index, strna(what), strna(sentence)));
}

static void undo_done(struct op *op, struct op_job *j)
{
        _cleanup_free_ char *sentence = NULL, *note = NULL;

        (void)manager_refresh_mdev(op->m, op->uuid);
        if (op->replied) {
                /* The caller was answered when the undo timed out. */
                log_device(LOG_INFO, op->uuid, "mdev %s: the undo of the failed start finished (%s).",
                           op->uuid, j->r < 0 ? "it failed" : "device removed");
                op_clear_intent(op);
                device_release_op(op, DEVICE_INACTIVE, op->failure, true);
                op_finish(op);
                return;
        }
        if (j->r == -ENOENT) {
                /* Gone already (with its parent, or removed by someone else): nothing is left
                 * to undo. */
                start_finish_failure(op, "The device is gone.");
                return;
        }
        if (j->r < 0) {
                sentence = mdp_mdev_error_message(&j->err);
                if (asprintf(&note, "Undoing it failed too (%s); mdev %s is left active: stop it by hand.",
                             strna(sentence), op->uuid) < 0)
                        note = NULL;
                start_finish_failure(op, note);
                return;
        }
        start_finish_failure(op, "The device was removed again.");
}

/* ---- stop / remove ---- */

static void stop_succeeded(struct op *op)
{
        struct manager *m = op->m;

        op->timer = sd_event_source_disable_unref(op->timer);
        (void)mdp_state_device_remove(m->state, op->uuid);
        (void)mdp_state_op_remove(m->state, op->uuid);
        (void)manager_save_state(m);
        log_device(LOG_INFO, op->uuid, "%s mdev %s (type %s on parent %s)%s.",
                   op->kind == OP_REMOVE ? "Removed" : "Stopped", op->uuid, op->type, op->parent,
                   op->replied ? " after its holder let go" : "");
        device_release_op(op, DEVICE_INACTIVE, NULL, true);
        manager_refresh_available(m, op->parent);
        op_reply_success(op);
        op_finish(op); /* may free op */
}

static void stop_failed(struct op *op, const char *name, int errnum, const char *message)
{
        op->timer = sd_event_source_disable_unref(op->timer);
        op_clear_intent(op);
        log_device(LOG_WARNING, op->uuid, "%s", message);
        device_release_op(op, DEVICE_ACTIVE, message, true);
        op_reply_error(op, name, message, errnum);
        op_finish(op);
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct op *op = userdata;

        op->timer = sd_event_source_disable_unref(op->timer);
        if (op->phase == PHASE_WAIT_GONE) {
                /* remove returned but the device is still listed: look once more. */
                struct manager *m = op->m;
                char uuid[MDP_UUID_STRING_MAX];
                uint64_t id = op->id;
                struct device *d;

                memcpy(uuid, op->uuid, sizeof(uuid));
                (void)manager_refresh_mdev(m, uuid);
                if (!op_still_running(m, uuid, id) || op->phase != PHASE_WAIT_GONE)
                        return 0; /* the refresh finished it */
                d = manager_get_device(m, uuid);
                if (!d || !d->mdev) {
                        stop_succeeded(op);
                        return 0;
                }
                _cleanup_free_ char *msg = NULL;
                if (asprintf(&msg,
                             "Cannot %s mdev %s: the kernel accepted the removal but the device was still "
                             "present after %u ms.",
                             op_verb(op), op->uuid, op->m->options.stop_timeout_ms) < 0)
                        msg = NULL;
                stop_failed(op, MDP_ERROR_TIMEOUT, -ETIMEDOUT, strna(msg));
                return 0;
        }
        /* The remove write is blocked in the kernel: find out who holds the device. */
        if (job_submit(op, &op->holders_job, JOB_HOLDERS) < 0) {
                op_reply_error(op, MDP_ERROR_BUSY, "The device is still in use; its holder is unknown.",
                               -EBUSY);
        }
        return 0;
}

static void holders_done(struct op *op, struct op_job *j)
{
        _cleanup_free_ char *msg = NULL;
        int r;

        if (op->replied || op->phase != PHASE_REMOVE)
                return;
        r = asprintf(
                &msg,
                "Cannot %s mdev %s now: it is still in use after %u ms (%s). The kernel keeps the removal "
                "pending and completes it as soon as the holder releases the device; stop the VM or the "
                "program that uses it.",
                op_verb(op), op->uuid, op->m->options.stop_timeout_ms,
                j->holders ? j->holders : "the holder could not be identified");
        log_device(LOG_WARNING, op->uuid, "%s", r < 0 ? "remove blocked" : msg);
        {
                struct device *d = manager_get_device(op->m, op->uuid);
                if (d) {
                        struct device_snapshot s;
                        device_begin(d, &s);
                        device_set_last_error(d, msg);
                        device_commit(d, &s);
                }
        }
        op_reply_error(op, MDP_ERROR_BUSY, r < 0 ? "The device is still in use." : msg, -EBUSY);
}

static void remove_done(struct op *op, struct op_job *j)
{
        _cleanup_free_ char *sentence = NULL, *msg = NULL;
        struct device *d;

        if (j->r == -EBUSY && j->holders) {
                if (asprintf(&msg,
                             "Cannot %s mdev %s: it is in use (%s). Nothing was changed; stop the VM or the "
                             "program that uses it first.",
                             op_verb(op), op->uuid, j->holders) < 0)
                        msg = NULL;
                stop_failed(op, MDP_ERROR_BUSY, -EBUSY, strna(msg));
                return;
        }
        if (j->r < 0) {
                sentence = mdp_mdev_error_message(&j->err);
                if (j->r == -ENOENT) {
                        /* Gone already (removed behind our back): that is what was asked. */
                        (void)manager_refresh_mdev(op->m, op->uuid);
                        stop_succeeded(op);
                        return;
                }
                stop_failed(op, mdp_mdev_error_dbus_name(&j->err), j->r, strna(sentence));
                return;
        }
        (void)manager_refresh_mdev(op->m, op->uuid);
        d = manager_get_device(op->m, op->uuid);
        if (!d || !d->mdev) {
                stop_succeeded(op);
                return;
        }
        op->phase = PHASE_WAIT_GONE;
        if (!op->timer)
                (void)arm_timer(op, op->m->options.stop_timeout_ms, on_stop_timeout);
}

static void job_done(struct work *w)
{
        struct op_job *j = (struct op_job *)w;
        struct op *op = j->op;

        j->running = false;
        if (op->detached && j->kind != JOB_REMOVE) {
                op_maybe_free(op);
                return;
        }
        switch (j->kind) {
        case JOB_CREATE:
                create_done(op, j);
                break;
        case JOB_ATTRS:
                attrs_done(op, j);
                break;
        case JOB_REMOVE:
                if (op->detached) {
                        op_maybe_free(op);
                        break;
                }
                if (op->phase == PHASE_UNDO)
                        undo_done(op, j);
                else
                        remove_done(op, j);
                break;
        case JOB_HOLDERS:
                holders_done(op, j);
                op_maybe_free(op);
                break;
        }
}

/* ---- queues ---- */

static void launch_next_create(struct manager *m, struct parent *p)
{
        struct op *op;

        while (!p->create_running && (op = p->create_queue_head)) {
                p->create_queue_head = op->queue_next;
                if (!p->create_queue_head)
                        p->create_queue_tail = NULL;
                op->queue_next = NULL;
                p->create_running = op;
                op->phase = PHASE_CREATE;
                if (job_submit(op, &op->job, JOB_CREATE) < 0) {
                        p->create_running = NULL;
                        start_fail(op, MDP_ERROR_KERNEL, -EAGAIN,
                                   step_message(op, 1, "writing the UUID to create",
                                                "no worker thread could be started."));
                }
        }
}

static void enqueue_create(struct manager *m, struct parent *p, struct op *op)
{
        op->phase = PHASE_QUEUED;
        if (p->create_queue_tail)
                p->create_queue_tail->queue_next = op;
        else
                p->create_queue_head = op;
        p->create_queue_tail = op;
        launch_next_create(m, p);
}

void op_parent_gone(struct manager *m, struct parent *p)
{
        struct op *op;

        while ((op = p->create_queue_head)) {
                _cleanup_free_ char *msg = NULL;

                p->create_queue_head = op->queue_next;
                op->queue_next = NULL;
                if (asprintf(&msg,
                             "Cannot %s mdev %s: parent %s unregistered before the device could be created. "
                             "Check that its driver is loaded (list parents with \"mdevpasidctl parents\").",
                             op_verb(op), op->uuid, op->parent) < 0)
                        msg = NULL;
                op->parent_gone = true;
                start_fail(op, MDP_ERROR_NO_SUCH_PARENT, -ENODEV, TAKE_PTR(msg));
        }
        p->create_queue_tail = NULL;
        if (p->create_running) {
                p->create_running->parent_gone = true;
                p->create_running = NULL;
        }
        /* Starts waiting for their device on this parent: the kernel removed the parent's
         * children before it unregistered, so the device will never appear. Fail them now,
         * naming the cause, rather than with a Timeout later. (Failing can free operations:
         * collect first.) */
        {
                _cleanup_free_ struct {
                        char uuid[MDP_UUID_STRING_MAX];
                        uint64_t id;
                } *waiting = NULL;
                size_t n = 0, cap = 0;

                for (struct op *o = all_ops; o; o = o->all_next) {
                        if (o->phase != PHASE_WAIT || o->detached || !streq_ptr(o->parent, p->name))
                                continue;
                        if (n == cap) {
                                void *nw = realloc(waiting, (cap = cap ? cap * 2 : 4) * sizeof(*waiting));
                                if (!nw)
                                        break;
                                waiting = nw;
                        }
                        memcpy(waiting[n].uuid, o->uuid, sizeof(o->uuid));
                        waiting[n++].id = o->id;
                }
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *msg = NULL;
                        struct device *d = manager_get_device(m, waiting[i].uuid);

                        if (!op_still_running(m, waiting[i].uuid, waiting[i].id))
                                continue;
                        op = d->op;
                        if (asprintf(&msg,
                                     "Cannot %s mdev %s: parent %s unregistered while the device was being "
                                     "created; the kernel removed it with its parent. Check that the "
                                     "parent's "
                                     "driver is loaded (list parents with \"mdevpasidctl parents\").",
                                     op_verb(op), op->uuid, op->parent) < 0)
                                msg = NULL;
                        op->parent_gone = true;
                        start_fail(op, MDP_ERROR_NO_SUCH_PARENT, -ENODEV, TAKE_PTR(msg));
                }
        }
}

void op_device_changed(struct device *d)
{
        struct op *op = d->op;

        if (!op)
                return;
        switch (op->phase) {
        case PHASE_WAIT:
                if (device_ready(op->m, op->uuid))
                        start_attrs(op);
                break;
        case PHASE_WAIT_GONE:
                if (!d->mdev)
                        stop_succeeded(op);
                break;
        default:
                break;
        }
}

/* ---- entry points ---- */

static int record_intent(struct manager *m, struct op *op, enum mdp_state_op_kind kind, sd_bus_error *error)
{
        int r;

        r = mdp_state_op_set(m->state, op->uuid, kind, op->parent, op->type, now_realtime_usec());
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Cannot record the operation: %s", strerror(-r));
        r = manager_save_state(m);
        if (r < 0) {
                (void)mdp_state_op_remove(m->state, op->uuid);
                return sd_bus_error_setf(error, MDP_ERROR_REFUSED,
                                         "Cannot %s mdev %s: the state file could not be written (%s), so a "
                                         "crash could not be recovered from. Nothing was changed; check "
                                         "/var/lib/mdevpasid.",
                                         op_verb(op), op->uuid, strerror(-r));
        }
        return 0;
}

static int check_parent_type(struct manager *m, const char *verb, const char *uuid, const char *parent,
                             const char *type, struct parent **ret, sd_bus_error *error)
{
        struct parent *p = manager_get_parent(m, parent);

        if (!p)
                return sd_bus_error_setf(error, MDP_ERROR_NO_SUCH_PARENT,
                                         "Cannot %s mdev %s: parent %s is not registered. Check that its "
                                         "driver is loaded (list parents with \"mdevpasidctl parents\").",
                                         verb, uuid, parent);
        if (!mdp_parent_find_type(p->record, type))
                return sd_bus_error_setf(error, MDP_ERROR_NO_SUCH_TYPE,
                                         "Cannot %s mdev %s: parent %s has no type %s. List its types with "
                                         "\"mdevpasidctl types -p %s\".",
                                         verb, uuid, parent, type, parent);
        *ret = p;
        return 0;
}

static int check_idle(struct device *d, const char *verb, sd_bus_error *error)
{
        if (!d || !d->op)
                return 0;
        return sd_bus_error_setf(error, MDP_ERROR_BUSY,
                                 "Cannot %s mdev %s: a %s of this device is in progress. Retry when it has "
                                 "finished.",
                                 verb, d->uuid, op_verb(d->op));
}

int op_start(struct manager *m, struct device *d, const struct mdp_definition *def, enum op_origin origin,
             sd_bus_message *message, op_done_fn done, void *userdata, sd_bus_error *error)
{
        struct device_snapshot s;
        struct parent *p;
        struct op *op;
        int r;

        r = check_idle(d, "start", error);
        if (r < 0)
                return r;
        if (d->mdev)
                return sd_bus_error_setf(error, MDP_ERROR_ALREADY_EXISTS,
                                         "mdev %s is already active (type %s on parent %s).", d->uuid,
                                         strna(d->mdev->type_id), strna(d->mdev->parent));
        r = check_parent_type(m, "start", d->uuid, def->parent, def->type, &p, error);
        if (r < 0)
                return r;
        op = op_new(m, OP_START, origin, d->uuid, def->parent, def->type, message);
        if (!op || op_copy_attrs(op, def->attrs, def->n_attrs) < 0) {
                op_free(op);
                return -ENOMEM;
        }
        op->done = done;
        op->userdata = userdata;
        r = record_intent(m, op, MDP_STATE_OP_START, error);
        if (r < 0) {
                op_free(op);
                return r;
        }
        log_device(LOG_INFO, d->uuid, "Starting mdev %s (type %s on parent %s).", d->uuid, def->type,
                   def->parent);
        device_begin(d, &s);
        d->op = op;
        d->state = DEVICE_STARTING;
        device_commit(d, &s);
        enqueue_create(m, p, op);
        return 0;
}

int op_create(struct manager *m, const char *uuid, const char *parent, const char *type,
              const struct mdp_attr *attrs, size_t n_attrs, sd_bus_message *message, sd_bus_error *error)
{
        struct device *d = manager_get_device(m, uuid);
        struct device_snapshot s;
        struct parent *p;
        struct op *op;
        int r;

        r = check_idle(d, "create", error);
        if (r < 0)
                return r;
        if (d && d->mdev)
                return sd_bus_error_setf(error, MDP_ERROR_ALREADY_EXISTS,
                                         "mdev %s is already active (type %s on parent %s). Choose another "
                                         "UUID, or pass \"\" to have one generated.",
                                         uuid, strna(d->mdev->type_id), strna(d->mdev->parent));
        if (d && d->n_defs > 0)
                return sd_bus_error_setf(error, MDP_ERROR_ALREADY_EXISTS,
                                         "mdev %s is defined (on parent %s): start it with Start, or choose "
                                         "another UUID for a transient device.",
                                         uuid, d->defs[0]->parent);
        r = check_parent_type(m, "create", uuid, parent, type, &p, error);
        if (r < 0)
                return r;
        op = op_new(m, OP_CREATE, OP_ORIGIN_BUS, uuid, parent, type, message);
        if (!op || op_copy_attrs(op, attrs, n_attrs) < 0) {
                op_free(op);
                return -ENOMEM;
        }
        r = record_intent(m, op, MDP_STATE_OP_CREATE, error);
        if (r < 0) {
                op_free(op);
                return r;
        }
        r = manager_ensure_device(m, uuid, &d);
        if (r < 0) {
                op_clear_intent(op);
                op_free(op);
                return r;
        }
        log_device(LOG_INFO, uuid, "Creating transient mdev %s (type %s on parent %s).", uuid, type, parent);
        device_begin(d, &s);
        d->op = op;
        d->state = DEVICE_STARTING;
        device_commit(d, &s);
        enqueue_create(m, p, op);
        return 0;
}

static int add_node(struct op *op, const char *prefix, const char *arg)
{
        if (asprintf(&op->nodes[op->n_nodes], "%s%s", prefix, arg) < 0) {
                op->nodes[op->n_nodes] = NULL;
                return -ENOMEM;
        }
        op->n_nodes++;
        return 0;
}

int op_stop(struct manager *m, struct device *d, enum op_origin origin, sd_bus_message *message,
            sd_bus_error *error)
{
        bool transient = d->n_defs == 0;
        struct device_snapshot s;
        struct op *op;
        int r;

        r = check_idle(d, transient ? "remove" : "stop", error);
        if (r < 0)
                return r;
        if (!d->mdev)
                return sd_bus_error_setf(
                        error, MDP_ERROR_NO_SUCH_DEVICE,
                        "mdev %s is not active. List active mdevs with \"mdevpasidctl list\".", d->uuid);
        op = op_new(m, transient ? OP_REMOVE : OP_STOP, origin, d->uuid, strna(d->mdev->parent),
                    strna(d->mdev->type_id), message);
        if (!op)
                return -ENOMEM;
        if ((d->mdev->vfio_group && add_node(op, "/dev/", d->mdev->vfio_group) < 0) ||
            (d->mdev->vfio_cdev && d->mdev->vfio_dev &&
             add_node(op, "/dev/vfio/devices/", d->mdev->vfio_dev) < 0)) {
                op_free(op);
                return -ENOMEM;
        }
        r = record_intent(m, op, transient ? MDP_STATE_OP_REMOVE : MDP_STATE_OP_STOP, error);
        if (r < 0) {
                op_free(op);
                return r;
        }
        log_device(LOG_INFO, d->uuid, "%s mdev %s (type %s on parent %s).",
                   transient ? "Removing" : "Stopping", d->uuid, op->type, op->parent);
        device_begin(d, &s);
        d->op = op;
        d->state = DEVICE_STOPPING;
        device_commit(d, &s);
        op->phase = PHASE_REMOVE;
        if (job_submit_full(op, &op->job, JOB_REMOVE, true) < 0) {
                stop_failed(op, MDP_ERROR_KERNEL, -EAGAIN,
                            "Cannot stop the mdev: no worker thread could be started.");
                return 0;
        }
        (void)arm_timer(op, m->options.stop_timeout_ms, on_stop_timeout);
        return 0;
}
