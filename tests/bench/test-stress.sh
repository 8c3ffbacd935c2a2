#!/usr/bin/env bash
# make check: a short run of the stress harness (issue 6, item 2) against the
# built plugin: 4 processes x 8 clients, 3 kill -9, a reload from 5 to 3 seats,
# zero leaks. STRESS_SECONDS (default 3) and STRESS_KILLS change the run;
# scripts/stress runs it long.
set -euo pipefail
: "${LICGATE_PLUGIN:?run through make check}"
: "${LICGATE_AUTHORITY:?}" "${LICGATE_DEV_KEY:?}"
stress=${LICGATE_STRESS:-$(dirname "$LICGATE_PLUGIN")/../tests/bench/stress}
[ -x "$stress" ] || { echo "SKIP: stress harness not built ($stress)" >&2; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/lg-stress.XXXXXX")
trap 'rm -rf "$dir"' EXIT
for n in 5 3; do
	"$LICGATE_AUTHORITY" sign --key "$LICGATE_DEV_KEY" --key-id "LG-STRESS-$n-$RANDOM" \
		--customer Stress --seats "$n" --no-lease --support-days 3650 >"$dir/s$n.lic"
done
# An IPC namespace of its own (root): its machine registry is not the one other
# tests running beside it use.
ns=()
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null && ns=(unshare --ipc)
exec "${ns[@]}" "$stress" --plugin "$LICGATE_PLUGIN" --before "$dir/s5.lic" --limit-before 5 \
	--after "$dir/s3.lic" --limit-after 3 --procs "${STRESS_PROCS:-4}" --clients 8 \
	--seconds "${STRESS_SECONDS:-3}" --kills "${STRESS_KILLS:-3}" ${STRESS_SEED:+--seed "$STRESS_SEED"}
