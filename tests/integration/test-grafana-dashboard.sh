#!/usr/bin/env bash
# The Grafana dashboard (dist/examples/licgate-dashboard.json) against a real
# server: it is an importable dashboard, and every licgate_* metric its
# queries and variables name is one `licgatectl metrics` exports. The pool
# holds a leased standard license and a cluster license, so that the series
# that exist only with a license (days left) or a cluster license (grant)
# are there too.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
: "${LICGATE_SRCDIR:?LICGATE_SRCDIR must name the source tree}"
command -v python3 >/dev/null || _lg_skip "no python3"
lt_init grafana-dashboard
dashboard="$LICGATE_SRCDIR/dist/examples/licgate-dashboard.json"
[ -r "$dashboard" ] || lg_fail "no dashboard at $dashboard"

lt_license standard.lic --key-id LG-DASH-0001 --seats 3
lt_license cluster.lic --key-id LG-DASH-CLUSTER --kind cluster --seats 4
lg_server srv udp "$LG_PORT" "$(lt_plugin)"
lt_ctl metrics >"$LG_DIR/metrics" || lg_fail "licgatectl metrics failed"
# Without these the comparison below would prove less than it claims.
for m in licgate_license_days_left licgate_cluster_grant; do
    grep -q "^$m{" "$LG_DIR/metrics" || lg_fail "metrics lack $m: $(cat "$LG_DIR/metrics")"
done

# check.py DASHBOARD METRICS: one line per problem and exit 1, or the metrics
# the dashboard uses.
cat >"$LG_DIR/check.py" <<'EOF'
import json, re, sys

NAME = re.compile(r"(?<![A-Za-z0-9_:])licgate_[a-z0-9_]+")
with open(sys.argv[1]) as f:
    d = json.load(f)
problems = []
for key in ("title", "uid"):
    if not isinstance(d.get(key), str) or not d[key]:
        problems.append(f"dashboard has no {key}")
if "DS_PROMETHEUS" not in [i.get("name") for i in d.get("__inputs", [])]:
    problems.append("dashboard has no DS_PROMETHEUS input")
panels = d.get("panels") or []
if not panels:
    problems.append("dashboard has no panels")

used = {}  # metric -> where it is queried
for p in panels:
    where = f"panel '{p.get('title')}'"
    exprs = [t.get("expr") for t in p.get("targets") or []]
    if not any(isinstance(e, str) and e.strip() for e in exprs):
        problems.append(f"{where} has no target with an expr")
    for e in exprs:
        for m in NAME.findall(e or ""):
            used.setdefault(m, where)
for v in d.get("templating", {}).get("list", []):
    q = v.get("query")
    q = q.get("query", "") if isinstance(q, dict) else q or ""
    for m in NAME.findall(q + " " + v.get("definition", "")):
        used.setdefault(m, f"variable '{v.get('name')}'")
if not used:
    problems.append("no licgate_ metric in any query")

# What the server exports: families from # TYPE, with a histogram's or a
# summary's sample suffixes, and every sample's name.
exported = set()
with open(sys.argv[2]) as f:
    for line in f:
        w = line.split()
        if len(w) >= 4 and w[:2] == ["#", "TYPE"]:
            exported.add(w[2])
            if w[3] == "histogram":
                exported.update(w[2] + s for s in ("_bucket", "_sum", "_count"))
            elif w[3] == "summary":
                exported.update(w[2] + s for s in ("_sum", "_count"))
        elif w and not line.startswith("#"):
            exported.add(re.split(r"[{ ]", line, 1)[0])
for m in sorted(used):
    if m not in exported:
        problems.append(f"{m} ({used[m]}) is not in licgatectl metrics")
print("\n".join(problems) if problems else " ".join(sorted(used)))
sys.exit(1 if problems else 0)
EOF

used=$(python3 "$LG_DIR/check.py" "$dashboard" "$LG_DIR/metrics" 2>&1) ||
    lg_fail "the dashboard does not match the metrics:
$used"

# The check itself: a copy querying a metric nobody exports must fail, naming it.
python3 - "$dashboard" "$LG_DIR/bogus.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["panels"][0]["targets"][0]["expr"] += " + licgate_no_such_metric"
json.dump(d, open(sys.argv[2], "w"))
EOF
rc=0
out=$(python3 "$LG_DIR/check.py" "$LG_DIR/bogus.json" "$LG_DIR/metrics" 2>&1) || rc=$?
[ $rc -eq 1 ] && [ "$out" = "licgate_no_such_metric (panel '$(lt_json 'j["panels"][0]["title"]' <"$dashboard")') is not in licgatectl metrics" ] ||
    lg_fail "the check passed a bogus metric: exit $rc, '$out'"

lg_pass "every metric the dashboard queries is exported: $used"
