/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A plan on the bus (lib/plan-bus.h): what the daemon appends, a client reads back into a
 * struct mdp_plan that renders exactly like the original (text and JSON), parents and
 * PASIDs included. Nothing is faked but the bus: messages are built on an sd-bus
 * connection over a socketpair that never talks to anyone, sealed and rewound. */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine-test.h"
#include "engine.h"
#include "plan-bus.h"
#include "util/json.h"
#include "util/macro.h"
#include "util/strbuf.h"

static struct engine_env env;
static sd_bus *bus;
static int peer = -1;

static void setup(void)
{
        int fds[2];

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        ck_assert_int_eq(sd_bus_new(&bus), 0);
        ck_assert_int_eq(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        ck_assert_int_ge(sd_bus_start(bus), 0);
        peer = fds[1];
}

static void teardown(void)
{
        bus = sd_bus_close_unref(bus); /* no flush: nobody answers the handshake */
        if (peer >= 0)
                close(peer);
        peer = -1;
}

static sd_bus_message *new_message(void)
{
        sd_bus_message *m = NULL;

        ck_assert_int_eq(sd_bus_message_new_method_call(bus, &m, "org.mdevpasid1", "/org/mdevpasid1",
                                                        "org.mdevpasid1.Manager", "PlanVm"),
                         0);
        return m;
}

static void seal(sd_bus_message *m)
{
        ck_assert_int_eq(sd_bus_message_seal(m, 1, 0), 0);
        ck_assert_int_ge(sd_bus_message_rewind(m, true), 0);
}

static char *text(const struct mdp_plan *p)
{
        char *t = NULL;

        ck_assert_int_eq(mdp_plan_format_text(p, &t), 0);
        return t;
}

static char *json(const struct mdp_plan *p)
{
        _cleanup_json_ json_object *o = NULL;
        struct strbuf sb = {};

        ck_assert_int_eq(mdp_plan_to_json(p, &o), 0);
        mdp_json_write_pretty(&sb, o);
        return strbuf_steal(&sb);
}

/* Appends p, reads it back; the renderings must be equal byte for byte. */
static struct mdp_plan *round_trip(const struct mdp_plan *p, const struct mdp_plan_bus_extra *extra,
                                   struct mdp_plan_bus_info **ret_info)
{
        sd_bus_message *m = new_message();
        struct mdp_plan *back = NULL;
        _cleanup_free_ char *t1 = NULL, *t2 = NULL, *j1 = NULL, *j2 = NULL;

        ck_assert_int_eq(mdp_plan_bus_append_full(m, p, extra), 0);
        seal(m);
        ck_assert_int_eq(mdp_plan_bus_read_full(m, &back, ret_info), 0);
        sd_bus_message_unref(m);

        t1 = text(p);
        t2 = text(back);
        ck_assert_str_eq(t2, t1);
        j1 = json(p);
        j2 = json(back);
        ck_assert_str_eq(j2, j1);
        ck_assert_int_eq(back->viommu, p->viommu);
        ck_assert_int_eq(back->arch, p->arch);
        ck_assert_uint_eq(back->n_units, p->n_units);
        for (size_t i = 0; i < p->n_units; i++) {
                ck_assert_uint_eq(back->units[i].n_explanation, p->units[i].n_explanation);
                ck_assert_uint_eq(back->units[i].n_unknowns, p->units[i].n_unknowns);
                ck_assert_int_eq(back->units[i].viommu, p->units[i].viommu);
                ck_assert_int_eq(back->units[i].backend, p->units[i].backend);
        }
        return back;
}

/* x86 G1, a VF and an emulated mdev with an unknown fact and two policy files. */
START_TEST(round_trip_shadow)
{
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL, *back = NULL;
        _cleanup_free_ struct mdp_plan_bus_info *info = NULL;
        struct mdp_unit_input *u;
        const char *parents[] = {NULL, "0000:00:02.0"};
        const struct mdp_plan_pasid pasids[] = {{"83b8f4f2-509f-382f-3c1e-e6bfe0fa1001", 7},
                                                {"83b8f4f2-509f-382f-3c1e-e6bfe0fa1001", 1048575}};
        struct mdp_plan_bus_extra extra = {.parents = parents, .pasids = pasids, .n_pasids = 2};

        env_upstream(&env);
        env.req.vm = "web1";
        env.req.guest = MDP_GUEST_NOPASID;
        env.req.guest_basis = "--viommu nopasid";
        env.policy_files[0] = "/etc/mdevpasid/mdevpasid.conf";
        env.policy_files[1] = "/etc/mdevpasid/policy.d/10-web.json";
        env.req.policy_files = env.policy_files;
        env.req.n_policy_files = 2;
        env_add(&env, MDP_UNIT_VF, MDP_IOMMU_VTD, "0000:01:00.1");
        u = env_add(&env, MDP_UNIT_EMDEV, MDP_IOMMU_VTD, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
        u->iommu.fl1gp = MDP_UNKNOWN;
        env.units[0].behind_pci_bridge = MDP_UNKNOWN;
        p = env_plan(&env);
        ck_assert_uint_gt(p->units[0].n_unknowns + p->units[1].n_unknowns, 0);
        ck_assert_uint_gt(p->n_qemu, 0);

        back = round_trip(p, &extra, &info);
        ck_assert_ptr_nonnull(info);
        ck_assert_uint_eq(info->n_units, 2);
        ck_assert_str_eq(info->parents[0], "");
        ck_assert_str_eq(info->parents[1], "0000:00:02.0");
        ck_assert_uint_eq(info->n_pasids, 2);
        ck_assert_str_eq(info->pasids[1].unit, "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001");
        ck_assert_uint_eq(info->pasids[1].pasid, 1048575);
        ck_assert_str_eq(back->libvirt_xml, p->libvirt_xml);
}
END_TEST

/* Refused: no configuration, a reason, refused_by; and the simple API. */
START_TEST(round_trip_refused)
{
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL, *back = NULL;

        env_upstream(&env);
        env.req.vm = "db2";
        env.req.guest = MDP_GUEST_PASID;
        env.req.guest_basis = "<iommu model='intel'> with <driver pasid_bits='20'/>";
        env_add(&env, MDP_UNIT_PF, MDP_IOMMU_VTD, "0000:3b:00.0");
        p = env_plan(&env);
        ck_assert_int_eq(p->strategy, MDP_STRATEGY_REFUSED);

        back = round_trip(p, NULL, NULL);
        ck_assert_str_eq(back->refused_by, "0000:3b:00.0");
        ck_assert_ptr_null(back->libvirt_xml);
        ck_assert_uint_eq(back->n_qemu, 0);
}
END_TEST

/* Arm: SMMUv3 nesting, several units. */
START_TEST(round_trip_smmu)
{
        _cleanup_(mdp_plan_freep) struct mdp_plan *p = NULL, *back = NULL;

        env_upstream(&env);
        env.req.vm = "arm1";
        env.req.guest = MDP_GUEST_NOPASID;
        env_add(&env, MDP_UNIT_VF, MDP_IOMMU_SMMUV3, "0000:05:00.1");
        env_add(&env, MDP_UNIT_VF, MDP_IOMMU_SMMUV3, "0000:05:00.2");
        p = env_plan(&env);
        back = round_trip(p, NULL, NULL);
        ck_assert_ptr_null(back->guest_basis);
}
END_TEST

/* A dictionary from a daemon that knows keys we do not (skipped) and lacks the extras
 * (every unit line is then a rule). */
START_TEST(read_tolerant)
{
        sd_bus_message *m = new_message();
        _cleanup_(mdp_plan_freep) struct mdp_plan *back = NULL;
        _cleanup_free_ struct mdp_plan_bus_info *info = NULL;

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 5, "Future", "u", 42, "Vm", "s", "x", "Strategy",
                                               "s", "shadow", "Units", "a(sssssas)", 1, "0000:01:00.0", "vf",
                                               "shadow", "", "", 2, "rule one", "fact unknown ⇒ absent",
                                               "Qemu", "as", 1, "-device virtio-iommu-pci"),
                         0);
        seal(m);
        ck_assert_int_eq(mdp_plan_bus_read_full(m, &back, &info), 0);
        sd_bus_message_unref(m);
        ck_assert_str_eq(back->vm, "x");
        ck_assert_int_eq(back->strategy, MDP_STRATEGY_SHADOW);
        ck_assert_int_eq(back->reason, MDP_REASON_NONE);
        ck_assert_uint_eq(back->n_units, 1);
        ck_assert_int_eq(back->units[0].kind, MDP_UNIT_VF);
        ck_assert_uint_eq(back->units[0].n_explanation, 2);
        ck_assert_uint_eq(back->units[0].n_unknowns, 0);
        ck_assert_uint_eq(info->n_pasids, 0);
        ck_assert_str_eq(back->qemu[0], "-device virtio-iommu-pci");
}
END_TEST

/* Wrong types and names this version does not know are -EBADMSG, never a half plan. */
START_TEST(read_rejects)
{
        struct {
                const char *key, *sig;
                const char *value;
        } bad[] = {
                {"Strategy", "s", "teleport"},
                {"Reason", "s", "NOT_A_REASON"},
                {"GuestMode", "s", "g9"},
        };
        struct mdp_plan *back = NULL;
        sd_bus_message *m;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                m = new_message();
                ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 3, "Vm", "s", "x", "Strategy", "s",
                                                       "shadow", bad[i].key, bad[i].sig, bad[i].value),
                                 0);
                seal(m);
                ck_assert_int_eq(mdp_plan_bus_read(m, &back), -EBADMSG);
                ck_assert_ptr_null(back);
                sd_bus_message_unref(m);
        }

        /* Strategy as a number */
        m = new_message();
        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2, "Vm", "s", "x", "Strategy", "u", 1), 0);
        seal(m);
        ck_assert_int_eq(mdp_plan_bus_read(m, &back), -EBADMSG);
        sd_bus_message_unref(m);

        /* no Vm */
        m = new_message();
        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 1, "Strategy", "s", "shadow"), 0);
        seal(m);
        ck_assert_int_eq(mdp_plan_bus_read(m, &back), -EBADMSG);
        sd_bus_message_unref(m);

        /* more unknowns than lines */
        m = new_message();
        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 4, "Vm", "s", "x", "Strategy", "s", "shadow",
                                               "Units", "a(sssssas)", 1, "u", "vf", "shadow", "", "", 0,
                                               "UnitDetails", "a(ssu)", 1, "none", "none", 3),
                         0);
        seal(m);
        ck_assert_int_eq(mdp_plan_bus_read(m, &back), -EBADMSG);
        sd_bus_message_unref(m);
}
END_TEST

static Suite *plan_bus_suite(void)
{
        Suite *s = suite_create("plan-bus");
        TCase *tc = tcase_create("plan-bus");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, round_trip_shadow);
        tcase_add_test(tc, round_trip_refused);
        tcase_add_test(tc, round_trip_smmu);
        tcase_add_test(tc, read_tolerant);
        tcase_add_test(tc, read_rejects);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(plan_bus_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
