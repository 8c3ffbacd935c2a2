/* libFuzzer target for the seat pool's attach-time validation and for every operation on a pool
 * whose shared memory another process corrupted. A valid empty pool of a small capacity is
 * initialized in a buffer of exactly its size, the input is XORed over its first bytes (header,
 * process table, then slots; an all-zero input leaves the pool valid, and any byte value is
 * reachable), and the pool is attached. When attach accepts it, admissions, releases, snapshot,
 * session walk, reclamation and the audit run on it: nothing may crash or touch memory outside
 * the buffer, no slot may be handed out twice, no admission passes the limit the caller gives,
 * and the numbers reported stay within the capacity. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "pool_layout.h"

#define FUZZ_CAPACITY 4
#define FUZZ_ADMITS   8
#define FUZZ_NAME     "fuzz"

static const uint8_t fuzz_token[SEAT_POOL_TOKEN_LEN] = "fuzz-token-0123";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct held {
    uint32_t slot[2 * FUZZ_ADMITS];
    size_t n;
};

static int check_session(const struct seat_session *s, void *arg)
{
    uint32_t *capacity = arg;

    if (s->slot >= *capacity || memchr(s->cn, '\0', sizeof(s->cn)) == NULL ||
        memchr(s->addr, '\0', sizeof(s->addr)) == NULL)
        abort();
    return 0;
}

static void admit_some(struct seat_pool *pool, uint32_t capacity, uint32_t limit, struct held *held)
{
    struct seat_request req = {.cn = "fuzz-client", .addr = "192.0.2.1:1194", .now = 1};
    struct seat_numbers nums;
    uint32_t slot;

    for (int i = 0; i < FUZZ_ADMITS; i++) {
        int r = seat_pool_admit(pool, &req, limit, &slot, &nums);

        if (nums.capacity != capacity || nums.limit != limit)
            abort();
        if (r == 0 && nums.in_use > limit)
            abort(); /* admitted past the limit the caller gave */
        if (r != 0) {
            if ((r != -EDQUOT && r != -ENOSPC && r != -EPROTO) || slot != POOL_SLOT_NONE)
                abort();
            continue;
        }
        if (slot >= capacity)
            abort();
        for (size_t k = 0; k < held->n; k++) {
            if (held->slot[k] == slot)
                abort(); /* one slot handed out twice */
        }
        held->slot[held->n++] = slot;
    }
}

static void exercise(struct seat_pool *pool)
{
    struct seat_pool_status *st;
    struct seat_pool_audit audit;
    struct seat_numbers nums;
    struct held held = {.n = 0};
    uint32_t capacity;
    pid_t laggard;

    st = malloc(sizeof(*st));
    if (st == NULL)
        abort();
    seat_pool_snapshot(pool, st);
    capacity = st->capacity;
    if (capacity == 0 || capacity > FUZZ_CAPACITY || st->nprocs > SEAT_POOL_MAX_PROCS ||
        st->free_slots > capacity + 1)
        abort();
    admit_some(pool, capacity, 2, &held);            /* under a small limit */
    admit_some(pool, capacity, capacity + 2, &held); /* up to and past the capacity */
    seat_pool_numbers(pool, &nums);
    seat_pool_count_refusal(pool);
    seat_pool_reload_ack(pool, seat_pool_request_reload(pool));
    (void)seat_pool_reload_requests(pool);
    (void)seat_pool_reload_followed(pool, seat_pool_reload_requests(pool), &laggard);
    seat_pool_audit(pool, &audit);
    if (audit.quiet && audit.sessions > capacity)
        abort();
    if (seat_pool_foreach_session(pool, check_session, &capacity) != 0)
        abort();
    seat_pool_snapshot(pool, st);
    if (st->nprocs > SEAT_POOL_MAX_PROCS || st->free_slots > capacity + 1)
        abort();
    if (held.n > 0 && seat_pool_release(pool, held.slot[0]) != 0)
        abort(); /* nobody else ran: our own session must go back */
    for (size_t k = 1; k < held.n; k++)
        (void)seat_pool_release(pool, held.slot[k]);
    if (held.n > 0 && seat_pool_release(pool, held.slot[0]) != -EALREADY)
        abort();
    if (seat_pool_release(pool, capacity) != -EINVAL)
        abort();
    (void)seat_pool_reclaim_dead(pool);
    admit_some(pool, capacity, capacity, &(struct held){.n = 0});
    free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t region_size = seat_pool_region_size(FUZZ_CAPACITY);
    struct seat_pool *pool = NULL;
    uint64_t magic;
    char err[256];
    uint8_t *region;
    int r;

    region = aligned_alloc(8, region_size);
    if (region == NULL)
        abort();
    if (seat_pool_init_region(region, region_size, FUZZ_CAPACITY, FUZZ_NAME, fuzz_token) != 0)
        abort();
    for (size_t i = 0; i < size && i < region_size; i++)
        region[i] ^= data[i];
    memcpy(&magic, region, sizeof(magic));
    /* A zero magic is a creator that has not published yet: attach waits 1 s for it, which
     * proves nothing a fuzzer can use. */
    if (magic == 0)
        goto out;
    err[0] = '\0';
    r = seat_pool_attach_region(region, region_size, FUZZ_NAME, fuzz_token, &pool, err,
                                sizeof(err));
    if (r != 0) {
        if (pool != NULL || err[0] == '\0' || (r != -EPROTO && r != -EUSERS && r != -ESTALE))
            abort();
        goto out;
    }
    exercise(pool);
    seat_pool_detach(pool);
out:
    free(region);
    return 0;
}
