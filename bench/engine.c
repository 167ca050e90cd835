/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strategy-engine benchmark (issue 3: "well under 10 µs per unit"): plans one VM of 16
 * units of mixed kinds (VFs, PFs, emulated and PASID-granular mdevs on a VT-d host) under
 * each guest vIOMMU mode, repeatedly, and reports decisions (units planned) per second and
 * µs per unit: median and spread over the runs. A program, not a test: it measures, it does
 * not judge.
 *
 *   bench/engine [--runs N] [--json FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "util/macro.h"

#define N_UNITS       16
#define RUN_TARGET_NS 20000000.0 /* each run lasts about 20 ms */

static const char *const ids[N_UNITS] = {
        "0000:17:00.1",
        "0000:17:00.2",
        "0000:17:00.3",
        "0000:17:00.4",
        "0000:17:00.5",
        "0000:17:00.6",
        "0000:3b:00.0",
        "0000:5e:00.0",
        "83b8f4f2-509f-382f-3c1e-e6bfe0fa0001",
        "83b8f4f2-509f-382f-3c1e-e6bfe0fa0002",
        "83b8f4f2-509f-382f-3c1e-e6bfe0fa0003",
        "83b8f4f2-509f-382f-3c1e-e6bfe0fa0004",
        "83b8f4f2-509f-382f-3c1e-e6bfe0fa0005",
        "83b8f4f2-509f-382f-3c1e-e6bfe0fa0006",
        "83b8f4f2-509f-382f-3c1e-e6bfe0fa0007",
        "83b8f4f2-509f-382f-3c1e-e6bfe0fa0008",
};

/* A VT-d 3 host as IOMMU-SPEC.md §2.2 decodes it: scalable mode on, NEST, FSTS, SSTS,
 * 20-bit PASIDs, PRS. */
static void vtd_host(struct mdp_iommu_caps *c)
{
        c->family = MDP_IOMMU_VTD;
        c->sm_hw = c->sm_on = c->nest_hw = c->fsts = c->ssts = c->prs = c->srs = c->ers = MDP_YES;
        c->sm_on_source = "intel_iommu=sm_on on the kernel command line";
        c->caching_mode = MDP_NO;
        c->fl1gp = MDP_YES;
        c->mgaw = 48;
        c->pasid = MDP_YES;
        c->pasid_width = 20;
        c->nest = c->iopf = MDP_YES;
}

struct scenario {
        const char *name;
        enum mdp_guest_mode guest;
        bool everything; /* every kernel feature and VMM capability asserted */
        bool render;     /* also render JSON and text, as the CLI does */
};

static const struct scenario scenarios[] = {
        {"G0 none", MDP_GUEST_NONE, false, false},
        {"G1 nopasid", MDP_GUEST_NOPASID, false, false},
        {"G2 pasid", MDP_GUEST_PASID, false, false},
        {"G3 svsa", MDP_GUEST_SVSA, false, false},
        {"G1 nopasid, all caps", MDP_GUEST_NOPASID, true, false},
        {"G2 pasid, all caps", MDP_GUEST_PASID, true, false},
        {"G1 nopasid + render", MDP_GUEST_NOPASID, false, true},
};

static void build(const struct scenario *sc, struct mdp_plan_request *req, struct mdp_unit_input *units)
{
        mdp_plan_request_init(req);
        req->vm = "bench";
        req->guest = sc->guest;
        req->guest_basis = "--viommu";
        req->units = units;
        req->n_units = N_UNITS;
        for (size_t i = 0; i < _MDP_KERNEL_FEATURE_MAX; i++)
                req->kernel.has[i] = sc->everything ? MDP_YES : MDP_NO;
        for (size_t i = 0; i < _MDP_VMM_CAP_MAX; i++)
                req->options.vmm[i] = sc->everything ? MDP_YES : MDP_NO;
        if (!sc->everything) {
                /* today's upstream */
                static const enum mdp_kernel_feature k[] = {MDP_KFEAT_IOMMUFD,        MDP_KFEAT_VFIO_CDEV,
                                                            MDP_KFEAT_TYPE1V2,        MDP_KFEAT_NEST_PARENT,
                                                            MDP_KFEAT_VTD_INVALIDATE, MDP_KFEAT_PASID_ATTACH,
                                                            MDP_KFEAT_FAULT_QUEUE};
                static const enum mdp_vmm_cap v[] = {MDP_VMM_IOMMUFD, MDP_VMM_INTEL_IOMMU_CACHING_MODE,
                                                     MDP_VMM_INTEL_IOMMU_X_SCALABLE_MODE,
                                                     MDP_VMM_INTEL_IOMMU_X_FLTS, MDP_VMM_VIRTIO_IOMMU};
                for (size_t i = 0; i < ELEMENTSOF(k); i++)
                        req->kernel.has[k[i]] = MDP_YES;
                for (size_t i = 0; i < ELEMENTSOF(v); i++)
                        req->options.vmm[v[i]] = MDP_YES;
                req->kernel.has[MDP_KFEAT_PMDEV_PATH] = MDP_YES; /* a vendor path, so PMDEVs get decided */
        }
        req->options.allow_experimental = sc->everything;
        for (size_t i = 0; i < N_UNITS; i++) {
                struct mdp_unit_input *u = &units[i];

                mdp_unit_input_init(u);
                u->id = ids[i];
                u->kind = i < 6    ? MDP_UNIT_VF
                          : i < 8  ? MDP_UNIT_PF
                          : i < 14 ? MDP_UNIT_EMDEV
                                   : MDP_UNIT_PMDEV;
                u->iommu_name = "dmar0";
                vtd_host(&u->iommu);
                u->pci.extended_space = u->pci.pasid = u->pci.ats = u->pci.pri = MDP_YES;
                u->pci.pasid_width = 20;
                u->has_group = u->group_viable = MDP_YES;
                u->group = "7";
                u->behind_pci_bridge = i % 3 == 0 ? MDP_UNKNOWN : MDP_NO; /* some unknowns to list */
                if (u->kind == MDP_UNIT_EMDEV || u->kind == MDP_UNIT_PMDEV) {
                        u->parent = "0000:00:02.0";
                        u->device_api = "vfio-pci";
                        u->parent_bound = MDP_YES;
                        u->parent_exclusive = MDP_YES;
                        u->host_uses_rid = MDP_NO;
                }
        }
}

static double now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One iteration: plan (and render); returns 0 or a negative errno. */
static int iterate(const struct scenario *sc, const struct mdp_plan_request *req)
{
        struct mdp_plan *plan = NULL;
        int r = mdp_engine_plan(req, &plan);

        if (r < 0)
                return r;
        if (sc->render) {
                struct json_object *o = NULL;
                char *text = NULL;
                r = mdp_plan_to_json(plan, &o);
                if (r >= 0) {
                        /* serialise, as a D-Bus reply or --json would */
                        if (!json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN))
                                r = -ENOMEM;
                        json_object_put(o);
                }
                if (r >= 0)
                        r = mdp_plan_format_text(plan, &text);
                free(text);
        }
        mdp_plan_free(plan);
        return r;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* The value at quantile q of sorted v (nearest rank). */
static double quantile(const double *v, size_t n, double q)
{
        size_t i = (size_t)(q * (double)(n - 1) + 0.5);
        return v[i < n ? i : n - 1];
}

struct result {
        long iterations;
        double median, min, max, p25, p75; /* µs per unit */
        const char *strategy;
};

static int measure(const struct scenario *sc, int runs, struct result *res)
{
        struct mdp_plan_request req;
        struct mdp_unit_input units[N_UNITS];
        struct mdp_plan *plan = NULL;
        double *us;
        long n = 1;
        int r;

        build(sc, &req, units);
        r = mdp_engine_plan(&req, &plan);
        if (r < 0)
                return r;
        res->strategy = mdp_strategy_to_string(plan->strategy); /* static string */
        mdp_plan_free(plan);

        /* calibrate: double the iterations until one run takes a measurable time */
        for (;;) {
                double t0 = now_ns();
                for (long i = 0; i < n; i++)
                        if ((r = iterate(sc, &req)) < 0)
                                return r;
                double dt = now_ns() - t0;
                if (dt >= RUN_TARGET_NS / 4 || n >= (1L << 24)) {
                        n = (long)(n * RUN_TARGET_NS / (dt > 1 ? dt : 1)) + 1;
                        break;
                }
                n *= 2;
        }
        us = calloc((size_t)runs, sizeof(*us));
        if (!us)
                return -ENOMEM;
        for (int k = 0; k < runs; k++) {
                double t0 = now_ns();
                for (long i = 0; i < n; i++)
                        if ((r = iterate(sc, &req)) < 0) {
                                free(us);
                                return r;
                        }
                us[k] = (now_ns() - t0) / 1e3 / ((double)n * N_UNITS);
        }
        qsort(us, (size_t)runs, sizeof(*us), cmp_double);
        res->iterations = n;
        res->median = quantile(us, (size_t)runs, 0.5);
        res->p25 = quantile(us, (size_t)runs, 0.25);
        res->p75 = quantile(us, (size_t)runs, 0.75);
        res->min = us[0];
        res->max = us[runs - 1];
        free(us);
        return 0;
}

static void help(void)
{
        printf("bench/engine [--runs N] [--json FILE]\n\n"
               "Plans a VM of %d units (VFs, PFs, emulated and PASID-granular mdevs on VT-d) per guest\n"
               "vIOMMU mode and reports µs per unit and decisions per second: the median over N runs\n"
               "(default 21) of about 20 ms each, with the spread (min, 25%%, 75%%, max).\n",
               N_UNITS);
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                {"runs", required_argument, NULL, 'r'},
                {"json", required_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *json_path = NULL;
        struct json_object *out, *list;
        int runs = 21, c;

        while ((c = getopt_long(argc, argv, "r:j:h", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        runs = atoi(optarg);
                        if (runs < 1 || runs > 1000) {
                                fprintf(stderr, "--runs %s: expected a number from 1 to 1000\n", optarg);
                                return 2;
                        }
                        break;
                case 'j':
                        json_path = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }

        out = json_object_new_object();
        list = json_object_new_array();
        json_object_object_add(out, "benchmark", json_object_new_string("engine"));
        json_object_object_add(out, "units_per_vm", json_object_new_int(N_UNITS));
        json_object_object_add(out, "runs", json_object_new_int(runs));
        json_object_object_add(out, "unit", json_object_new_string("µs per unit"));

        printf("strategy engine: one VM of %d units (6 VF, 2 PF, 6 emulated mdev, 2 PASID mdev, VT-d), "
               "%d runs of ~20 ms\n\n",
               N_UNITS, runs);
        printf("%-22s %-9s %10s %12s %9s %9s %9s %9s %14s\n", "scenario", "VM", "iter/run", "µs/unit med",
               "min", "p25", "p75", "max", "decisions/s");
        for (size_t i = 0; i < ELEMENTSOF(scenarios); i++) {
                const struct scenario *sc = &scenarios[i];
                struct result res;
                struct json_object *o;
                int r = measure(sc, runs, &res);

                if (r < 0) {
                        fprintf(stderr, "%s: the engine failed: %s\n", sc->name, strerror(-r));
                        json_object_put(out);
                        json_object_put(list);
                        return 1;
                }
                printf("%-22s %-9s %10ld %12.3f %9.3f %9.3f %9.3f %9.3f %14.0f\n", sc->name, res.strategy,
                       res.iterations, res.median, res.min, res.p25, res.p75, res.max, 1e6 / res.median);
                o = json_object_new_object();
                json_object_object_add(o, "scenario", json_object_new_string(sc->name));
                json_object_object_add(o, "guest",
                                       json_object_new_string(mdp_guest_mode_to_string(sc->guest)));
                json_object_object_add(o, "vm_strategy", json_object_new_string(res.strategy));
                json_object_object_add(o, "render", json_object_new_boolean(sc->render));
                json_object_object_add(o, "iterations_per_run", json_object_new_int64(res.iterations));
                json_object_object_add(o, "us_per_unit_median", json_object_new_double(res.median));
                json_object_object_add(o, "us_per_unit_min", json_object_new_double(res.min));
                json_object_object_add(o, "us_per_unit_p25", json_object_new_double(res.p25));
                json_object_object_add(o, "us_per_unit_p75", json_object_new_double(res.p75));
                json_object_object_add(o, "us_per_unit_max", json_object_new_double(res.max));
                json_object_object_add(o, "decisions_per_second", json_object_new_double(1e6 / res.median));
                json_object_array_add(list, o);
        }
        json_object_object_add(out, "scenarios", list);
        if (json_path) {
                FILE *f = fopen(json_path, "we");
                if (!f) {
                        fprintf(stderr, "%s: %s\n", json_path, strerror(errno));
                        json_object_put(out);
                        return 1;
                }
                fprintf(f, "%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY));
                if (fclose(f) != 0) {
                        fprintf(stderr, "%s: %s\n", json_path, strerror(errno));
                        json_object_put(out);
                        return 1;
                }
                printf("\nwritten to %s\n", json_path);
        }
        json_object_put(out);
        return 0;
}
