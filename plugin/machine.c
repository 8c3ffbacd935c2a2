#include "machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "crypto.h"
#include "errbuf.h"
#include "fs.h"
#include "proc.h"
#include "sysv.h"

#define MACHINE_LOCK_FILE   "/.machine.lock"
#define MACHINE_LOCK_MS     5000 /* making the registry: another process may be making it */
#define MACHINE_TABLE_MS    2000 /* the registry's table lock, at attach */
#define MACHINE_CHECK_MS    500  /* ... and at a maintenance check */
#define MACHINE_MAX_SEGS    64   /* registry candidates looked at */
#define MACHINE_OLD_SHM_DIR "/dev/shm/licgate."

struct machine {
    char pool_name[REGISTRY_POOL_MAX + 1];
    char license_dir[REGISTRY_DIR_MAX + 1];
    struct machine_identity id;
    struct sysv_trust trust;
    struct sysv_owner owner;
    struct sysv_segment reg_seg, pool_seg;
    struct registry_pool_entry pool_entry;
    struct registry *reg;
    struct seat_pool *pool;
};

static void identity_setup(struct machine *m, const struct machine_identity *id)
{
    m->id = *id;
    if (id->set_uid)
        m->trust.uids[m->trust.nuids++] = id->uid;
    m->owner = (struct sysv_owner){
        .uid = id->uid, .gid = id->gid, .set_uid = id->set_uid, .set_gid = id->set_gid};
}

/* Whether the runtime identity can still write segment info after openvpn drops root. */
static bool runtime_can_write(const struct machine *m, const struct sysv_info *info)
{
    uid_t uid = m->id.set_uid ? m->id.uid : account_euid();

    return uid == 0 || (info->uid == uid && (info->mode & 0600) == 0600) ||
           (m->id.set_gid && info->gid == m->id.gid && (info->mode & 0060) == 0060);
}

/* The registry must stay writable by every licgate process on the machine after the drop:
 * one root made for nobody yet is handed to our runtime user; one that belongs to another
 * runtime user is an error, said plainly. */
static int registry_access(struct machine *m, char *err, size_t errlen)
{
    struct sysv_info info;
    int r = sysv_stat(m->reg_seg.id, &info);

    if (r < 0) {
        errbuf_set(err, errlen, "machine registry (shared-memory segment %d): %s", m->reg_seg.id,
                   strerror(-r));
        return r;
    }
    if (runtime_can_write(m, &info))
        return 0;
    if (account_euid() == 0 && info.uid == 0 && (m->id.set_uid || m->id.set_gid)) {
        r = sysv_set_owner(m->reg_seg.id, &m->owner);
        if (r == 0)
            return 0;
    }
    errbuf_set(err, errlen,
               "machine registry (shared-memory segment %d) belongs to uid %lu, mode 0%o: "
               "every openvpn on a machine that loads licgate must run as the same user= (or "
               "share its group=)",
               m->reg_seg.id, (unsigned long)info.uid, (unsigned)info.mode);
    return -EPERM;
}

/* The lowest-numbered valid registry among the trusted segments of its size. A registry of
 * another layout that processes still use means a licgate of another release runs on this
 * machine: making a second registry would count its facts twice, so that is -EPROTO (err
 * says so); one that nobody uses any more is left to its fate. */
static int registry_find(struct machine *m, char *err, size_t errlen)
{
    char why[160];
    int *ids = NULL;
    size_t n = 0;
    int r, other = -1;

    r = sysv_list(registry_region_size(), &m->trust, MACHINE_MAX_SEGS, &ids, &n);
    if (r < 0)
        return r;
    r = -ENOENT;
    for (size_t i = 0; i < n && r < 0; i++) {
        struct sysv_segment seg;
        struct sysv_info info;
        struct registry *reg;

        if (sysv_attach(ids[i], registry_region_size(), &m->trust, &seg, NULL, 0) < 0)
            continue;
        if (registry_attach_region(seg.base, seg.size, &reg, why, sizeof(why)) < 0) {
            /* attached by us and at least one other process */
            if (strstr(why, "layout version") != NULL && sysv_stat(seg.id, &info) == 0 &&
                info.nattch > 1 && other < 0) {
                other = seg.id;
                errbuf_set(err, errlen,
                           "%s (shared-memory segment %d, in use): openvpn processes of another "
                           "licgate release run on this machine; stop them first "
                           "(docs/operations.md, Upgrading)",
                           why, seg.id);
            }
            sysv_detach(&seg);
            continue;
        }
        m->reg_seg = seg;
        m->reg = reg;
        r = 0;
    }
    free(ids);
    if (r == -ENOENT && other >= 0)
        r = -EPROTO;
    return r;
}

static int registry_make(struct machine *m, bool serialized, char *err, size_t errlen)
{
    struct sysv_segment seg;
    int r;

    r = sysv_create(registry_region_size(), &m->owner, false, &seg, err, errlen);
    if (r < 0)
        return r;
    registry_init_region(seg.base, seg.size);
    if (!serialized) {
        /* Made without the lock file (an unprivileged process): if another process made one
         * meanwhile, the lowest id wins and ours goes. */
        r = registry_find(m, NULL, 0);
        if (r == 0 && m->reg_seg.id != seg.id) {
            sysv_mark_removed(seg.id);
            sysv_detach(&seg);
            return 0;
        }
        if (r == 0) {
            registry_release(m->reg);
            m->reg = NULL;
            sysv_detach(&m->reg_seg);
        }
    }
    r = registry_attach_region(seg.base, seg.size, &m->reg, err, errlen);
    if (r < 0) {
        sysv_mark_removed(seg.id);
        sysv_detach(&seg);
        return r;
    }
    m->reg_seg = seg;
    return 0;
}

static int registry_open(struct machine *m, const char *run_dir, char *err, size_t errlen)
{
    char lock_path[1100];
    int lock_fd = -1, r;

    if (account_euid() == 0) {
        snprintf(lock_path, sizeof(lock_path), "%s%s", run_dir, MACHINE_LOCK_FILE);
        r = fs_lock_file(lock_path, MACHINE_LOCK_MS, &lock_fd, err, errlen);
        if (r < 0)
            return r;
    }
    r = registry_find(m, err, errlen);
    if (r == -ENOENT)
        r = registry_make(m, lock_fd >= 0, err, errlen);
    else if (r < 0 && r != -EPROTO)
        errbuf_set(err, errlen,
                   "cannot list the machine's shared-memory segments "
                   "(/proc/sysvipc/shm): %s",
                   strerror(-r));
    fs_unlock_file(lock_fd);
    if (r < 0)
        return r;
    return registry_access(m, err, errlen);
}

static bool segment_gone(int shmid, void *arg)
{
    struct sysv_info info;

    (void)arg;
    return sysv_stat(shmid, &info) == -ENOENT;
}

/* Attaches to the segment the registry lists for the pool: 0, -ESTALE when there is none
 * (or what is there is not it), another -errno for one that cannot be used. */
static int pool_find(struct machine *m, char *err, size_t errlen)
{
    size_t size;
    int r;

    r = registry_find_pool(m->reg, m->pool_name, &m->pool_entry);
    if (r < 0)
        return -ESTALE;
    size = seat_pool_region_size(m->pool_entry.capacity);
    if (size == 0)
        return -ESTALE;
    r = sysv_attach(m->pool_entry.shmid, size, &m->trust, &m->pool_seg, err, errlen);
    if (r == -ENOENT || r == -EMSGSIZE)
        return -ESTALE; /* gone; its id may name another segment now */
    if (r < 0) {
        errbuf_set(err, errlen,
                   "pool %s: its shared-memory segment %d cannot be used (every openvpn on a "
                   "pool must name the same user= and group=)",
                   m->pool_name, m->pool_entry.shmid);
        return r;
    }
    r = seat_pool_attach_region(m->pool_seg.base, m->pool_seg.size, m->pool_name,
                                m->pool_entry.token, &m->pool, err, errlen);
    if (r < 0)
        sysv_detach(&m->pool_seg);
    return r;
}

static int pool_make(struct machine *m, uint32_t capacity, char *err, size_t errlen)
{
    size_t size = seat_pool_region_size(capacity);
    int r;

    memset(&m->pool_entry, 0, sizeof(m->pool_entry));
    m->pool_entry.capacity = capacity;
    r = crypto_random(m->pool_entry.token, sizeof(m->pool_entry.token));
    if (r < 0) {
        errbuf_set(err, errlen, "pool %s: no random token: %s", m->pool_name, strerror(-r));
        return r;
    }
    r = sysv_create(size, &m->owner, true, &m->pool_seg, err, errlen);
    if (r < 0)
        return r;
    m->pool_entry.shmid = m->pool_seg.id;
    seat_pool_init_region(m->pool_seg.base, size, capacity, m->pool_name, m->pool_entry.token);
    r = registry_set_pool(m->reg, m->pool_name, &m->pool_entry, segment_gone, NULL);
    if (r < 0) {
        errbuf_set(err, errlen, "pool %s: the machine registry lists %d pools already",
                   m->pool_name, REGISTRY_MAX_POOLS);
        sysv_detach(&m->pool_seg);
        return r;
    }
    r = seat_pool_attach_region(m->pool_seg.base, size, m->pool_name, m->pool_entry.token, &m->pool,
                                err, errlen);
    if (r < 0)
        sysv_detach(&m->pool_seg);
    return r;
}

/* An openvpn still running a licgate of the older layout on this pool would count the same
 * licenses a second time; only root can see every process's mappings. */
static int refuse_older_layout(const char *pool, char *err, size_t errlen)
{
    char path[sizeof(MACHINE_OLD_SHM_DIR) + REGISTRY_POOL_MAX];
    pid_t pid;

    if (account_euid() != 0)
        return 0;
    snprintf(path, sizeof(path), "%s%s", MACHINE_OLD_SHM_DIR, pool);
    if (proc_find_mapping(path, &pid) != 1)
        return 0;
    errbuf_set(err, errlen,
               "openvpn pid %ld still runs an older licgate on %s; stop every openvpn of the "
               "pool, then start them on this version (docs/operations.md, Upgrading)",
               (long)pid, path);
    return -EBUSY;
}

int machine_attach(const char *run_dir, const char *pool, uint32_t capacity,
                   const char *license_dir, const struct machine_identity *id, int64_t now,
                   struct machine **out, char *err, size_t errlen)
{
    struct machine *m;
    int r;

    *out = NULL;
    if (strlen(pool) > REGISTRY_POOL_MAX || strlen(license_dir) > REGISTRY_DIR_MAX ||
        seat_pool_region_size(capacity) == 0) {
        errbuf_set(err, errlen, "pool name, license-dir or capacity out of range");
        return -EINVAL;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return -ENOMEM;
    }
    m->reg_seg.id = m->pool_seg.id = -1;
    snprintf(m->pool_name, sizeof(m->pool_name), "%s", pool);
    snprintf(m->license_dir, sizeof(m->license_dir), "%s", license_dir);
    identity_setup(m, id);
    r = refuse_older_layout(pool, err, errlen);
    if (r == 0 && account_euid() == 0)
        r = fs_check_private_dir(run_dir, err, errlen);
    if (r == 0)
        r = registry_open(m, run_dir, err, errlen);
    if (r < 0)
        goto fail;
    r = registry_lock(m->reg, MACHINE_TABLE_MS);
    if (r < 0) {
        errbuf_set(err, errlen, "machine registry: its lock was held by a live process for %d ms",
                   MACHINE_TABLE_MS);
        goto fail;
    }
    registry_reclaim_dead(m->reg);
    r = registry_register(m->reg, pool, license_dir, now);
    if (r < 0)
        errbuf_set(err, errlen, "machine registry: %s",
                   r == -EUSERS ? "its process table is full"
                                : "cannot read this process's start time from /proc");
    if (r == 0) {
        r = pool_find(m, err, errlen);
        if (r == -ESTALE)
            r = pool_make(m, capacity, err, errlen);
    }
    registry_unlock(m->reg);
    if (r < 0)
        goto fail;
    *out = m;
    return 0;
fail:
    machine_detach(m);
    return r;
}

void machine_detach(struct machine *m)
{
    if (m == NULL)
        return;
    seat_pool_detach(m->pool);
    sysv_detach(&m->pool_seg);
    registry_release(m->reg);
    sysv_detach(&m->reg_seg);
    free(m);
}

struct registry *machine_registry(struct machine *m)
{
    return m->reg;
}

struct seat_pool *machine_pool(struct machine *m)
{
    return m->pool;
}

void machine_ids(const struct machine *m, int *registry_id, int *pool_id)
{
    *registry_id = m->reg_seg.id;
    *pool_id = m->pool_seg.id;
}

/* Whether a segment still grants nothing to other users (taken off again when it does, if we
 * may) and, for our pool's (all its processes run as one user), still belongs to root or that
 * user. The registry's owner and group are not ours to judge: other pools may name other
 * user= and group= values. */
static bool segment_perms(struct machine *m, int id, bool ours, bool *removed)
{
    struct sysv_info info;
    bool ok;

    if (sysv_stat(id, &info) < 0)
        return true;
    if (removed != NULL)
        *removed = info.removed;
    ok = (info.mode & 0007) == 0 && (!ours || info.uid == 0 || info.uid == account_euid() ||
                                     (m->id.set_uid && info.uid == m->id.uid));
    if ((info.mode & 0007) != 0)
        sysv_restrict(id);
    return ok;
}

void machine_check(struct machine *m, int64_t now, struct machine_check *out)
{
    struct registry_pool_entry e;

    memset(out, 0, sizeof(*out));
    out->perms_changed = !segment_perms(m, m->reg_seg.id, false, &out->registry_removed);
    out->perms_changed |= !segment_perms(m, m->pool_seg.id, true, NULL);
    if (registry_lock(m->reg, MACHINE_CHECK_MS) < 0) {
        out->lock_busy = true;
        return;
    }
    if (!registry_self_ok(m->reg))
        out->self_reregistered = registry_register(m->reg, m->pool_name, m->license_dir, now) == 0;
    if (registry_find_pool(m->reg, m->pool_name, &e) < 0 || e.shmid != m->pool_entry.shmid ||
        memcmp(e.token, m->pool_entry.token, sizeof(e.token)) != 0)
        out->pool_republished =
            registry_set_pool(m->reg, m->pool_name, &m->pool_entry, segment_gone, NULL) == 0;
    registry_unlock(m->reg);
}
