# shellcheck shell=bash
# tests/integration/test-authority-lib.sh: sourced by test-authority-*.sh (not
# a test itself). Each test gets a temp dir with an initialized authority, a
# test CA and server certificate made with the openssl CLI, and helpers to
# run `serve` on a free loopback port and talk to it with curl.
#
# Environment (set by `make check`): LICGATE_AUTHORITY_TEST, the authority
# built with the test seams (make-request, LICGATE_AUTHORITY_NOW);
# LICGATE_SKIP_INTEGRATION=1 skips (exit 77), as for every integration test.

ta_skip() { echo "SKIP: $*"; exit 77; }
ta_fail() { echo "FAIL: $*"; exit 1; }
ta_pass() { echo "PASS: $*"; exit 0; }

ta_init() {
    [ "${LICGATE_SKIP_INTEGRATION:-0}" = 1 ] && ta_skip "LICGATE_SKIP_INTEGRATION=1"
    [ "$(id -u)" = 0 ] || ta_skip "not root"
    AUTH=${LICGATE_AUTHORITY_TEST:-}
    [ -n "$AUTH" ] && [ -x "$AUTH" ] || ta_skip "LICGATE_AUTHORITY_TEST not set or not executable"
    for tool in openssl curl sqlite3; do
        command -v "$tool" >/dev/null || ta_skip "$tool missing"
    done
    TA_DIR=$(mktemp -d /tmp/licgate-authority-test.XXXXXX)
    TA_PID=
    TA_ENV=()
    trap ta_cleanup EXIT
    D=$TA_DIR/authority
    "$AUTH" init --dir "$D" >/dev/null || ta_fail "init failed"
    ta_pki
}

ta_cleanup() {
    ta_stop
    rm -rf "$TA_DIR"
}

# A test CA and a server certificate for 127.0.0.1, with the openssl CLI.
ta_pki() {
    local p=$TA_DIR/pki
    mkdir -p "$p"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=licgate test CA" -keyout "$p/ca.key" -out "$p/ca.pem" 2>/dev/null ||
        ta_fail "cannot make the test CA"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=127.0.0.1" -keyout "$p/server.key" -out "$p/server.csr" 2>/dev/null ||
        ta_fail "cannot make the server key"
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$p/ext"
    openssl x509 -req -in "$p/server.csr" -CA "$p/ca.pem" -CAkey "$p/ca.key" \
        -CAcreateserial -days 2 -extfile "$p/ext" -out "$p/server.pem" 2>/dev/null ||
        ta_fail "cannot sign the server certificate"
    CA=$p/ca.pem
}

# ta_serve [ENV=VALUE...]: starts serve on a free port (URL set), waits until
# it answers; ta_request then makes requests in the same environment (the
# same clock seam), so their signed time suits the server's clock.
ta_serve() {
    local port tries
    TA_ENV=("$@") # requests made from now on are made at the server's time
    for tries in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 20000))
        env "$@" "$AUTH" serve --dir "$D" --listen "127.0.0.1:$port" \
            --cert "$TA_DIR/pki/server.pem" --key "$TA_DIR/pki/server.key" \
            2>>"$TA_DIR/serve.log" &
        TA_PID=$!
        URL=https://127.0.0.1:$port
        for _ in $(seq 50); do
            if ! kill -0 "$TA_PID" 2>/dev/null; then
                TA_PID=
                break
            fi
            if curl -s -o /dev/null --cacert "$CA" "$URL/v1/keys/LG-0000-0000-0000-0000"; then
                return 0
            fi
            sleep 0.1
        done
        ta_stop
    done
    cat "$TA_DIR/serve.log"
    ta_fail "serve did not start"
}

ta_stop() {
    if [ -n "${TA_PID:-}" ]; then
        kill "$TA_PID" 2>/dev/null
        wait "$TA_PID" 2>/dev/null
        TA_PID=
    fi
}

# ta_request FILE KEY INSTALLATION-KEY MACHINE-DIGEST-CHAR [make-request options]
ta_request() {
    local out=$1 key=$2 inst=$3 c=$4
    shift 4
    env "${TA_ENV[@]}" "$AUTH" make-request "$key" --installation-key "$TA_DIR/$inst.pem" \
        --component "machine-id=$(printf "$c%.0s" $(seq 64))" \
        --component "nic=$(printf 'e%.0s' $(seq 64))" "$@" >"$out" ||
        ta_fail "make-request failed"
}

# ta_post PATH BODY-FILE: prints "STATUS BODY".
ta_post() {
    curl -s --cacert "$CA" -o "$TA_DIR/resp" -w '%{http_code}' \
        -H 'Content-Type: application/json' --data-binary "@$2" "$URL$1" >"$TA_DIR/code"
    echo "$(cat "$TA_DIR/code") $(cat "$TA_DIR/resp")"
}

# ta_license: the license from the last response, unescaped.
ta_license() {
    sed -e 's/.*"license":"//' -e 's/"}$//' -e 's/\\n/\n/g' "$TA_DIR/resp"
}
