/* See agent_plan.h. */
#include "agent_plan.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#define SEATS_MAX 1000000u

uint32_t agent_block(uint32_t seats, size_t nodes, uint32_t unheld)
{
    uint64_t per = (uint64_t)8 * (nodes > 0 ? nodes : 1);
    uint32_t b = (uint32_t)((seats + per - 1) / per);

    if (b == 0 || (uint64_t)unheld < (uint64_t)b * (nodes > 0 ? nodes : 1))
        b = 1;
    return b;
}

uint32_t agent_waiting(uint32_t waiting, uint32_t seated, uint32_t burst, uint32_t seats)
{
    waiting = waiting > seated ? waiting - seated : 0;
    if (burst > seats)
        burst = seats > 0 ? seats : 1;
    return burst > waiting ? burst : waiting;
}

uint32_t agent_burst(const struct agent_round *rounds, size_t n, int64_t now)
{
    uint64_t refused = 0, seated = 0;

    for (size_t i = 0; i < n; i++) {
        if (rounds[i].at <= 0 || rounds[i].at > now || now - rounds[i].at >= AGENT_BURST_MS)
            continue;
        refused += rounds[i].refused;
        seated += rounds[i].seated;
    }
    if (refused <= seated)
        return 0;
    return refused - seated > UINT32_MAX ? UINT32_MAX : (uint32_t)(refused - seated);
}

struct agent_plan agent_plan(uint32_t seats, uint32_t held, uint32_t used, uint32_t waiting,
                             const struct agent_node *others, size_t nothers)
{
    struct agent_plan p = {.grant = held};
    uint64_t taken = 0;
    bool pressure = false;
    uint32_t room, block;
    uint64_t wish;

    for (size_t i = 0; i < nothers; i++) {
        taken += others[i].grant;
        pressure = pressure || others[i].want;
    }
    room = taken >= seats ? 0 : seats - (uint32_t)taken;
    block = agent_block(seats, nothers + 1, room > held ? room - held : 0);
    wish = (uint64_t)used + (waiting > block ? waiting : block);
    if (pressure && waiting == 0) {
        /* another node refuses clients: what this one does not use goes back, and it takes
         * no headroom until that node is served */
        if (held > used)
            p.grant = used;
        return p;
    }
    if (wish > held) {
        p.grant = wish < room ? (uint32_t)wish : room;
        if (p.grant < held) /* others took more than the seats: never grow into them */
            p.grant = held;
    } else if (held > (uint64_t)used + 2 * (uint64_t)block) {
        p.grant = (uint32_t)wish; /* below held */
    }
    /* it refused clients and cannot seat them all when they come back */
    p.want = waiting > 0 && p.grant < (uint64_t)used + waiting;
    p.grow = p.grant > held;
    return p;
}

/* A non-negative integer member of o no larger than max. */
static int member_count(json_object *o, const char *key, uint32_t max, uint32_t *out)
{
    json_object *v;
    int64_t n;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return -EBADMSG;
    n = json_object_get_int64(v);
    if (n < 0 || n > (int64_t)max)
        return -EBADMSG;
    *out = (uint32_t)n;
    return 0;
}

int agent_node_parse(const char *value, size_t len, struct agent_node *n)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = NULL, *want;
    int r = -EBADMSG;

    if (tok == NULL)
        return -ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    if (len > 0 && len <= 256)
        o = json_tokener_parse_ex(tok, value, (int)len);
    if (o != NULL && json_tokener_get_parse_end(tok) == len &&
        json_object_is_type(o, json_type_object) && json_object_object_length(o) == 4 &&
        member_count(o, "grant", SEATS_MAX, &n->grant) == 0 &&
        member_count(o, "used", SEATS_MAX, &n->used) == 0 &&
        member_count(o, "peak", SEATS_MAX, &n->peak) == 0 &&
        json_object_object_get_ex(o, "want", &want) &&
        json_object_is_type(want, json_type_boolean)) {
        n->want = json_object_get_boolean(want);
        r = 0;
    }
    json_object_put(o);
    json_tokener_free(tok);
    return r;
}

int agent_node_format(const struct agent_node *n, char *buf, size_t len)
{
    int k = snprintf(buf, len, "{\"grant\":%u,\"used\":%u,\"peak\":%u,\"want\":%s}", n->grant,
                     n->used, n->peak, n->want ? "true" : "false");

    return k < 0 || (size_t)k >= len ? -ENOSPC : k;
}
