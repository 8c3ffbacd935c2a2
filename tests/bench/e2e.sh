#!/usr/bin/env bash
# End-to-end figures with real openvpn 2.6 (issue 7, item 5), for scripts/bench.
# Needs the environment make check exports (LICGATE_PLUGIN, LICGATE_AUTHORITY,
# LICGATE_DEV_KEY, LICGATE_CTL). Prints RESULT lines:
#   RESULT e2e.connect.{plain,licgate} n=.. median=<ns> ...   client start -> Initialization Sequence Completed
#   RESULT e2e.storm clients=100 seats=20 admitted=20 connected=20 all_in_ms=.. server_cpu_ms=..
# Exits 77 (skip) without root, openvpn or tun.
set -euo pipefail
. "$(dirname "$0")/../integration/licgate.sh"

RUNS=${E2E_RUNS:-40}
STORM=${E2E_STORM:-100}
SEATS=${E2E_SEATS:-20}

lt_init bench-e2e
lt_license bench.lic --seats 1000 --no-lease --support-days 3650

# Microseconds since the epoch of an openvpn log line ("2026-11-29 01:16:46 us=916255 ...").
log_us() {
	local line=$1 d t us
	d=$(cut -d' ' -f1 <<<"$line")
	t=$(cut -d' ' -f2 <<<"$line")
	us=$(sed -n 's/^[^ ]* [^ ]* us=\([0-9]*\).*/\1/p' <<<"$line")
	echo $(($(date -u -d "$d $t" +%s) * 1000000 + 10#$us))
}

# One client start to "Initialization Sequence Completed", from its own log.
connect_ns() {
	local name=$1 port=$2 first done
	lg_client "$name" udp "$port" client1
	lg_wait_connected "$name" 30 || lg_fail "$name did not connect"
	first=$(grep -m1 -E '^[0-9-]+ [0-9:]+ us=' "$LG_DIR/$name.log")
	done=$(grep -m1 'Initialization Sequence Completed' "$LG_DIR/$name.log")
	echo $((($(log_us "$done") - $(log_us "$first")) * 1000))
	lg_stop "$name"
	[ "${LG_KEEP:-0}" = 1 ] && mv "$LG_DIR/$name.log" "$LG_DIR/$name.$RANDOM.log"
	rm -f "$LG_DIR/$name.log"
}

# RESULT line for a list of nanosecond samples.
stats() {
	local label=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v label="$label" '
		{ v[NR] = $1; sum += $1 }
		END {
			n = NR; m = v[int((n + 1) / 2)]
			if (n % 2 == 0) m = (v[n / 2] + v[n / 2 + 1]) / 2
			i99 = int(0.99 * n + 0.999999); if (i99 < 1) i99 = 1
			printf "RESULT %s n=%d median=%d p99=%d p999=%d mean=%d max=%d\n", label, n, m, v[i99], v[n], sum / n, v[n]
		}'
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# --- connect time, without and with the plugin (same server config otherwise)
lg_server plain udp "$LG_PORT"
lg_server gated udp "$((LG_PORT + 1))" "$(lt_plugin capacity=4096)"
plain=() gated=()
for ((i = 0; i < RUNS; i++)); do # interleaved, so drift hits both alike
	plain+=("$(connect_ns cp "$LG_PORT")")
	gated+=("$(connect_ns cg "$((LG_PORT + 1))")")
	[ -n "${plain[-1]}" ] && [ -n "${gated[-1]}" ] || lg_fail "a client did not connect"
done
stats e2e.connect.plain "${plain[@]}"
stats e2e.connect.licgate "${gated[@]}"
lg_stop plain
lg_stop gated

# --- storm: STORM clients against SEATS seats
rm -f "$LT_LICENSES"/*.lic
lt_license storm.lic --seats "$SEATS" --no-lease --support-days 3650
for ((i = 1; i <= STORM; i++)); do
	[ -s "$LG_DIR/pki/storm$i.crt" ] || lg_client_cert "storm$i" >/dev/null 2>&1
done
LG_VERB=3 lg_server storm udp "$((LG_PORT + 2))" "$(lt_plugin capacity=4096)" "max-clients 1024"
spid=$(cat "$LG_DIR/storm.pid")
hz=$(getconf CLK_TCK)
cpu0=$(cpu_ticks "$spid")
t0=$(date +%s%N)
names=()
for ((i = 1; i <= STORM; i++)); do
	LG_VERB=3 lg_client "s$i" udp "$((LG_PORT + 2))" "storm$i"
	names+=("s$i")
done
all_in=-1
for ((w = 0; w < 1200; w++)); do
	in_use=$(lt_ctl --json status | lt_json 'j["in_use"]')
	if [ "$in_use" -ge "$SEATS" ]; then
		all_in=$((($(date +%s%N) - t0) / 1000000))
		break
	fi
	sleep 0.05
done
cpu1=$(cpu_ticks "$spid")
# let the refused 80 keep retrying a while: still exactly SEATS admitted?
lg_sleep 5
in_use=$(lt_ctl --json status | lt_json 'j["in_use"]')
connected=$(lt_connected "${names[@]}" | wc -l)
cpu2=$(cpu_ticks "$spid")
echo "RESULT e2e.storm clients=$STORM seats=$SEATS admitted=$in_use connected=$connected" \
	"all_in_ms=$all_in server_cpu_ms=$(((cpu1 - cpu0) * 1000 / hz))" \
	"server_cpu_ms_plus_5s_retries=$(((cpu2 - cpu0) * 1000 / hz))"
[ "$all_in" -ge 0 ] && [ "$in_use" -eq "$SEATS" ] && [ "$connected" -eq "$SEATS" ] \
	|| lg_fail "storm: $in_use admitted, $connected connected, want exactly $SEATS"
