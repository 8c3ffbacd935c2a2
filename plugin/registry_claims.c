/* The keys each process claims for its pool, and the snapshot of
 * processes and claims that decides which pool counts a key (registry.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "registry_internal.h"

/* The earliest since among the claims of key by live entries of pool, other than ours. */
static int64_t pool_since(struct registry *reg, const char *pool, const char *key)
{
    struct reg_header *hdr = reg->hdr;
    char k[REG_KEY_LEN], p[REG_NAME_LEN];
    int64_t best = INT64_MAX;

    for (uint32_t c = 0; c < REG_MAX_CLAIMS; c++) {
        const struct reg_claim *cl = &hdr->claims[c];
        uint32_t owner = cl->proc - 1;

        if (cl->proc == 0 || owner >= REG_MAX_PROCS || owner == reg->self ||
            hdr->procs[owner].state != REG_LIVE || cl->since <= 0 || cl->since >= best ||
            strcmp(registry_field(cl->key_id, REG_KEY_LEN, k), key) != 0 ||
            strcmp(registry_field(hdr->procs[owner].pool, REG_NAME_LEN, p), pool) != 0)
            continue;
        best = cl->since;
    }
    return best;
}

int registry_publish_claims(struct registry *reg, const char *const *keys, size_t n, int64_t now,
                            int64_t *since)
{
    struct reg_header *hdr = reg->hdr;
    struct reg_claim *old;
    char pool[REG_NAME_LEN], k[REG_KEY_LEN];
    size_t nold = 0, free_at = 0;
    bool changed = false;

    if (reg->self >= REG_MAX_PROCS || (keys == NULL && n > 0))
        return -EINVAL;
    old = calloc(REG_MAX_CLAIMS, sizeof(*old));
    if (old == NULL)
        return -ENOMEM;
    memcpy(pool, reg->pool, sizeof(pool));
    for (uint32_t c = 0; c < REG_MAX_CLAIMS; c++) {
        if (hdr->claims[c].proc != reg->self + 1)
            continue;
        old[nold++] = hdr->claims[c];
        memset(&hdr->claims[c], 0, sizeof(hdr->claims[c]));
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = strnlen(keys[i], REG_KEY_LEN);
        int64_t s = INT64_MAX;

        if (since != NULL)
            since[i] = INT64_MAX;
        if (len == 0 || len > REGISTRY_KEY_MAX)
            continue;
        for (size_t o = 0; o < nold && s == INT64_MAX; o++)
            if (strcmp(registry_field(old[o].key_id, REG_KEY_LEN, k), keys[i]) == 0 &&
                old[o].since > 0)
                s = old[o].since;
        if (s == INT64_MAX) {
            s = pool_since(reg, pool, keys[i]);
            if (s == INT64_MAX || s > now)
                s = now;
            changed = true;
        }
        while (free_at < REG_MAX_CLAIMS && hdr->claims[free_at].proc != 0)
            free_at++;
        if (free_at == REG_MAX_CLAIMS)
            continue;
        memcpy(hdr->claims[free_at].key_id, keys[i], len);
        hdr->claims[free_at].since = s;
        hdr->claims[free_at].proc = reg->self + 1;
        if (since != NULL)
            since[i] = s;
    }
    if (changed || nold != n)
        registry_bump(reg);
    free(old);
    return 0;
}

void registry_view_free(struct registry_view *view)
{
    free(view->procs);
    free(view->claims);
    memset(view, 0, sizeof(*view));
}

int registry_snapshot(struct registry *reg, struct registry_view *view)
{
    struct reg_header *hdr = reg->hdr;
    uint32_t *index; /* entry -> position in view->procs + 1 */

    memset(view, 0, sizeof(*view));
    view->procs = calloc(REG_MAX_PROCS, sizeof(*view->procs));
    view->claims = calloc(REG_MAX_CLAIMS, sizeof(*view->claims));
    index = calloc(REG_MAX_PROCS, sizeof(*index));
    if (view->procs == NULL || view->claims == NULL || index == NULL) {
        free(index);
        registry_view_free(view);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < REG_MAX_PROCS; i++) {
        const struct reg_proc *p = &hdr->procs[i];
        struct registry_proc_view *v = &view->procs[view->nprocs];

        if (p->state != REG_LIVE || p->pid == 0 || p->pid > INT32_MAX || p->start_time == 0)
            continue;
        registry_field(p->pool, REG_NAME_LEN, v->pool);
        registry_field(p->license_dir, REG_DIR_LEN, v->license_dir);
        if (!config_pool_name_valid(v->pool) || strlen(v->license_dir) > REGISTRY_DIR_MAX)
            continue;
        v->pid = (pid_t)p->pid;
        v->self = i == reg->self;
        index[i] = (uint32_t)++view->nprocs;
    }
    for (uint32_t c = 0; c < REG_MAX_CLAIMS; c++) {
        const struct reg_claim *cl = &hdr->claims[c];
        struct registry_claim_view *v = &view->claims[view->nclaims];
        uint32_t owner = cl->proc - 1;

        if (cl->proc == 0 || owner >= REG_MAX_PROCS || index[owner] == 0 || cl->since <= 0)
            continue;
        registry_field(cl->key_id, REG_KEY_LEN, v->key_id);
        if (v->key_id[0] == '\0' || strlen(v->key_id) > REGISTRY_KEY_MAX)
            continue;
        memcpy(v->pool, view->procs[index[owner] - 1].pool, sizeof(v->pool));
        v->pid = view->procs[index[owner] - 1].pid;
        v->since = cl->since;
        view->nclaims++;
    }
    free(index);
    return 0;
}

const char *registry_view_winner(const struct registry_view *view, const char *key)
{
    const struct registry_claim_view *best = NULL;

    for (size_t i = 0; i < view->nclaims; i++) {
        const struct registry_claim_view *c = &view->claims[i];

        if (strcmp(c->key_id, key) != 0)
            continue;
        if (best == NULL || c->since < best->since ||
            (c->since == best->since && strcmp(c->pool, best->pool) < 0))
            best = c;
    }
    return best != NULL ? best->pool : NULL;
}

bool registry_view_claimed_by(const struct registry_view *view, const char *key, const char *pool)
{
    for (size_t i = 0; i < view->nclaims; i++)
        if (strcmp(view->claims[i].key_id, key) == 0 && strcmp(view->claims[i].pool, pool) == 0)
            return true;
    return false;
}
