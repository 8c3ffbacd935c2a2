/* What a node asks of a cluster license's seats: one row per rule of
 * agent_plan (docs/cluster.md), the block size, and the etcd value's codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "agent_plan.h"

#define MAX_OTHERS 3

static void agent_block__sizes__an_eighth_per_node_then_one(void **state)
{
    (void)state;
    assert_int_equal(agent_block(100, 3, 100), 5); /* ceil(100 / 24) */
    assert_int_equal(agent_block(10, 3, 10), 1);   /* ceil(10 / 24) */
    assert_int_equal(agent_block(1000, 1, 1000), 125);
    assert_int_equal(agent_block(100, 3, 14), 1);   /* 14 unheld < 5 per node x 3 */
    assert_int_equal(agent_block(100, 0, 100), 13); /* no node counts as one */
}

static void agent_plan__each_rule__its_grant(void **state)
{
    static const struct {
        const char *rule;
        uint32_t seats, held, used;
        uint32_t waiting;
        struct agent_node others[MAX_OTHERS];
        size_t nothers;
        uint32_t grant;
        bool want, grow;
    } rows[] = {
        {"alone, nothing used: one block", 80, 0, 0, 0, {{.grant = 0}}, 0, 10, false, true},
        {"alone, use grows: use plus a block", 80, 10, 8, 0, {{.grant = 0}}, 0, 18, false, true},
        {"within use + 2 blocks: kept", 80, 18, 0, 0, {{.grant = 0}}, 0, 18, false, false},
        {"beyond use + 2 blocks: back to use + a block",
         80,
         30,
         5,
         0,
         {{.grant = 0}},
         0,
         15,
         false,
         false},
        {"others hold most: grows by its block into what is left",
         20,
         2,
         2,
         0,
         {{.grant = 14}},
         1,
         4,
         false,
         true},
        {"others hold all, clients refused: kept, and wants",
         20,
         5,
         5,
         1,
         {{.grant = 15}},
         1,
         5,
         true,
         false},
        {"others hold all, nobody refused: kept, no want",
         20,
         5,
         5,
         0,
         {{.grant = 15}},
         1,
         5,
         false,
         false},
        {"another wants: give back all not used",
         20,
         9,
         4,
         0,
         {{.grant = 11, .want = true}},
         1,
         4,
         false,
         false},
        {"another wants, all used, no demand: kept, no headroom",
         20,
         9,
         9,
         0,
         {{.grant = 10, .want = true}},
         1,
         9,
         false,
         false},
        {"another wants, both refuse: kept, and wants too",
         20,
         9,
         9,
         1,
         {{.grant = 11, .want = true}},
         1,
         9,
         true,
         false},
        {"another wants, this one refuses too, seats free: grows",
         20,
         9,
         9,
         1,
         {{.grant = 10, .want = true}},
         1,
         10,
         false,
         true},
        {"an unreadable node takes all: no growth",
         50,
         3,
         3,
         1,
         {{.grant = UINT32_MAX}},
         1,
         3,
         true,
         false},
        {"over its grant after a partition: never grows into others",
         10,
         2,
         6,
         1,
         {{.grant = 8}},
         1,
         2,
         true,
         false},
        {"three nodes near the limit: block of one",
         30,
         9,
         9,
         0,
         {{.grant = 10}, {.grant = 10}},
         2,
         10,
         false,
         true},
        {"three refused, seats free: asks for all three",
         20,
         1,
         0,
         3,
         {{.grant = 10}},
         1,
         3,
         false,
         true},
        {"three refused, one seat left: takes it, and wants the rest",
         20,
         0,
         0,
         3,
         {{.grant = 19}},
         1,
         1,
         true,
         true},
        {"waiting clients hold seats beyond use + 2 blocks",
         20,
         4,
         0,
         4,
         {{.grant = 16, .want = true}},
         1,
         4,
         false,
         false},
        {"waiting clients seated: back to use + a block (of 2)",
         20,
         6,
         1,
         0,
         {{.grant = 10}},
         1,
         3,
         false,
         false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct agent_plan p = agent_plan(rows[i].seats, rows[i].held, rows[i].used, rows[i].waiting,
                                         rows[i].others, rows[i].nothers);

        print_message("%s\n", rows[i].rule);
        assert_int_equal(p.grant, rows[i].grant);
        assert_int_equal(p.want, rows[i].want);
        assert_int_equal(p.grow, rows[i].grow);
    }
}

/* Waiting clients: the latest burst of refusals, or those waiting before less the seated. */
static void agent_waiting__rounds__refused_less_seated(void **state)
{
    (void)state;
    assert_int_equal(agent_waiting(0, 0, 3, 6), 3);  /* three refused */
    assert_int_equal(agent_waiting(3, 1, 0, 6), 2);  /* one of them seated */
    assert_int_equal(agent_waiting(3, 5, 0, 6), 0);  /* all seated, and more */
    assert_int_equal(agent_waiting(3, 0, 2, 6), 3);  /* two of the three again: not five */
    assert_int_equal(agent_waiting(2, 2, 1, 6), 1);  /* two seated, one refused again */
    assert_int_equal(agent_waiting(0, 0, 90, 6), 6); /* never more than the seats */
    assert_int_equal(agent_waiting(0, 0, 4, 0), 1);  /* no seats known yet: one waits */
    assert_int_equal(agent_waiting(0, 0, 0, 6), 0);
}

/* A burst of refusals across rounds: the clients refused in the last AGENT_BURST_MS, less
 * those seated meanwhile; older rounds and empty slots do not count. */
static void agent_burst__rounds__last_seconds_less_seated(void **state)
{
    const struct agent_round rounds[6] = {
        {.at = 1000, .refused = 5},              /* 9 s before: another burst */
        {.at = 8000, .refused = 1},              /* three clients over two rounds */
        {.at = 8500, .refused = 2},              /* */
        {.at = 9000, .refused = 0, .seated = 1}, /* one of them in */
        {.at = 0},                               /* a slot never used */
        {.at = 9500, .refused = 0},
    };

    (void)state;
    assert_int_equal(agent_burst(rounds, 6, 10000), 2);
    assert_int_equal(agent_burst(rounds, 3, 10000), 3);
    assert_int_equal(agent_burst(rounds, 6, 11000), 1); /* 8000 is 3 s before: out */
    assert_int_equal(agent_burst(rounds, 6, 20000), 0);
    assert_int_equal(agent_burst(rounds, 1, 2000), 5);
    assert_int_equal(agent_burst(rounds, 6, 500), 0); /* rounds after now do not count */
}

/* Whatever the nodes do, the grants never add up above the seats. */
static void agent_plan__many_rounds__never_above_the_seats(void **state)
{
    struct agent_node nodes[3] = {{.grant = 0}};
    uint32_t used[3], seats = 17;
    unsigned seed = 7;

    (void)state;
    for (int round = 0; round < 20000; round++) {
        size_t me = (size_t)round % 3;
        struct agent_node others[2];
        struct agent_plan p;
        uint64_t sum = 0;
        size_t k = 0;

        for (size_t i = 0; i < 3; i++) {
            seed = seed * 1103515245u + 12345u;
            used[i] = (seed >> 16) % (nodes[i].grant + 2);
            if (used[i] > nodes[i].grant)
                used[i] = nodes[i].grant; /* admission never passes the grant */
            nodes[i].used = used[i];
        }
        for (size_t i = 0; i < 3; i++)
            if (i != me)
                others[k++] = nodes[i];
        p = agent_plan(seats, nodes[me].grant, used[me], (seed >> 8) % 4, others, 2);
        nodes[me].grant = p.grant;
        nodes[me].want = p.want;
        for (size_t i = 0; i < 3; i++)
            sum += nodes[i].grant;
        assert_true(sum <= seats);
    }
}

static void agent_node__codec__round_trip_and_strict(void **state)
{
    static const char *const bad[] = {
        "",
        "{}",
        "{\"grant\":1,\"used\":0,\"peak\":0}",
        "{\"grant\":1,\"used\":0,\"peak\":0,\"want\":0}",
        "{\"grant\":-1,\"used\":0,\"peak\":0,\"want\":false}",
        "{\"grant\":1000001,\"used\":0,\"peak\":0,\"want\":false}",
        "{\"grant\":\"1\",\"used\":0,\"peak\":0,\"want\":false}",
        "{\"grant\":1,\"used\":0,\"peak\":0,\"want\":false,\"x\":1}",
        "{\"grant\":1,\"used\":0,\"peak\":0,\"want\":false}x",
        "[1,2,3,4]",
    };
    struct agent_node n = {.grant = 7, .used = 3, .peak = 9, .want = true}, back;
    char buf[128];
    int len;

    (void)state;
    len = agent_node_format(&n, buf, sizeof(buf));
    assert_true(len > 0);
    assert_string_equal(buf, "{\"grant\":7,\"used\":3,\"peak\":9,\"want\":true}");
    assert_int_equal(agent_node_parse(buf, (size_t)len, &back), 0);
    assert_int_equal(back.grant, 7);
    assert_int_equal(back.used, 3);
    assert_int_equal(back.peak, 9);
    assert_true(back.want);
    assert_int_equal(agent_node_format(&n, buf, 10), -ENOSPC);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(agent_node_parse(bad[i], strlen(bad[i]), &back), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(agent_block__sizes__an_eighth_per_node_then_one),
        cmocka_unit_test(agent_plan__each_rule__its_grant),
        cmocka_unit_test(agent_waiting__rounds__refused_less_seated),
        cmocka_unit_test(agent_burst__rounds__last_seconds_less_seated),
        cmocka_unit_test(agent_plan__many_rounds__never_above_the_seats),
        cmocka_unit_test(agent_node__codec__round_trip_and_strict),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
