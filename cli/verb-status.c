/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* status: the default verb. One screen an administrator reads first: is the daemon there,
 * what the host's IOMMU can do, how many parents, types, devices and VMs there are, and
 * what needs attention (the daemon's Warnings property plus what the read met). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "mdp-names.h"
#include "output.h"
#include "source.h"
#include "util/log.h"
#include "verbs.h"

struct status {
        bool running;
        char *version;
        size_t n_parents, n_types, n_pasid_types, n_active, n_defined, n_auto;
        int64_t n_vms; /* -1: not known (no daemon, or one without VMs) */
        bool have_autostart; /* AutostartProgress was read */
        uint32_t autostart_done, autostart_failed, autostart_in_progress;
        char **warnings;
        size_t n_warnings;
};

static int add_warning(struct status *st, const char *w)
{
        char **a = realloc(st->warnings, (st->n_warnings + 1) * sizeof(char *));

        if (!a)
                return -ENOMEM;
        st->warnings = a;
        st->warnings[st->n_warnings] = strdup(w);
        if (!st->warnings[st->n_warnings])
                return -ENOMEM;
        st->n_warnings++;
        return 0;
}

static void status_done(struct status *st)
{
        for (size_t i = 0; i < st->n_warnings; i++)
                free(st->warnings[i]);
        free(st->warnings);
        free(st->version);
}

static int read_autostart(sd_bus *bus, struct status *st)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_get_property(bus, MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "AutostartProgress", &e,
                                &reply, "(uuu)");
        sd_bus_error_free(&e);
        if (r >= 0)
                r = sd_bus_message_read(reply, "(uuu)", &st->autostart_done, &st->autostart_failed,
                                        &st->autostart_in_progress);
        st->have_autostart = r >= 0; /* an older daemon: not shown */
        return r;
}

/* --wait: until the daemon's autostart has nothing in progress. The property is read every
 * 100 ms: a round of a few hundred devices takes seconds, and polling needs no match rule.
 * Progress goes to stderr on a terminal only, as start-parent-mdevs'. */
static int wait_autostart(sd_bus *bus, struct status *st)
{
        bool tty = isatty(STDERR_FILENO) && !getenv("NO_COLOR"), shown = false;

        for (;;) {
                uint32_t total;

                if (read_autostart(bus, st) < 0)
                        return log_error_errno(-EIO, "%s cannot read mdevpasidd's AutostartProgress: is "
                                                     "mdevpasidd older than mdevpasidctl?",
                                               arg_verb_name());
                if (st->autostart_in_progress == 0)
                        break;
                total = st->autostart_done + st->autostart_failed + st->autostart_in_progress;
                if (tty) {
                        fprintf(stderr, "\r\033[K[%" PRIu32 "/%" PRIu32 "] autostart: %" PRIu32
                                        " in progress, %" PRIu32 " failed",
                                st->autostart_done + st->autostart_failed, total, st->autostart_in_progress,
                                st->autostart_failed);
                        fflush(stderr);
                        shown = true;
                }
                nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
        }
        if (shown)
                fputs("\r\033[K", stderr);
        return 0;
}

/* What only the daemon knows: its version, its warnings, the VMs it placed. */
static int read_daemon(sd_bus *bus, struct status *st)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char **w = NULL;
        int r;

        st->running = true;
        (void)read_autostart(bus, st);
        if (sd_bus_get_property_string(bus, MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Version", &e,
                                       &st->version) < 0)
                st->version = NULL;
        sd_bus_error_free(&e);
        r = sd_bus_get_property_strv(bus, MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, "Warnings", &e,
                                     &w);
        sd_bus_error_free(&e);
        for (size_t i = 0; r >= 0 && w && w[i]; i++)
                if (add_warning(st, w[i]) < 0)
                        r = -ENOMEM;
        for (size_t i = 0; w && w[i]; i++)
                free(w[i]);
        free(w);
        if (r == -ENOMEM)
                return r;
        /* VMs: a daemon without ListVms (older) leaves the count unknown. */
        r = mdp_client_call(bus, NULL, NULL, "ListVms", 0, &e, &reply, NULL);
        sd_bus_error_free(&e);
        if (r >= 0) {
                st->n_vms = 0;
                r = sd_bus_message_enter_container(reply, 'a', "(sssas)");
                while (r >= 0 && (r = sd_bus_message_skip(reply, "(sssas)")) > 0)
                        st->n_vms++;
                if (r < 0)
                        st->n_vms = -1;
        }
        return 0;
}

/* With --wait, a failed autostart is the exit status (1), for scripts that wait for it. */
static int wait_result(const struct status *st)
{
        if (arg_wait && st->autostart_failed > 0)
                return log_error_errno(-EIO, "%s %" PRIu32 " autostart%s failed (see Warnings)", arg_verb_name(),
                                       st->autostart_failed, st->autostart_failed == 1 ? "" : "s");
        return 0;
}

int verb_status(int argc, char **argv)
{
        _cleanup_(cli_source_freep) struct cli_source *src = NULL;
        _cleanup_(status_done) struct status st = {.n_vms = -1};
        const struct cli_parent *parents;
        const struct cli_device *devs;
        const struct cli_iommu *iommus;
        const struct cli_kernel *k;
        size_t n_parents, n_devs, n_iommus;
        int r;

        arg_quiet_fallback = true; /* the first line says where the data came from */
        r = cli_source_open(CLI_SOURCE_CLASSIFY, &src);
        if (r < 0)
                return r;
        if (cli_source_is_daemon(src) && arg_wait) {
                r = wait_autostart(src->bus, &st);
                if (r < 0)
                        return r;
        }
        if (cli_source_is_daemon(src)) {
                r = read_daemon(src->bus, &st);
                if (r < 0)
                        return log_error_errno(r, "out of memory");
        }
        r = cli_source_parents(src, NULL, &parents, &n_parents);
        if (r < 0)
                return r;
        st.n_parents = n_parents;
        for (size_t i = 0; i < n_parents; i++) {
                st.n_types += parents[i].n_types;
                for (size_t j = 0; j < parents[i].n_types; j++)
                        if (streq_ptr(parents[i].types[j].class, "pasid-granular"))
                                st.n_pasid_types++;
        }
        r = cli_source_devices(src, &(struct cli_device_query){.defined = false}, &devs, &n_devs);
        if (r < 0)
                return r;
        st.n_active = n_devs;
        r = cli_source_devices(src, &(struct cli_device_query){.defined = true}, &devs, &n_devs);
        if (r < 0)
                return r;
        st.n_defined = n_devs;
        for (size_t i = 0; i < n_devs; i++)
                if (devs[i].autostart)
                        st.n_auto++;
        r = cli_source_iommus(src, &iommus, &n_iommus);
        if (r < 0)
                return r;
        r = cli_source_kernel(src, &k);
        if (r < 0)
                return r;
        /* What the read went past belongs to the warnings here, not to stderr. */
        for (size_t i = 0; i < src->n_warnings; i++)
                if (add_warning(&st, src->warnings[i]) < 0)
                        return log_error_errno(-ENOMEM, "out of memory");
        cli_source_flush_warnings_quiet(src);
        for (size_t i = 0; i < n_iommus; i++)
                if (iommus[i].error) {
                        _cleanup_free_ char *w = NULL;
                        if (asprintf(&w, "%s: %s", iommus[i].name, iommus[i].error) < 0 ||
                            add_warning(&st, w) < 0)
                                return log_error_errno(-ENOMEM, "out of memory");
                }

        if (arg_json != JSON_OFF) {
                json_object *o = json_object_new_object(), *d = json_object_new_object(),
                            *a = json_object_new_array(), *c = json_object_new_object(),
                            *kf = json_object_new_object();

                json_object_object_add(d, "Running", json_object_new_boolean(st.running));
                json_object_object_add(d, "Version", json_str(st.version));
                json_object_object_add(d, "Source", json_object_new_string(src->ops->name));
                json_object_object_add(d, "NotAsked", json_str(src->why_sysfs));
                json_object_object_add(o, "Daemon", d);
                for (size_t i = 0; i < n_iommus; i++) {
                        const struct mdp_iommu_caps *cp = &iommus[i].caps;
                        json_object *io = json_object_new_object();
                        json_object_object_add(io, "Name", json_str(iommus[i].name));
                        json_object_object_add(io, "Family",
                                               json_str(mdp_iommu_family_to_string(iommus[i].family)));
                        json_object_object_add(io, "Devices",
                                               json_object_new_int64((int64_t)iommus[i].n_devices));
                        json_object_object_add(io, "ScalableMode", json_tristate(cp->sm_on));
                        json_object_object_add(io, "Pasid", json_tristate(cp->pasid));
                        json_object_object_add(io, "PasidWidth",
                                               json_int_or_null(cp->pasid_width, cp->pasid == MDP_YES));
                        json_object_object_add(io, "Nesting", json_tristate(cp->nest));
                        json_object_object_add(io, "IoPageFaults", json_tristate(cp->iopf));
                        json_object_array_add(a, io);
                }
                json_object_object_add(o, "Iommus", a);
                json_object_object_add(kf, "iommufd", json_tristate(k->iommufd));
                json_object_object_add(kf, "vfio_cdev", json_tristate(k->vfio_cdev));
                json_object_object_add(kf, "vfio_container", json_tristate(k->vfio_container));
                json_object_object_add(kf, "release", json_str(k->release));
                json_object_object_add(o, "KernelFeatures", kf);
                json_object_object_add(c, "Parents", json_object_new_int64((int64_t)st.n_parents));
                json_object_object_add(c, "Types", json_object_new_int64((int64_t)st.n_types));
                json_object_object_add(c, "PasidGranularTypes",
                                       json_object_new_int64((int64_t)st.n_pasid_types));
                json_object_object_add(c, "ActiveDevices", json_object_new_int64((int64_t)st.n_active));
                json_object_object_add(c, "DefinedDevices", json_object_new_int64((int64_t)st.n_defined));
                json_object_object_add(c, "AutostartDevices", json_object_new_int64((int64_t)st.n_auto));
                json_object_object_add(c, "Vms", json_int_or_null(st.n_vms, st.n_vms >= 0));
                if (st.have_autostart) {
                        json_object *as = json_object_new_object();
                        json_object_object_add(as, "Done", json_object_new_int64(st.autostart_done));
                        json_object_object_add(as, "Failed", json_object_new_int64(st.autostart_failed));
                        json_object_object_add(as, "InProgress",
                                               json_object_new_int64(st.autostart_in_progress));
                        json_object_object_add(c, "Autostart", as);
                } else
                        json_object_object_add(c, "Autostart", NULL);
                json_object_object_add(o, "Counts", c);
                json_object_object_add(o, "Warnings", json_strv(st.warnings, st.n_warnings));
                r = json_print(o);
                return r < 0 ? r : wait_result(&st);
        }

        if (st.running)
                printf("%smdevpasidd%s: %srunning%s (version %s); what follows is the daemon's view\n",
                       ansi_bold(), ansi_normal(), ansi_green(), ansi_normal(),
                       st.version ? st.version : "unknown");
        else if (src->why_sysfs)
                printf("%s%s%s.\nWhat follows was read from sysfs.\n", ansi_yellow(), src->why_sysfs,
                       ansi_normal());
        else
                printf("%smdevpasidd%s: not asked (--source=sysfs). What follows was read from sysfs.\n",
                       ansi_bold(), ansi_normal());
        printf("\n%sIOMMU%s\n", ansi_bold(), ansi_normal());
        if (n_iommus == 0)
                printf("  none (nothing in /sys/class/iommu): DMA is not translated, every mdev is "
                       "emulated\n");
        for (size_t i = 0; i < n_iommus; i++) {
                printf("  %s (%s, %zu device%s)\n", iommus[i].name,
                       mdp_iommu_family_to_string(iommus[i].family), iommus[i].n_devices,
                       iommus[i].n_devices == 1 ? "" : "s");
                printf("  ");
                cli_print_iommu_summary(&iommus[i]);
        }
        printf("  kernel: iommufd %s, VFIO device cdevs %s, VFIO container %s%s%s\n",
               mdp_tristate_to_string(k->iommufd), mdp_tristate_to_string(k->vfio_cdev),
               mdp_tristate_to_string(k->vfio_container), k->release ? ", release " : "",
               strempty(k->release));
        printf("\n%sCounts%s\n", ansi_bold(), ansi_normal());
        printf("  parents: %zu, types: %zu (%zu PASID-granular)\n", st.n_parents, st.n_types,
               st.n_pasid_types);
        printf("  mdevs: %zu active, %zu defined (%zu auto-start)\n", st.n_active, st.n_defined, st.n_auto);
        if (st.n_vms >= 0)
                printf("  VMs with a placement: %" PRId64 "\n", st.n_vms);
        if (st.have_autostart &&
            st.autostart_done + st.autostart_failed + st.autostart_in_progress > 0)
                printf("  autostart: %" PRIu32 " started, %s%" PRIu32 " failed%s, %" PRIu32 " in progress\n",
                       st.autostart_done, st.autostart_failed > 0 ? ansi_yellow() : "", st.autostart_failed,
                       st.autostart_failed > 0 ? ansi_normal() : "", st.autostart_in_progress);
        printf("\n%sWarnings%s\n", ansi_bold(), ansi_normal());
        if (st.n_warnings == 0)
                printf("  none\n");
        for (size_t i = 0; i < st.n_warnings; i++)
                printf("  %s%s%s\n", ansi_yellow(), st.warnings[i], ansi_normal());
        return wait_result(&st);
}
