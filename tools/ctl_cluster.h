/* licgatectl cluster: what licgate-agent last saw of the cluster (docs/cluster.md). */
#ifndef LICGATE_TOOLS_CTL_CLUSTER_H
#define LICGATE_TOOLS_CTL_CLUSTER_H

#include <stdbool.h>

/* Reads CONFIG_AGENT_DIR/<pool>.json (believed only when it is root's and
 * nobody else may write it) and prints its nodes, their grants and use, and
 * etcd's state; or the file's JSON. An exit status. */
int ctl_cluster_show(const char *pool, bool json);

#endif
