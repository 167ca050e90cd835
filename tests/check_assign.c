/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* VM assignment and PASIDs in mdevpasidd (issue 5): PlanVm, AttachVm, DetachVm, ListVms, the
 * Vm objects, AllocatePasids/FreePasids, and state.json across restarts. The real daemon is
 * spawned on a private bus over the simulated host (tests/harness.h).
 *
 * What is faked:
 *  - the kernel: the x86-6.12-sm capture (emulated mtty/mdpy/mbochs mdevs) and the
 *    arm64-6.12-smmuv3 capture, into which the test turns the PCI function 0000:00:02.0
 *    (behind the SMMUv3, bound to virtio-pci in the capture) into an mdev parent: its driver
 *    link is renamed "example_vdcm", it gets one type "example_vdcm-wq" and a config space
 *    with a PASID capability of 20 bits. No real driver does that: it is the shape of a
 *    Scalable-IOV parent (IOMMU-SPEC.md §1.4-§1.5) that no mainline kernel has;
 *  - vendor profiles: a test datadir holding the shipped 50-mdev-samples.json and the example
 *    conf/profiles/examples/90-siov-template.json with "example" set to false, which declares
 *    example_vdcm-* PASID-granular (per_instance 1, max_guest_pasids 16, reserved 0-15);
 *  - policy: files written to the testbed's /etc/mdevpasid/policy.d per test. */

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "harness.h"
#include "mdp-names.h"
#include "plan-bus.h"
#include "test-help.h"
#include "util/macro.h"

#define MTTY_LIVE "29a5d629-5236-452f-9c1b-1e3b31a976cc" /* x86-6.12-sm: mtty-2 */
#define MDPY_LIVE "cc2a83fb-38a3-4a2a-9b14-a61bd6c96a31"
#define PF        TEST_SIOV_PF
#define VTYPE     TEST_SIOV_TYPE
#define A1        "6b2d0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c01"
#define A2        "6b2d0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c02"
#define A3        "6b2d0e2d-7b3f-4e8a-9c6d-0f1e2a3b4c03"
#define WAIT_MS   20000

/* ---- helpers ---- */

static char *datadir;

static void make_datadir(void)
{
        _cleanup_free_ char *samples = test_read(test_srcdir(), "conf/profiles/50-mdev-samples.json");
        _cleanup_free_ char *tmpl = test_read(test_srcdir(), "conf/profiles/examples/90-siov-template.json");
        char *p;

        ck_assert_ptr_nonnull(samples);
        ck_assert_ptr_nonnull(tmpl);
        p = strstr(tmpl, "\"example\": true");
        ck_assert_ptr_nonnull(p);
        memcpy(p, "\"example\":false", strlen("\"example\":false")); /* same length as "..": true" minus 0 */
        datadir = test_mkdtemp("assign-data");
        test_write(datadir, "profiles/50-mdev-samples.json", samples);
        test_write(datadir, "profiles/90-siov-template.json", tmpl);
}

static void remove_datadir(void)
{
        if (datadir)
                test_rm_rf(datadir);
        free(datadir);
        datadir = NULL;
}

static char *data_env(void)
{
        char *s = NULL;

        if (!datadir)
                make_datadir(); /* inside the test: Check's assertions report through it */
        ck_assert_int_ge(asprintf(&s, "MDEVPASID_DATADIR=%s", datadir), 0);
        return s;
}

/* What the host's VMM supports, as an operator asserts it (unknown is treated as absent, and
 * then no vIOMMU path exists at all). */
#define VMM_POLICY                                                                                          \
        "{ \"version\": 1, \"vmm\": { \"iommufd\": true, \"intel-iommu.caching-mode\": true, "              \
        "\"virtio-iommu-pci\": true } }"

static pid_t spawn_daemon(struct harness *h)
{
        _cleanup_free_ char *env = data_env();

        if (!test_exists(harness_root(h), "etc/mdevpasid/policy.d/40-vmm.json"))
                test_write(harness_root(h), "etc/mdevpasid/policy.d/40-vmm.json", VMM_POLICY);
        char *argv[] = {(char *)harness_program("daemon/mdevpasidd"), "--start-timeout=5000",
                        "--stop-timeout=1500", NULL};
        return harness_spawn_service(h, MDP_BUS_NAME, WAIT_MS, argv, (char *const[]){env, NULL});
}

/* The arm64 capture with 0000:00:02.0 made a PASID-granular parent (see the top). */
static struct harness *start_smmu_host(void)
{
        _cleanup_free_ char *root = test_unpack_fixture("arm64-6.12-smmuv3");
        struct harness *h;

        test_make_siov_parent(root);
        h = harness_start(&(struct harness_opts){.sysfs = root});
        test_rm_rf(root);
        return h;
}

static struct harness *start_x86_host(void)
{
        return harness_start(&(struct harness_opts){.fixture = "x86-6.12-sm"});
}

static void write_policy(struct harness *h, const char *json)
{
        test_write(harness_root(h), "etc/mdevpasid/policy.d/50-test.json", json);
}

/* Appends a request: Units (NULL-terminated) and Viommu. */
static int append_request(sd_bus_message *m, const char *const *units, const char *viommu)
{
        int r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && units) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "Units");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, (char **)units);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && viommu)
                r = sd_bus_message_append(m, "{sv}", "Viommu", "s", viommu);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* PlanVm/AttachVm: 0 and the plan, or the error's errno with *e set. */
static int vm_call(struct harness *h, const char *method, const char *vm, const char *const *units,
                   const char *viommu, struct mdp_plan **ret, struct mdp_plan_bus_info **ret_info,
                   sd_bus_error *e)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        ck_assert_int_ge(sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, method),
                         0);
        ck_assert_int_ge(sd_bus_message_append(m, "s", vm), 0);
        ck_assert_int_ge(append_request(m, units, viommu), 0);
        r = sd_bus_call(harness_bus(h), m, 30 * 1000000ULL, e, &reply);
        if (r < 0)
                return r;
        ck_assert_int_eq(mdp_plan_bus_read_full(reply, ret, ret_info), 0);
        return 0;
}

static struct mdp_plan *attach_ok(struct harness *h, const char *vm, const char *const *units,
                                  const char *viommu, struct mdp_plan_bus_info **ret_info)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        struct mdp_plan *p = NULL;
        int r = vm_call(h, "AttachVm", vm, units, viommu, &p, ret_info, &e);

        ck_assert_msg(r >= 0, "AttachVm %s: %s: %s", vm, e.name, e.message);
        return p;
}

static char *attach_err(struct harness *h, const char *vm, const char *const *units, const char *viommu,
                        const char *want_name)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        struct mdp_plan *p = NULL;
        char *msg;
        int r = vm_call(h, "AttachVm", vm, units, viommu, &p, NULL, &e);

        ck_assert_msg(r < 0, "AttachVm %s succeeded; %s expected", vm, want_name);
        ck_assert_msg(streq(e.name, want_name), "AttachVm %s: %s (%s), %s expected", vm, e.name, e.message,
                      want_name);
        msg = strdup(e.message);
        sd_bus_error_free(&e);
        return msg;
}

static char *call_err(struct harness *h, const char *member, const char *want_name, const char *types, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        va_list ap;
        char *msg;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, member, &e,
                                &reply, types, ap);
        va_end(ap);
        ck_assert_msg(r < 0, "%s succeeded; %s expected", member, want_name);
        ck_assert_msg(streq(e.name, want_name), "%s: %s (%s), %s expected", member, e.name, e.message,
                      want_name);
        msg = strdup(e.message);
        sd_bus_error_free(&e);
        return msg;
}

static sd_bus_message *call_ok(struct harness *h, const char *member, const char *types, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT, MDP_IFACE_MANAGER, member, &e,
                                &reply, types, ap);
        va_end(ap);
        ck_assert_msg(r >= 0, "%s failed: %s: %s", member, e.name, e.message);
        return reply;
}

/* ListVms as "name:strategy:unit,unit;..." */
static char *list_vms(struct harness *h)
{
        sd_bus_message *reply = call_ok(h, "ListVms", "");
        char *out = strdup(""), *n;
        const char *name, *strategy, *reason;

        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(sssas)"), 0);
        while (sd_bus_message_enter_container(reply, 'r', "sssas") > 0) {
                char **units = NULL;
                ck_assert_int_ge(sd_bus_message_read(reply, "sss", &name, &strategy, &reason), 0);
                ck_assert_int_ge(sd_bus_message_read_strv(reply, &units), 0);
                ck_assert_int_ge(asprintf(&n, "%s%s:%s:", out, name, strategy), 0);
                free(out);
                out = n;
                for (size_t i = 0; units && units[i]; i++) {
                        ck_assert_int_ge(asprintf(&n, "%s%s%s", out, i ? "," : "", units[i]), 0);
                        free(out);
                        out = n;
                }
                ck_assert_int_ge(asprintf(&n, "%s;", out), 0);
                free(out);
                out = n;
                strv_free(units);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
        }
        sd_bus_message_unref(reply);
        return out;
}

static char *vm_path(const char *name)
{
        char *p = NULL;
        ck_assert_int_ge(sd_bus_path_encode(MDP_OBJECT_VMS, name, &p), 0);
        return p;
}

static char *vm_prop_s(struct harness *h, const char *vm, const char *prop)
{
        _cleanup_free_ char *path = vm_path(vm);
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *v = NULL;
        int r = sd_bus_get_property_string(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_VM, prop, &e, &v);

        ck_assert_msg(r >= 0, "%s.%s: %s", vm, prop, e.message);
        return v;
}

static char **vm_prop_as(struct harness *h, const char *vm, const char *prop)
{
        _cleanup_free_ char *path = vm_path(vm);
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char **v = NULL;
        int r = sd_bus_get_property_strv(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_VM, prop, &e, &v);

        ck_assert_msg(r >= 0, "%s.%s: %s", vm, prop, e.message);
        return v;
}

/* Pasids a(ssu) as "unit/kind/pasid " */
static char *vm_pasids(struct harness *h, const char *vm, size_t *ret_n, uint32_t *first)
{
        _cleanup_free_ char *path = vm_path(vm);
        sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *unit, *kind;
        uint32_t pasid;
        char *out = strdup(""), *n;
        size_t count = 0;

        ck_assert_msg(sd_bus_get_property(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_VM, "Pasids", &e,
                                          &reply, "a(ssu)") >= 0,
                      "Pasids: %s", e.message);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(ssu)"), 0);
        while (sd_bus_message_read(reply, "(ssu)", &unit, &kind, &pasid) > 0) {
                if (count == 0 && first)
                        *first = pasid;
                count++;
                ck_assert_int_ge(asprintf(&n, "%s%s/%s/%u ", out, unit, kind, pasid), 0);
                free(out);
                out = n;
        }
        sd_bus_message_unref(reply);
        if (ret_n)
                *ret_n = count;
        return out;
}

static bool plan_mentions(const struct mdp_plan *p, size_t unit, const char *needle)
{
        for (size_t i = 0; i < p->units[unit].n_explanation; i++)
                if (strstr(p->units[unit].explanation[i], needle))
                        return true;
        return false;
}

/* The sim gives every new mdev a "vfio-noiommu" group, which says emulated whatever a profile
 * declares (IOMMU-SPEC.md §1.4). An IOMMU-backed mdev's group has no such name: the name
 * file is dropped so the vendor profile decides. */
static void sim_create(struct harness *h, const char *parent, const char *type, const char *uuid)
{
        _cleanup_free_ char *out = NULL, *link = NULL, *name = NULL;
        char target[256];
        ssize_t n;
        int r = harness_sim(h, &out, "create %s %s %s", parent, type, uuid);

        ck_assert_msg(r == 0, "sim create %s: %s", uuid, strna(out));
        ck_assert_int_ge(asprintf(&link, "%s/sys/bus/mdev/devices/%s/iommu_group", harness_root(h), uuid),
                         0);
        n = readlink(link, target, sizeof(target) - 1);
        ck_assert_msg(n > 0, "%s: no iommu_group link", link);
        target[n] = '\0';
        ck_assert_int_ge(asprintf(&name, "%s/sys/kernel/iommu_groups/%s/name", harness_root(h),
                                  strrchr(target, '/') + 1),
                         0);
        (void)unlink(name);
}

static void restart(struct harness *h, pid_t *d)
{
        int st = harness_kill(h, *d, SIGTERM, 10000);
        ck_assert_msg(st >= 0, "the daemon did not stop: %d", st);
        *d = spawn_daemon(h);
}

/* ---- tests ---- */

/* Attach, the Vm object and ListVms, the same unit to a second VM (refused naming the
 * holder), detach frees the unit, NoSuchVm after. */
START_TEST(test_attach_detach)
{
        struct harness *h = start_x86_host();
        const char *units[] = {MTTY_LIVE, NULL};
        _cleanup_(mdp_plan_freep) struct mdp_plan *dry = NULL, *p = NULL, *p2 = NULL;
        _cleanup_free_ char *msg = NULL, *list = NULL, *strategy = NULL, *path = vm_path("web1");
        _cleanup_strv_free_ char **vunits = NULL, **missing = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        struct harness_watch *added, *removed;

        spawn_daemon(h);
        ck_assert_int_eq(vm_call(h, "PlanVm", "web1", units, "nopasid", &dry, NULL, &e), 0);
        ck_assert_str_eq(dry->vm, "web1");
        ck_assert_int_ne(dry->strategy, MDP_STRATEGY_REFUSED);
        list = list_vms(h);
        ck_assert_str_eq(list, ""); /* a dry run records nothing */
        free(list);

        added = harness_watch_signal(h, MDP_BUS_NAME, MDP_OBJECT_ROOT, "org.freedesktop.DBus.ObjectManager",
                                     "InterfacesAdded");
        p = attach_ok(h, "web1", units, "nopasid", NULL);
        ck_assert_int_eq(p->strategy, dry->strategy);
        ck_assert_int_eq(harness_wait_signal(added, WAIT_MS, NULL), 0);
        harness_watch_free(added);
        list = list_vms(h);
        {
                _cleanup_free_ char *want = NULL;
                ck_assert_int_ge(
                        asprintf(&want, "web1:%s:" MTTY_LIVE ";", mdp_strategy_to_string(p->strategy)), 0);
                ck_assert_str_eq(list, want);
        }
        strategy = vm_prop_s(h, "web1", "Strategy");
        ck_assert_str_eq(strategy, mdp_strategy_to_string(p->strategy));
        vunits = vm_prop_as(h, "web1", "Units");
        ck_assert_str_eq(vunits[0], MTTY_LIVE);
        missing = vm_prop_as(h, "web1", "Missing");
        ck_assert(!missing || !missing[0]);
        {
                sd_bus_message *reply = call_ok(h, "Describe", "");
                const char *text;
                ck_assert_int_ge(sd_bus_message_read(reply, "s", &text), 0);
                ck_assert_msg(strstr(text, "\"Vms\":[{\"Name\":\"web1\""), "%s", text);
                sd_bus_message_unref(reply);
        }

        /* the same unit to another VM, in any case spelling */
        {
                const char *upper[] = {"29A5D629-5236-452F-9C1B-1E3B31A976CC", NULL};
                msg = attach_err(h, "web2", upper, "nopasid", MDP_ERROR_REFUSED);
                ck_assert_msg(strstr(msg, "web2: UNIT_HELD on " MTTY_LIVE) && strstr(msg, "VM web1"), "%s",
                              msg);
                free(msg);
                ck_assert_int_lt(vm_call(h, "PlanVm", "web2", upper, "nopasid", &p2, NULL, &e), 0);
                ck_assert_str_eq(e.name, MDP_ERROR_REFUSED);
                sd_bus_error_free(&e);
        }
        /* again with the same units: today's plan, nothing changes; other units: AlreadyExists */
        p2 = attach_ok(h, "web1", units, "nopasid", NULL);
        p2 = mdp_plan_free(p2);
        {
                const char *other[] = {MDPY_LIVE, NULL};
                msg = attach_err(h, "web1", other, "nopasid", MDP_ERROR_ALREADY_EXISTS);
                free(msg);
        }

        removed = harness_watch_signal(h, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                       "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved");
        sd_bus_message_unref(call_ok(h, "DetachVm", "s", "web1"));
        ck_assert_int_eq(harness_wait_signal(removed, WAIT_MS, NULL), 0);
        harness_watch_free(removed);
        msg = call_err(h, "DetachVm", MDP_ERROR_NO_SUCH_VM, "s", "web1");
        ck_assert_msg(strstr(msg, "web1"), "%s", msg);
        free(msg);
        ck_assert_int_lt(sd_bus_get_property_string(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_VM, "Name",
                                                    &e, &msg),
                         0);
        sd_bus_error_free(&e);
        msg = NULL;
        /* the unit is free again */
        p2 = attach_ok(h, "web2", units, "nopasid", NULL);
        harness_stop(h);
}
END_TEST

/* A refused plan: the error is one line with the reason code, unit and fix; nothing is
 * recorded. */
START_TEST(test_refused_changes_nothing)
{
        struct harness *h = start_x86_host();
        const char *units[] = {MTTY_LIVE, NULL};
        _cleanup_(mdp_plan_freep) struct mdp_plan *dry = NULL;
        _cleanup_free_ char *msg = NULL, *list = NULL, *state = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;

        spawn_daemon(h);
        /* PlanVm returns the refused plan */
        ck_assert_int_eq(vm_call(h, "PlanVm", "db1", units, "pasid", &dry, NULL, &e), 0);
        ck_assert_int_eq(dry->strategy, MDP_STRATEGY_REFUSED);
        ck_assert_str_eq(dry->refused_by, MTTY_LIVE);
        msg = attach_err(h, "db1", units, "pasid", MDP_ERROR_REFUSED);
        ck_assert_msg(startswith(msg, "db1: EMULATED_NO_PASID on " MTTY_LIVE ": "), "%s", msg);
        ck_assert_msg(!strchr(msg, '\n') && strstr(msg, "; "), "%s", msg);
        list = list_vms(h);
        ck_assert_str_eq(list, "");
        state = test_read(harness_root(h), "var/lib/mdevpasid/state.json");
        ck_assert_msg(!state || !strstr(state, "\"vms\""), "%s", state);
        harness_stop(h);
}
END_TEST

/* Every argument is checked before anything happens; errors name the bad value or key. */
START_TEST(test_invalid_requests)
{
        struct harness *h = start_x86_host();
        const char *units[] = {MTTY_LIVE, NULL};
        const char *bad_unit[] = {"not-a-unit", NULL};
        const char *twice[] = {MTTY_LIVE, MTTY_LIVE, NULL};
        const char *ghost[] = {"6b2d0e2d-7b3f-4e8a-9c6d-0f1e2a3b4cff", NULL};
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        struct mdp_plan *p = NULL;
        char *msg;

        spawn_daemon(h);
        msg = attach_err(h, "a/b", units, "nopasid", MDP_ERROR_INVALID_ARGS);
        ck_assert_msg(strstr(msg, "VM name") && strstr(msg, "a/b"), "%s", msg);
        free(msg);
        msg = attach_err(h, "", units, "nopasid", MDP_ERROR_INVALID_ARGS);
        free(msg);
        msg = attach_err(h, "vm", bad_unit, "nopasid", MDP_ERROR_INVALID_ARGS);
        ck_assert_msg(strstr(msg, "not-a-unit"), "%s", msg);
        free(msg);
        msg = attach_err(h, "vm", twice, "nopasid", MDP_ERROR_INVALID_ARGS);
        free(msg);
        msg = attach_err(h, "vm", units, "pasid-ish", MDP_ERROR_INVALID_ARGS);
        ck_assert_msg(strstr(msg, "Viommu") && strstr(msg, "pasid-ish"), "%s", msg);
        free(msg);
        msg = attach_err(h, "vm", NULL, "nopasid", MDP_ERROR_INVALID_ARGS);
        free(msg);
        msg = attach_err(h, "vm", ghost, "nopasid", MDP_ERROR_NO_SUCH_DEVICE);
        free(msg);

        /* unknown key, wrong type, DomainXml with Units */
        ck_assert_int_ge(sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, "PlanVm"),
                         0);
        ck_assert_int_ge(sd_bus_message_append(m, "sa{sv}", "vm", 1, "Colour", "s", "blue"), 0);
        ck_assert_int_lt(sd_bus_call(harness_bus(h), m, 0, &e, NULL), 0);
        ck_assert_str_eq(e.name, MDP_ERROR_INVALID_ARGS);
        ck_assert_msg(strstr(e.message, "Colour"), "%s", e.message);
        sd_bus_error_free(&e);
        m = sd_bus_message_unref(m);
        ck_assert_int_ge(sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, "PlanVm"),
                         0);
        ck_assert_int_ge(sd_bus_message_append(m, "sa{sv}", "vm", 1, "Viommu", "u", 1), 0);
        ck_assert_int_lt(sd_bus_call(harness_bus(h), m, 0, &e, NULL), 0);
        ck_assert_str_eq(e.name, MDP_ERROR_INVALID_ARGS);
        ck_assert_msg(strstr(e.message, "Viommu"), "%s", e.message);
        sd_bus_error_free(&e);
        m = sd_bus_message_unref(m);
        ck_assert_int_ge(sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, "PlanVm"),
                         0);
        ck_assert_int_ge(sd_bus_message_append(m, "sa{sv}", "vm", 2, "DomainXml", "s", "<domain/>", "Viommu",
                                               "s", "none"),
                         0);
        ck_assert_int_lt(sd_bus_call(harness_bus(h), m, 0, &e, NULL), 0);
        ck_assert_str_eq(e.name, MDP_ERROR_INVALID_ARGS);
        ck_assert_msg(strstr(e.message, "DomainXml"), "%s", e.message);
        sd_bus_error_free(&e);
        (void)p;
        msg = call_err(h, "AllocatePasids", MDP_ERROR_INVALID_ARGS, "ssu", "vm", MTTY_LIVE, 0);
        free(msg);
        msg = call_err(h, "AllocatePasids", MDP_ERROR_NO_SUCH_VM, "ssu", "vm", MTTY_LIVE, 1);
        free(msg);
        harness_stop(h);
}
END_TEST

/* DomainXml: the units and the mode come from the domain. */
START_TEST(test_domain_xml)
{
        struct harness *h = start_x86_host();
        static const char xml[] =
                "<domain type='kvm'><name>dom1</name><os><type arch='x86_64' machine='q35'>hvm</type></os>"
                "<devices><hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address "
                "uuid='" MTTY_LIVE "'/></source></hostdev><iommu model='intel'><driver caching_mode='on' "
                "intremap='on'/></iommu>"
                "</devices><features><ioapic driver='qemu'/></features></domain>";
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;

        spawn_daemon(h);
        ck_assert_int_ge(sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, "AttachVm"),
                         0);
        ck_assert_int_ge(sd_bus_message_append(m, "sa{sv}", "dom1", 1, "DomainXml", "s", xml), 0);
        ck_assert_msg(sd_bus_call(harness_bus(h), m, 0, &e, &reply) >= 0, "%s", e.message);
        ck_assert_int_eq(mdp_plan_bus_read(reply, &p), 0);
        ck_assert_int_eq(p->guest, MDP_GUEST_NOPASID);
        ck_assert_ptr_nonnull(p->guest_basis);
        ck_assert_uint_eq(p->n_units, 1);
        ck_assert_str_eq(p->units[0].unit, MTTY_LIVE);
        harness_stop(h);
}
END_TEST

/* Restarts keep assignments; a unit that went away while the daemon was down is reported
 * (Warnings, Missing) and kept until DetachVm. */
START_TEST(test_restart_keeps_assignments)
{
        struct harness *h = start_x86_host();
        const char *units[] = {MTTY_LIVE, MDPY_LIVE, NULL};
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
        _cleanup_free_ char *list = NULL, *list2 = NULL, *out = NULL;
        _cleanup_strv_free_ char **missing = NULL, **warnings = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        bool warned = false;
        pid_t d;

        d = spawn_daemon(h);
        p = attach_ok(h, "keep1", units, "none", NULL);
        list = list_vms(h);
        restart(h, &d);
        list2 = list_vms(h);
        ck_assert_str_eq(list2, list);

        /* the mdpy mdev goes away while the daemon is down */
        ck_assert_int_ge(harness_kill(h, d, SIGTERM, 10000), 0);
        ck_assert_msg(harness_sim(h, &out, "remove %s", MDPY_LIVE) == 0, "%s", strna(out));
        d = spawn_daemon(h);
        free(list2);
        list2 = list_vms(h);
        ck_assert_str_eq(list2, list);
        missing = vm_prop_as(h, "keep1", "Missing");
        ck_assert_ptr_nonnull(missing[0]);
        ck_assert_str_eq(missing[0], MDPY_LIVE);
        ck_assert_ptr_null(missing[1]);
        ck_assert_int_ge(sd_bus_get_property_strv(harness_bus(h), MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                  MDP_IFACE_MANAGER, "Warnings", &e, &warnings),
                         0);
        for (size_t i = 0; warnings && warnings[i]; i++)
                warned |= strstr(warnings[i], "keep1") && strstr(warnings[i], MDPY_LIVE);
        ck_assert_msg(warned, "no warning about the gone unit");
        sd_bus_message_unref(call_ok(h, "DetachVm", "s", "keep1"));
        free(list2);
        list2 = list_vms(h);
        ck_assert_str_eq(list2, "");
        harness_stop(h);
}
END_TEST

/* Two VMs on one SMMUv3 parent: the second plan sees the first VM (no nesting across VMs,
 * IOMMU-SPEC.md §6.4 step 9); instance PASIDs are distinct, outside the profile's reserved
 * range, released on detach, and a restart never hands a recorded one out again. */
START_TEST(test_smmu_two_vms)
{
        struct harness *h = start_smmu_host();
        const char *ua[] = {A1, NULL}, *ub[] = {A2, NULL}, *uc[] = {A3, NULL};
        _cleanup_(mdp_plan_freep) struct mdp_plan *pa = NULL, *pb = NULL, *pc = NULL;
        _cleanup_free_ struct mdp_plan_bus_info *ia = NULL, *ib = NULL, *ic = NULL;
        _cleanup_free_ char *sa = NULL, *sb = NULL, *msg = NULL;
        uint32_t first_a = 0;
        size_t n = 0;
        pid_t d;

        sim_create(h, PF, VTYPE, A1);
        sim_create(h, PF, VTYPE, A2);
        sim_create(h, PF, VTYPE, A3);
        d = spawn_daemon(h);

        pa = attach_ok(h, "vm-a", ua, "nopasid", &ia);
        ck_assert_int_eq(pa->units[0].kind, MDP_UNIT_PMDEV);
        ck_assert_str_eq(ia->parents[0], PF);
        ck_assert_uint_eq(ia->n_pasids, 1);
        ck_assert_uint_ge(ia->pasids[0].pasid, 16); /* the template reserves 0-15 */
        ck_assert_msg(!plan_mentions(pa, 0, "VM vm-a"), "vm-a's plan names itself");

        pb = attach_ok(h, "vm-b", ub, "nopasid", &ib);
        ck_assert_msg(plan_mentions(pb, 0, "VM vm-a holds units on it"), "vm-b's plan does not see vm-a");
        ck_assert_int_ne(pb->units[0].strategy, MDP_STRATEGY_NEST);
        ck_assert_uint_eq(ib->n_pasids, 1);
        ck_assert_uint_ne(ib->pasids[0].pasid, ia->pasids[0].pasid);

        sa = vm_pasids(h, "vm-a", &n, &first_a);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(first_a, ia->pasids[0].pasid);
        ck_assert_msg(strstr(sa, A1 "/instance/"), "%s", sa);

        /* guest PASIDs need a +pv strategy */
        msg = call_err(h, "AllocatePasids", MDP_ERROR_REFUSED, "ssu", "vm-a", A1, 1);
        ck_assert_msg(strstr(msg, "shadow+pv"), "%s", msg);

        /* restart: vm-c's PASID is neither vm-a's nor vm-b's */
        restart(h, &d);
        pc = attach_ok(h, "vm-c", uc, "nopasid", &ic);
        ck_assert_uint_eq(ic->n_pasids, 1);
        ck_assert_uint_ne(ic->pasids[0].pasid, ia->pasids[0].pasid);
        ck_assert_uint_ne(ic->pasids[0].pasid, ib->pasids[0].pasid);
        free(sb);
        sb = vm_pasids(h, "vm-a", &n, NULL);
        ck_assert_str_eq(sb, sa);

        /* detach frees the unit and its PASID: vm-b's unit can go to vm-a2 */
        sd_bus_message_unref(call_ok(h, "DetachVm", "s", "vm-b"));
        {
                _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
                _cleanup_free_ struct mdp_plan_bus_info *i = NULL;
                p = attach_ok(h, "vm-b2", ub, "nopasid", &i);
                ck_assert_uint_eq(i->n_pasids, 1);
        }
        harness_stop(h);
}
END_TEST

/* The parent's quota and reserved ranges (policy) bound instance PASIDs: the attach that would exceed it
 * fails with NoCapacity and records nothing; a detach makes room. */
START_TEST(test_parent_quota)
{
        struct harness *h = start_smmu_host();
        const char *ua[] = {A1, NULL}, *ub[] = {A2, NULL};
        _cleanup_(mdp_plan_freep) struct mdp_plan *pa = NULL, *pb = NULL;
        _cleanup_free_ struct mdp_plan_bus_info *ia = NULL;
        _cleanup_free_ char *msg = NULL, *list = NULL;

        write_policy(h, "{ \"version\": 1, \"parents\": [ { \"match\": \"" PF
                        "\", \"pasid_quota\": 1, \"reserved_pasids\": [\"16-99\"] } ] }");
        sim_create(h, PF, VTYPE, A1);
        sim_create(h, PF, VTYPE, A2);
        spawn_daemon(h);
        pa = attach_ok(h, "q1", ua, "nopasid", &ia);
        /* the profile reserves 0-15, the policy 16-99 */
        ck_assert_uint_eq(ia->n_pasids, 1);
        ck_assert_uint_ge(ia->pasids[0].pasid, 100);
        msg = attach_err(h, "q2", ub, "nopasid", MDP_ERROR_NO_CAPACITY);
        ck_assert_msg(strstr(msg, PF) && strstr(msg, "quota"), "%s", msg);
        list = list_vms(h);
        ck_assert_msg(!strstr(list, "q2"), "%s", list);
        sd_bus_message_unref(call_ok(h, "DetachVm", "s", "q1"));
        pb = attach_ok(h, "q2", ub, "nopasid", NULL);

        /* Reload with a quota of 2: the space is made again, q2's PASID still taken */
        write_policy(h, "{ \"version\": 1, \"parents\": [ { \"match\": \"" PF
                        "\", \"pasid_quota\": 2, \"reserved_pasids\": [\"16-99\"] } ] }");
        sd_bus_message_unref(call_ok(h, "Reload", ""));
        {
                _cleanup_(mdp_plan_freep) struct mdp_plan *p3 = NULL;
                _cleanup_free_ struct mdp_plan_bus_info *i3 = NULL;
                _cleanup_free_ char *q2 = vm_pasids(h, "q2", NULL, NULL);
                p3 = attach_ok(h, "q1", ua, "nopasid", &i3);
                ck_assert_uint_eq(i3->n_pasids, 1);
                {
                        char needle[32];
                        snprintf(needle, sizeof(needle), "/instance/%u ", i3->pasids[0].pasid);
                        ck_assert_msg(!strstr(q2, needle), "q1 got q2's PASID: %s", q2);
                }
        }
        harness_stop(h);
}
END_TEST

/* Guest PASIDs (+pv, experimental: IOMMU-SPEC.md §6.6) with a policy that asserts a PV
 * PASID channel: quotas (the VM's, the profile's max_guest_pasids), all-or-nothing frees,
 * double free, a restart, and DetachVm releasing everything. */
#define PV_POLICY                                                                                           \
        "{ \"version\": 1, \"defaults\": { \"allow_experimental\": true, \"pasid_quota\": 20 }, "           \
        "\"vmm\": { \"iommufd\": true, \"virtio-iommu-pci\": true, \"arm-smmuv3.accel\": true, "            \
        "\"arm-smmuv3.ssidsize\": true, \"passthrough-pasid\": true, \"pv-pasid-alloc\": true, "            \
        "\"vfio-pci.x-vpasid-cap-offset\": true } }"

static uint32_t *alloc_pasids(struct harness *h, const char *vm, const char *uuid, uint32_t count,
                              size_t *ret_n)
{
        sd_bus_message *reply = call_ok(h, "AllocatePasids", "ssu", vm, uuid, count);
        const void *a;
        size_t size;
        uint32_t *copy;

        ck_assert_int_ge(sd_bus_message_read_array(reply, 'u', &a, &size), 0);
        copy = malloc(size + 1);
        memcpy(copy, a, size);
        *ret_n = size / sizeof(uint32_t);
        sd_bus_message_unref(reply);
        return copy;
}

static int free_pasids(struct harness *h, const char *vm, const uint32_t *p, size_t n, sd_bus_error *e)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        ck_assert_int_ge(sd_bus_message_new_method_call(harness_bus(h), &m, MDP_BUS_NAME, MDP_OBJECT_ROOT,
                                                        MDP_IFACE_MANAGER, "FreePasids"),
                         0);
        ck_assert_int_ge(sd_bus_message_append(m, "s", vm), 0);
        ck_assert_int_ge(sd_bus_message_append_array(m, 'u', p, n * sizeof(uint32_t)), 0);
        return sd_bus_call(harness_bus(h), m, 0, e, NULL);
}

START_TEST(test_guest_pasids)
{
        struct harness *h = start_smmu_host();
        const char *ua[] = {A1, NULL}, *ub[] = {A2, NULL};
        _cleanup_(mdp_plan_freep) struct mdp_plan *pa = NULL, *pb = NULL;
        _cleanup_free_ uint32_t *g1 = NULL, *g2 = NULL, *g3 = NULL;
        _cleanup_free_ char *msg = NULL, *before = NULL, *after = NULL;
        _cleanup_free_ struct mdp_plan_bus_info *ia = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        size_t n1, n2, n3, n;
        pid_t d;

        write_policy(h, PV_POLICY);
        sim_create(h, PF, VTYPE, A1);
        sim_create(h, PF, VTYPE, A2);
        d = spawn_daemon(h);
        {
                _cleanup_(mdp_plan_freep) struct mdp_plan *dry = NULL;
                _cleanup_free_ char *text = NULL;
                ck_assert_int_eq(vm_call(h, "PlanVm", "pv1", ua, "pasid", &dry, NULL, &e), 0);
                ck_assert_int_eq(mdp_plan_format_text(dry, &text), 0);
                ck_assert_msg(dry->strategy == MDP_STRATEGY_SHADOW_PV ||
                                      dry->strategy == MDP_STRATEGY_NEST_PV,
                              "no +pv plan:\n%s", text);
        }
        pa = attach_ok(h, "pv1", ua, "pasid", &ia);
        g1 = alloc_pasids(h, "pv1", A1, 10, &n1);
        ck_assert_uint_eq(n1, 10);
        for (size_t i = 0; i < n1; i++) {
                ck_assert_uint_ge(g1[i], 16);
                ck_assert_uint_ne(g1[i], ia->pasids[0].pasid);
        }
        /* the profile's max_guest_pasids (16) per instance */
        msg = call_err(h, "AllocatePasids", MDP_ERROR_NO_CAPACITY, "ssu", "pv1", A1, 7);
        ck_assert_msg(strstr(msg, "max_guest_pasids"), "%s", msg);
        free(msg);
        g2 = alloc_pasids(h, "pv1", A1, 6, &n2);
        /* a unit the VM does not hold; a VM without the unit */
        msg = call_err(h, "AllocatePasids", MDP_ERROR_INVALID_ARGS, "ssu", "pv1", A2, 1);
        free(msg);

        /* all or nothing: one PASID not the VM's, nothing is freed */
        {
                uint32_t mixed[] = {g1[0], 5};
                ck_assert_int_lt(free_pasids(h, "pv1", mixed, 2, &e), 0);
                ck_assert_str_eq(e.name, MDP_ERROR_INVALID_ARGS);
                ck_assert_msg(strstr(e.message, "PASID 5"), "%s", e.message);
                sd_bus_error_free(&e);
        }
        before = vm_pasids(h, "pv1", &n, NULL);
        ck_assert_uint_eq(n, 1 + 10 + 6);
        ck_assert_int_ge(free_pasids(h, "pv1", g1, 5, &e), 0);
        /* double free */
        ck_assert_int_lt(free_pasids(h, "pv1", g1, 1, &e), 0);
        ck_assert_str_eq(e.name, MDP_ERROR_INVALID_ARGS);
        sd_bus_error_free(&e);

        /* a restart keeps them; a second VM's PASIDs never collide with the recorded ones */
        free(before);
        before = vm_pasids(h, "pv1", &n, NULL);
        ck_assert_uint_eq(n, 1 + 5 + 6);
        restart(h, &d);
        after = vm_pasids(h, "pv1", &n, NULL);
        ck_assert_str_eq(after, before);
        pb = attach_ok(h, "pv2", ub, "pasid", NULL);
        g3 = alloc_pasids(h, "pv2", A2, 14, &n3);
        for (size_t i = 0; i < n3; i++) {
                for (size_t k = 5; k < n1; k++)
                        ck_assert_uint_ne(g3[i], g1[k]);
                for (size_t k = 0; k < n2; k++)
                        ck_assert_uint_ne(g3[i], g2[k]);
        }
        /* the VM quota (defaults.pasid_quota 20): 14 held, 7 more is too many */
        msg = call_err(h, "AllocatePasids", MDP_ERROR_NO_CAPACITY, "ssu", "pv2", A2, 7);
        ck_assert_msg(strstr(msg, "quota"), "%s", msg);
        free(msg);

        /* detach releases the instance and guest PASIDs */
        sd_bus_message_unref(call_ok(h, "DetachVm", "s", "pv1"));
        msg = call_err(h, "FreePasids", MDP_ERROR_NO_SUCH_VM, "sau", "pv1", 1, g2[0]);
        harness_stop(h);
}
END_TEST

static bool device_active(struct harness *h, const char *uuid)
{
        _cleanup_free_ char *path = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int active = 0;

        ck_assert_int_ge(sd_bus_path_encode(MDP_OBJECT_DEVICES, uuid, &path), 0);
        if (sd_bus_get_property_trivial(harness_bus(h), MDP_BUS_NAME, path, MDP_IFACE_DEVICE, "Active", &e,
                                        'b', &active) < 0) {
                sd_bus_error_free(&e);
                return false;
        }
        return active;
}

static void define_mtty(struct harness *h, const char *uuid)
{
        sd_bus_message_unref(call_ok(h, "Define", "sssba(ss)a{sv}", "mtty", "mtty-1", uuid, 0, 0, 0));
}

/* AttachVm starts the VM's mdevs that are defined and not running; when the attach is then
 * refused, it stops them again. */
START_TEST(test_attach_starts_defined)
{
        struct harness *h = start_x86_host();
        const char *u1[] = {A1, NULL}, *u2[] = {A2, MTTY_LIVE, NULL};
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
        _cleanup_free_ char *msg = NULL;
        int waited = 0;

        spawn_daemon(h);
        define_mtty(h, A1);
        define_mtty(h, A2);
        ck_assert(!device_active(h, A1));
        p = attach_ok(h, "st1", u1, "nopasid", NULL);
        ck_assert_str_eq(p->units[0].unit, A1);
        ck_assert(device_active(h, A1));

        /* G2 with emulated mdevs is refused: A2 was started for the plan, and is stopped again */
        msg = attach_err(h, "st2", u2, "pasid", MDP_ERROR_REFUSED);
        ck_assert_msg(strstr(msg, "EMULATED_NO_PASID"), "%s", msg);
        while (device_active(h, A2) && waited < WAIT_MS) {
                usleep(20000);
                waited += 20;
        }
        ck_assert_msg(!device_active(h, A2), "%s stayed active after the refused attach", A2);
        ck_assert(device_active(h, MTTY_LIVE)); /* it was running before: left alone */
        harness_stop(h);
}
END_TEST

/* The vendor attribute the profile names ("pasid" in the template) is the instance's PASID:
 * taken as it is, and a second instance reporting the same PASID is refused. */
START_TEST(test_pasid_attribute)
{
        struct harness *h = start_smmu_host();
        const char *ua[] = {A1, NULL}, *ub[] = {A2, NULL};
        _cleanup_(mdp_plan_freep) struct mdp_plan *pa = NULL;
        _cleanup_free_ struct mdp_plan_bus_info *ia = NULL;
        _cleanup_free_ char *msg = NULL, *list = NULL;

        sim_create(h, PF, VTYPE, A1);
        sim_create(h, PF, VTYPE, A2);
        /* faked: what a vendor driver would show in the mdev's directory */
        test_write(harness_root(h), "sys/bus/mdev/devices/" A1 "/pasid", "0x64\n");
        test_write(harness_root(h), "sys/bus/mdev/devices/" A2 "/pasid", "100\n");
        spawn_daemon(h);
        pa = attach_ok(h, "attr1", ua, "nopasid", &ia);
        ck_assert_uint_eq(ia->n_pasids, 1);
        ck_assert_uint_eq(ia->pasids[0].pasid, 100);
        msg = attach_err(h, "attr2", ub, "nopasid", MDP_ERROR_BUSY);
        ck_assert_msg(strstr(msg, "PASID 100") && strstr(msg, A2), "%s", msg);
        list = list_vms(h);
        ck_assert_msg(!strstr(list, "attr2"), "%s", list);
        harness_stop(h);
}
END_TEST

/* A unit that goes away while the VM is attached: Missing changes (PropertiesChanged) and
 * Warnings says so; the assignment stays. */
START_TEST(test_missing_live)
{
        struct harness *h = start_x86_host();
        const char *units[] = {MDPY_LIVE, NULL};
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL;
        _cleanup_free_ char *path = vm_path("live1"), *out = NULL, *list = NULL;
        _cleanup_strv_free_ char **missing = NULL;
        struct harness_watch *w;

        spawn_daemon(h);
        p = attach_ok(h, "live1", units, "none", NULL);
        w = harness_watch_signal(h, MDP_BUS_NAME, path, "org.freedesktop.DBus.Properties",
                                 "PropertiesChanged");
        ck_assert_msg(harness_sim(h, &out, "remove %s", MDPY_LIVE) == 0, "%s", strna(out));
        ck_assert_int_eq(harness_wait_signal(w, WAIT_MS, NULL), 0);
        harness_watch_free(w);
        missing = vm_prop_as(h, "live1", "Missing");
        ck_assert_ptr_nonnull(missing);
        ck_assert_str_eq(missing[0], MDPY_LIVE);
        list = list_vms(h);
        ck_assert_msg(strstr(list, "live1"), "%s", list);
        harness_stop(h);
}
END_TEST

static Suite *assign_suite(void)
{
        Suite *s = suite_create("assign");
        TCase *tc = tcase_create("assign");

        tcase_set_timeout(tc, 120);
        tcase_add_checked_fixture(tc, NULL, remove_datadir);
        tcase_add_test(tc, test_attach_detach);
        tcase_add_test(tc, test_refused_changes_nothing);
        tcase_add_test(tc, test_invalid_requests);
        tcase_add_test(tc, test_domain_xml);
        tcase_add_test(tc, test_restart_keeps_assignments);
        tcase_add_test(tc, test_smmu_two_vms);
        tcase_add_test(tc, test_parent_quota);
        tcase_add_test(tc, test_guest_pasids);
        tcase_add_test(tc, test_attach_starts_defined);
        tcase_add_test(tc, test_pasid_attribute);
        tcase_add_test(tc, test_missing_live);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr;
        int failed;

        sr = srunner_create(assign_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
