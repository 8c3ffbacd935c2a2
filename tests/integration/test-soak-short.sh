#!/usr/bin/env bash
# A short connect/disconnect soak (scripts/soak runs the long one).
exec bash "$(dirname "$0")/soak.sh" --cycles 96 --clients 8
