#!/bin/sh
# Runs the two documented wrk measurements against a freshly started quickstart, each one only
# once the machine is quiet (benches/wait-quiet.sh), and prints the load average at measuring time
# and the CPU time the server used.
#
#   cargo build --release --example quickstart
#   benches/measure.sh [QUICKSTART_BINARY] [DURATION]
#
# Environment: RUST_LOG (default `warn`, see benches/README.md), ATTESTO_DEMO_CLIENT_SECRET (default
# a fixed bench value), TOKIO_WORKER_THREADS (tokio's default: one per core), WRK_CONNECTIONS (64).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-$here/../target/release/examples/quickstart}
duration=${2:-20s}
connections=${WRK_CONNECTIONS:-64}
export RUST_LOG=${RUST_LOG:-warn}
export ATTESTO_DEMO_CLIENT_SECRET=${ATTESTO_DEMO_CLIENT_SECRET:-bench-secret-0123456789abcdef}
base=http://127.0.0.1:8080

"$binary" > /tmp/attesto-quickstart.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT INT TERM
for _ in $(seq 50); do
    curl -sf -o /dev/null "$base/.well-known/oauth-authorization-server" && break
    sleep 0.1
done
status=$(curl -s -o /dev/null -w '%{http_code}' -u "demo-client:$ATTESTO_DEMO_CLIENT_SECRET" \
    -d grant_type=client_credentials -d scope=read "$base/oauth/token")
[ "$status" = 200 ] || { echo "token request answered $status, not 200" >&2; exit 1; }

cpu() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }   # utime + stime, in clock ticks
run() {
    "$here/wait-quiet.sh" 0.5 600
    before=$(cpu)
    wrk -t2 -c"$connections" -d"$duration" "$@"
    after=$(cpu)
    echo "server CPU: $(( (after - before) / $(getconf CLK_TCK) )) s; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
}
echo "binary: $binary  RUST_LOG=$RUST_LOG  TOKIO_WORKER_THREADS=${TOKIO_WORKER_THREADS:-default}"
run -s "$here/token.lua" "$base/oauth/token"
run "$base/.well-known/oauth-authorization-server"
