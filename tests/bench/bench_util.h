/* Timing and statistics shared by the benchmark host and the stress harness. */
#ifndef LICGATE_BENCH_UTIL_H
#define LICGATE_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

struct bench_stats {
    size_t n;
    uint64_t min, median, p99, p999, max;
    double mean;
};

/* Sorts v in place and fills *st. n may be 0. */
void bench_stats(uint32_t *v, size_t n, struct bench_stats *st);

/* An anonymous MAP_SHARED mapping, zeroed, that survives fork(); NULL on
 * failure (message on stderr). */
void *bench_shared_alloc(size_t size);
void bench_shared_free(void *p, size_t size);

/* A small xorshift generator, one per process. */
uint64_t bench_rand(uint64_t *state);

#endif
