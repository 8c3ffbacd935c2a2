#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile on sorted data. */
static uint64_t rank(const uint32_t *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)n + 0.999999);

    if (i == 0)
        i = 1;
    if (i > n)
        i = n;
    return v[i - 1];
}

void bench_stats(uint32_t *v, size_t n, struct bench_stats *st)
{
    double sum = 0;

    memset(st, 0, sizeof(*st));
    if (n == 0)
        return;
    qsort(v, n, sizeof(v[0]), cmp_u32);
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    st->n = n;
    st->min = v[0];
    st->max = v[n - 1];
    st->median = rank(v, n, 0.5);
    st->p99 = rank(v, n, 0.99);
    st->p999 = rank(v, n, 0.999);
    st->mean = sum / (double)n;
}

void *bench_shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        perror("mmap");
        return NULL;
    }
    return p;
}

void bench_shared_free(void *p, size_t size)
{
    if (p != NULL)
        munmap(p, size);
}

uint64_t bench_rand(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}
