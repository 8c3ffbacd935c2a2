#!/usr/bin/env bash
# licgatectl fingerprint --rule: a rule the license parser would not accept
# is a usage error that lists the valid rules, not the parser's wording; a
# rule without --key (it shapes only the binding line of a key) and --rule
# with another command are usage errors too; every valid rule prints its
# binding line, or says plainly that this machine has too few components.
set -euo pipefail
: "${LICGATE_CTL:?LICGATE_CTL must name licgatectl (run through make check)}"
"$LICGATE_CTL" --help | grep -q '^  fingerprint' || { echo "SKIP: licgatectl has no fingerprint" >&2; exit 77; }

T=$(mktemp -d /tmp/lg-fingerprint-rule.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: fingerprint-rule: $*" >&2; exit 1; }
KEY=LG-ABYQ-7YMY-WCH3-PRWH
ctl() { rc=0; "$LICGATE_CTL" "$@" >"$T/out" 2>"$T/err" || rc=$?; }
usage_error() {   # usage_error MESSAGE: exit 2, the message, the hint, nothing on stdout
    [ $rc -eq 2 ] || fail "$*: exit $rc ($(cat "$T/err"))"
    [ "$(head -n 1 "$T/err")" = "licgatectl: $1" ] || fail "said: $(head -n 1 "$T/err"), not: licgatectl: $1"
    [ "$(tail -n +2 "$T/err")" = "Try 'licgatectl --help'." ] || fail "no hint after: $1"
    [ ! -s "$T/out" ] || fail "output on stdout: $(cat "$T/out")"
}

valid="all, all-but-N (N from 1 to 8) or machine-id-only, each optionally followed by +virtual (e.g. all-but-1+virtual)"
for rule in bogus "" ALL all-but-0 all-but-9 all-but-10 all-but-N all+virtual+virtual +virtual \
    "all machine-id=00" machine-id-only+VIRTUAL "all-but-1 "; do
    ctl fingerprint --key "$KEY" --rule "$rule"
    usage_error "--rule: '$rule' is not a binding rule: $valid"
    ctl fingerprint --key "$KEY" --json --rule "$rule"
    usage_error "--rule: '$rule' is not a binding rule: $valid"
done
ctl fingerprint --rule all
usage_error "fingerprint: --rule needs --key KEY-ID (the rule shapes the binding line of a license for that key)"
ctl fingerprint --rule bogus
usage_error "fingerprint: --rule needs --key KEY-ID (the rule shapes the binding line of a license for that key)"
ctl --rule all status
usage_error "--rule is only for the fingerprint command"
ctl --rule all activate "$KEY"
usage_error "--rule is only for the fingerprint command"

# Valid rules: the binding line under that rule, or a plain word about this machine.
for rule in all all+virtual machine-id-only machine-id-only+virtual all-but-1 all-but-8+virtual; do
    ctl fingerprint --key "$KEY" --rule "$rule"
    if [ $rc -eq 0 ]; then
        tail -n 1 "$T/out" | grep -q "^$rule \(machine-id\|dmi-uuid\|nic\)=[0-9a-f]\{64\}" ||
            fail "$rule: binding line: $(tail -n 1 "$T/out")"
        [ ! -s "$T/err" ] || fail "$rule: stderr: $(cat "$T/err")"
    else
        [ $rc -eq 1 ] || fail "$rule: exit $rc"
        grep -qx "licgatectl: fingerprint: \(rule $rule tolerates [0-9] mismatches, but this machine has [0-9]* binding components\?: use a smaller N or all\|rule $rule: this machine has no readable machine-id\|this machine has no binding components.*\)" "$T/err" ||
            fail "$rule: said: $(cat "$T/err")"
        grep -q "field '\|is not 'none'" "$T/err" && fail "$rule: parser wording: $(cat "$T/err")"
    fi
done
ctl fingerprint --key "$KEY"
[ $rc -eq 0 ] && tail -n 1 "$T/out" | grep -q "^all " || fail "the default rule is not all: $(cat "$T/out" "$T/err")"
echo "PASS: fingerprint-rule: bad rules and --rule without --key are usage errors in plain words"
