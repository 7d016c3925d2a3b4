#!/bin/sh
# Waits until the machine is quiet enough to measure: the 1-minute load average below a threshold
# (default 0.5) and no cargo or rustc process running. Gives up after a timeout (default 600 s).
#
#   benches/wait-quiet.sh [THRESHOLD] [TIMEOUT_SECONDS]
threshold=${1:-0.5}
timeout=${2:-600}
start=$(date +%s)
while :; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    busy=$(pgrep -x cargo; pgrep -x rustc)
    if [ -z "$busy" ] && awk -v l="$load" -v t="$threshold" 'BEGIN { exit !(l < t) }'; then
        echo "quiet: load average $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
        exit 0
    fi
    if [ $(( $(date +%s) - start )) -ge "$timeout" ]; then
        echo "not quiet after ${timeout}s: load $load, cargo/rustc running: $(echo $busy | wc -w)" >&2
        exit 1
    fi
    sleep 5
done
