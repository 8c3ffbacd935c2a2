/* libFuzzer target for the seat pool's attach-time validation and for every operation on a pool
 * whose shared memory another process corrupted. A valid empty pool of a small capacity is
 * initialized in a buffer of exactly its size, the input is XORed over its first bytes (header,
 * process table, then slots; an all-zero input leaves the pool valid, and any byte value is
 * reachable), and the pool is attached. When attach accepts it, admissions, releases, snapshot,
 * session walk, reclamation and the key claims run on it: nothing may crash or touch memory
 * outside the buffer, no slot may be handed out twice, the numbers reported stay within the
 * capacity, and every claim read is a NUL-terminated, non-empty key. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "pool_layout.h"

#define FUZZ_CAPACITY 4
#define FUZZ_ADMITS   8

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

static void admit_some(struct seat_pool *pool, uint32_t capacity, struct held *held)
{
    struct seat_request req = {.cn = "fuzz-client", .addr = "192.0.2.1:1194", .now = 1};
    struct seat_numbers nums;
    uint32_t slot;

    for (int i = 0; i < FUZZ_ADMITS; i++) {
        int r = seat_pool_admit(pool, &req, &slot, &nums);

        if (nums.capacity != capacity)
            abort();
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

static void check_claims(struct seat_pool *pool, struct pool_header *hdr)
{
    static struct seat_claim claims[SEAT_POOL_CLAIMS_MAX];
    const char *keys[] = {"LG-FUZZ-0001", "LG-FUZZ-0002"};
    size_t n;
    int r;

    /* A sequence word left odd (a writer that died) makes a read wait its
     * retries out and a publication wait 50 ms: proven in the unit tests. */
    if (atomic_load(&hdr->claims_seq) & 1)
        return;
    r = seat_pool_read_claims(pool, claims, SEAT_POOL_CLAIMS_MAX, &n);
    if ((r != 0 && r != -EPROTO) || n > SEAT_POOL_CLAIMS_MAX)
        abort();
    for (size_t i = 0; i < n; i++) {
        size_t len = strnlen(claims[i].key_id, sizeof(claims[i].key_id));
        if (len == 0 || len == sizeof(claims[i].key_id))
            abort();
    }
    if (seat_pool_publish_claims(pool, keys, 2, 100, NULL) != 0)
        abort();
    if (seat_pool_read_claims(pool, claims, SEAT_POOL_CLAIMS_MAX, &n) != 0 || n != 2 ||
        strcmp(claims[0].key_id, keys[0]) != 0 || strcmp(claims[1].key_id, keys[1]) != 0)
        abort(); /* ours now, whatever was there */
}

static void exercise(struct seat_pool *pool, struct pool_header *hdr)
{
    struct seat_pool_status *st;
    struct seat_numbers nums;
    struct held held = {.n = 0};
    uint32_t capacity;

    st = malloc(sizeof(*st));
    if (st == NULL)
        abort();
    seat_pool_snapshot(pool, st);
    capacity = st->capacity;
    if (capacity == 0 || capacity > FUZZ_CAPACITY || st->nprocs > SEAT_POOL_MAX_PROCS ||
        st->free_slots > capacity + 1)
        abort();
    admit_some(pool, capacity, &held); /* under the limit found in the region */
    seat_pool_set_limit(pool, capacity + 2);
    admit_some(pool, capacity, &held); /* up to and past the capacity */
    seat_pool_numbers(pool, &nums);
    seat_pool_count_refusal(pool);
    (void)seat_pool_request_reload(pool);
    (void)seat_pool_reload_requests(pool);
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
    admit_some(pool, capacity, &(struct held){.n = 0});
    check_claims(pool, hdr);
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
    if (seat_pool_init_region(region, region_size, FUZZ_CAPACITY) != 0)
        abort();
    for (size_t i = 0; i < size && i < region_size; i++)
        region[i] ^= data[i];
    memcpy(&magic, region, sizeof(magic));
    /* A zero magic is a creator that has not published yet: attach waits 1 s for it, which
     * proves nothing a fuzzer can use. */
    if (magic == 0)
        goto out;
    err[0] = '\0';
    r = seat_pool_attach_region(region, region_size, &pool, err, sizeof(err));
    if (r != 0) {
        if (pool != NULL || err[0] == '\0' || (r != -EPROTO && r != -EUSERS))
            abort();
        goto out;
    }
    exercise(pool, (struct pool_header *)(void *)region); /* aligned_alloc(8) */
    seat_pool_detach(pool);
out:
    free(region);
    return 0;
}
