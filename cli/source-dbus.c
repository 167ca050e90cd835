/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon source: the read verbs' records from mdevpasidd over D-Bus
 * (conf/org.mdevpasid1.xml). Parents, types and devices come in one Snapshot call: a sealed
 * memfd the records point into (lib/snapshot.h), mapped until the source is freed, so a
 * listing costs one round trip and no per-record decoding whatever the number of mdevs. The
 * Device objects' other properties come through GetManagedObjects only for --json, which
 * shows them all; strings from replies point into the messages, kept as long as the source.
 *
 * The IOMMU register table stays a sysfs read: the Manager's Iommus property carries the
 * decoded fields but not the raw registers the table shows, and the registers are the same
 * world-readable files the daemon reads. Kernel features come from the daemon. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "client.h"
#include "mdp-names.h"
#include "snapshot.h"
#include "source.h"
#include "util/log.h"

struct dbus_source {
        struct cli_source base;
        sd_bus *bus;
        unsigned flags;
        struct cli_source *sysfs; /* IOMMU registers, opened on first use */
        sd_bus_message **msgs;    /* replies the records point into */
        size_t n_msgs;
        struct snapshot_map {
                const void *data;
                size_t size;
        } *maps; /* snapshots the records point into */
        size_t n_maps;
};

#define SOURCE(s) ((struct dbus_source *)(s))

/* Room for one more element in an array grown chunk elements at a time. */
static int grow(void **array, size_t n, size_t chunk, size_t size)
{
        void *a;

        if (n % chunk != 0)
                return 0;
        a = realloc(*array, (n + chunk) * size);
        if (!a)
                return -ENOMEM;
        *array = a;
        return 0;
}

static int keep_msg(struct dbus_source *s, sd_bus_message *m)
{
        sd_bus_message **a = realloc(s->msgs, (s->n_msgs + 1) * sizeof(*a));

        if (!a)
                return -ENOMEM;
        s->msgs = a;
        s->msgs[s->n_msgs++] = sd_bus_message_ref(m);
        return 0;
}

static void dbus_free(struct cli_source *base)
{
        struct dbus_source *s = SOURCE(base);

        for (size_t i = 0; i < s->n_msgs; i++)
                sd_bus_message_unref(s->msgs[i]);
        free(s->msgs);
        for (size_t i = 0; i < s->n_maps; i++)
                munmap((void *)s->maps[i].data, s->maps[i].size);
        free(s->maps);
        cli_source_free(s->sysfs);
        sd_bus_flush_close_unref(s->bus);
        free(s);
}

static const char *nonempty(const char *s)
{
        return isempty(s) ? NULL : s;
}

/* Calls a read method; errors are logged as sentences and returned. */
static int call(struct dbus_source *s, const char *member, sd_bus_message **reply, const char *types, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = mdp_client_new_call(s->bus, NULL, NULL, member, &m);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = mdp_client_send(s->bus, m, MDP_CLIENT_TIMEOUT_READ_USEC, &e, reply);
        sd_bus_message_unref(m);
        if (r < 0)
                return cli_call_failed(&e, r, "ask mdevpasidd (%s)", member);
        return r;
}

static int bad_reply(int r, const char *member)
{
        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        return log_error_errno(r,
                               "mdevpasidd's answer to %s does not have the expected shape (%m); "
                               "is it the same version as mdevpasidctl?",
                               member);
}

/* ---- the snapshot ---- */

/* Asks for a snapshot of one section, or two (and_section may be NULL), and maps it; the
 * mapping lives as long as the source. Errors are logged. */
static int snapshot(struct dbus_source *s, const char *section, const char *and_section,
                    struct mdp_snapshot_reader *rd)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct snapshot_map *maps;
        const void *data;
        size_t size;
        int fd, r;

        r = call(s, "Snapshot", &reply, "as", and_section ? 2u : 1u, section, and_section);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return bad_reply(r, "Snapshot");
        r = mdp_snapshot_map(fd, &data, &size);
        if (r < 0)
                return log_error_errno(r,
                                       "Cannot read the snapshot mdevpasidd sent (%m): it must be a sealed, "
                                       "non-empty memfd; is mdevpasidd the same version as mdevpasidctl?");
        maps = realloc(s->maps, (s->n_maps + 1) * sizeof(*maps));
        if (!maps) {
                munmap((void *)data, size);
                return log_error_errno(-ENOMEM, "out of memory");
        }
        s->maps = maps;
        s->maps[s->n_maps++] = (struct snapshot_map){data, size};
        r = mdp_snapshot_reader_init(rd, data, size);
        if (r < 0)
                return bad_reply(r, "Snapshot");
        return 0;
}

/* Whether an array is sorted already (the daemon sends its records sorted): then it is not
 * sorted again, which at 16,000 types costs more than reading them. */
static bool sorted(const void *base, size_t n, size_t size, int (*compare)(const void *, const void *))
{
        for (size_t i = 1; i < n; i++)
                if (compare((const char *)base + (i - 1) * size, (const char *)base + i * size) > 0)
                        return false;
        return true;
}

static void sort(void *base, size_t n, size_t size, int (*compare)(const void *, const void *))
{
        if (n > 1 && !sorted(base, n, size, compare))
                qsort(base, n, size, compare);
}

/* ---- parents and types ---- */

static int type_compare(const void *a, const void *b)
{
        const struct cli_type *x = a, *y = b;
        int c = strcmp(x->parent, y->parent);
        return c ? c : strcmp(x->id, y->id);
}

static int parent_compare(const void *a, const void *b)
{
        return strcmp(((const struct cli_parent *)a)->name, ((const struct cli_parent *)b)->name);
}

/* The active devices give each type its live instances (sorted: the records come sorted
 * by parent, then UUID). */
static int fill_instances(struct dbus_source *s, struct cli_type *types, size_t n_types)
{
        const struct cli_device *devs;
        struct cli_device_query q = {0};
        size_t n;
        int r;

        r = cli_source_devices(&s->base, &q, &devs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct cli_type key = {.parent = devs[i].parent, .id = devs[i].type}, *t;
                char **v;

                t = bsearch(&key, types, n_types, sizeof(*types), type_compare);
                if (!t)
                        continue;
                v = realloc((char **)t->instances, (t->n_instances + 1) * sizeof(char *));
                if (!v)
                        return -ENOMEM;
                v[t->n_instances++] = (char *)devs[i].uuid;
                t->instances = v;
        }
        for (size_t i = 0; i < n_types; i++)
                if (types[i].instances && !cli_source_keep(&s->base, (void *)types[i].instances))
                        return -ENOMEM;
        return 0;
}

static int dbus_parents(struct cli_source *base, const char *only_parent, const struct cli_parent **ret,
                        size_t *ret_n)
{
        struct dbus_source *s = SOURCE(base);
        struct mdp_snapshot_reader rd;
        struct mdp_snapshot_record rec;
        struct cli_parent *parents = NULL;
        struct cli_type *types = NULL;
        size_t n = 0, n_types = 0;
        int r;

        *ret = NULL;
        *ret_n = 0;
        r = snapshot(s, "parents", "types", &rd);
        if (r < 0)
                return r;
        while ((r = mdp_snapshot_next(&rd, &rec)) > 0) {
                const char *const *f = rec.field;
                int64_t num;

                if (rec.tag != 'P' && rec.tag != 'T')
                        continue;
                if (only_parent && !streq(only_parent, f[0]))
                        continue;
                r = mdp_snapshot_int(f[rec.tag == 'P' ? 7 : 5], &num);
                if (r < 0)
                        break;
                if (rec.tag == 'P') {
                        r = grow((void **)&parents, n, 64, sizeof(*parents));
                        if (r < 0)
                                break;
                        parents[n++] = (struct cli_parent){
                                .name = f[0],
                                .devpath = nonempty(f[1]),
                                .driver = nonempty(f[2]),
                                .subsystem = nonempty(f[3]),
                                .pci_address = nonempty(f[4]),
                                .iommu = nonempty(f[5]),
                                .iommu_family = isempty(f[6]) ? "none" : f[6],
                                .iommu_group = num < INT32_MIN || num > INT32_MAX ? -1 : (int)num,
                        };
                } else {
                        r = grow((void **)&types, n_types, 1024, sizeof(*types));
                        if (r < 0)
                                break;
                        types[n_types++] = (struct cli_type){
                                .parent = f[0],
                                .id = f[1],
                                .name = nonempty(f[2]),
                                .description = nonempty(f[3]),
                                .device_api = nonempty(f[4]),
                                .available_instances = num,
                                .class = nonempty(f[6]),
                                .class_basis = nonempty(f[7]),
                                .error = nonempty(f[8]),
                        };
                }
        }
        if (parents && !cli_source_keep(&s->base, parents))
                r = -ENOMEM;
        if (types && !cli_source_keep(&s->base, types))
                r = -ENOMEM;
        if (r < 0)
                return bad_reply(r, "Snapshot");
        if (n == 0)
                return 0;
        sort(parents, n, sizeof(*parents), parent_compare);
        sort(types, n_types, sizeof(*types), type_compare);
        if ((s->flags & CLI_SOURCE_CLASSIFY) && n_types > 0) {
                r = fill_instances(s, types, n_types);
                if (r < 0)
                        return r == -ENOMEM ? log_error_errno(r, "out of memory") : r;
        }
        /* Both lists are sorted by parent name: hand each parent its run of types. */
        for (size_t i = 0, k = 0; i < n; i++) {
                while (k < n_types && strcmp(types[k].parent, parents[i].name) < 0)
                        k++;
                parents[i].types = types ? &types[k] : NULL;
                while (k < n_types && streq(types[k].parent, parents[i].name)) {
                        parents[i].n_types++;
                        k++;
                }
        }
        *ret = parents;
        *ret_n = n;
        return 0;
}

/* ---- devices ---- */

static int uuid_index_compare(const void *a, const void *b)
{
        const struct cli_device *x = *(const struct cli_device *const *)a,
                                *y = *(const struct cli_device *const *)b;
        return strcmp(x->uuid, y->uuid);
}

/* One Device object's properties onto every record of its UUID. */
static int read_device_properties(struct dbus_source *s, sd_bus_message *m, struct cli_device **recs,
                                  size_t n)
{
        const char *prop, *v;
        char **parents = NULL;
        size_t n_parents = 0;
        struct cli_device tmp = {.iommu_group = -1};
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &prop);
                if (r < 0)
                        break;
                if (streq(prop, "DefinedParents")) {
                        r = sd_bus_message_enter_container(m, 'v', "as");
                        if (r >= 0)
                                r = sd_bus_message_read_strv(m, &parents);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        for (n_parents = 0; parents && parents[n_parents]; n_parents++)
                                if (!cli_source_keep(&s->base, parents[n_parents]))
                                        r = -ENOMEM;
                        if (parents && !cli_source_keep(&s->base, parents))
                                r = -ENOMEM;
                } else if (streq(prop, "IommuGroup")) {
                        int32_t g;
                        r = sd_bus_message_read(m, "v", "i", &g);
                        tmp.iommu_group = g;
                } else if (streq(prop, "Driver") || streq(prop, "GroupName") || streq(prop, "GroupType") ||
                           streq(prop, "VfioGroup") || streq(prop, "VfioDevice") ||
                           streq(prop, "ClassBasis")) {
                        r = sd_bus_message_read(m, "v", "s", &v);
                        if (r >= 0) {
                                v = nonempty(v);
                                if (streq(prop, "Driver"))
                                        tmp.driver = v;
                                else if (streq(prop, "GroupName"))
                                        tmp.group_name = v;
                                else if (streq(prop, "GroupType"))
                                        tmp.group_type = v;
                                else if (streq(prop, "VfioGroup"))
                                        tmp.vfio_group = v;
                                else if (streq(prop, "VfioDevice"))
                                        tmp.vfio_device = v;
                                else
                                        tmp.class_basis = v;
                        }
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        break;
                r = sd_bus_message_exit_container(m);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct cli_device *d = recs[i];
                d->defined_parents = parents;
                d->n_defined_parents = n_parents;
                d->class_basis = tmp.class_basis;
                /* What a running device is: only on the record of the parent it runs on. */
                if (d->active) {
                        d->driver = tmp.driver;
                        d->group_name = tmp.group_name;
                        d->group_type = tmp.group_type;
                        d->vfio_group = tmp.vfio_group;
                        d->vfio_device = tmp.vfio_device;
                        if (tmp.iommu_group >= 0)
                                d->iommu_group = tmp.iommu_group;
                }
        }
        return sd_bus_message_exit_container(m);
}

/* The Device objects' properties that ListDevices does not carry (for --json). */
static int fill_device_objects(struct dbus_source *s, struct cli_device *devs, size_t n)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ struct cli_device **index = NULL;
        const char *path;
        int r;

        if (n == 0)
                return 0;
        index = calloc(n, sizeof(*index));
        if (!index)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                index[i] = &devs[i];
        qsort(index, n, sizeof(*index), uuid_index_compare);
        r = sd_bus_call_method(s->bus, MDP_BUS_NAME, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &e, &reply, NULL);
        if (r < 0)
                return cli_call_failed(&e, r, "ask mdevpasidd (GetManagedObjects)");
        r = keep_msg(s, reply);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                _cleanup_free_ char *uuid = NULL;
                struct cli_device key = {0}, *kp = &key, **hit;
                size_t first, count;

                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        break;
                r = sd_bus_path_decode(path, MDP_OBJECT_DEVICES, &uuid);
                hit = NULL;
                if (r > 0 && strlen(uuid) < sizeof(key.uuid)) {
                        strcpy(key.uuid, uuid);
                        hit = bsearch(&kp, index, n, sizeof(*index), uuid_index_compare);
                }
                if (!hit) {
                        r = sd_bus_message_skip(reply, "a{sa{sv}}");
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        continue;
                }
                first = hit - index;
                while (first > 0 && streq(index[first - 1]->uuid, uuid))
                        first--;
                for (count = 0; first + count < n && streq(index[first + count]->uuid, uuid); count++)
                        ;
                r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        const char *iface;
                        r = sd_bus_message_read(reply, "s", &iface);
                        if (r >= 0 && streq(iface, MDP_IFACE_DEVICE))
                                r = read_device_properties(s, reply, &index[first], count);
                        else if (r >= 0)
                                r = sd_bus_message_skip(reply, "a{sv}");
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return bad_reply(r, "GetManagedObjects");
        return 0;
}

static int device_compare(const void *a, const void *b)
{
        const struct cli_device *x = a, *y = b;
        int c = strcmp(x->parent, y->parent);
        return c ? c : strcmp(x->uuid, y->uuid);
}

static int dbus_devices(struct cli_source *base, const struct cli_device_query *q,
                        const struct cli_device **ret, size_t *ret_n)
{
        struct dbus_source *s = SOURCE(base);
        struct mdp_snapshot_reader rd;
        struct mdp_snapshot_record rec;
        struct cli_device *out = NULL;
        struct cli_attr *attrs = NULL;
        size_t n = 0, cap = 0, n_attrs = 0;
        char tag = q->defined ? 'd' : 'D';
        bool taken = false; /* whether the last device record was kept (its attributes are) */
        int r;

        *ret = NULL;
        *ret_n = 0;
        r = snapshot(s, q->defined ? "definitions" : "devices", NULL, &rd);
        if (r < 0)
                return r;
        while ((r = mdp_snapshot_next(&rd, &rec)) > 0) {
                const char *const *f = rec.field;
                struct cli_device *d;
                int64_t group;

                if (rec.tag == 'A') {
                        if (!taken)
                                continue;
                        r = grow((void **)&attrs, n_attrs, 1024, sizeof(*attrs));
                        if (r < 0)
                                break;
                        attrs[n_attrs++] = (struct cli_attr){f[0], f[1]};
                        out[n - 1].n_attrs++;
                        continue;
                }
                taken = false;
                if (rec.tag != tag)
                        continue;
                if ((q->parent && !streq(q->parent, f[1])) || (q->uuid && !streq(q->uuid, f[0])))
                        continue;
                r = mdp_snapshot_int(f[9], &group);
                if (r < 0 || strlen(f[0]) >= sizeof(out->uuid)) {
                        r = -EBADMSG;
                        break;
                }
                if (n == cap) {
                        struct cli_device *a = realloc(out, MAX(64u, cap * 2) * sizeof(*a));
                        if (!a) {
                                r = -ENOMEM;
                                break;
                        }
                        out = a;
                        cap = MAX(64u, cap * 2);
                }
                d = &out[n++];
                *d = (struct cli_device){
                        .parent = f[1],
                        .type = f[2],
                        .active = streq(f[3], "1"),
                        .defined = streq(f[4], "1"),
                        .autostart = streq(f[5], "auto"),
                        .owner = nonempty(f[6]),
                        .state = nonempty(f[7]),
                        .class = nonempty(f[8]),
                        .iommu_group = group < INT32_MIN || group > INT32_MAX ? -1 : (int)group,
                        .last_error = nonempty(f[10]),
                };
                strcpy(d->uuid, f[0]);
                taken = true;
        }
        if (out && !cli_source_keep(&s->base, out))
                r = -ENOMEM;
        if (attrs && !cli_source_keep(&s->base, attrs))
                r = -ENOMEM;
        if (r < 0)
                return bad_reply(r, "Snapshot");
        /* Each kept record's attributes follow the previous one's in attrs (which moved as
         * it grew, so they are pointed to only now). */
        for (size_t i = 0, first = 0; i < n; first += out[i].n_attrs, i++)
                out[i].attrs = out[i].n_attrs > 0 ? &attrs[first] : NULL;
        sort(out, n, sizeof(*out), device_compare);
        if (s->flags & CLI_SOURCE_CLASSIFY) {
                r = fill_device_objects(s, out, n);
                if (r < 0)
                        return r == -ENOMEM ? log_error_errno(r, "out of memory") : r;
        }
        *ret = out;
        *ret_n = n;
        return 0;
}

/* ---- kernel features and IOMMU instances ---- */

static int dbus_kernel(struct cli_source *base, const struct cli_kernel **ret)
{
        struct dbus_source *s = SOURCE(base);
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        struct cli_kernel *k;
        const char *key, *v;
        int r;

        r = sd_bus_get_property(s->bus, MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "KernelFeatures",
                                &e, &reply, "a{ss}");
        if (r < 0)
                return cli_call_failed(&e, r, "ask mdevpasidd (KernelFeatures)");
        r = keep_msg(s, reply);
        k = cli_source_keep(&s->base, calloc(1, sizeof(*k)));
        if (r < 0 || !k)
                return log_error_errno(-ENOMEM, "out of memory");
        *k = (struct cli_kernel){MDP_UNKNOWN, MDP_UNKNOWN, MDP_UNKNOWN, NULL, NULL};
        r = sd_bus_message_enter_container(reply, 'a', "{ss}");
        while (r >= 0 && (r = sd_bus_message_read(reply, "{ss}", &key, &v)) > 0) {
                enum mdp_tristate t = streq(v, "yes") ? MDP_YES : streq(v, "no") ? MDP_NO : MDP_UNKNOWN;
                if (streq(key, "iommufd"))
                        k->iommufd = t;
                else if (streq(key, "vfio_cdev"))
                        k->vfio_cdev = t;
                else if (streq(key, "vfio_container"))
                        k->vfio_container = t;
                else if (streq(key, "release"))
                        k->release = nonempty(v);
                else if (streq(key, "cmdline"))
                        k->cmdline = nonempty(v);
        }
        if (r < 0)
                return bad_reply(r, "KernelFeatures");
        *ret = k;
        return 0;
}

static int dbus_iommus(struct cli_source *base, const struct cli_iommu **ret, size_t *ret_n)
{
        struct dbus_source *s = SOURCE(base);
        int r;

        if (!s->sysfs) {
                r = cli_source_sysfs_new(s->flags, &s->sysfs);
                if (r < 0)
                        return r;
        }
        r = cli_source_iommus(s->sysfs, ret, ret_n);
        for (size_t i = 0; i < s->sysfs->n_warnings; i++)
                (void)cli_source_warn(&s->base, "%s", s->sysfs->warnings[i]);
        cli_source_flush_warnings_quiet(s->sysfs);
        return r;
}

static const struct cli_source_ops dbus_ops = {
        .name = "daemon",
        .parents = dbus_parents,
        .devices = dbus_devices,
        .iommus = dbus_iommus,
        .kernel = dbus_kernel,
        .free = dbus_free,
};

int cli_source_dbus_new(sd_bus *bus, unsigned flags, struct cli_source **ret)
{
        struct dbus_source *s;

        s = calloc(1, sizeof(*s));
        if (!s)
                return log_error_errno(-ENOMEM, "out of memory");
        s->base.ops = &dbus_ops;
        s->base.bus = bus;
        s->bus = bus;
        s->flags = flags;
        *ret = &s->base;
        return 0;
}
