#!/usr/bin/env bash
# licgatectl usage and report --html against a real server: the day's peak,
# limit and refusals in the table and the verdict, bars only on a terminal;
# the report is one self-contained page that headless Chromium draws (the
# chart's SVG elements are in its DOM, no console error) and whose
# screenshot is kept in LICGATE_ARTIFACTS (default: ./artifacts).
set -euo pipefail
. "$(dirname "$0")/licgate.sh"
lt_init usage-report
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || _lg_skip "no chromium (scripts/install-deps installs it)"
command -v script >/dev/null || _lg_skip "no script(1) (util-linux)"
art=${LICGATE_ARTIFACTS:-$PWD/artifacts}
mkdir -p "$art"

lt_license two.lic --key-id LG-REPORT-0001 --seats 2 --support-days 60
lg_server srv udp "$LG_PORT" "$(lt_plugin)"
for i in 1 2 3; do lg_client "c$i" udp "$LG_PORT" "client$i"; done
lt_wait_count 2 60 c1 c2 c3 || lg_fail "2 clients did not connect"
out=$(for c in c1 c2 c3; do lg_connected "$c" || lt_cn "$c"; done)
lt_wait_refused "$LG_DIR/srv.log" 30 "$out" || lg_fail "the third client was not refused"
day=$(date -u +%F)
for ((i = 0; i < 40; i++)); do
    lt_ctl usage --json | lt_json '[d for d in j["days"] if d["date"] == "'"$day"'" and d["peak"] == 2 and d["refused_limit"] > 0] != []' |
        grep -q true && break
    sleep 0.25
done

# Not a terminal: the table and the verdict, no bars.
lt_ctl usage --days 7 >"$LG_DIR/usage.txt" || lg_fail "licgatectl usage: $(cat "$LG_DIR/usage.txt")"
grep -Eq "^DATE +PEAK +LIMIT" "$LG_DIR/usage.txt" || lg_fail "no table header: $(cat "$LG_DIR/usage.txt")"
grep -Eq "^$day +2 +2 " "$LG_DIR/usage.txt" || lg_fail "today's row is not 2 of 2: $(cat "$LG_DIR/usage.txt")"
grep -Eq "^peak 2 of 2 seats on $day; the limit was reached on the one day recorded; [0-9]+ refused on 1 day" \
    "$LG_DIR/usage.txt" || lg_fail "verdict: $(tail -n 1 "$LG_DIR/usage.txt")"
! grep -q '█' "$LG_DIR/usage.txt" || lg_fail "bars when not on a terminal"
# On a terminal: a bar per day.
script -qec "$LICGATE_CTL --pool $LT_POOL usage --days 7" /dev/null >"$LG_DIR/usage.tty" ||
    lg_fail "licgatectl usage on a terminal"
grep -q '█' "$LG_DIR/usage.tty" || lg_fail "no bars on a terminal: $(cat "$LG_DIR/usage.tty")"
lt_ctl usage --days 0 >/dev/null 2>&1 && lg_fail "--days 0 was taken"

# The report: self-contained, drawn by a browser.
report="$LG_DIR/report.html"
lt_ctl report --html "$report" || lg_fail "licgatectl report"
[ "$(stat -c %a "$report")" = 644 ] || lg_fail "report mode $(stat -c %a "$report")"
grep -q "LG-REPORT-0001" "$report" || lg_fail "the license is not in the report"
! grep -Eqi '<script|https?://|<link|@import|url\(' "$report" || lg_fail "the report loads or runs something"
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
    --dump-dom "file://$report" >"$LG_DIR/dom.html" 2>"$LG_DIR/chromium.log" ||
    lg_fail "chromium: $(tail -n 3 "$LG_DIR/chromium.log")"
! grep -E 'CONSOLE|Uncaught' "$LG_DIR/chromium.log" || lg_fail "console errors drawing the report"
python3 - "$LG_DIR/dom.html" <<'PY' || lg_fail "the chart is not drawn"
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
svg = re.findall(r"<svg\b.*?</svg>", dom, re.S)
assert svg, "no svg in the DOM"
chart = max(svg, key=len)
shapes = len(re.findall(r"<(?:rect|line|path|polyline|circle)\b", chart))
assert shapes >= 5, "only %d shapes in the chart" % shapes
assert re.search(r"<text\b", chart), "no labels in the chart"
PY
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1100,1400 --screenshot="$art/usage-report.png" "file://$report" \
    >/dev/null 2>&1 || lg_fail "chromium screenshot"
[ "$(stat -c %s "$art/usage-report.png")" -gt 10000 ] || lg_fail "an empty screenshot"
cp "$report" "$art/usage-report.html"
lg_pass "usage table, verdict and bars; the report drawn by Chromium ($art/usage-report.png)"
