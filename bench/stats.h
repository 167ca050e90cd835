/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Small helpers shared by the bench/ programs: a monotonic clock, and the median and spread
 * of a sample. Benchmarks measure; they never judge (no thresholds here). */
#include <stdlib.h>
#include <time.h>

static inline double bench_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int bench_double_cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

struct bench_stats {
        double median, p25, p75, p99, min, max;
        size_t n;
};

/* Nearest rank of a sorted sample: on 20 runs p99 is the maximum. */
static inline double bench_rank(const double *v, size_t n, double q)
{
        size_t k = (size_t)(q * (double)n + 0.999999);

        return v[k == 0 ? 0 : k > n ? n - 1 : k - 1];
}

/* Sorts v in place. */
static inline struct bench_stats bench_stats(double *v, size_t n)
{
        struct bench_stats s = {.n = n};

        if (n == 0)
                return s;
        qsort(v, n, sizeof(double), bench_double_cmp);
        s.min = v[0];
        s.max = v[n - 1];
        s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        s.p25 = bench_rank(v, n, 0.25);
        s.p75 = bench_rank(v, n, 0.75);
        s.p99 = bench_rank(v, n, 0.99);
        return s;
}
