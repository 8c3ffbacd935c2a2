/* The integration tests' hostile hands on System V shared memory: what another local user or a
 * process of openvpn's runtime user can do to licgate's segments, run as that user.
 *
 *   lg-shm list                    every segment: id, uid, mode, bytes
 *   lg-shm try-attach ID           exit 0 if ID can be mapped read-write, 1 if not
 *   lg-shm forge-registry          make a registry-sized segment (0666) that looks valid and
 *                                  holds both evaluation seats, a forged process and claims
 *   lg-shm forge-pool CAPACITY     make a pool-sized segment (0666) that looks valid
 *   lg-shm scribble-pool ID        rewrite a pool: counter 0, every slot free, process table
 *                                  emptied, free stack reset
 *   lg-shm scribble-registry ID    rewrite a registry: evaluation seats freed, claims and
 *                                  processes emptied, the pool table cleared, the lock jammed
 *   lg-shm open-to-all ID          mode 0666 (as the segment's owner)
 *   lg-shm remove ID               mark for removal (ipcrm)
 *
 * Exit status 0 on success, 1 on failure (with a line on stderr), 2 on usage errors. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "pool.h"
#include "pool_layout.h"
#include "registry.h"
#include "registry_layout.h"

static int fail(const char *what, int id)
{
    fprintf(stderr, "lg-shm: %s %d: %s\n", what, id, strerror(errno));
    return 1;
}

static void *map(int id)
{
    void *base = shmat(id, NULL, 0);

    return base == (void *)-1 ? NULL : base;
}

static int make(size_t size, void **base)
{
    int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0666);

    if (id < 0 || (*base = map(id)) == NULL)
        return -1;
    return id;
}

static int forge_registry(void)
{
    struct reg_header *hdr;
    void *base;
    int id = make(registry_region_size(), &base);

    if (id < 0)
        return fail("shmget", -1);
    hdr = base;
    registry_init_region(base, registry_region_size());
    hdr->procs[0].state = REG_LIVE;
    hdr->procs[0].pid = 1;
    hdr->procs[0].start_time = 0;
    memcpy(hdr->procs[0].pool, "forged", 7);
    hdr->claims[0].proc = 1;
    hdr->claims[0].since = 1;
    memcpy(hdr->claims[0].key_id, "LG-FORGED", 10);
    atomic_store(&hdr->eval[0], REG_EVAL_WORD(0, 1));
    atomic_store(&hdr->eval[1], REG_EVAL_WORD(0, 2));
    atomic_store(&hdr->clock_mark, INT64_MAX / 2);
    printf("%d\n", id);
    return 0;
}

static int forge_pool(uint32_t capacity)
{
    static const uint8_t token[SEAT_POOL_TOKEN_LEN];
    void *base;
    int id = make(seat_pool_region_size(capacity), &base);

    if (id < 0)
        return fail("shmget", -1);
    seat_pool_init_region(base, seat_pool_region_size(capacity), capacity, "forged", token);
    printf("%d\n", id);
    return 0;
}

static int scribble_pool(int id)
{
    struct pool_header *hdr = map(id);
    struct pool_slot *slots;

    if (hdr == NULL)
        return fail("shmat", id);
    slots = (struct pool_slot *)(hdr + 1);
    atomic_store(&hdr->in_use, 0);
    for (uint32_t i = 0; i < hdr->capacity && i < POOL_CAPACITY_MAX; i++) {
        atomic_store(&slots[i].ctl, POOL_CTL(POOL_SLOT_FREE, 0, 0));
        atomic_store(&slots[i].next, i + 1 < hdr->capacity ? i + 1 : POOL_SLOT_NONE);
    }
    atomic_store(&hdr->free_head, POOL_HEAD(0, 12345));
    memset(hdr->proc, 0, sizeof(hdr->proc));
    return 0;
}

static int scribble_registry(int id)
{
    struct reg_header *hdr = map(id);

    if (hdr == NULL)
        return fail("shmat", id);
    for (int k = 0; k < REG_EVAL_SEATS; k++)
        atomic_store(&hdr->eval[k], 0);
    memset(hdr->claims, 0, sizeof(hdr->claims));
    memset(hdr->procs, 0, sizeof(hdr->procs));
    memset(hdr->pools, 0, sizeof(hdr->pools));
    atomic_store(&hdr->lock, 1); /* "held" by pid 1 */
    atomic_fetch_add(&hdr->generation, 1);
    return 0;
}

static int open_to_all(int id)
{
    struct shmid_ds ds;

    if (shmctl(id, IPC_STAT, &ds) != 0)
        return fail("IPC_STAT", id);
    ds.shm_perm.mode = 0666;
    if (shmctl(id, IPC_SET, &ds) != 0)
        return fail("IPC_SET", id);
    return 0;
}

static int list(void)
{
    int max = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&(struct shm_info){0});

    for (int i = 0; i <= max; i++) {
        struct shmid_ds ds;
        int id = shmctl(i, SHM_STAT, &ds);

        if (id < 0)
            continue;
        printf("%d %u %o %zu\n", id, (unsigned)ds.shm_perm.uid, (unsigned)(ds.shm_perm.mode & 0777),
               (size_t)ds.shm_segsz);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    int id = argc > 2 ? atoi(argv[2]) : -1;

    if (strcmp(cmd, "list") == 0)
        return list();
    if (strcmp(cmd, "forge-registry") == 0)
        return forge_registry();
    if (strcmp(cmd, "forge-pool") == 0 && argc == 3)
        return forge_pool((uint32_t)atoi(argv[2]));
    if (argc != 3)
        goto usage;
    if (strcmp(cmd, "try-attach") == 0)
        return map(id) != NULL ? 0 : 1;
    if (strcmp(cmd, "scribble-pool") == 0)
        return scribble_pool(id);
    if (strcmp(cmd, "scribble-registry") == 0)
        return scribble_registry(id);
    if (strcmp(cmd, "open-to-all") == 0)
        return open_to_all(id);
    if (strcmp(cmd, "remove") == 0)
        return shmctl(id, IPC_RMID, NULL) == 0 ? 0 : fail("IPC_RMID", id);
usage:
    fprintf(stderr, "usage: lg-shm list | try-attach ID | forge-registry | forge-pool CAPACITY | "
                    "scribble-pool ID | scribble-registry ID | open-to-all ID | remove ID\n");
    return 2;
}
