#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int fs_list_dir(const char *dir, const char *prefix, const char *suffix, bool regular_only,
                char ***names, size_t *count, size_t max_entries)
{
    DIR *dh = NULL;
    struct dirent *de;
    char **list = NULL, **grown;
    size_t nlist = 0, cap = 0, prefixlen = strlen(prefix), suffixlen = strlen(suffix), namelen;
    int fd, ret;

    *names = NULL;
    *count = 0;
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
        if (nlist == max_entries) {
            ret = -E2BIG;
            goto out;
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

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return fs_write_atomic_owned(path, data, len, mode, (uid_t)-1);
}

int fs_write_atomic_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t uid)
{
    char tmp[4096], dir[4096];
    const char *slash = strrchr(path, '/');
    const char *p = data;
    int fd, dfd, r = 0;

    if (slash == NULL || (size_t)(slash - path) >= sizeof(dir) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
        return -ENAMETOOLONG;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    if (dir[0] == '\0')
        snprintf(dir, sizeof(dir), "/");
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
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
