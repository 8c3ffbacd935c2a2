/* POSIX shared-memory objects for the seat pool. The only module that maps memory. */
#ifndef LICGATE_SHM_H
#define LICGATE_SHM_H

#include <stddef.h>
#include <sys/types.h>

/* Who may own and use a newly created object. set_uid/set_gid select whether uid/gid apply
 * (fchown, which only root can do). mode 0 means the default: 0600, or 0660 when a group is
 * set. A mode granting anything to "other" is refused. */
struct shm_owner {
    uid_t uid;
    gid_t gid;
    int set_uid, set_gid;
    mode_t mode;
};

struct shm_region {
    void *base;
    size_t size;
    int created;
};

/* Opens the object `name` ("/licgate.default": one leading '/', no other) read-write, or
 * creates it (O_EXCL, exact mode, fchown per `owner`, which may be NULL, sized to `size`) when
 * it does not exist; a creation race is resolved by opening the winner's object. An existing
 * object is mapped with its own size, whatever `size` says. Every object is checked before it
 * is mapped: a regular file, nothing for "other", group-writable only to the configured group,
 * owned by root, our euid or owner->uid; else -EPERM. An object that stays empty (its creator
 * died before sizing it) is -EPROTO. On success *out describes a MAP_SHARED read-write mapping
 * of the whole object and created tells whether this call made it; the caller must initialize
 * a created object. Returns 0 or -errno with a one-line reason in err (may be NULL); *out is
 * zeroed on failure. */
int shm_region_open(const char *name, size_t size, const struct shm_owner *owner,
                    struct shm_region *out, char *err, size_t errlen);

/* Maps the existing object `name` read-only, whole: for looking at what
 * another pool publishes. The object must be a regular, non-empty file;
 * ownership is not checked (nothing read from it is trusted). Returns 0 or
 * -errno (-ENOENT, -EACCES ...) with a one-line reason in err; *out is zeroed
 * on failure. */
int shm_region_open_readonly(const char *name, struct shm_region *out, char *err, size_t errlen);

/* The names of the objects whose names start with prefix (without the
 * leading '/', e.g. "licgate."), the prefix cut off, sorted: fs_list_dir on
 * /dev/shm, so more than max is -E2BIG. Free with fs_free_list. Returns 0 or
 * -errno. */
int shm_list_names(const char *prefix, size_t max, char ***names, size_t *count);

/* Unmaps the region and zeroes *region. Safe on a zeroed region. */
void shm_region_close(struct shm_region *region);

/* Removes the object `name`; live mappings stay valid. Returns 0 or -errno (-ENOENT). */
int shm_region_unlink(const char *name);

#endif
