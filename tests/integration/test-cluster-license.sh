#!/usr/bin/env bash
# Cluster licenses (docs/cluster.md) at a real `licgate-authority serve`, with
# three machines (network and mount namespaces, machine-ids of their own): a
# cluster key of 10 seats and 2 nodes activates on machines a and b, each its
# own installation with a license of kind cluster and all 10 seats; machine c
# is refused with the exact line (409 node-limit). `licgatectl refresh` on a
# reports the peak of the pool its openvpn serves (2 clients admitted in
# evaluation mode before the license), which the ledger records; on b, where
# no plugin answers, refresh goes on without a report. When b reports a peak
# of 9 (a signed request of b's installation, made with the test seam), `show`
# lists both nodes and says the peaks add up to 11 of 10 seats, and `list`
# marks the key.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
AUTH_TEST=${LICGATE_AUTHORITY_TEST:-}
[ -x "$AUTH_TEST" ] || _lg_skip "LICGATE_AUTHORITY_TEST (the authority with make-request) not built"
command -v curl >/dev/null || _lg_skip "no curl"
lt_init cluster-license
lt_machines
a=$LT_A b=$LT_B

# Machine c: its own link to a (198.51.100.0/24), routed to the authority on a.
c="lgmc$$"
lt_netns "$c"
ip link add "lgmca$$" address 02:00:5e:63:00:02 type veth peer name "$c" address 02:00:5e:83:00:01 ||
    lg_fail "veth for c"
ip link set "lgmca$$" netns "$a"
ip link set "$c" netns "$c"
ip -n "$a" addr add 198.51.100.1/24 dev "lgmca$$"
ip -n "$c" addr add 198.51.100.3/24 dev "$c"
ip -n "$a" link set "lgmca$$" up
ip -n "$c" link set "$c" up
ip -n "$c" route add 192.0.2.0/24 via 198.51.100.1
echo 00112233445566778899aabbccddeeff >"$LG_DIR/machine-id-$c"

lt_authority_serve
A=$LT_AUTH URL=$LT_URL
KEY=$("$LICGATE_AUTHORITY" issue --dir "$A" --customer "Cluster Test" --seats 10 --kind cluster --nodes 2) ||
    lg_fail "issue --kind cluster"
"$LICGATE_AUTHORITY" show --dir "$A" "$KEY" >"$LG_DIR/show0.out" || lg_fail "show"
grep -qx 'kind:            cluster' "$LG_DIR/show0.out" && grep -qx 'node-limit:      2' "$LG_DIR/show0.out" &&
    grep -qx 'nodes:           0' "$LG_DIR/show0.out" || lg_fail "show of a new cluster key: $(cat "$LG_DIR/show0.out")"

# Machine a: openvpn with the plugin, two clients admitted in evaluation mode
# (the pool's peak: 2), then the cluster key activated.
line=$(lt_plugin)
conf=${line##*config=}
lt_on_machine "$a"
lg_server srv udp "$LG_PORT" "$line"
for i in 1 2; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 2 60 c1 c2 || lg_fail "2 clients did not get in on the evaluation seats"
[ "$(lt_ctl --json status | lt_json 'j["peak"]')" = 2 ] || lg_fail "peak: $(lt_ctl --json status | lt_json 'j.get("peak")')"
ctl_a() { lt_on "$a" "$LICGATE_CTL" --config "$conf" "$@"; }
ctl_a activate --authority "$URL" --ca-file "$LT_CA" "$KEY" >"$LG_DIR/a.out" 2>&1 ||
    lg_fail "activation on a: $(cat "$LG_DIR/a.out")"
grep -q "^activated $KEY: 10 seats for Cluster Test" "$LG_DIR/a.out" || lg_fail "activate on a said: $(cat "$LG_DIR/a.out")"
grep -qx 'kind: cluster' "$LT_LICENSES/$KEY.lic" && grep -qx 'seats: 10' "$LT_LICENSES/$KEY.lic" &&
    grep -qx 'primary-key: none' "$LT_LICENSES/$KEY.lic" || lg_fail "a's license: $(cat "$LT_LICENSES/$KEY.lic")"
id_a=$(sed -n 's/^installation-id: //p' "$LT_LICENSES/$KEY.lic")

# Machine b, with no openvpn (a pool of its own that nobody serves): the second node.
mkdir -p "$LG_DIR/b-licenses"
printf 'license-dir %s\nstate-dir %s\npool %s-b\n' "$LG_DIR/b-licenses" "$LG_DIR/b-state" "$LT_POOL" >"$LG_DIR/b.conf"
ctl_b() { lt_on "$b" "$LICGATE_CTL" --config "$LG_DIR/b.conf" "$@"; }
ctl_b activate --authority "$URL" --ca-file "$LT_CA" "$KEY" >"$LG_DIR/b.out" 2>&1 ||
    lg_fail "activation on b: $(cat "$LG_DIR/b.out")"
grep -qx 'kind: cluster' "$LG_DIR/b-licenses/$KEY.lic" && grep -qx 'seats: 10' "$LG_DIR/b-licenses/$KEY.lic" ||
    lg_fail "b's license: $(cat "$LG_DIR/b-licenses/$KEY.lic")"
id_b=$(sed -n 's/^installation-id: //p' "$LG_DIR/b-licenses/$KEY.lic")
[ -n "$id_b" ] && [ "$id_b" != "$id_a" ] || lg_fail "nodes a and b share installation $id_a"

# Machine c: one node more than the key serves.
mkdir -p "$LG_DIR/c-licenses"
printf 'license-dir %s\nstate-dir %s\npool %s-c\n' "$LG_DIR/c-licenses" "$LG_DIR/c-state" "$LT_POOL" >"$LG_DIR/c.conf"
rc=0
lt_on "$c" "$LICGATE_CTL" --config "$LG_DIR/c.conf" activate --authority "$URL" --ca-file "$LT_CA" "$KEY" \
    >"$LG_DIR/c.out" 2>"$LG_DIR/c.err" || rc=$?
[ $rc -eq 1 ] || lg_fail "third machine: exit $rc"
[ "$(cat "$LG_DIR/c.err")" = "licgatectl: cluster key activated on 2 nodes already (its limit): ask the vendor for more nodes or replace a node" ] ||
    lg_fail "third machine said: $(cat "$LG_DIR/c.err")"
[ -z "$(ls -A "$LG_DIR/c-licenses")" ] || lg_fail "the third machine installed a license"
grep -q " activate $KEY installation [0-9a-f]*: refused: node-limit: cluster key activated on 2 nodes already" "$LG_DIR/serve.log" ||
    lg_fail "serve's log: $(cat "$LG_DIR/serve.log")"
# the same over the API, from yet another installation: 409, code node-limit
"$AUTH_TEST" make-request "$KEY" --installation-key "$LG_DIR/d.pem" \
    --component "machine-id=$(printf 'd%.0s' $(seq 64))" >"$LG_DIR/d.json" || lg_fail "make-request"
code=$(lt_on "$c" curl -s --cacert "$LT_CA" -o "$LG_DIR/d.resp" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary "@$LG_DIR/d.json" "$URL/v1/activate") || true
[ "$code $(cat "$LG_DIR/d.resp")" = '409 {"api":1,"ok":false,"code":"node-limit","error":"cluster key activated on 2 nodes already (its limit): ask the vendor for more nodes or replace a node"}' ] ||
    lg_fail "API answer to a third node: $code $(cat "$LG_DIR/d.resp")"

# Refresh on a reports its pool's peak; on b, nothing to ask: no report, no failure.
node_field() {   # node_field ID FIELD: a field of the key's node ID in show --json
    "$LICGATE_AUTHORITY" show --dir "$A" --json "$KEY" |
        lt_json "[n for n in j['nodes'] if n['installation_id'] == '$1'][0]['$2']"
}
[ "$(node_field "$id_a" peak)" = None ] || lg_fail "a reported a peak at its activation"
sleep 1 # a new second: the renewed license differs from the one installed
ctl_a refresh --ca-file "$LT_CA" >"$LG_DIR/ra.out" 2>"$LG_DIR/ra.err" || lg_fail "refresh on a: $(cat "$LG_DIR/ra.err")"
[ ! -s "$LG_DIR/ra.err" ] || lg_fail "refresh on a wrote to stderr: $(cat "$LG_DIR/ra.err")"
[ "$(node_field "$id_a" peak)" = 2 ] || lg_fail "the ledger has a's peak $(node_field "$id_a" peak), not 2"
[ "$(node_field "$id_a" reported)" = "$(node_field "$id_a" last_refresh)" ] || lg_fail "a's report has no time"
before=$(node_field "$id_b" last_refresh)
ctl_b refresh --ca-file "$LT_CA" >"$LG_DIR/rb.out" 2>"$LG_DIR/rb.err" || lg_fail "refresh on b failed: $(cat "$LG_DIR/rb.err")"
[ ! -s "$LG_DIR/rb.err" ] || lg_fail "refresh on b wrote to stderr: $(cat "$LG_DIR/rb.err")"
grep -q "^$KEY: renewed, lease until " "$LG_DIR/rb.out" || lg_fail "refresh on b said: $(cat "$LG_DIR/rb.out")"
[ "$(node_field "$id_b" peak)" = None ] || lg_fail "b reported a peak without a plugin"
[ "$(node_field "$id_b" last_refresh)" \> "$before" ] || lg_fail "b's refresh was not recorded"
"$LICGATE_AUTHORITY" show --dir "$A" "$KEY" | grep -q '^over:' && lg_fail "over-use said with peaks 2 of 10"

# b reports a peak of 9, signed by its installation, for its bound machine.
comps=()
for cmp in $(sed -n 's/^binding: [^ ]*//p' "$LG_DIR/b-licenses/$KEY.lic"); do comps+=(--component "$cmp"); done
lt_on "$b" "$AUTH_TEST" make-request "$KEY" --installation-key "$LG_DIR/b-state/installation.key" \
    "${comps[@]}" --usage-peak 9 >"$LG_DIR/b-usage.json" || lg_fail "make-request for b"
code=$(lt_on "$b" curl -s --cacert "$LT_CA" -o "$LG_DIR/b-usage.resp" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary "@$LG_DIR/b-usage.json" "$URL/v1/refresh") || true
[ "$code" = 200 ] || lg_fail "b's report: $code $(cat "$LG_DIR/b-usage.resp")"
[ "$(node_field "$id_b" peak)" = 9 ] || lg_fail "the ledger has b's peak $(node_field "$id_b" peak), not 9"

"$LICGATE_AUTHORITY" show --dir "$A" "$KEY" >"$LG_DIR/show.out" || lg_fail "show"
when='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
grep -qx 'node-limit:      2' "$LG_DIR/show.out" && grep -qx 'nodes:           2' "$LG_DIR/show.out" &&
    grep -qx "node:            $id_a activated $when, last refresh $when, peak 2 at $when" "$LG_DIR/show.out" &&
    grep -qx "node:            $id_b activated $when, last refresh $when, peak 9 at $when" "$LG_DIR/show.out" &&
    grep -qx "over:            the nodes' peaks add up to 11 of 10 seats" "$LG_DIR/show.out" ||
    lg_fail "show: $(cat "$LG_DIR/show.out")"
[ "$("$LICGATE_AUTHORITY" show --dir "$A" --json "$KEY" | lt_json '(j["node_limit"], j["peak_sum"], j["over"])')" = "(2, 11, True)" ] ||
    lg_fail "show --json: $("$LICGATE_AUTHORITY" show --dir "$A" --json "$KEY")"
"$LICGATE_AUTHORITY" list --dir "$A" | grep -q "^$KEY  activated  *10  cluster .*  (over: peaks 11 of 10 seats)$" ||
    lg_fail "list: $("$LICGATE_AUTHORITY" list --dir "$A")"
lg_pass "a cluster key of 2 nodes serves 2 machines and refuses a third; nodes report their peaks, show says when they add up above the seats"
