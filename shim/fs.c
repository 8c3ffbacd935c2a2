#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"

int fs_read_bounded(const char *path, size_t max, char **out, size_t *len)
{
    struct stat st;
    char *buf = NULL, *grown;
    size_t cap, used = 0;
    ssize_t n;
    int fd = -1;
    int ret;

    *out = NULL;
    *len = 0;
    if (max == (size_t)-1)
        return -EINVAL;
    /* O_NONBLOCK: a FIFO put where a file was expected must not hang us */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        ret = -errno;
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        ret = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        goto out;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
        ret = -EFBIG;
        goto out;
    }
    /* One spare byte both detects a file that grew past max and holds the NUL. */
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    for (;;) {
        if (used == cap) {
            if (cap > max) {
                ret = -EFBIG;
                goto out;
            }
            size_t newcap = cap <= max / 2 ? cap * 2 : max + 1;
            grown = realloc(buf, newcap);
            if (grown == NULL) {
                ret = -ENOMEM;
                goto out;
            }
            buf = grown;
            cap = newcap;
        }
        n = read(fd, buf + used, cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            goto out;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    /* The loop reads only while used < cap <= max + 1, so the NUL fits. */
    buf[used] = '\0';
    *out = buf;
    *len = used;
    buf = NULL;
    ret = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return ret;
}

/* Whether path (lstat: a link is judged itself) is owned by root or our euid and writable by
 * nobody else; why says which when not. */
static bool owned_safely(const char *path, char *why, size_t whylen)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        errbuf_set(why, whylen, "%s: %s", path, strerror(errno));
        return false;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        errbuf_set(why, whylen, "%s is owned by uid %lu, not root", path, (unsigned long)st.st_uid);
        return false;
    }
    if (!S_ISLNK(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH))) {
        errbuf_set(why, whylen, "%s is writable by other users (mode %04o)", path,
                   (unsigned)(st.st_mode & 07777));
        return false;
    }
    return true;
}

/* Every directory from / down to path's own is owned safely. */
static bool dirs_safe(const char *path, char *why, size_t whylen)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof(buf))
        return false;
    memcpy(buf, path, n + 1);
    if (!owned_safely("/", why, whylen))
        return false;
    for (char *p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (!owned_safely(buf, why, whylen))
            return false;
        *p = '/';
    }
    return true;
}

int fs_read_config(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
    char resolved[PATH_MAX], why[4200];

    *out = NULL;
    *len = 0;
    /* no symbolic link anywhere on the path: read as it is (a final link is -ELOOP there) */
    if (path[0] != '/' || realpath(path, resolved) == NULL || strcmp(resolved, path) == 0)
        return fs_read_bounded(path, max, out, len);
    /* the link and the directories to it, then the target and the directories to it */
    if (!dirs_safe(path, why, sizeof(why)) || !owned_safely(path, why, sizeof(why)) ||
        !dirs_safe(resolved, why, sizeof(why)) || !owned_safely(resolved, why, sizeof(why))) {
        errbuf_set(err, errlen,
                   "%s: a symbolic link is followed only when root owns it, its "
                   "target and every directory on the way, and nobody else may "
                   "write them: %s",
                   path, why);
        return -EPERM;
    }
    return fs_read_bounded(resolved, max, out, len);
}

void fs_free_list(char **names, size_t count)
{
    if (names == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int entry_is_regular(int dirfd, const struct dirent *de)
{
    struct stat st;

    if (de->d_type == DT_REG)
        return 1;
    if (de->d_type != DT_UNKNOWN)
        return 0;
    if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0;
    return S_ISREG(st.st_mode);
}

/* A max-heap of names by strcmp: the root is the largest kept, the one to drop first. */
static void heap_down(char **h, size_t n, size_t i)
{
    for (;;) {
        size_t big = i, l = 2 * i + 1, r = l + 1;
        char *t;

        if (l < n && strcmp(h[l], h[big]) > 0)
            big = l;
        if (r < n && strcmp(h[r], h[big]) > 0)
            big = r;
        if (big == i)
            return;
        t = h[i];
        h[i] = h[big];
        h[big] = t;
        i = big;
    }
}

static void heap_up(char **h, size_t i)
{
    while (i > 0 && strcmp(h[(i - 1) / 2], h[i]) < 0) {
        char *t = h[i];

        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

int fs_list_dir_first(const char *dir, const char *prefix, const char *suffix, bool regular_only,
                      size_t max_entries, char ***names, size_t *count, size_t *total)
{
    DIR *dh = NULL;
    struct dirent *de;
    char **list = NULL, **grown;
    size_t nlist = 0, cap = 0, prefixlen = strlen(prefix), suffixlen = strlen(suffix), namelen;
    int fd, ret;

    *names = NULL;
    *count = 0;
    *total = 0;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    dh = fdopendir(fd);
    if (dh == NULL) {
        ret = -errno;
        close(fd);
        return ret;
    }
    for (;;) {
        errno = 0;
        de = readdir(dh);
        if (de == NULL) {
            if (errno != 0) {
                ret = -errno;
                goto out;
            }
            break;
        }
        namelen = strlen(de->d_name);
        if (de->d_name[0] == '.' || namelen < prefixlen + suffixlen ||
            strncmp(de->d_name, prefix, prefixlen) != 0 ||
            strcmp(de->d_name + namelen - suffixlen, suffix) != 0)
            continue;
        if (regular_only && !entry_is_regular(dirfd(dh), de))
            continue;
        (*total)++;
        if (nlist == max_entries) {
            /* full: keep the name only if it sorts before the largest kept */
            if (nlist == 0 || strcmp(de->d_name, list[0]) >= 0)
                continue;
            char *copy = strdup(de->d_name);
            if (copy == NULL) {
                ret = -ENOMEM;
                goto out;
            }
            free(list[0]);
            list[0] = copy;
            heap_down(list, nlist, 0);
            continue;
        }
        if (nlist == cap) {
            size_t newcap = cap == 0 ? 16 : cap * 2;
            grown = reallocarray(list, newcap, sizeof(*list));
            if (grown == NULL) {
                ret = -ENOMEM;
                goto out;
            }
            list = grown;
            cap = newcap;
        }
        list[nlist] = strdup(de->d_name);
        if (list[nlist] == NULL) {
            ret = -ENOMEM;
            goto out;
        }
        heap_up(list, nlist);
        nlist++;
    }
    if (nlist > 0)
        qsort(list, nlist, sizeof(*list), compare_names);
    *names = list;
    *count = nlist;
    list = NULL;
    nlist = 0;
    ret = 0;
out:
    fs_free_list(list, nlist);
    closedir(dh);
    return ret;
}

int fs_list_dir(const char *dir, const char *prefix, const char *suffix, bool regular_only,
                char ***names, size_t *count, size_t max_entries)
{
    size_t total;
    int r = fs_list_dir_first(dir, prefix, suffix, regular_only, max_entries, names, count, &total);

    if (r == 0 && total > max_entries) {
        fs_free_list(*names, *count);
        *names = NULL;
        *count = 0;
        return -E2BIG;
    }
    return r;
}

/* Writes all of data[0..len) to fd: 0 or -errno. */
static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fs_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    int r;

    if (fd < 0)
        return -errno;
    r = write_all(fd, data, len);
    if (close(fd) != 0 && r == 0)
        r = -errno;
    return r;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return fs_write_atomic_owned(path, data, len, mode, (uid_t)-1);
}

int fs_write_atomic_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t uid)
{
    char tmp[4096], dir[4096];
    const char *slash = strrchr(path, '/');
    int fd, dfd, r = 0;

    if ((slash != NULL && (size_t)(slash - path) >= sizeof(dir)) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
        return -ENAMETOOLONG;
    if (slash == NULL) { /* relative to the working directory */
        snprintf(dir, sizeof(dir), ".");
    } else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        if (dir[0] == '\0')
            snprintf(dir, sizeof(dir), "/");
    }
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    r = write_all(fd, data, len);
    if (r == 0 && uid != (uid_t)-1 && geteuid() == 0 && fchown(fd, uid, (gid_t)-1) != 0)
        r = -errno;
    if (r == 0 && fchmod(fd, mode) != 0)
        r = -errno;
    if (r == 0 && fsync(fd) != 0)
        r = -errno;
    if (close(fd) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) != 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            r = -errno;
        close(dfd);
    }
    return r;
}

int fs_mkdir_parents(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        /* exactly 0755 whatever the umask: the runtime user traverses them */
        if (mkdir(buf, 0755) == 0) {
            if (chmod(buf, 0755) != 0)
                return -errno;
        } else if (errno != EEXIST) {
            return -errno;
        }
        *p = '/';
    }
    return 0;
}

int fs_dir_private(const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(dir, &st) != 0) {
        int r = -errno;

        errbuf_set(err, errlen, "%s: %s", dir, strerror(errno));
        return r;
    }
    if (!S_ISDIR(st.st_mode)) {
        errbuf_set(err, errlen, "%s: not a directory", dir);
        return -ENOTDIR;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        errbuf_set(err, errlen, "%s: owned by uid %lu, not by root", dir, (unsigned long)st.st_uid);
        return -EPERM;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        errbuf_set(err, errlen, "%s: mode %04o lets other users create names in it (want 0755)",
                   dir, (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    return 0;
}

int fs_check_private_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0755) == 0) {
        if (chmod(dir, 0755) != 0) {
            int r = -errno;

            errbuf_set(err, errlen, "%s: %s", dir, strerror(errno));
            return r;
        }
    } else if (errno != EEXIST) {
        int r = -errno;

        errbuf_set(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        return r;
    }
    return fs_dir_private(dir, err, errlen);
}

int fs_lock_file(const char *path, unsigned timeout_ms, int *fd, char *err, size_t errlen)
{
    struct timespec pause = {0, 1000000L};
    struct stat st;
    unsigned waited = 0;
    int f, r;

    *fd = -1;
    f = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0 && errno == EEXIST)
        f = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (f < 0) {
        r = -errno;
        errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
        return r;
    }
    if (fstat(f, &st) != 0) {
        r = -errno;
        errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
        close(f);
        return r;
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || (st.st_uid != 0 && st.st_uid != geteuid()) ||
        (st.st_mode & 077) != 0) {
        errbuf_set(err, errlen, "%s: not a private lock file (uid %lu, mode %04o, %lu links)", path,
                   (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777),
                   (unsigned long)st.st_nlink);
        close(f);
        return -EPERM;
    }
    while (flock(f, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            r = -errno;
            errbuf_set(err, errlen, "%s: flock: %s", path, strerror(errno));
            close(f);
            return r;
        }
        if (waited++ >= timeout_ms) {
            errbuf_set(err, errlen, "%s: held by another process for %u ms", path, timeout_ms);
            close(f);
            return -ETIMEDOUT;
        }
        nanosleep(&pause, NULL);
    }
    *fd = f;
    return 0;
}

void fs_unlock_file(int fd)
{
    if (fd >= 0)
        close(fd);
}

int fs_info(const char *path, bool follow, struct fs_info *info)
{
    struct stat st;

    if ((follow ? stat(path, &st) : lstat(path, &st)) != 0)
        return -errno;
    info->mode = st.st_mode;
    info->uid = st.st_uid;
    info->gid = st.st_gid;
    return 0;
}

int fs_dir_writable(const char *dir)
{
    return access(dir, W_OK | X_OK) == 0 ? 0 : -errno;
}

bool fs_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

int fs_mkdir_mode(const char *path, mode_t mode)
{
    struct stat st;

    if (mkdir(path, mode) != 0 && errno != EEXIST)
        return -errno;
    if (lstat(path, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    return chmod(path, mode) == 0 ? 0 : -errno;
}

int fs_unlink(const char *path)
{
    return unlink(path) == 0 ? 0 : -errno;
}

int fs_rename(const char *from, const char *to)
{
    return rename(from, to) == 0 ? 0 : -errno;
}
