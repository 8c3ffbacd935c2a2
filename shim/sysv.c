#include "sysv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "errbuf.h"
#include "fs.h"

#define SYSV_LIST_PATH "/proc/sysvipc/shm"
#define SYSV_LIST_MAX  (16u << 20)
/* Fields of a /proc/sysvipc/shm line: key shmid perms size cpid lpid nattch uid gid cuid ... */
#define SYSV_FIELDS 10

static mode_t owner_mode(const struct sysv_owner *owner)
{
    return owner != NULL && owner->set_gid ? 0660 : 0600;
}

int sysv_restrict(int id)
{
    struct shmid_ds ds;

    if (shmctl(id, IPC_STAT, &ds) != 0)
        return -errno;
    ds.shm_perm.mode &= 0770;
    if (shmctl(id, IPC_SET, &ds) != 0)
        return -errno;
    return 0;
}

int sysv_set_owner(int id, const struct sysv_owner *owner)
{
    struct shmid_ds ds;

    if (shmctl(id, IPC_STAT, &ds) != 0)
        return -errno;
    if (owner->set_uid)
        ds.shm_perm.uid = owner->uid;
    if (owner->set_gid)
        ds.shm_perm.gid = owner->gid;
    ds.shm_perm.mode = owner_mode(owner);
    if (shmctl(id, IPC_SET, &ds) != 0)
        return -errno;
    return 0;
}

int sysv_create(size_t size, const struct sysv_owner *owner, bool remove_at_last_detach,
                struct sysv_segment *out, char *err, size_t errlen)
{
    void *base;
    int id, r;

    memset(out, 0, sizeof(*out));
    out->id = -1;
    id = shmget(IPC_PRIVATE, size, IPC_CREAT | IPC_EXCL | (int)owner_mode(owner));
    if (id < 0) {
        r = -errno;
        errbuf_set(err, errlen, "cannot create a shared-memory segment of %zu bytes: %s", size,
                   strerror(errno));
        return r;
    }
    if (owner != NULL && (owner->set_uid || owner->set_gid) && geteuid() == 0) {
        r = sysv_set_owner(id, owner);
        if (r < 0) {
            errbuf_set(err, errlen,
                       "shared-memory segment %d: cannot give it to the runtime "
                       "user: %s",
                       id, strerror(-r));
            shmctl(id, IPC_RMID, NULL);
            return r;
        }
    }
    base = shmat(id, NULL, 0);
    if (base == (void *)-1) {
        r = -errno;
        errbuf_set(err, errlen, "shared-memory segment %d: cannot map it: %s", id, strerror(errno));
        shmctl(id, IPC_RMID, NULL);
        return r;
    }
    if (remove_at_last_detach)
        shmctl(id, IPC_RMID, NULL);
    out->id = id;
    out->base = base;
    out->size = size;
    return 0;
}

int sysv_stat(int id, struct sysv_info *info)
{
    struct shmid_ds ds;

    memset(info, 0, sizeof(*info));
    if (id < 0)
        return -ENOENT;
    if (shmctl(id, IPC_STAT, &ds) != 0)
        return errno == EINVAL || errno == EIDRM ? -ENOENT : -errno;
    info->id = id;
    info->size = ds.shm_segsz;
    info->uid = ds.shm_perm.uid;
    info->cuid = ds.shm_perm.cuid;
    info->gid = ds.shm_perm.gid;
    info->mode = ds.shm_perm.mode & 0777;
    info->removed = (ds.shm_perm.mode & SHM_DEST) != 0;
    info->nattch = ds.shm_nattch;
    return 0;
}

static bool trusted_uid(uid_t uid, const struct sysv_trust *trust)
{
    if (uid == 0 || uid == geteuid())
        return true;
    for (size_t i = 0; i < trust->nuids && i < sizeof(trust->uids) / sizeof(trust->uids[0]); i++)
        if (uid == trust->uids[i])
            return true;
    return false;
}

bool sysv_trusted(const struct sysv_info *info, const struct sysv_trust *trust, char *why,
                  size_t whylen)
{
    if (!trusted_uid(info->cuid, trust)) {
        errbuf_set(why, whylen, "created by uid %lu, neither root nor the runtime user",
                   (unsigned long)info->cuid);
        return false;
    }
    if (info->mode & 0007) {
        errbuf_set(why, whylen, "mode 0%o grants access to other users", (unsigned)info->mode);
        return false;
    }
    return true;
}

int sysv_attach(int id, size_t size, const struct sysv_trust *trust, struct sysv_segment *out,
                char *err, size_t errlen)
{
    struct sysv_info info;
    char why[128];
    void *base;
    int r;

    memset(out, 0, sizeof(*out));
    out->id = -1;
    base = shmat(id, NULL, 0);
    if (base == (void *)-1) {
        r = errno == EINVAL || errno == EIDRM ? -ENOENT : -errno;
        errbuf_set(err, errlen, "shared-memory segment %d: %s", id,
                   r == -ENOENT ? "gone" : strerror(-r));
        return r;
    }
    /* Checked after mapping: while we hold it attached the id names this segment. */
    r = sysv_stat(id, &info);
    if (r < 0) {
        errbuf_set(err, errlen, "shared-memory segment %d: %s", id, strerror(-r));
    } else if (info.size != size) {
        r = -EMSGSIZE;
        errbuf_set(err, errlen, "shared-memory segment %d: %zu bytes, expected %zu", id, info.size,
                   size);
    } else if (!sysv_trusted(&info, trust, why, sizeof(why))) {
        r = -EPERM;
        errbuf_set(err, errlen, "shared-memory segment %d: %s", id, why);
    }
    if (r < 0) {
        shmdt(base);
        return r;
    }
    out->id = id;
    out->base = base;
    out->size = size;
    return 0;
}

int sysv_mark_removed(int id)
{
    if (shmctl(id, IPC_RMID, NULL) != 0)
        return -errno;
    return 0;
}

void sysv_detach(struct sysv_segment *seg)
{
    if (seg == NULL)
        return;
    if (seg->base != NULL)
        shmdt(seg->base);
    memset(seg, 0, sizeof(*seg));
    seg->id = -1;
}

/* Parses the first SYSV_FIELDS decimal (perms: octal) fields of one line. */
static int parse_line(const char *p, const char *end, unsigned long long v[SYSV_FIELDS])
{
    for (int f = 0; f < SYSV_FIELDS; f++) {
        unsigned long long acc = 0;
        unsigned base = f == 2 ? 8 : 10;
        bool neg = false;
        size_t digits = 0;

        while (p < end && *p == ' ')
            p++;
        if (f == 0 && p < end && *p == '-') { /* keys are signed */
            neg = true;
            p++;
        }
        for (; p < end && *p >= '0' && *p < (char)('0' + base); p++, digits++) {
            if (digits >= 20 || acc > (~0ull - 9) / base)
                return -EPROTO;
            acc = acc * base + (unsigned)(*p - '0');
        }
        if (digits == 0 || (p < end && *p != ' '))
            return -EPROTO;
        v[f] = neg ? 0 : acc;
    }
    return 0;
}

static int compare_ids(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

int sysv_list(size_t size, const struct sysv_trust *trust, size_t max, int **ids, size_t *n)
{
    char *text = NULL, *line, *end, *nl;
    size_t len = 0, count = 0;
    int *list = NULL, r;

    *ids = NULL;
    *n = 0;
    r = fs_read_bounded(SYSV_LIST_PATH, SYSV_LIST_MAX, &text, &len);
    if (r < 0)
        return r;
    list = calloc(max > 0 ? max : 1, sizeof(*list));
    if (list == NULL) {
        free(text);
        return -ENOMEM;
    }
    end = text + len;
    line = memchr(text, '\n', len); /* the header line */
    for (line = line != NULL ? line + 1 : end; line < end; line = nl + 1) {
        unsigned long long v[SYSV_FIELDS];
        struct sysv_info info = {0};

        nl = memchr(line, '\n', (size_t)(end - line));
        if (nl == NULL)
            nl = end;
        if (parse_line(line, nl, v) < 0 || v[1] > INT32_MAX || v[3] != size)
            continue;
        info.id = (int)v[1];
        info.mode = (mode_t)(v[2] & 0777);
        info.size = (size_t)v[3];
        info.uid = (uid_t)v[7];
        info.gid = (gid_t)v[8];
        info.cuid = (uid_t)v[9];
        if (!sysv_trusted(&info, trust, NULL, 0))
            continue;
        if (count == max) {
            r = -E2BIG;
            break;
        }
        list[count++] = info.id;
    }
    free(text);
    if (r < 0) {
        free(list);
        return r;
    }
    qsort(list, count, sizeof(*list), compare_ids);
    *ids = list;
    *n = count;
    return 0;
}
