/* libFuzzer target for the machine registry as a process of the runtime user could leave it: a
 * valid empty registry in a buffer of exactly its size, the input XORed over its first bytes
 * (header, lock, evaluation seats, process table, then pools and claims), then attach, register,
 * reclaim, publish claims, snapshot, evaluation seats and the pool table. Nothing may crash or
 * read outside the buffer; every string a snapshot hands out is NUL-terminated and within its
 * bound; no more evaluation seats are handed out than there are; the claims this process
 * publishes are the ones it reads back. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "registry_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_view(const struct registry_view *v)
{
    if (v->nprocs > REGISTRY_MAX_PROCS || v->nclaims > REGISTRY_MAX_CLAIMS)
        abort();
    for (size_t i = 0; i < v->nprocs; i++)
        if (memchr(v->procs[i].pool, '\0', sizeof(v->procs[i].pool)) == NULL ||
            memchr(v->procs[i].license_dir, '\0', sizeof(v->procs[i].license_dir)) == NULL ||
            v->procs[i].pool[0] == '\0' || v->procs[i].pid <= 0)
            abort();
    for (size_t i = 0; i < v->nclaims; i++)
        if (memchr(v->claims[i].key_id, '\0', sizeof(v->claims[i].key_id)) == NULL ||
            v->claims[i].key_id[0] == '\0' || v->claims[i].since <= 0)
            abort();
}

static void exercise(struct registry *reg)
{
    const char *keys[] = {"LG-FUZZ-0001", "LG-FUZZ-0002"};
    struct registry_eval eval[REGISTRY_EVAL_SEATS + 1];
    struct registry_pool_entry entry = {.shmid = 7, .capacity = 4}, found;
    struct registry_view view;
    int taken = 0;

    if (registry_lock(reg, 0) != 0)
        return; /* a lock word naming a live process: the unit tests prove the timeout */
    (void)registry_reclaim_dead(reg);
    if (registry_register(reg, "fuzz", "/etc/licgate/licenses", 100) != 0) {
        registry_unlock(reg);
        return; /* a full table of live-looking entries */
    }
    if (registry_publish_claims(reg, keys, 2, 100, NULL) != 0)
        abort();
    (void)registry_set_pool(reg, "fuzz", &entry, NULL, NULL);
    if (registry_find_pool(reg, "fuzz", &found) == 0 && found.shmid != 7)
        abort();
    if (registry_snapshot(reg, &view) != 0)
        abort();
    check_view(&view);
    /* ours are among them, as published */
    if (!registry_view_claimed_by(&view, keys[0], "fuzz") ||
        !registry_view_claimed_by(&view, keys[1], "fuzz") ||
        registry_view_winner(&view, keys[0]) == NULL)
        abort();
    registry_view_free(&view);
    registry_unlock(reg);
    for (int i = 0; i <= REGISTRY_EVAL_SEATS; i++)
        taken += registry_eval_take(reg, &eval[i]) == 0;
    if (taken > REGISTRY_EVAL_SEATS || registry_eval_in_use(reg) > REGISTRY_EVAL_SEATS)
        abort();
    for (int i = 0; i <= REGISTRY_EVAL_SEATS; i++)
        if (eval[i].seat >= 0 && registry_eval_give(reg, &eval[i]) != 0)
            abort(); /* nobody else ran: our own seat goes back */
    (void)registry_clock_raise(reg, 1000);
    (void)registry_self_ok(reg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t region_size = registry_region_size();
    struct registry *reg = NULL;
    uint64_t magic;
    char err[256];
    uint8_t *region;

    region = aligned_alloc(8, region_size);
    if (region == NULL)
        abort();
    if (registry_init_region(region, region_size) != 0)
        abort();
    for (size_t i = 0; i < size && i < region_size; i++)
        region[i] ^= data[i];
    memcpy(&magic, region, sizeof(magic));
    err[0] = '\0';
    if (registry_attach_region(region, region_size, &reg, err, sizeof(err)) != 0) {
        if (reg != NULL || err[0] == '\0')
            abort();
        goto out;
    }
    exercise(reg);
    registry_release(reg);
out:
    free(region);
    return 0;
}
