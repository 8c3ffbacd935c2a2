/* Bounded file and directory reading. All int functions return 0 or -errno. */
#ifndef LICGATE_SHIM_FS_H
#define LICGATE_SHIM_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads the regular file at path (not following a final symlink: -ELOOP)
 * into a malloc'd buffer that is NUL-terminated; *len excludes the NUL.
 * A file of more than max bytes is -EFBIG and at most max + 1 bytes of it
 * are read. Not a regular file: -EINVAL. The caller frees *out. On failure
 * *out is NULL and *len is 0. */
int fs_read_bounded(const char *path, size_t max, char **out, size_t *len);

/* Lists the names (not paths) of the regular files in dir whose names start
 * with prefix and end in suffix, sorted by strcmp; with regular_only false,
 * of every entry (a symlink, a directory ...) so that the caller can say why
 * it skips one.
 * Dotfiles are skipped. More than max_entries matches is -E2BIG. With no
 * match *names is NULL and *count 0. The caller frees the list with
 * fs_free_list(). On failure *names is NULL and *count 0; a missing dir is
 * -ENOENT. */
int fs_list_dir(const char *dir, const char *prefix, const char *suffix, bool regular_only,
                char ***names, size_t *count, size_t max_entries);

/* Like fs_list_dir, but more than max_entries matches is no error: *names holds the first
 * max_entries by strcmp and *total counts every match, so the caller can say how many it
 * skipped. Memory stays bounded by max_entries whatever the directory holds. */
int fs_list_dir_first(const char *dir, const char *prefix, const char *suffix, bool regular_only,
                      size_t max_entries, char ***names, size_t *count, size_t *total);

/* fs_read_bounded for a file an administrator may keep behind a symbolic link
 * (configuration management, a symlinked tree): a path that is a symbolic
 * link (or has one on the way) is followed only when its target and every
 * directory on the way to the link and to the target are owned by root (or
 * our euid) and writable by nobody else, so that no other user could have
 * pointed it elsewhere; otherwise -EPERM with the reason in err. A path
 * without a symbolic link is read as fs_read_bounded reads it. */
int fs_read_config(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

/* Frees a list from fs_list_dir(). NULL is fine. */
void fs_free_list(char **names, size_t count);

/* What fs_info tells of a path. */
struct fs_info {
    mode_t mode; /* type and permission bits, as st_mode */
    uid_t uid;
    gid_t gid;
};

/* The path's type, mode and owner: through a final symbolic link when follow,
 * else of the link itself. 0, or -errno (-ENOENT: nothing there). */
int fs_info(const char *path, bool follow, struct fs_info *info);

/* Whether this process may create files in dir (write and search, by its
 * real ids as access(2) checks): 0 or -errno. */
int fs_dir_writable(const char *dir);

/* Removes the file at path: 0, or -errno (-ENOENT: nothing there). */
int fs_unlink(const char *path);

/* Moves from to to (same file system; replaces to): 0, or -errno. */
int fs_rename(const char *from, const char *to);

/* Whether anything exists at path, by its real ids (access(2) F_OK). */
bool fs_exists(const char *path);

/* Makes the directory path with exactly mode (a directory already there is
 * given mode); 0, -ENOTDIR when something else is there, or -errno. */
int fs_mkdir_mode(const char *path, mode_t mode);

/* Creates the missing parent directories of path (not path itself), 0755.
 * Returns 0 or -errno. */
int fs_mkdir_parents(const char *path);

/* Writes len bytes of data to path in place: created (mode 0600) or
 * truncated, never through a symbolic link. For files another program made
 * for us to fill (openvpn's auth_failed_reason_file). 0 or -errno. */
int fs_write_file(const char *path, const void *data, size_t len);

/* Replaces path with data atomically and durably: writes a temporary file in
 * the same directory (mode, O_EXCL, O_NOFOLLOW), fsyncs it, renames it over
 * path and fsyncs the directory. A reader sees the old or the new content,
 * never a mix. Returns 0 or -errno (the old file is untouched then). */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* fs_write_atomic, the file given to uid before it appears, when the caller
 * is root and uid is not (uid_t)-1: a file root writes for a runtime user
 * who must read it later. */
int fs_write_atomic_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t uid);

/* Whether dir (not following a final symlink) is a directory owned by root or by this
 * process's euid that nobody else may write (no group or other write bit, even with the
 * sticky bit): a place where no other user can create, replace or remove a name. 0, or
 * -EPERM / -ENOTDIR / -errno with a reason in err. */
int fs_dir_private(const char *dir, char *err, size_t errlen);

/* fs_dir_private, creating dir 0755 first when it is missing. */
int fs_check_private_dir(const char *dir, char *err, size_t errlen);

/* Opens, creating it 0600 when missing, the lock file path, which must be a regular file with
 * one link, owned by root or our euid, with no access for group or others; then takes an
 * exclusive flock on it within timeout_ms. 0 and *fd (fs_unlock_file releases it),
 * -ETIMEDOUT, -EPERM with a reason in err, or -errno. */
int fs_lock_file(const char *path, unsigned timeout_ms, int *fd, char *err, size_t errlen);
void fs_unlock_file(int fd);

#endif
