/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vms, attach, detach, pasid: VM placement through mdevpasidd (Manager.ListVms, AttachVm,
 * DetachVm, AllocatePasids, FreePasids; the plan comes back as the a{sv} of
 * lib/plan-bus.h and prints as the plan verb prints a local one). These need the daemon:
 * a placement is state only it keeps. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "engine.h"
#include "mdp-names.h"
#include "output.h"
#include "plan-bus.h"
#include "plan.h"
#include "source.h"
#include "util/log.h"
#include "verbs.h"

/* The same text and JSON as a locally computed plan (mdp_plan_format_text/to_json). */
int cli_print_plan_reply(sd_bus_message *reply);
int cli_print_plan_reply(sd_bus_message *reply)
{
        _cleanup_(mdp_plan_freep) struct mdp_plan *plan = NULL;
        _cleanup_free_ struct mdp_plan_bus_info *info = NULL;
        _cleanup_free_ char *text = NULL;
        json_object *o = NULL;
        int r;

        r = mdp_plan_bus_read_full(reply, &plan, &info);
        if (r == -ENOMEM)
                return log_error_errno(r, "out of memory");
        if (r < 0)
                return log_error_errno(r,
                                       "mdevpasidd's plan does not have the expected shape (%m); is it the "
                                       "same version as mdevpasidctl?");
        if (arg_json != JSON_OFF) {
                json_object *pasids = json_object_new_array();

                r = mdp_plan_to_json(plan, &o);
                if (r < 0)
                        return log_error_errno(r, "out of memory");
                for (size_t i = 0; info && i < info->n_pasids; i++) {
                        json_object *p = json_object_new_object();
                        json_object_object_add(p, "unit", json_object_new_string(info->pasids[i].unit));
                        json_object_object_add(p, "pasid", json_object_new_int64(info->pasids[i].pasid));
                        json_object_array_add(pasids, p);
                }
                json_object_object_add(o, "pasids", pasids);
                return json_print(o);
        }
        r = mdp_plan_format_text(plan, &text);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        fputs(text, stdout);
        for (size_t i = 0; info && i < info->n_pasids; i++)
                printf("PASID %" PRIu32 " for %s\n", info->pasids[i].pasid, info->pasids[i].unit);
        return 0;
}

/* The PlanVm/AttachVm request: "Units" as, "Viommu" s. */
int cli_append_vm_request(sd_bus_message *m, char **units, size_t n_units);
int cli_append_vm_request(sd_bus_message *m, char **units, size_t n_units)
{
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && n_units > 0) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "Units");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "s");
                for (size_t i = 0; r >= 0 && i < n_units; i++)
                        r = sd_bus_message_append(m, "s", units[i]);
                for (int k = 0; r >= 0 && k < 3; k++)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && arg_viommu)
                r = sd_bus_message_append(m, "{sv}", "Viommu", "s", arg_viommu);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int check_units(char **units, size_t n, char canon[][MDP_UUID_STRING_MAX])
{
        for (size_t i = 0; i < n; i++)
                if (cli_parse_uuid(units[i], canon[i]) < 0)
                        return usage_error("\"%s\" is not an mdev UUID; give the UUIDs of the VM's mdevs "
                                           "(see \"mdevpasidctl list\")",
                                           units[i]);
        return 0;
}

int verb_vms(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) struct table *t = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        json_object *a = NULL;
        int r;

        r = cli_daemon_open(false, &bus);
        if (r < 0)
                return r;
        r = mdp_client_call(bus, NULL, NULL, "ListVms", 0, &e, &reply, NULL);
        if (r < 0)
                return cli_call_failed(&e, r, "list VMs");
        t = table_new("VM", "STRATEGY", "UNITS", "REASON", NULL);
        if (arg_json != JSON_OFF)
                a = json_object_new_array();
        if (!t || (arg_json != JSON_OFF && !a))
                return log_error_errno(-ENOMEM, "out of memory");
        r = sd_bus_message_enter_container(reply, 'a', "(sssas)");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "sssas")) > 0) {
                const char *name, *strategy, *reason;
                char **units = NULL;
                size_t n_units = 0;

                r = sd_bus_message_read(reply, "sss", &name, &strategy, &reason);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &units);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                for (; units && units[n_units]; n_units++)
                        ;
                if (r >= 0 && a) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "Name", json_object_new_string(name));
                        json_object_object_add(o, "Strategy", json_object_new_string(strategy));
                        json_object_object_add(o, "Reason", json_str(isempty(reason) ? NULL : reason));
                        json_object_object_add(o, "Units", json_strv(units, n_units));
                        json_object_array_add(a, o);
                } else if (r >= 0) {
                        r = table_add_cell(t, name, ansi_bold());
                        r = r ?: table_add_cell(t, strategy, NULL);
                        r = r ?: table_add_cellf(t, NULL, "%zu", n_units);
                        r = r ?: table_add_cell(t, isempty(reason) ? NULL : reason, NULL);
                }
                for (size_t i = 0; i < n_units; i++)
                        free(units[i]);
                free(units);
        }
        if (r < 0) {
                json_object_put(a);
                return log_error_errno(r, "mdevpasidd's answer to ListVms does not have the expected shape");
        }
        if (a)
                return json_print(a);
        if (table_rows(t) == 0) {
                if (arg_legend)
                        printf("No VMs placed (\"mdevpasidctl attach VM UUID...\" places one).\n");
                return 0;
        }
        return table_print(t, stdout);
}

int verb_attach(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(mdp_domain_freep) struct mdp_domain *domain = NULL;
        _cleanup_free_ char *xml = NULL;
        char canon[64][MDP_UUID_STRING_MAX], *units[64];
        size_t n = argc > 0 ? (size_t)argc - 1 : 0;
        const char *vm;
        int r;

        if (arg_connect && !arg_domain)
                return usage_error("--connect needs --domain");
        if (arg_domain) {
                if (argc > 0)
                        return usage_error("unexpected argument \"%s\": with --domain the VM is the domain "
                                           "and the units are its hostdevs",
                                           argv[0]);
                if (arg_viommu)
                        return usage_error("--domain and --viommu exclude each other: the domain's <iommu> "
                                           "says the guest mode");
                if (isempty(arg_domain))
                        return usage_error("--domain needs a domain name");
                r = cli_domain_read(&domain, &xml);
                if (r < 0)
                        return r;
                r = cli_daemon_open(true, &bus);
                if (r < 0)
                        return r;
                vm = domain->name;
                r = mdp_client_new_call(bus, NULL, NULL, "AttachVm", &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", vm);
                if (r >= 0)
                        r = sd_bus_message_append(m, "a{sv}", 1, "DomainXml", "s", xml);
                if (r < 0)
                        return log_error_errno(r, "out of memory");
                r = mdp_client_send(bus, m, MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, &reply);
                if (r < 0)
                        return cli_call_failed(&e, r, "attach VM %s", vm);
                return cli_print_plan_reply(reply);
        }
        if (argc < 1)
                return usage_error("needs a VM name and its mdevs' UUIDs, or --domain NAME");
        if (n > ELEMENTSOF(units))
                return usage_error("at most %zu units per VM", ELEMENTSOF(units));
        r = check_units(argv + 1, n, canon);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                units[i] = canon[i];
        r = cli_daemon_open(true, &bus);
        if (r < 0)
                return r;
        r = mdp_client_new_call(bus, NULL, NULL, "AttachVm", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[0]);
        if (r >= 0)
                r = cli_append_vm_request(m, units, n);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        r = mdp_client_send(bus, m, MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, &reply);
        if (r < 0)
                return cli_call_failed(&e, r, "attach VM %s", argv[0]);
        return cli_print_plan_reply(reply);
}

int verb_detach(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = cli_daemon_open(true, &bus);
        if (r < 0)
                return r;
        r = mdp_client_call(bus, NULL, NULL, "DetachVm", MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, NULL, "s",
                            argv[0]);
        if (r < 0)
                return cli_call_failed(&e, r, "detach VM %s", argv[0]);
        return 0;
}

/* One VM's Pasids variant, a(ssu), into the table or the JSON array. */
static int read_pasids(sd_bus_message *reply, const char *vm, struct table *t, json_object *a)
{
        const char *unit, *kind;
        uint32_t pasid;
        int r;

        r = sd_bus_message_enter_container(reply, 'v', "a(ssu)");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssu)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssu)", &unit, &kind, &pasid)) > 0) {
                if (a) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "Vm", json_object_new_string(vm));
                        json_object_object_add(o, "Unit", json_object_new_string(unit));
                        json_object_object_add(o, "Kind", json_object_new_string(kind));
                        json_object_object_add(o, "Pasid", json_object_new_int64(pasid));
                        json_object_array_add(a, o);
                } else {
                        r = table_add_cell(t, vm, ansi_bold());
                        r = r ?: table_add_cell(t, unit, NULL);
                        r = r ?: table_add_cell(t, kind, NULL);
                        r = r ?: table_add_cellf(t, NULL, "%" PRIu32, pasid);
                        if (r < 0)
                                return r;
                }
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        return r;
}

/* pasid list: the Pasids property (unit, "instance"|"guest", PASID) of every VM object. */
static int pasid_list(sd_bus *bus, const char *only_vm)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) struct table *t = table_new("VM", "UNIT", "KIND", "PASID", NULL);
        sd_bus_error e = SD_BUS_ERROR_NULL;
        json_object *a = arg_json != JSON_OFF ? json_object_new_array() : NULL;
        const char *path;
        int r;

        if (!t)
                return log_error_errno(-ENOMEM, "out of memory");
        r = sd_bus_call_method(bus, MDP_BUS_NAME, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &e, &reply, NULL);
        if (r < 0) {
                json_object_put(a);
                return cli_call_failed(&e, r, "list PASIDs");
        }
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                _cleanup_free_ char *vm = NULL;

                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        break;
                if (sd_bus_path_decode(path, MDP_OBJECT_VMS, &vm) <= 0 || (only_vm && !streq(vm, only_vm))) {
                        r = sd_bus_message_skip(reply, "a{sa{sv}}");
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        continue;
                }
                r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        const char *iface, *prop;
                        r = sd_bus_message_read(reply, "s", &iface);
                        if (r >= 0 && !streq(iface, MDP_IFACE_VM))
                                r = sd_bus_message_skip(reply, "a{sv}");
                        else if (r >= 0) {
                                r = sd_bus_message_enter_container(reply, 'a', "{sv}");
                                while (r >= 0 &&
                                       (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                                        r = sd_bus_message_read(reply, "s", &prop);
                                        if (r >= 0 && streq(prop, "Pasids"))
                                                r = read_pasids(reply, vm, t, a);
                                        else if (r >= 0)
                                                r = sd_bus_message_skip(reply, "v");
                                        if (r >= 0)
                                                r = sd_bus_message_exit_container(reply);
                                }
                                if (r >= 0)
                                        r = sd_bus_message_exit_container(reply);
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0) {
                json_object_put(a);
                return log_error_errno(r, "mdevpasidd's VM objects do not have the expected shape");
        }
        if (a)
                return json_print(a);
        if (table_rows(t) == 0) {
                if (arg_legend)
                        printf("No PASIDs allocated%s%s.\n", only_vm ? " for VM " : "", strempty(only_vm));
                return 0;
        }
        return table_print(t, stdout);
}

int verb_pasid(int argc, char **argv)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *sub = argv[0];
        int r;

        if (streq(sub, "list")) {
                if (argc > 2)
                        return usage_error("pasid list takes at most a VM name");
                r = cli_daemon_open(false, &bus);
                return r < 0 ? r : pasid_list(bus, argc > 1 ? argv[1] : NULL);
        }
        if (streq(sub, "alloc")) {
                char uuid[MDP_UUID_STRING_MAX];
                unsigned long count = 1;
                const uint32_t *pasids;
                size_t size;
                json_object *a;

                if (argc < 3 || argc > 4)
                        return usage_error("pasid alloc needs VM UUID [COUNT]");
                if (cli_parse_uuid(argv[2], uuid) < 0)
                        return usage_error("\"%s\" is not an mdev UUID", argv[2]);
                if (argc == 4) {
                        char *end;
                        errno = 0;
                        count = strtoul(argv[3], &end, 10);
                        if (errno || end == argv[3] || *end || count == 0 || count > UINT32_MAX)
                                return usage_error("COUNT \"%s\": expected a number from 1", argv[3]);
                }
                r = cli_daemon_open(true, &bus);
                if (r < 0)
                        return r;
                r = mdp_client_call(bus, NULL, NULL, "AllocatePasids", MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e,
                                    &reply, "ssu", argv[1], uuid, (uint32_t)count);
                if (r < 0)
                        return cli_call_failed(&e, r, "allocate %lu PASID%s for mdev %s of VM %s", count,
                                      count == 1 ? "" : "s", uuid, argv[1]);
                r = sd_bus_message_read_array(reply, 'u', (const void **)&pasids, &size);
                if (r < 0)
                        return log_error_errno(r, "mdevpasidd's answer to AllocatePasids has no PASIDs");
                a = arg_json != JSON_OFF ? json_object_new_array() : NULL;
                for (size_t i = 0; i < size / sizeof(uint32_t); i++) {
                        if (a)
                                json_object_array_add(a, json_object_new_int64(pasids[i]));
                        else
                                printf("%" PRIu32 "\n", pasids[i]);
                }
                return a ? json_print(a) : 0;
        }
        if (streq(sub, "free")) {
                uint32_t values[256];
                size_t n = 0;

                if (argc < 3)
                        return usage_error("pasid free needs VM PASID...");
                if (argc - 2 > (int)ELEMENTSOF(values))
                        return usage_error("at most %zu PASIDs at a time", ELEMENTSOF(values));
                for (int i = 2; i < argc; i++) {
                        char *end;
                        unsigned long v;
                        errno = 0;
                        v = strtoul(argv[i], &end, 10);
                        if (errno || end == argv[i] || *end || v > UINT32_MAX)
                                return usage_error("PASID \"%s\": expected a number", argv[i]);
                        values[n++] = (uint32_t)v;
                }
                r = cli_daemon_open(true, &bus);
                if (r < 0)
                        return r;
                r = mdp_client_new_call(bus, NULL, NULL, "FreePasids", &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", argv[1]);
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'u', values, n * sizeof(uint32_t));
                if (r < 0)
                        return log_error_errno(r, "out of memory");
                r = mdp_client_send(bus, m, MDP_CLIENT_TIMEOUT_CHANGE_USEC, &e, NULL);
                if (r < 0)
                        return cli_call_failed(&e, r, "free PASIDs of VM %s", argv[1]);
                return 0;
        }
        return usage_error("unknown pasid command \"%s\"; expected list, alloc or free", sub);
}
