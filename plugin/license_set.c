#include "license_set.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

/* Fills one entry from one file. Only failures that are not about this
 * file's content (ENOMEM, EIO from the crypto library) are returned. */
static int license_entry_load(const char *dir, const char *name, const struct issuer_key *keys,
                              size_t nkeys, struct license_entry *entry)
{
    char path[4096];
    char *text = NULL;
    size_t len;
    int n, ret;

    n = snprintf(entry->file, sizeof(entry->file), "%s", name);
    if (n < 0 || (size_t)n >= sizeof(entry->file)) {
        snprintf(entry->reason, sizeof(entry->reason), "file name too long");
        return 0;
    }
    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        snprintf(entry->reason, sizeof(entry->reason), "path too long");
        return 0;
    }
    ret = fs_read_bounded(path, LICENSE_MAX_TEXT, &text, &len);
    if (ret == -ENOMEM)
        goto out;
    if (ret == -EFBIG) {
        snprintf(entry->reason, sizeof(entry->reason), "file larger than %d bytes",
                 LICENSE_MAX_TEXT);
        ret = 0;
        goto out;
    }
    if (ret == -ELOOP || ret == -EINVAL) {
        snprintf(entry->reason, sizeof(entry->reason),
                 "not a regular file (%s): licenses are read from regular files only",
                 ret == -ELOOP ? "a symbolic link" : "a directory, device or FIFO");
        ret = 0;
        goto out;
    }
    if (ret != 0) {
        snprintf(entry->reason, sizeof(entry->reason), "cannot read: %s", strerror(-ret));
        ret = 0;
        goto out;
    }
    ret = license_parse_verify(text, len, keys, nkeys, &entry->lic, entry->reason,
                               sizeof(entry->reason));
    if (ret == 0) {
        entry->loaded = 1;
        /* a bound license counts only once license_set_bind has checked it */
        entry->binding_ok = entry->lic.binding_rule == BINDING_NONE;
        if (!entry->binding_ok)
            snprintf(entry->binding_why, sizeof(entry->binding_why), "not checked");
    } else if (ret == -EBADMSG)
        ret = 0;
out:
    free(text);
    return ret;
}

static void reject_duplicates(struct license_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        struct license_entry *later = &set->entries[i];
        for (size_t j = 0; j < i && later->loaded; j++) {
            const struct license_entry *first = &set->entries[j];
            if (!first->loaded || strcmp(first->lic.key_id, later->lic.key_id) != 0)
                continue;
            snprintf(later->reason, sizeof(later->reason), "duplicate of key %.64s in %.160s",
                     first->lic.key_id, first->file);
            later->loaded = 0;
            memset(&later->lic, 0, sizeof(later->lic));
        }
    }
}

int license_set_load(const char *dir, const struct issuer_key *keys, size_t nkeys, int64_t now,
                     struct license_set *out)
{
    struct license_set set = {.entries = NULL, .count = 0};
    char **names = NULL;
    size_t nnames = 0, total = 0;
    int ret;

    memset(out, 0, sizeof(*out));
    ret = fs_list_dir_first(dir, "", ".lic", false, LICENSE_SET_MAX_FILES, &names, &nnames, &total);
    if (ret != 0)
        return ret;
    set.skipped = total - nnames;
    if (nnames == 0)
        goto out;
    set.entries = calloc(nnames, sizeof(*set.entries));
    if (set.entries == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nnames; i++) {
        set.count++;
        ret = license_entry_load(dir, names[i], keys, nkeys, &set.entries[i]);
        if (ret != 0)
            goto out;
    }
    reject_duplicates(&set);
    license_set_evaluate(&set, now);
    *out = set;
    memset(&set, 0, sizeof(set));
    ret = 0;
out:
    license_set_free(&set);
    fs_free_list(names, nnames);
    return ret;
}

/* Whether a failover entry's primary key is on this machine: bound here in
 * the set, or counted by a pool. */
static bool primary_here(const struct license_set *set, const struct license_entry *failover)
{
    if (failover->primary_claimed)
        return true;
    for (size_t i = 0; i < set->count; i++) {
        const struct license_entry *e = &set->entries[i];

        if (e->loaded && e->binding_ok && e->lic.kind == LICENSE_KIND_STANDARD &&
            strcmp(e->lic.key_id, failover->lic.primary_key) == 0)
            return true;
    }
    return false;
}

void license_set_evaluate(struct license_set *set, int64_t now)
{
    for (size_t i = 0; i < set->count; i++) {
        struct license_entry *entry = &set->entries[i];

        if (!entry->loaded)
            continue;
        entry->standby = false;
        entry->beside_primary = false;
        entry->state = license_evaluate(&entry->lic, now, entry->reason, sizeof(entry->reason));
        if (entry->state != LICENSE_ACTIVE)
            continue;
        if (!entry->binding_ok) {
            snprintf(entry->reason, sizeof(entry->reason),
                     "machine properties validation failed: verify fail: %s", entry->binding_why);
        } else if (entry->lic.kind == LICENSE_KIND_FAILOVER && primary_here(set, entry)) {
            entry->beside_primary = true;
            snprintf(entry->reason, sizeof(entry->reason),
                     "its primary key %.40s is on this machine: a failover key counts only on "
                     "the standby server (Q24)",
                     entry->lic.primary_key);
        } else if (entry->lic.kind == LICENSE_KIND_FAILOVER && !set->failover_set) {
            entry->standby = true;
            snprintf(entry->reason, sizeof(entry->reason),
                     "failover-vip is not set in licgate.conf: a failover license counts only "
                     "on the node that holds that address");
        } else if (entry->lic.kind == LICENSE_KIND_FAILOVER && !set->failover_active) {
            entry->standby = true;
            snprintf(entry->reason, sizeof(entry->reason),
                     "this node does not hold the failover address");
        } else if (entry->elsewhere[0] != '\0') {
            snprintf(entry->reason, sizeof(entry->reason),
                     "pool '%s' on this machine counts this key (a key counts in one pool)",
                     entry->elsewhere);
        }
    }
}

void license_set_bind(struct license_set *set, license_binding_check *check, void *arg)
{
    for (size_t i = 0; i < set->count; i++) {
        struct license_entry *entry = &set->entries[i];

        if (!entry->loaded || entry->lic.binding_rule == BINDING_NONE)
            continue;
        entry->binding_why[0] = '\0';
        entry->binding_ok =
            check(&entry->lic, arg, entry->binding_why, sizeof(entry->binding_why)) == 1;
        if (!entry->binding_ok && entry->binding_why[0] == '\0')
            snprintf(entry->binding_why, sizeof(entry->binding_why),
                     "machine properties could not be read");
    }
}

const char *license_entry_state(const struct license_entry *entry)
{
    if (!entry->loaded)
        return "invalid";
    if (entry->state != LICENSE_ACTIVE)
        return license_state_name(entry->state);
    if (!entry->binding_ok)
        return "machine-mismatch";
    if (entry->beside_primary)
        return "beside-primary";
    if (entry->standby)
        return "standby";
    if (entry->elsewhere[0] != '\0')
        return "other-pool";
    return "active";
}

bool license_entry_claimable(const struct license_entry *entry)
{
    return entry->loaded && entry->state == LICENSE_ACTIVE && entry->binding_ok &&
           !entry->standby && !entry->beside_primary;
}

bool license_entry_counts(const struct license_entry *entry)
{
    return license_entry_claimable(entry) && entry->elsewhere[0] == '\0';
}

uint32_t license_set_seats(const struct license_set *set)
{
    uint32_t seats = 0;

    for (size_t i = 0; i < set->count; i++) {
        const struct license_entry *entry = &set->entries[i];

        if (!license_entry_counts(entry) || entry->lic.kind == LICENSE_KIND_CLUSTER)
            continue;
        if (UINT32_MAX - seats < entry->lic.seats)
            return UINT32_MAX;
        seats += entry->lic.seats;
    }
    return seats;
}

const struct license_entry *license_set_cluster(const struct license_set *set)
{
    for (size_t i = 0; i < set->count; i++)
        if (set->entries[i].lic.kind == LICENSE_KIND_CLUSTER &&
            license_entry_counts(&set->entries[i]))
            return &set->entries[i];
    return NULL;
}

int64_t license_set_next_change(const struct license_set *set, int64_t now)
{
    int64_t next = INT64_MAX;

    for (size_t i = 0; i < set->count; i++) {
        int64_t t;

        if (!set->entries[i].loaded)
            continue;
        t = license_next_change(&set->entries[i].lic, now);
        if (t < next)
            next = t;
    }
    return next;
}

int license_set_copy(const struct license_set *set, struct license_set *out)
{
    memset(out, 0, sizeof(*out));
    out->failover_active = set->failover_active;
    out->failover_set = set->failover_set;
    out->skipped = set->skipped;
    if (set->count > 0) {
        out->entries = calloc(set->count, sizeof(*set->entries));
        if (out->entries == NULL)
            return -ENOMEM;
        memcpy(out->entries, set->entries, set->count * sizeof(*set->entries));
        out->count = set->count;
    }
    if (set->nsources > 0) {
        out->sources = calloc(set->nsources, sizeof(*set->sources));
        if (out->sources == NULL) {
            license_set_free(out);
            return -ENOMEM;
        }
        memcpy(out->sources, set->sources, set->nsources * sizeof(*set->sources));
        out->nsources = set->nsources;
    }
    return 0;
}

/* The index + 1 of source (pid, dir) in set, added when missing; 0 on failure. */
static uint16_t source_index(struct license_set *set, int pid, const char *dir)
{
    struct license_source *sources;

    for (size_t i = 0; i < set->nsources; i++)
        if (set->sources[i].pid == pid && strcmp(set->sources[i].dir, dir) == 0)
            return (uint16_t)(i + 1);
    if (set->nsources >= UINT16_MAX - 1)
        return 0;
    sources = reallocarray(set->sources, set->nsources + 1, sizeof(*sources));
    if (sources == NULL)
        return 0;
    set->sources = sources;
    memset(&sources[set->nsources], 0, sizeof(sources[0]));
    sources[set->nsources].pid = pid;
    snprintf(sources[set->nsources].dir, sizeof(sources[0].dir), "%s", dir);
    return (uint16_t)++set->nsources;
}

int license_set_append(struct license_set *set, const struct license_set *peer, int pid,
                       const char *dir)
{
    struct license_entry *entries;
    size_t add = 0;

    for (size_t i = 0; i < peer->count; i++)
        add += peer->entries[i].loaded;
    if (add == 0)
        return 0;
    entries = reallocarray(set->entries, set->count + add, sizeof(*entries));
    if (entries == NULL)
        return -ENOMEM;
    set->entries = entries;
    for (size_t i = 0; i < peer->count; i++) {
        const struct license_entry *e = &peer->entries[i];
        const char *from = dir;
        int from_pid = pid;
        bool have = false;
        uint16_t src;

        for (size_t j = 0; j < set->count && e->loaded && !have; j++)
            have = set->entries[j].loaded && strcmp(set->entries[j].lic.key_id, e->lic.key_id) == 0;
        if (!e->loaded || have)
            continue;
        if (e->source != 0)
            from = license_entry_source(peer, e, &from_pid);
        src = source_index(set, from_pid, from);
        if (src == 0)
            return -ENOMEM;
        set->entries[set->count] = *e;
        set->entries[set->count].source = src;
        set->count++;
    }
    return 0;
}

const char *license_entry_source(const struct license_set *set, const struct license_entry *entry,
                                 int *pid)
{
    if (pid != NULL)
        *pid = 0;
    if (entry->source == 0 || entry->source > set->nsources)
        return "";
    if (pid != NULL)
        *pid = set->sources[entry->source - 1].pid;
    return set->sources[entry->source - 1].dir;
}

void license_set_free(struct license_set *set)
{
    free(set->entries);
    free(set->sources);
    memset(set, 0, sizeof(*set));
}
