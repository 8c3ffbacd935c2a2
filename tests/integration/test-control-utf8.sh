#!/usr/bin/env bash
# Text that is not clean UTF-8 reaches the control socket: a client whose
# certificate CN is 32 x "Ä" (64 bytes, cut to fit the pool's 63), a license
# whose customer name is Latin-1, and a license file whose name is Latin-1.
# status, sessions, licenses and metrics, as tables and as --json, all work
# and show the text safely: cut between characters, bad bytes as \xNN.
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init control-utf8

cn=$(printf 'Ä%.0s' $(seq 1 32))
d="$LG_DIR/pki"
openssl req -x509 -utf8 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/umlaut.key" -out "$d/umlaut.crt" -days 30 -subj "/CN=$cn" \
    -CA "$d/ca.crt" -CAkey "$d/ca.key" -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=critical,digitalSignature,keyAgreement" \
    -addext "extendedKeyUsage=clientAuth" 2>/dev/null || lg_fail "cannot make the certificate"
lt_license "$(printf 'k\xf6ln.lic')" --customer "$(printf 'M\xfcller GmbH')" --seats 3
lg_server srv udp "$LG_PORT" "$(lt_plugin)"
lg_client u udp "$LG_PORT" umlaut
lg_wait_connected u 60 || lg_fail "the client did not connect"

for cmd in status sessions licenses metrics; do
    lt_ctl "$cmd" >"$LG_DIR/$cmd.txt" 2>&1 || lg_fail "licgatectl $cmd failed: $(cat "$LG_DIR/$cmd.txt")"
    lt_ctl --json "$cmd" >"$LG_DIR/$cmd.json" 2>&1 || lg_fail "licgatectl --json $cmd failed: $(cat "$LG_DIR/$cmd.json")"
    python3 -c 'import json, sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "strict"))' \
        "$LG_DIR/$cmd.json" || lg_fail "--json $cmd is not strict UTF-8 JSON"
    iconv -f UTF-8 -t UTF-8 "$LG_DIR/$cmd.txt" >/dev/null || lg_fail "licgatectl $cmd printed invalid UTF-8"
done
# the CN cut after 31 whole characters, never inside the 32nd
want=$(printf 'Ä%.0s' $(seq 1 31))
grep -q "^$want " "$LG_DIR/sessions.txt" || lg_fail "sessions: $(cat "$LG_DIR/sessions.txt")"
[ "$(lt_json 'j["sessions"][0]["cn"]' <"$LG_DIR/sessions.json")" = "$want" ] ||
    lg_fail "the CN in --json sessions: $(cat "$LG_DIR/sessions.json")"
grep -q 'M\\xFCller GmbH' "$LG_DIR/licenses.txt" || lg_fail "licenses: $(cat "$LG_DIR/licenses.txt")"
grep -q 'k\\xF6ln.lic' "$LG_DIR/licenses.txt" || lg_fail "licenses: the file name"
grep -q 'file="k\\\\xF6ln.lic"' "$LG_DIR/metrics.txt" || lg_fail "metrics: the file name label"
grep -q '^seats: *1/3 in use' "$LG_DIR/status.txt" || lg_fail "status: $(cat "$LG_DIR/status.txt")"
lg_pass "a 64-byte multi-byte CN, a Latin-1 customer and file name: every command works, text shown safely"
