/* See ctl_cluster.h. */
#include "ctl_cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "config.h"
#include "fs.h"
#include "text.h"

#define STATUS_MAX (256 * 1024)

static int64_t member_int(json_object *o, const char *key, bool *ok)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) {
        *ok = false;
        return 0;
    }
    return json_object_get_int64(v);
}

static const char *member_text(json_object *o, const char *key, char *buf, size_t len)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    text_clean(json_object_get_string(v), strlen(json_object_get_string(v)), buf, len, 0);
    return buf;
}

static void print_node(json_object *n)
{
    json_object *want, *grant;
    char name[64];
    bool ok = true;

    if (member_text(n, "name", name, sizeof(name)) == NULL)
        return;
    json_object_object_get_ex(n, "want", &want);
    if (json_object_object_get_ex(n, "grant", &grant) && grant != NULL)
        printf("%-16s %-6" PRId64, name, json_object_get_int64(grant));
    else
        printf("%-16s %-6s", name, "?");
    printf(" %-6" PRId64 " %-6" PRId64 " %s\n", member_int(n, "used", &ok),
           member_int(n, "peak", &ok),
           want != NULL && json_object_get_boolean(want) ? "yes" : "no");
}

static void print_status(json_object *o)
{
    json_object *nodes = NULL, *etcd = NULL, *ok;
    char cluster[80], node[64], endpoint[300], error[600], leader[40];
    bool fine = true;

    printf("cluster: %s, %" PRId64 " seats; this node: %s (lease %" PRId64 " s)\n",
           member_text(o, "cluster", cluster, sizeof(cluster)) ?: "?",
           member_int(o, "seats", &fine), member_text(o, "node", node, sizeof(node)) ?: "?",
           member_int(o, "lease_ttl", &fine));
    printf("\n%-16s %-6s %-6s %-6s %s\n", "NODE", "GRANT", "USED", "PEAK", "WANTS");
    if (json_object_object_get_ex(o, "nodes", &nodes) &&
        json_object_is_type(nodes, json_type_array))
        for (size_t i = 0; i < json_object_array_length(nodes); i++)
            print_node(json_object_array_get_idx(nodes, i));
    putchar('\n');
    if (!json_object_object_get_ex(o, "etcd", &etcd) || etcd == NULL)
        return;
    json_object_object_get_ex(etcd, "ok", &ok);
    if (ok != NULL && json_object_get_boolean(ok))
        printf("etcd: %s answers (leader %s)\n",
               member_text(etcd, "endpoint", endpoint, sizeof(endpoint)) ?: "?",
               member_text(etcd, "leader", leader, sizeof(leader)) ?: "not asked yet");
    else
        printf("etcd: unreachable: %s\n",
               member_text(etcd, "error", error, sizeof(error)) ?: "no answer");
}

int ctl_cluster_show(const char *pool, bool json)
{
    char path[sizeof(CONFIG_AGENT_DIR) + CONFIG_POOL_MAX + 8], *text = NULL;
    struct fs_info st;
    json_object *o;
    size_t len = 0;
    int r;

    snprintf(path, sizeof(path), "%s/%s.json", CONFIG_AGENT_DIR, pool ? pool : "default");
    r = fs_info(path, false, &st);
    if (r == -ENOENT) {
        cli_fail("no cluster seen for pool '%s': licgate-agent is not running, or no cluster "
                 "license counts there (%s)",
                 pool ? pool : "default", path);
        return EXIT_FAILURE;
    }
    if (r == 0 && (!S_ISREG(st.mode) || st.uid != 0 || (st.mode & 022) != 0)) {
        cli_fail("%s is not root's or others may write it: not believed", path);
        return EXIT_FAILURE;
    }
    if (r == 0)
        r = fs_read_bounded(path, STATUS_MAX, &text, &len);
    if (r != 0) {
        cli_fail("%s: %s", path, strerror(-r));
        return EXIT_FAILURE;
    }
    o = json_tokener_parse(text);
    free(text);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        cli_fail("%s: not licgate-agent's JSON", path);
        return EXIT_FAILURE;
    }
    if (json)
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
    else
        print_status(o);
    json_object_put(o);
    return EXIT_SUCCESS;
}
