/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.mdevpasid1.Manager at /org/mdevpasid1 (conf/org.mdevpasid1.xml). Each method: read
 * arguments -> validate (InvalidArgs naming the value, before anything is touched) ->
 * authorize -> act -> reply (Start/Stop/Create/Remove reply when their operation ends). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-validate.h"
#include "iommu-decode.h"
#include "manager.h"
#include "mdev-backend.h"
#include "mdp-names.h"
#include "ops.h"
#include "snapshot.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "vms.h"

static int write_error(sd_bus_error *error, int r, const char *what, const char *uuid, const char *parent)
{
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "/etc/mdevctl.d/%s/%s", parent, uuid) < 0)
                path = NULL;
        return sd_bus_error_set_errnof(error, -r, "Cannot %s %s: %s.%s", what, strna(path), strerror(-r),
                                       r == -EROFS || r == -EACCES || r == -EPERM
                                               ? " Make /etc writable for mdevpasidd."
                                       : r == -ENOSPC ? " Free space on the file system."
                                                      : "");
}

/* ---- properties ---- */

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

/* Each decoded register field (IOMMU-SPEC.md §2.2-§2.4): "yes"/"no" for a bit, the value
 * for a wider field, "unknown" when the register could not be read. */
static int append_iommu_caps(sd_bus_message *reply, const struct mdp_iommu *iommu)
{
        _cleanup_free_ struct mdp_reg_field *fields = NULL;
        size_t n = 0;
        int r;

        r = mdp_iommu_decode_fields(&iommu->regs, &fields, &n);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{ss}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char buf[32];
                const char *v;
                bool dup = false;

                for (size_t k = 0; k < i && !dup; k++)
                        dup = streq(fields[k].name, fields[i].name);
                if (dup)
                        continue;
                if (fields[i].present == MDP_UNKNOWN)
                        v = "unknown";
                else if (fields[i].width == 1)
                        v = fields[i].present == MDP_YES ? "yes" : "no";
                else {
                        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)fields[i].value);
                        v = buf;
                }
                r = sd_bus_message_append(reply, "{ss}", fields[i].name, v);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_iommus(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        const struct mdp_iommu *iommus = NULL;
        size_t n = 0;
        int r;

        if (m->iommus)
                iommus = mdp_host_iommus(m->iommus, &n);
        r = sd_bus_message_open_container(reply, 'a', "(ssa{ss})");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_message_open_container(reply, 'r', "ssa{ss}");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "ss", iommus[i].name,
                                          mdp_iommu_family_to_string(iommus[i].family));
                if (r < 0)
                        return r;
                r = append_iommu_caps(reply, &iommus[i]);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_kernel_features(sd_bus *bus, const char *path, const char *interface,
                                        const char *property, sd_bus_message *reply, void *userdata,
                                        sd_bus_error *error)
{
        struct manager *m = userdata;
        const struct mdp_kernel_features *k = m->kernel;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{ss}");
        if (r < 0)
                return r;
        if (k) {
                r = sd_bus_message_append(
                        reply, "{ss}{ss}{ss}{ss}{ss}", "iommufd", mdp_tristate_to_string(k->iommufd),
                        "vfio_cdev", mdp_tristate_to_string(k->vfio_cdev), "vfio_container",
                        mdp_tristate_to_string(k->vfio_container), "release", k->release ? k->release : "",
                        "cmdline", k->cmdline ? k->cmdline : "");
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_warnings(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        char **w = manager_compute_warnings(m);
        int r;

        r = sd_bus_message_append_strv(reply, w);
        strv_free(w);
        return r;
}

static int property_get_autostart_progress(sd_bus *bus, const char *path, const char *interface,
                                           const char *property, sd_bus_message *reply, void *userdata,
                                           sd_bus_error *error)
{
        uint32_t done, failed, in_progress;

        autostart_progress(userdata, &done, &failed, &in_progress);
        return sd_bus_message_append(reply, "(uuu)", done, failed, in_progress);
}

/* ---- read methods ---- */

static int method_list_parents(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ struct parent **parents = NULL;
        struct manager *m = userdata;
        size_t n;
        int r;

        r = manager_sorted_parents(m, &parents, &n);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssssssi)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const struct mdp_parent *p = parents[i]->record;
                r = sd_bus_message_append(reply, "(ssssssi)", p->name, p->devpath ? p->devpath : "",
                                          p->driver ? p->driver : "", p->subsystem ? p->subsystem : "",
                                          p->pci_address ? p->pci_address : "", p->iommu ? p->iommu : "",
                                          (int32_t)p->iommu_group);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int append_parent_types(sd_bus_message *reply, const struct parent *p)
{
        int r;

        for (size_t i = 0; i < p->record->n_types; i++) {
                const struct mdp_type *t = &p->record->types[i];

                r = sd_bus_message_open_container(reply, 'r', "sssssxa{sv}");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "sssssx", p->name, t->id, t->name ? t->name : "",
                                          t->description ? t->description : "",
                                          t->device_api ? t->device_api : "",
                                          (int64_t)t->available_instances);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "a{sv}", t->error ? 3 : 2, "class", "s",
                                          mdp_mdev_class_to_string(t->class), "class_basis", "s",
                                          t->class_basis ? t->class_basis : "", "error", "s", t->error);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int method_list_types(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ struct parent **parents = NULL;
        struct manager *m = userdata;
        const char *parent;
        size_t n;
        int r;

        r = sd_bus_message_read(msg, "s", &parent);
        if (r < 0)
                return r;
        r = check_parent_name(parent, true, error);
        if (r < 0)
                return r;
        if (!isempty(parent) && !manager_get_parent(m, parent))
                return sd_bus_error_setf(error, MDP_ERROR_NO_SUCH_PARENT,
                                         "Parent %s is not registered. List parents with \"mdevpasidctl "
                                         "parents\".",
                                         parent);
        r = manager_sorted_parents(m, &parents, &n);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssssxa{sv})");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (!isempty(parent) && !streq(parent, parents[i]->name))
                        continue;
                r = append_parent_types(reply, parents[i]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

struct record_ref {
        const struct device *d;
        const struct mdp_definition *def;
        const char *parent;
        bool active;
};

static int compare_record(const void *a, const void *b)
{
        const struct record_ref *x = a, *y = b;
        int c = strcmp(x->parent, y->parent);

        return c ? c : strcmp(x->d->uuid, y->d->uuid);
}

/* The device records ListDevices(defined) and the snapshot give, sorted by parent, then
 * UUID. */
static int collect_device_records(struct manager *m, bool defined, struct record_ref **ret, size_t *ret_n)
{
        _cleanup_free_ struct record_ref *recs = NULL;
        size_t n_recs = 0, cap = 0;
        struct device *d;

        /* In the hashmap's order: the records are sorted once, at the end. */
        HASHMAP_FOREACH (d, m->devices, c) {
                size_t need = defined ? d->n_defs : (d->mdev ? 1 : 0);

                if (n_recs + need > cap) {
                        size_t ncap = MAX(cap * 2, n_recs + need + 16);
                        struct record_ref *nr = realloc(recs, ncap * sizeof(*nr));
                        if (!nr)
                                return -ENOMEM;
                        recs = nr;
                        cap = ncap;
                }
                if (defined) {
                        for (size_t k = 0; k < d->n_defs; k++)
                                recs[n_recs++] = (struct record_ref){
                                        .d = d,
                                        .def = d->defs[k],
                                        .parent = d->defs[k]->parent,
                                        .active = d->mdev && streq_ptr(d->mdev->parent, d->defs[k]->parent),
                                };
                } else if (d->mdev) {
                        recs[n_recs++] = (struct record_ref){
                                .d = d,
                                .def = device_definition_on(d, d->mdev->parent),
                                .parent = d->mdev->parent ? d->mdev->parent : "",
                                .active = true,
                        };
                }
        }
        if (n_recs > 1)
                qsort(recs, n_recs, sizeof(*recs), compare_record);
        *ret = TAKE_PTR(recs);
        *ret_n = n_recs;
        return 0;
}

static int method_list_devices(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ struct record_ref *recs = NULL;
        struct manager *m = userdata;
        size_t n_recs;
        int defined, r;

        r = sd_bus_message_read(msg, "b", &defined);
        if (r < 0)
                return r;
        r = collect_device_records(m, defined, &recs, &n_recs);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssbbsa(ss)a{sv})");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_recs; i++) {
                r = bus_append_device_record(reply, recs[i].d, recs[i].def, recs[i].active);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The family of a parent's IOMMU instance, as the Iommus property names it. */
static const char *parent_iommu_family(struct manager *m, const struct mdp_parent *p)
{
        const struct mdp_iommu *iommus = NULL;
        size_t n = 0;

        if (!p->iommu)
                return mdp_iommu_family_to_string(MDP_IOMMU_NONE);
        if (m->iommus)
                iommus = mdp_host_iommus(m->iommus, &n);
        for (size_t i = 0; i < n; i++)
                if (streq(iommus[i].name, p->iommu))
                        return mdp_iommu_family_to_string(iommus[i].family);
        return mdp_iommu_family_to_string(mdp_iommu_family_from_name(p->iommu));
}

static void snapshot_append_parents(struct strbuf *sb, struct manager *m, struct parent **parents, size_t n,
                                    unsigned sections)
{
        if (sections & MDP_SNAPSHOT_PARENTS)
                for (size_t i = 0; i < n; i++) {
                        const struct mdp_parent *p = parents[i]->record;

                        mdp_snapshot_record(sb, 'P', MDP_SNAPSHOT_PARENT_FIELDS);
                        mdp_snapshot_field(sb, p->name);
                        mdp_snapshot_field(sb, p->devpath);
                        mdp_snapshot_field(sb, p->driver);
                        mdp_snapshot_field(sb, p->subsystem);
                        mdp_snapshot_field(sb, p->pci_address);
                        mdp_snapshot_field(sb, p->iommu);
                        mdp_snapshot_field(sb, parent_iommu_family(m, p));
                        mdp_snapshot_field_int(sb, p->iommu_group);
                }
        if (sections & MDP_SNAPSHOT_TYPES)
                for (size_t i = 0; i < n; i++)
                        for (size_t k = 0; k < parents[i]->record->n_types; k++) {
                                const struct mdp_type *t = &parents[i]->record->types[k];

                                mdp_snapshot_record(sb, 'T', MDP_SNAPSHOT_TYPE_FIELDS);
                                mdp_snapshot_field(sb, parents[i]->name);
                                mdp_snapshot_field(sb, t->id);
                                mdp_snapshot_field(sb, t->name);
                                mdp_snapshot_field(sb, t->description);
                                mdp_snapshot_field(sb, t->device_api);
                                mdp_snapshot_field_int(sb, t->available_instances);
                                mdp_snapshot_field(sb, mdp_mdev_class_to_string(t->class));
                                mdp_snapshot_field(sb, t->class_basis);
                                mdp_snapshot_field(sb, t->error);
                        }
}

/* ---- the snapshot cache ----
 *
 * Rendering a snapshot of 1,000 devices is most of what `mdevpasidctl list` waits for, and
 * nothing in it changes while the daemon only answers reads. So each answer is kept, by
 * section set, until the event loop dispatches anything that is not a read-only method call:
 * a uevent, a worker's result, a timer, a signal, a polkit reply, any other method. That rule
 * needs no list of the places that change the model (any of them runs from some dispatched
 * event), only this list of calls that change nothing. A post source of the highest priority
 * runs right after every dispatched event, before the next one, and drops the cache unless
 * the bus filter marked that event read-only (sd-event dispatches one source per iteration;
 * sd-bus processes one message per dispatch). */

static bool read_only_call(sd_bus_message *msg)
{
        static const char *const manager_reads[] = {"Snapshot", "ListParents", "ListTypes", "ListDevices",
                                                    "Describe", "ListVms"};
        const char *iface = sd_bus_message_get_interface(msg), *member = sd_bus_message_get_member(msg);

        if (!sd_bus_message_is_method_call(msg, NULL, NULL) || !iface || !member)
                return false;
        if (streq(iface, MDP_IFACE_MANAGER)) {
                for (size_t i = 0; i < ELEMENTSOF(manager_reads); i++)
                        if (streq(member, manager_reads[i]))
                                return true;
                return false;
        }
        return streq(iface, "org.freedesktop.DBus.Peer") || streq(iface, "org.freedesktop.DBus.Introspectable") ||
               (streq(iface, "org.freedesktop.DBus.Properties") && !streq(member, "Set")) ||
               (streq(iface, "org.freedesktop.DBus.ObjectManager") && streq(member, "GetManagedObjects"));
}

static int snapshot_filter(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;

        m->dispatch_read_only = read_only_call(msg);
        return 0;
}

void manager_snapshot_cache_clear(struct manager *m)
{
        for (size_t i = 0; i < ELEMENTSOF(m->snapshot_cache); i++)
                strbuf_done(&m->snapshot_cache[i]);
}

static int snapshot_post(sd_event_source *s, void *userdata)
{
        struct manager *m = userdata;

        if (!m->dispatch_read_only)
                manager_snapshot_cache_clear(m);
        m->dispatch_read_only = false;
        return 0;
}

static int snapshot_cache_install(struct manager *m)
{
        int r;

        r = sd_bus_add_filter(m->bus, NULL, snapshot_filter, m);
        if (r < 0)
                return r;
        r = sd_event_add_post(m->event, &m->snapshot_post, snapshot_post, m);
        if (r < 0)
                return r;
        return sd_event_source_set_priority(m->snapshot_post, INT64_MIN);
}

static void snapshot_render(struct manager *m, unsigned sections, struct strbuf *sb)
{
        mdp_snapshot_begin(sb);
        if (sections & (MDP_SNAPSHOT_PARENTS | MDP_SNAPSHOT_TYPES)) {
                _cleanup_free_ struct parent **parents = NULL;
                size_t n;

                if (manager_sorted_parents(m, &parents, &n) < 0) {
                        sb->oom = true;
                        return;
                }
                snapshot_append_parents(sb, m, parents, n, sections);
        }
        for (int defined = 0; defined <= 1; defined++) {
                _cleanup_free_ struct record_ref *recs = NULL;
                size_t n;

                if (!(sections & (defined ? MDP_SNAPSHOT_DEFINITIONS : MDP_SNAPSHOT_DEVICES)))
                        continue;
                if (collect_device_records(m, defined, &recs, &n) < 0) {
                        sb->oom = true;
                        return;
                }
                for (size_t i = 0; i < n; i++)
                        snapshot_append_device(sb, defined ? 'd' : 'D', recs[i].d, recs[i].def, recs[i].active);
        }
}

static int method_snapshot(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct manager *m = userdata;
        unsigned sections = 0;
        const char *name;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "s");
        while (r >= 0 && (r = sd_bus_message_read(msg, "s", &name)) > 0) {
                unsigned s = mdp_snapshot_section_from_string(name);
                if (s == 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown snapshot section \"%.64s\": use parents, types, devices "
                                                 "or definitions (none: all four).",
                                                 name);
                sections |= s;
        }
        if (r < 0)
                return r;
        if (sections == 0)
                sections = MDP_SNAPSHOT_ALL;
        /* A rendered snapshot is never empty (it starts with the magic): buf says "cached". */
        if (!m->snapshot_cache[sections].buf) {
                snapshot_render(m, sections, &m->snapshot_cache[sections]);
                if (m->snapshot_cache[sections].oom) {
                        strbuf_done(&m->snapshot_cache[sections]);
                        return -ENOMEM;
                }
        }
        /* A memfd of its own for each caller: a shared one would share its file offset. */
        fd = mdp_snapshot_to_memfd(&m->snapshot_cache[sections]);
        if (fd < 0)
                return sd_bus_error_set_errnof(error, fd, "Cannot write the snapshot into a memfd: %m");
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "h", fd); /* sd-bus sends a duplicate */
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_describe(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *json = NULL;
        int r;

        r = manager_describe(userdata, &json);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "s", json);
}

/* ---- definitions ---- */

static int method_define(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(attr_list_done) struct attr_list attrs = {0};
        _cleanup_(mdp_definition_freep) struct mdp_definition *def = NULL;
        struct manager *m = userdata;
        const char *parent, *type, *uuid_arg;
        char uuid[MDP_UUID_STRING_MAX];
        struct device *d;
        struct parent *p;
        int autostart, r;

        r = sd_bus_message_read(msg, "sssb", &parent, &type, &uuid_arg, &autostart);
        if (r < 0)
                return r;
        r = read_attrs(msg, &attrs, error);
        if (r < 0)
                return r;
        r = read_no_options(msg, "Define", error);
        if (r < 0)
                return r;
        r = check_parent_name(parent, true, error);
        if (r < 0)
                return r;
        r = check_type_name(type, true, error);
        if (r < 0)
                return r;
        r = parse_uuid(uuid_arg, true, uuid, error);
        if (r < 0)
                return r;
        r = authz_check(m, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */

        if (!uuid[0]) {
                r = mdp_uuid_generate(uuid);
                if (r < 0)
                        return r;
        }
        (void)manager_refresh_definitions(m, uuid);
        d = manager_get_device(m, uuid);
        if (isempty(parent)) {
                /* mdevctl's "define -u U": the running device as it is. */
                if (!d || !d->mdev || !d->mdev->parent)
                        return sd_bus_error_setf(
                                error, MDP_ERROR_INVALID_ARGS,
                                "Cannot define mdev %s: no parent given and the device is not "
                                "active. Name the parent and the type.",
                                uuid);
                parent = d->mdev->parent;
        }
        if (isempty(type)) {
                if (!d || !d->mdev || !streq_ptr(d->mdev->parent, parent) || !d->mdev->type_id)
                        return sd_bus_error_setf(error, MDP_ERROR_INVALID_ARGS,
                                                 "Cannot define mdev %s on parent %s: no type given and the "
                                                 "device is not active there. Name the type.",
                                                 uuid, parent);
                type = d->mdev->type_id;
        }
        if (d && device_definition_on(d, parent))
                return sd_bus_error_setf(
                        error, MDP_ERROR_ALREADY_EXISTS,
                        "mdev %s is already defined on parent %s. Change it with Modify, or "
                        "Undefine it first.",
                        uuid, parent);
        p = manager_get_parent(m, parent);
        if (p && !mdp_parent_find_type(p->record, type))
                return sd_bus_error_setf(
                        error, MDP_ERROR_NO_SUCH_TYPE,
                        "Cannot define mdev %s: parent %s has no type %s. List its types with "
                        "\"mdevpasidctl types -p %s\".",
                        uuid, parent, type, parent);
        r = mdp_definition_new(parent, uuid, type, autostart, &def);
        if (r < 0)
                return r;
        for (size_t i = 0; i < attrs.n; i++) {
                r = mdp_definition_add_attr(def, attrs.attrs[i].name, attrs.attrs[i].value, -1);
                if (r < 0)
                        return r;
        }
        r = mdp_definition_save(m->ctx, def);
        if (r < 0)
                return write_error(error, r, "write definition file", uuid, parent);
        log_device(LOG_INFO, uuid, "Defined mdev %s (type %s on parent %s, %s start).", uuid, type, parent,
                   autostart ? "auto" : "manual");
        r = manager_set_definition(m, uuid, parent, TAKE_PTR(def));
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "s", uuid);
}

static int method_undefine(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        const char *uuid_arg, *parent;
        char uuid[MDP_UUID_STRING_MAX];
        _cleanup_strv_free_ char **parents = NULL;
        size_t n = 0;
        struct device *d;
        int r;

        r = sd_bus_message_read(msg, "ss", &uuid_arg, &parent);
        if (r < 0)
                return r;
        r = parse_uuid(uuid_arg, false, uuid, error);
        if (r < 0)
                return r;
        r = check_parent_name(parent, true, error);
        if (r < 0)
                return r;
        r = authz_check(m, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */

        (void)manager_refresh_definitions(m, uuid);
        d = manager_get_device(m, uuid);
        parents = calloc((d ? d->n_defs : 0) + 1, sizeof(char *));
        if (!parents)
                return -ENOMEM;
        for (size_t i = 0; d && i < d->n_defs; i++)
                if (isempty(parent) || streq(parent, d->defs[i]->parent)) {
                        parents[n] = strdup(d->defs[i]->parent);
                        if (!parents[n])
                                return -ENOMEM;
                        n++;
                }
        if (n == 0)
                return sd_bus_error_setf(error, MDP_ERROR_NO_SUCH_DEVICE,
                                         isempty(parent)
                                                 ? "mdev %s is not defined%s%s. List definitions with "
                                                   "\"mdevpasidctl list --defined\"."
                                                 : "mdev %s is not defined on parent %s. List definitions "
                                                   "with \"mdevpasidctl list --defined\".",
                                         uuid, isempty(parent) ? "" : parent, "");
        for (size_t i = 0; i < n; i++) {
                r = mdp_definition_remove(m->ctx, parents[i], uuid);
                if (r < 0 && r != -ENOENT) {
                        (void)manager_refresh_definitions(m, uuid);
                        return write_error(error, r, "remove definition file", uuid, parents[i]);
                }
                log_device(LOG_INFO, uuid, "Undefined mdev %s on parent %s.", uuid, parents[i]);
        }
        (void)manager_refresh_definitions(m, uuid);
        return sd_bus_reply_method_return(msg, NULL);
}

/* The one definition of uuid a call means: on parent, or the only one. */
static int find_definition(struct manager *m, const char *verb, const char *uuid, const char *parent,
                           struct device **ret_d, const struct mdp_definition **ret_def, sd_bus_error *error)
{
        struct device *d = manager_get_device(m, uuid);
        const struct mdp_definition *def = NULL;

        if (d && !isempty(parent))
                def = device_definition_on(d, parent);
        else if (d && d->n_defs == 1)
                def = d->defs[0];
        else if (d && d->n_defs > 1) {
                struct strbuf sb = {0};
                _cleanup_free_ char *list = NULL;

                for (size_t i = 0; i < d->n_defs; i++)
                        strbuf_printf(&sb, "%s%s", i ? ", " : "", d->defs[i]->parent);
                list = strbuf_steal(&sb);
                return sd_bus_error_setf(
                        error, MDP_ERROR_INVALID_ARGS,
                        "Cannot %s mdev %s: it is defined on several parents (%s). Name the "
                        "parent.",
                        verb, uuid, strna(list));
        }
        if (!def) {
                if (!isempty(parent))
                        return sd_bus_error_setf(error, MDP_ERROR_NO_SUCH_DEVICE,
                                                 "Cannot %s mdev %s: it is not defined on parent %s. List "
                                                 "definitions with \"mdevpasidctl list --defined\".",
                                                 verb, uuid, parent);
                return sd_bus_error_setf(
                        error, MDP_ERROR_NO_SUCH_DEVICE,
                        "Cannot %s mdev %s: it is not defined. Define it first%s.", verb, uuid,
                        streq(verb, "start") ? ", or create a transient device with Create" : "");
        }
        *ret_d = d;
        *ret_def = def;
        return 0;
}

static int method_modify(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(changes_done) struct changes c = {0};
        _cleanup_(mdp_definition_freep) struct mdp_definition *nd = NULL;
        struct manager *m = userdata;
        const char *uuid_arg, *parent;
        const struct mdp_definition *def;
        char uuid[MDP_UUID_STRING_MAX];
        struct device *d;
        int r;

        r = sd_bus_message_read(msg, "ss", &uuid_arg, &parent);
        if (r < 0)
                return r;
        r = parse_uuid(uuid_arg, false, uuid, error);
        if (r < 0)
                return r;
        r = check_parent_name(parent, true, error);
        if (r < 0)
                return r;
        r = read_changes(msg, &c, error);
        if (r < 0)
                return r;
        r = authz_check(m, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */

        (void)manager_refresh_definitions(m, uuid);
        r = find_definition(m, "modify", uuid, parent, &d, &def, error);
        if (r < 0)
                return r;
        nd = mdp_definition_copy(def);
        if (!nd)
                return -ENOMEM;
        if (c.set[CHANGE_TYPE]) {
                struct parent *p = manager_get_parent(m, nd->parent);
                if (p && !mdp_parent_find_type(p->record, c.type))
                        return sd_bus_error_setf(error, MDP_ERROR_NO_SUCH_TYPE,
                                                 "Cannot modify mdev %s: parent %s has no type %s. List its "
                                                 "types with \"mdevpasidctl types -p %s\".",
                                                 uuid, nd->parent, c.type, nd->parent);
                free(nd->type);
                nd->type = TAKE_PTR(c.type);
        }
        if (c.set[CHANGE_START]) {
                nd->autostart = streq(c.start, "auto");
                free(nd->start_unusual);
                nd->start_unusual = NULL;
        }
        if (c.set[CHANGE_ATTRS]) {
                while (nd->n_attrs > 0)
                        (void)mdp_definition_del_attr(nd, -1);
                for (size_t i = 0; i < c.attrs.n; i++) {
                        r = mdp_definition_add_attr(nd, c.attrs.attrs[i].name, c.attrs.attrs[i].value, -1);
                        if (r < 0)
                                return r;
                }
        }
        if (c.set[CHANGE_DEL_ATTR]) {
                r = mdp_definition_del_attr(nd, c.del_index);
                if (r < 0)
                        return sd_bus_error_setf(
                                error, MDP_ERROR_INVALID_ARGS,
                                "Cannot modify mdev %s: attribute index %d is invalid; the "
                                "definition has %zu attribute%s (indexes 0 to %zd, or -1 for "
                                "the last).",
                                uuid, (int)c.del_index, nd->n_attrs, nd->n_attrs == 1 ? "" : "s",
                                (ssize_t)nd->n_attrs - 1);
        }
        if (c.set[CHANGE_ADD_ATTR]) {
                r = mdp_definition_add_attr(nd, c.add_name, c.add_value, c.add_index);
                if (r == -ERANGE)
                        return sd_bus_error_setf(
                                error, MDP_ERROR_INVALID_ARGS,
                                "Cannot modify mdev %s: attribute index %d is invalid; the "
                                "definition has %zu attribute%s (insert before 0 to %zu, or -1 "
                                "to append).",
                                uuid, (int)c.add_index, nd->n_attrs, nd->n_attrs == 1 ? "" : "s",
                                nd->n_attrs);
                if (r < 0)
                        return r;
        }
        r = mdp_definition_save(m->ctx, nd);
        if (r < 0)
                return write_error(error, r, "write definition file", uuid, nd->parent);
        log_device(LOG_INFO, uuid, "Modified the definition of mdev %s on parent %s.", uuid, nd->parent);
        {
                _cleanup_free_ char *p = strdup(nd->parent);
                if (!p)
                        return -ENOMEM;
                r = manager_set_definition(m, uuid, p, TAKE_PTR(nd));
                if (r < 0)
                        return r;
        }
        return sd_bus_reply_method_return(msg, NULL);
}

/* ---- lifecycle ---- */

static int method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        const char *uuid_arg, *parent;
        const struct mdp_definition *def;
        char uuid[MDP_UUID_STRING_MAX];
        struct device *d;
        int r;

        r = sd_bus_message_read(msg, "ss", &uuid_arg, &parent);
        if (r < 0)
                return r;
        r = parse_uuid(uuid_arg, false, uuid, error);
        if (r < 0)
                return r;
        r = check_parent_name(parent, true, error);
        if (r < 0)
                return r;
        r = authz_check(m, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */

        (void)manager_refresh_definitions(m, uuid);
        r = find_definition(m, "start", uuid, parent, &d, &def, error);
        if (r < 0)
                return r;
        r = op_start(m, d, def, OP_ORIGIN_BUS, msg, NULL, NULL, error);
        if (r < 0)
                return r;
        return 1; /* the reply comes when the operation ends */
}

static int stop_or_remove(sd_bus_message *msg, struct manager *m, bool remove, sd_bus_error *error)
{
        const char *uuid_arg;
        char uuid[MDP_UUID_STRING_MAX];
        struct device *d;
        int r;

        r = sd_bus_message_read(msg, "s", &uuid_arg);
        if (r < 0)
                return r;
        r = parse_uuid(uuid_arg, false, uuid, error);
        if (r < 0)
                return r;
        r = authz_check(m, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */

        if (remove)
                (void)manager_refresh_definitions(m, uuid);
        d = manager_get_device(m, uuid);
        if (!d || !d->mdev) {
                if (d && d->op)
                        return sd_bus_error_setf(
                                error, MDP_ERROR_BUSY,
                                "Cannot %s mdev %s: it is being started. Retry when the start "
                                "has finished.",
                                remove ? "remove" : "stop", uuid);
                return sd_bus_error_setf(error, MDP_ERROR_NO_SUCH_DEVICE,
                                         "Cannot %s mdev %s: it is not active. List active mdevs with "
                                         "\"mdevpasidctl list\".",
                                         remove ? "remove" : "stop", uuid);
        }
        if (remove && d->n_defs > 0)
                return sd_bus_error_setf(
                        error, MDP_ERROR_INVALID_ARGS,
                        "Cannot remove mdev %s: it is defined (on parent %s). Use Stop, which "
                        "keeps its definition, and Undefine to drop the definition.",
                        uuid, d->defs[0]->parent);
        r = op_stop(m, d, OP_ORIGIN_BUS, msg, error);
        if (r < 0)
                return r;
        return 1;
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return stop_or_remove(msg, userdata, false, error);
}

static int method_remove(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return stop_or_remove(msg, userdata, true, error);
}

static int method_create(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(attr_list_done) struct attr_list attrs = {0};
        struct manager *m = userdata;
        const char *parent, *type, *uuid_arg;
        char uuid[MDP_UUID_STRING_MAX];
        int r;

        r = sd_bus_message_read(msg, "sss", &parent, &type, &uuid_arg);
        if (r < 0)
                return r;
        r = read_attrs(msg, &attrs, error);
        if (r < 0)
                return r;
        r = read_no_options(msg, "Create", error);
        if (r < 0)
                return r;
        r = check_parent_name(parent, false, error);
        if (r < 0)
                return r;
        r = check_type_name(type, false, error);
        if (r < 0)
                return r;
        r = parse_uuid(uuid_arg, true, uuid, error);
        if (r < 0)
                return r;
        r = authz_check(m, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */

        if (!uuid[0]) {
                r = mdp_uuid_generate(uuid);
                if (r < 0)
                        return r;
        }
        (void)manager_refresh_definitions(m, uuid);
        r = op_create(m, uuid, parent, type, attrs.attrs, attrs.n, msg, error);
        if (r < 0)
                return r;
        return 1;
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *problem = NULL;
        struct manager *m = userdata;
        int r;

        r = authz_check(m, msg, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: decided later, the call is dispatched again */
        r = manager_reload(m, &problem);
        if (r < 0) {
                if (problem)
                        return sd_bus_error_setf(error, MDP_ERROR_INVALID_CONFIG, "%s", problem);
                return r;
        }
        return sd_bus_reply_method_return(msg, NULL);
}

/* Authorization is done per call (authz.c) so every method is reachable by everyone at
 * the bus level, as the bus policy says. */
#define OPEN SD_BUS_VTABLE_UNPRIVILEGED

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Iommus", "a(ssa{ss})", property_get_iommus, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("KernelFeatures", "a{ss}", property_get_kernel_features, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Warnings", "as", property_get_warnings, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AutostartProgress", "(uuu)", property_get_autostart_progress, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ListParents", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssssssi)", parents),
                                method_list_parents, OPEN),
        SD_BUS_METHOD_WITH_ARGS("ListTypes", SD_BUS_ARGS("s", parent),
                                SD_BUS_RESULT("a(sssssxa{sv})", types), method_list_types, OPEN),
        SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_ARGS("b", defined),
                                SD_BUS_RESULT("a(sssbbsa(ss)a{sv})", devices), method_list_devices, OPEN),
        SD_BUS_METHOD_WITH_ARGS("Snapshot", SD_BUS_ARGS("as", sections), SD_BUS_RESULT("h", snapshot),
                                method_snapshot, OPEN),
        SD_BUS_METHOD_WITH_ARGS("Define",
                                SD_BUS_ARGS("s", parent, "s", type, "s", uuid, "b", autostart, "a(ss)",
                                            attrs, "a{sv}", options),
                                SD_BUS_RESULT("s", defined_uuid), method_define, OPEN),
        SD_BUS_METHOD_WITH_ARGS("Undefine", SD_BUS_ARGS("s", uuid, "s", parent), SD_BUS_NO_RESULT,
                                method_undefine, OPEN),
        SD_BUS_METHOD_WITH_ARGS("Modify", SD_BUS_ARGS("s", uuid, "s", parent, "a{sv}", changes),
                                SD_BUS_NO_RESULT, method_modify, OPEN),
        SD_BUS_METHOD_WITH_ARGS("Start", SD_BUS_ARGS("s", uuid, "s", parent), SD_BUS_NO_RESULT, method_start,
                                OPEN),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_ARGS("s", uuid), SD_BUS_NO_RESULT, method_stop, OPEN),
        SD_BUS_METHOD_WITH_ARGS(
                "Create", SD_BUS_ARGS("s", parent, "s", type, "s", uuid, "a(ss)", attrs, "a{sv}", options),
                SD_BUS_RESULT("s", created_uuid), method_create, OPEN),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_ARGS("s", uuid), SD_BUS_NO_RESULT, method_remove, OPEN),
        SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json), method_describe, OPEN),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload, OPEN),
        SD_BUS_METHOD_WITH_ARGS("PlanVm", SD_BUS_ARGS("s", name, "a{sv}", request), SD_BUS_RESULT("a{sv}", plan),
                                method_plan_vm, OPEN),
        SD_BUS_METHOD_WITH_ARGS("AttachVm", SD_BUS_ARGS("s", name, "a{sv}", request), SD_BUS_RESULT("a{sv}", plan),
                                method_attach_vm, OPEN),
        SD_BUS_METHOD_WITH_ARGS("DetachVm", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_detach_vm, OPEN),
        SD_BUS_METHOD_WITH_ARGS("ListVms", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssas)", vms), method_list_vms, OPEN),
        SD_BUS_METHOD_WITH_ARGS("AllocatePasids", SD_BUS_ARGS("s", vm, "s", uuid, "u", count),
                                SD_BUS_RESULT("au", pasids), method_allocate_pasids, OPEN),
        SD_BUS_METHOD_WITH_ARGS("FreePasids", SD_BUS_ARGS("s", vm, "au", pasids), SD_BUS_NO_RESULT,
                                method_free_pasids, OPEN),
        SD_BUS_VTABLE_END,
};

int manager_connect_bus(struct manager *m)
{
        int r;

        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the system bus: %m");
        (void)sd_bus_set_description(m->bus, "mdevpasidd");
        /* Before any object: no method call is dispatched without passing the table. */
        r = authz_install(m);
        if (r < 0)
                return log_error_errno(r, "Cannot install the authorization filter: %m");
        r = snapshot_cache_install(m);
        if (r < 0)
                return log_error_errno(r, "Cannot install the snapshot cache's filter: %m");
        /* Register objects first, then take the name (STYLE.md "D-Bus"). */
        r = sd_bus_add_object_vtable(m->bus, NULL, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Cannot register %s: %m", MDP_OBJECT_ROOT);
        r = sd_bus_add_fallback_vtable(m->bus, NULL, MDP_OBJECT_PARENTS, MDP_IFACE_PARENT, parent_vtable,
                                       bus_parent_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, NULL, MDP_OBJECT_PARENTS, bus_parent_enumerate, m);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(m->bus, NULL, MDP_OBJECT_DEVICES, MDP_IFACE_DEVICE,
                                               device_vtable, bus_device_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, NULL, MDP_OBJECT_DEVICES, bus_device_enumerate, m);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(m->bus, NULL, MDP_OBJECT_VMS, MDP_IFACE_VM, vm_vtable, bus_vm_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, NULL, MDP_OBJECT_VMS, bus_vm_enumerate, m);
        if (r >= 0)
                r = sd_bus_add_object_manager(m->bus, NULL, MDP_OBJECT_ROOT);
        if (r < 0)
                return log_error_errno(r, "Cannot register the bus objects: %m");
        r = sd_bus_request_name(m->bus, MDP_BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(r,
                                       "The bus name %s is owned by another process: is mdevpasidd running "
                                       "already?",
                                       MDP_BUS_NAME);
        if (r < 0)
                return log_error_errno(
                        r, "Cannot own the bus name %s: %m (the bus policy lets only root own it)",
                        MDP_BUS_NAME);
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        /* A lost bus is fatal: systemd restarts us. */
        (void)sd_bus_set_exit_on_disconnect(m->bus, true);
        m->bus_ready = true;
        return 0;
}
