#include "shm.h"
#include "errbuf.h"
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHM_NAME_MAX 255
/* How long an attacher waits for a racing creator to size the object. */
#define SHM_SIZE_WAIT_STEPS 100
#define SHM_SIZE_WAIT_NS    10000000L

static int shm_name_valid(const char *name)
{
    size_t len;

    if (name == NULL || name[0] != '/')
        return 0;
    len = strnlen(name, SHM_NAME_MAX + 1);
    if (len < 2 || len > SHM_NAME_MAX)
        return 0;
    return strchr(name + 1, '/') == NULL;
}

static int shm_check_object(const char *name, const struct stat *st, const struct shm_owner *owner,
                            char *err, size_t errlen)
{
    mode_t mode = st->st_mode & 07777;
    int group_set = owner != NULL && owner->set_gid;

    if (!S_ISREG(st->st_mode)) {
        errbuf_set(err, errlen, "%s: not a regular shared-memory object", name);
        return -EPERM;
    }
    if (mode & 07007) {
        errbuf_set(err, errlen, "%s: mode 0%o grants access to other users (want 0600 or 0660)",
                   name, (unsigned)mode);
        return -EPERM;
    }
    if ((mode & 0020) && !group_set) {
        errbuf_set(err, errlen, "%s: mode 0%o is group-writable but no group is configured", name,
                   (unsigned)mode);
        return -EPERM;
    }
    if ((mode & 0020) && st->st_gid != owner->gid) {
        errbuf_set(err, errlen, "%s: group-writable by gid %lu, configured gid %lu", name,
                   (unsigned long)st->st_gid, (unsigned long)owner->gid);
        return -EPERM;
    }
    if (st->st_uid != 0 && st->st_uid != geteuid() &&
        !(owner != NULL && owner->set_uid && st->st_uid == owner->uid)) {
        errbuf_set(err, errlen, "%s: owned by uid %lu, neither root nor us (uid %lu)", name,
                   (unsigned long)st->st_uid, (unsigned long)geteuid());
        return -EPERM;
    }
    return 0;
}

static int shm_create_setup(int fd, size_t size, mode_t mode, const struct shm_owner *owner)
{
    /* The umask may have narrowed the mode; the configured group needs it exact. */
    if (fchmod(fd, mode) < 0)
        return -errno;
    if (owner != NULL && (owner->set_uid || owner->set_gid)) {
        uid_t uid = owner->set_uid ? owner->uid : (uid_t)-1;
        gid_t gid = owner->set_gid ? owner->gid : (gid_t)-1;

        if (fchown(fd, uid, gid) < 0)
            return -errno;
    }
    if (ftruncate(fd, (off_t)size) < 0)
        return -errno;
    return 0;
}

int shm_region_open(const char *name, size_t size, const struct shm_owner *owner,
                    struct shm_region *out, char *err, size_t errlen)
{
    const int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW;
    struct timespec pause = {0, SHM_SIZE_WAIT_NS};
    struct stat st;
    mode_t mode;
    void *base;
    int fd = -1, created = 0, tries, r = 0;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL || !shm_name_valid(name) || size == 0 || (uint64_t)size > INT64_MAX) {
        errbuf_set(err, errlen, "invalid shared-memory name or size");
        return -EINVAL;
    }
    mode = owner != NULL && owner->set_gid ? 0660 : 0600;
    if (owner != NULL && owner->mode != 0)
        mode = owner->mode;
    if (mode & ~(mode_t)0660) {
        errbuf_set(err, errlen, "%s: mode 0%o would grant more than owner and group", name,
                   (unsigned)mode);
        return -EINVAL;
    }

    for (tries = 0; tries < 3 && fd < 0; tries++) {
        fd = shm_open(name, flags, 0);
        if (fd >= 0)
            break;
        if (errno != ENOENT) {
            r = -errno;
            errbuf_set(err, errlen, "%s: %s", name, strerror(errno));
            goto out;
        }
        fd = shm_open(name, flags | O_CREAT | O_EXCL, mode);
        if (fd >= 0) {
            created = 1;
            break;
        }
        if (errno != EEXIST) {
            r = -errno;
            errbuf_set(err, errlen, "%s: cannot create: %s", name, strerror(errno));
            goto out;
        }
    }
    if (fd < 0) {
        r = -EAGAIN;
        errbuf_set(err, errlen, "%s: appears and disappears while opening", name);
        goto out;
    }

    if (created) {
        r = shm_create_setup(fd, size, mode, owner);
        if (r < 0) {
            errbuf_set(err, errlen, "%s: cannot set up new object: %s%s", name, strerror(-r),
                       r == -EPERM ? " (giving it to user=/group= needs CAP_CHOWN and CAP_FOWNER "
                                     "at start-up)"
                                   : "");
            goto out;
        }
    }

    for (tries = 0;; tries++) {
        if (fstat(fd, &st) < 0) {
            r = -errno;
            errbuf_set(err, errlen, "%s: fstat: %s", name, strerror(errno));
            goto out;
        }
        r = shm_check_object(name, &st, owner, err, errlen);
        if (r < 0)
            goto out;
        if (st.st_size > 0 || tries >= SHM_SIZE_WAIT_STEPS)
            break;
        nanosleep(&pause, NULL);
    }
    if (st.st_size <= 0) {
        r = -EPROTO;
        errbuf_set(err, errlen, "%s: object is empty (its creator died?); remove it", name);
        goto out;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        r = -EFBIG;
        errbuf_set(err, errlen, "%s: object of %lld bytes cannot be mapped", name,
                   (long long)st.st_size);
        goto out;
    }

    base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        r = -errno;
        errbuf_set(err, errlen, "%s: mmap %lld bytes: %s", name, (long long)st.st_size,
                   strerror(errno));
        goto out;
    }
    out->base = base;
    out->size = (size_t)st.st_size;
    out->created = created;
out:
    /* Nobody can use an object whose creator failed to set it up. */
    if (r < 0 && created)
        shm_unlink(name);
    if (fd >= 0)
        close(fd);
    return r;
}

int shm_region_open_readonly(const char *name, struct shm_region *out, char *err, size_t errlen)
{
    struct stat st;
    void *base;
    int fd, r = 0;

    memset(out, 0, sizeof(*out));
    if (!shm_name_valid(name)) {
        errbuf_set(err, errlen, "invalid shared-memory name");
        return -EINVAL;
    }
    fd = shm_open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        errbuf_set(err, errlen, "%s: %s", name, strerror(errno));
        return r;
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        errbuf_set(err, errlen, "%s: fstat: %s", name, strerror(errno));
    } else if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
        r = -EPROTO;
        errbuf_set(err, errlen, "%s: not a regular, non-empty object", name);
    } else {
        base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED) {
            r = -errno;
            errbuf_set(err, errlen, "%s: mmap: %s", name, strerror(errno));
        } else {
            out->base = base;
            out->size = (size_t)st.st_size;
        }
    }
    close(fd);
    return r;
}

int shm_list_names(const char *prefix, size_t max, char ***names, size_t *count)
{
    size_t plen = strlen(prefix);
    int r;

    /* glibc's shm_open names are files in /dev/shm */
    r = fs_list_dir("/dev/shm", prefix, "", true, names, count, max);
    for (size_t i = 0; r == 0 && i < *count; i++)
        memmove((*names)[i], (*names)[i] + plen, strlen((*names)[i] + plen) + 1);
    return r;
}

void shm_region_close(struct shm_region *region)
{
    if (region == NULL)
        return;
    if (region->base != NULL)
        munmap(region->base, region->size);
    memset(region, 0, sizeof(*region));
}

int shm_region_unlink(const char *name)
{
    if (!shm_name_valid(name))
        return -EINVAL;
    if (shm_unlink(name) < 0)
        return -errno;
    return 0;
}
