/* Reading the ledger: show, list and audit; see authority_commands.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authority_cli.h"
#include "authority_commands.h"
#include "authority_lifecycle.h"
#include "cli.h"

static const char *date_or_none(int64_t t, char buf[LICENSE_TIME_BUFSIZE])
{
    if (t == 0 || license_format_time(t, buf, LICENSE_TIME_BUFSIZE) != 0)
        return "none";
    return buf;
}

static const char *or_none(const char *s)
{
    return s[0] != '\0' ? s : "none";
}

/* What show says about one key. */
struct key_view {
    struct key_record rec;
    char binding[LEDGER_BINDING_MAX];
    char failover[KEYSTRING_BUFSIZE];
    char (*children)[KEYSTRING_BUFSIZE]; /* malloc'd */
    size_t nchildren;
    struct node_record *nodes; /* a cluster key's, malloc'd */
    size_t nnodes;
};

static void view_free(struct key_view *v)
{
    free(v->children);
    free(v->nodes);
}

/* The sum of the peaks a cluster key's nodes last reported. */
static uint64_t peak_sum(const struct key_view *v)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < v->nnodes; i++)
        sum += v->nodes[i].peak;
    return sum;
}

/* Reads the view of key: 0, or an exit status after reporting the failure. */
static int read_view(const char *dir, const char *key, struct key_view *v)
{
    struct ledger *ledger;
    int ret;

    memset(v, 0, sizeof(*v));
    if (authority_open_ledger(dir, &ledger) != 0)
        return EXIT_FAILURE;
    ret = ledger_key_get(ledger, key, &v->rec);
    if (ret == 0) {
        ret = ledger_binding_active(ledger, key, NULL, v->binding, sizeof(v->binding));
        if (ret == 0 || ret == -ENOENT)
            ret = ledger_failover_of(ledger, key, v->failover);
        if (ret == -ENOENT)
            ret = 0;
    }
    if (ret == 0)
        ret = ledger_children(ledger, key, &v->children, &v->nchildren);
    if (ret == 0 && v->rec.kind == LICENSE_KIND_CLUSTER)
        ret = ledger_nodes(ledger, key, &v->nodes, &v->nnodes);
    if (ret == -ENOENT)
        cli_fail("'%s': license key unknown", key);
    else if (ret != 0)
        cli_fail("ledger: %s", ledger_error(ledger));
    ledger_close(ledger);
    return ret != 0 ? EXIT_FAILURE : 0;
}

static int show_json(const struct key_view *v)
{
    json_object *obj = key_record_json(&v->rec), *list = json_object_new_array();

    if (obj == NULL || list == NULL) {
        json_object_put(obj);
        json_object_put(list);
        return authority_print_json(NULL);
    }
    json_object_object_add(obj, "binding",
                           v->binding[0] != '\0' ? json_object_new_string(v->binding) : NULL);
    for (size_t i = 0; i < v->nchildren; i++)
        json_object_array_add(list, json_object_new_string(v->children[i]));
    json_object_object_add(obj, "children", list);
    json_object_object_add(obj, "failover_key",
                           v->failover[0] != '\0' ? json_object_new_string(v->failover) : NULL);
    if (v->rec.kind == LICENSE_KIND_CLUSTER) {
        json_object *nodes = json_object_new_array();

        for (size_t i = 0; nodes != NULL && i < v->nnodes; i++)
            json_object_array_add(nodes, node_record_json(&v->nodes[i]));
        json_object_object_add(obj, "nodes", nodes);
        json_object_object_add(obj, "peak_sum", json_object_new_int64((int64_t)peak_sum(v)));
        json_object_object_add(obj, "over", json_object_new_boolean(peak_sum(v) > v->rec.seats));
    }
    return authority_print_json(obj);
}

/* A cluster key's node limit, one line per node, and the over-use line
 * when the peaks its nodes reported add up above its seats. */
static void show_nodes(const struct key_view *v)
{
    char d1[LICENSE_TIME_BUFSIZE], d2[LICENSE_TIME_BUFSIZE], d3[LICENSE_TIME_BUFSIZE];

    printf("node-limit:      %u\n"
           "nodes:           %zu\n",
           v->rec.nodes, v->nnodes);
    for (size_t i = 0; i < v->nnodes; i++) {
        const struct node_record *n = &v->nodes[i];

        printf("node:            %s activated %s, last refresh %s, ", n->installation_id,
               date_or_none(n->activated, d1), date_or_none(n->refreshed, d2));
        if (n->reported != 0)
            printf("peak %" PRIu32 " at %s", n->peak, date_or_none(n->reported, d3));
        else
            printf("no peak reported");
        if (n->cloned != 0)
            printf(", cloned %s", date_or_none(n->cloned, d1));
        putchar('\n');
    }
    if (peak_sum(v) > v->rec.seats)
        printf("over:            the nodes' peaks add up to %" PRIu64 " of %u seats\n", peak_sum(v),
               v->rec.seats);
}

static int show_text(const struct key_view *v)
{
    const struct key_record *rec = &v->rec;
    char d1[LICENSE_TIME_BUFSIZE], d2[LICENSE_TIME_BUFSIZE], d3[LICENSE_TIME_BUFSIZE],
        d4[LICENSE_TIME_BUFSIZE], d5[LICENSE_TIME_BUFSIZE], kids[AUTHORITY_MAX_SPLIT * 32];
    size_t used = 0;

    kids[0] = '\0';
    for (size_t i = 0; i < v->nchildren && used < sizeof(kids); i++)
        used += (size_t)snprintf(kids + used, sizeof(kids) - used, "%s%s", i > 0 ? ", " : "",
                                 v->children[i]);
    printf("key:             %s\n"
           "state:           %s\n"
           "customer:        %s\n"
           "seats:           %u\n"
           "kind:            %s\n"
           "primary-key:     %s\n"
           "failover-key:    %s\n"
           "perpetual:       %s\n"
           "rule:            %s\n"
           "created:         %s\n"
           "support-until:   %s\n"
           "sunset:          %s\n"
           "origin:          %s\n"
           "children:        %s\n"
           "replaced-by:     %s\n"
           "activated:       %s\n"
           "installation-id: %s\n"
           "binding:         %s\n"
           "cloned:          %s\n",
           rec->key, key_state_name(rec->state), rec->customer, rec->seats,
           license_kind_name(rec->kind), or_none(rec->primary_key), or_none(v->failover),
           rec->perpetual ? "yes" : "no", rec->rule, date_or_none(rec->created, d1),
           date_or_none(rec->support_until, d2), date_or_none(rec->sunset, d3),
           or_none(rec->origin), or_none(kids), or_none(rec->replaced_by),
           date_or_none(rec->activated, d4), or_none(rec->installation_id), or_none(v->binding),
           date_or_none(rec->cloned, d5));
    if (rec->kind == LICENSE_KIND_CLUSTER)
        show_nodes(v);
    return authority_flush();
}

int authority_cmd_show(int argc, char **argv)
{
    char key[KEYSTRING_BUFSIZE];
    struct ledger_args a;
    struct key_view v;
    int ret;

    ret = authority_command_args(argc, argv, AUTHORITY_SEEN(OPT_JSON), 1, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (authority_key_argument(a.positional[0], key) != 0)
        return EXIT_FAILURE;
    if ((ret = read_view(a.dir, key, &v)) != 0) {
        view_free(&v);
        return ret;
    }
    ret = a.json ? show_json(&v) : show_text(&v);
    view_free(&v);
    return ret;
}

/* The sum of the peaks of each cluster key's nodes (0 for other kinds),
 * in *sums (malloc'd, one per key; the caller frees it). */
static int list_peak_sums(struct ledger *ledger, const struct key_record *list, size_t n,
                          uint64_t **sums)
{
    unsigned nodes;
    int ret = 0;

    *sums = calloc(n > 0 ? n : 1, sizeof(**sums));
    if (*sums == NULL)
        return -ENOMEM;
    for (size_t i = 0; ret == 0 && i < n; i++) {
        if (list[i].kind == LICENSE_KIND_CLUSTER)
            ret = ledger_node_usage(ledger, list[i].key, &nodes, &(*sums)[i]);
    }
    if (ret != 0) {
        free(*sums);
        *sums = NULL;
    }
    return ret;
}

int authority_cmd_list(int argc, char **argv)
{
    char d1[LICENSE_TIME_BUFSIZE];
    struct ledger_args a;
    struct ledger *ledger;
    struct key_record *list;
    uint64_t *sums = NULL;
    size_t n;
    int ret;

    ret = authority_command_args(argc, argv,
                                 AUTHORITY_SEEN(OPT_JSON) | AUTHORITY_SEEN(OPT_LCUSTOMER), 0, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (authority_open_ledger(a.dir, &ledger) != 0)
        return EXIT_FAILURE;
    ret = ledger_key_list(ledger, a.customer, &list, &n);
    if (ret == 0 && (ret = list_peak_sums(ledger, list, n, &sums)) != 0)
        free(list);
    if (ret != 0) {
        cli_fail("ledger: %s", ret == -ENOMEM ? "out of memory" : ledger_error(ledger));
        ledger_close(ledger);
        return EXIT_FAILURE;
    }
    ledger_close(ledger);
    if (a.json) {
        json_object *array = json_object_new_array();
        for (size_t i = 0; array != NULL && i < n; i++) {
            json_object *obj = key_record_json(&list[i]);

            if (obj != NULL && list[i].kind == LICENSE_KIND_CLUSTER) {
                json_object_object_add(obj, "peak_sum", json_object_new_int64((int64_t)sums[i]));
                json_object_object_add(obj, "over",
                                       json_object_new_boolean(sums[i] > list[i].seats));
            }
            json_object_array_add(array, obj);
        }
        free(list);
        free(sums);
        return authority_print_json(array);
    }
    printf("%-22s  %-9s  %7s  %-8s  %-20s  %s\n", "KEY", "STATE", "SEATS", "KIND", "SUPPORT-UNTIL",
           "CUSTOMER");
    for (size_t i = 0; i < n; i++) {
        printf("%-22s  %-9s  %7u  %-8s  %-20s  %s", list[i].key, key_state_name(list[i].state),
               list[i].seats, license_kind_name(list[i].kind),
               date_or_none(list[i].support_until, d1), list[i].customer);
        /* a cluster key whose nodes' peaks add up above its seats */
        if (sums[i] > list[i].seats)
            printf("  (over: peaks %" PRIu64 " of %u seats)", sums[i], list[i].seats);
        putchar('\n');
    }
    free(list);
    free(sums);
    return authority_flush();
}

static const char *member_text(json_object *obj, const char *name)
{
    json_object *v = json_object_object_get(obj, name);

    return v != NULL ? json_object_get_string(v) : "-";
}

int authority_cmd_audit(int argc, char **argv)
{
    struct ledger_args a;
    struct ledger *ledger;
    json_object *rows;
    int ret;

    ret = authority_command_args(argc, argv, AUTHORITY_SEEN(OPT_JSON), 0, &a);
    if (ret != 0)
        return ret < 0 ? EXIT_SUCCESS : ret;
    if (authority_open_ledger(a.dir, &ledger) != 0)
        return EXIT_FAILURE;
    ret = ledger_audit_json(ledger, &rows);
    if (ret != 0) {
        cli_fail("ledger: %s", ledger_error(ledger));
        ledger_close(ledger);
        return EXIT_FAILURE;
    }
    ledger_close(ledger);
    if (a.json)
        return authority_print_json(rows);
    printf("%6s  %-20s  %-16s  %-12s  %s\n", "ID", "AT", "WHO", "WHAT", "KEY");
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        printf("%6s  %-20s  %-16s  %-12s  %s\n", member_text(row, "id"), member_text(row, "at"),
               member_text(row, "who"), member_text(row, "what"), member_text(row, "key"));
    }
    json_object_put(rows);
    return authority_flush();
}
