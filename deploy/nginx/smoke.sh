#!/usr/bin/env bash
# End-to-end smoke test of the nginx config against two stand-in backends
# (testdata/echo_backend.py) on BASE_PORT and BASE_PORT+1, nginx on
# LISTEN_PORT, in a scratch prefix. Stops everything it started on exit.
#
#   deploy/nginx/smoke.sh          # BASE_PORT=8081 LISTEN_PORT=18080
#
# Needs nginx, python3, curl. Prints one line per check; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")"

BASE_PORT=${BASE_PORT:-8081}
LISTEN_PORT=${LISTEN_PORT:-18080}
URL=http://127.0.0.1:$LISTEN_PORT
A=127.0.0.1:$BASE_PORT
B=127.0.0.1:$((BASE_PORT + 1))

failed=0
pids=()
prefix=$(mktemp -d)
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$prefix"
}
trap cleanup EXIT

ok()   { echo "OK   $*"; }
fail() { echo "FAIL $*"; failed=1; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { local i; for i in $(seq 50); do port_free "$1" || return 0; sleep 0.1; done; return 1; }
# header NAME JSON: value of request header NAME as seen by the backend
header() { python3 -c 'import json,sys; h=json.loads(sys.argv[2])["headers"]; print({k.lower():v for k,v in h.items()}.get(sys.argv[1].lower(), ""))' "$1" "$2"; }
backend() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["backend"])' "$1"; }

for p in "$BASE_PORT" "$((BASE_PORT + 1))" "$LISTEN_PORT"; do
    port_free "$p" || { echo "FAIL port $p is in use"; exit 1; }
done

python3 testdata/echo_backend.py "$BASE_PORT" A & pid_a=$!; pids+=("$pid_a")
python3 testdata/echo_backend.py "$((BASE_PORT + 1))" B & pid_b=$!; pids+=("$pid_b")

chmod 755 "$prefix"
mkdir -p "$prefix/logs" "$prefix/cache" "$prefix/temp"
cp nginx.conf "$prefix/"
cp /etc/nginx/mime.types "$prefix/" 2>/dev/null || echo 'types { application/json json; }' > "$prefix/mime.types"
./render.sh 2 "$BASE_PORT" "$LISTEN_PORT" > "$prefix/streamflix.conf"
nginx -p "$prefix/" -c nginx.conf -e stderr & pids+=($!)
for p in "$BASE_PORT" "$((BASE_PORT + 1))" "$LISTEN_PORT"; do
    wait_port "$p" || { echo "FAIL nothing listening on $p"; exit 1; }
done
access_log=$prefix/logs/streamflix.access.log

# --- forwarded headers ------------------------------------------------------
r=$(curl -sf "$URL/api/v1/videos")
check "X-Forwarded-For is the client address" [ "$(header X-Forwarded-For "$r")" = 127.0.0.1 ]
check "X-Forwarded-Proto http"                [ "$(header X-Forwarded-Proto "$r")" = http ]
check "X-Forwarded-Host / Host"               [ "$(header X-Forwarded-Host "$r")/$(header Host "$r")" = 127.0.0.1/127.0.0.1 ]
check "X-Request-Id generated when absent"    grep -Eq '^[0-9a-f]{32}$' <<<"$(header X-Request-Id "$r")"
check "no Connection header upstream (keepalive)" [ -z "$(header Connection "$r")" ]
r=$(curl -sf -H 'X-Forwarded-For: 203.0.113.7' -H 'X-Request-Id: req-abc-123' "$URL/api/v1/videos")
check "client X-Forwarded-For kept, proxy appended" [ "$(header X-Forwarded-For "$r")" = "203.0.113.7, 127.0.0.1" ]
check "client X-Request-Id passed through"    [ "$(header X-Request-Id "$r")" = req-abc-123 ]
r=$(curl -sf -H 'X-Request-Id: bad id" injected' "$URL/api/v1/videos")
check "malformed X-Request-Id replaced"       grep -Eq '^[0-9a-f]{32}$' <<<"$(header X-Request-Id "$r")"

# --- balancing, limits, gzip, metrics --------------------------------------
seen=$(for i in $(seq 10); do backend "$(curl -sf "$URL/")"; done | sort -u | tr -d '\n')
check "requests spread over both instances ($seen)" [ "$seen" = AB ]
code=$(head -c 2000000 /dev/zero | curl -s -o "$prefix/413.json" -w '%{http_code} %{content_type}' -X POST --data-binary @- "$URL/api/v1/videos")
check "2 MB body -> 413 problem+json ($code)" [ "$code" = "413 application/problem+json" ]
code=$(head -c 1000000 /dev/zero | curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @- "$URL/api/v1/videos")
check "1 MB body accepted ($code)" [ "$code" = 200 ]
enc=$(curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{content_type}' -D - "$URL/big" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-encoding"{print $2}')
check "JSON gzipped (${enc:-none})" [ "$enc" = gzip ]
srv=$(curl -sI "$URL/" | tr -d '\r' | awk -F': ' 'tolower($1)=="server"{print $2}')
check "server_tokens off (Server: $srv)" [ "$srv" = nginx ]
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")
check "/metrics from 127.0.0.1 -> 200 ($code)" [ "$code" = 200 ]
code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$URL/metrics")
check "/metrics from 127.0.0.2 -> 403 ($code)" [ "$code" = 403 ]

# --- media cache -------------------------------------------------------------
cs() { curl -s -o /dev/null -D - "$URL$1" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache-status"{print $2}'; }
s1=$(cs '/media/v1/seg1.ts?sig=aaa&exp=1'); s2=$(cs '/media/v1/seg1.ts?sig=aaa&exp=1'); s3=$(cs '/media/v1/seg1.ts?sig=bbb&exp=1')
check "media cached per signed URL ($s1 $s2 $s3)" [ "$s1 $s2 $s3" = "MISS HIT MISS" ]
s1=$(cs /media/nocache.ts); s2=$(cs /media/nocache.ts)
check "media with Cache-Control no-store not cached ($s1 $s2)" [ "$s1 $s2" = "MISS MISS" ]

# --- SSE: first event must arrive before the backend finishes (2 s) ---------
out=$(curl -sN -m 1 "$URL/api/v1/notifications/stream")
check "SSE streamed unbuffered (got: ${out%%$'\n'*})" grep -q '^data: first' <<<"$out"
out=$(curl -sN -m 1 "$URL/sse")
echo "info same stream via location / (buffered) within 1 s: ${out:-nothing}"

# --- retries -----------------------------------------------------------------
# /flaky: B reads the request and closes the connection without answering.
codes=$(for i in $(seq 4); do curl -s -o /dev/null -w '%{http_code} ' -X POST -d '{}' "$URL/flaky"; done)
check "POST that reached B is not retried (${codes% })" grep -q 502 <<<"$codes"
codes=$(for i in $(seq 6); do curl -s -o /dev/null -w '%{http_code} ' "$URL/flaky?i=$i"; done)
check "GET that reached B is retried on A (${codes% })" [ "$codes" = "$(printf '200 %.0s' $(seq 6))" ]
echo "info waiting 11 s for B's fail_timeout to expire"; sleep 11

# --- failover ------------------------------------------------------------------
kill "$pid_b"; wait "$pid_b" 2>/dev/null
mark=$(wc -l < "$access_log")
codes=$(for i in $(seq 10); do curl -s -o /dev/null -w '%{http_code} ' "$URL/api/v1/videos?i=$i"; done)
check "GETs after killing B all succeed (${codes% })" [ "$codes" = "$(printf '200 %.0s' $(seq 10))" ]
retried=$(tail -n +"$((mark + 1))" "$access_log" | grep -c "\"upstream\":\"$B, $A\"")
check "connection errors were retried on A ($retried retried)" [ "$retried" -ge 1 ]
codes=$(for i in $(seq 4); do curl -s -o /dev/null -w '%{http_code} ' -X POST -d '{}' "$URL/api/v1/videos"; done)
check "POSTs after killing B succeed: B is out of the pool, a refused connect is retried (${codes% })" [ "$codes" = "200 200 200 200 " ]
kill "$pid_a"; wait "$pid_a" 2>/dev/null
code=$(curl -s -o "$prefix/502.json" -w '%{http_code} %{content_type}' "$URL/api/v1/videos")
check "all instances down -> 502 problem+json ($code)" [ "$code" = "502 application/problem+json" ]
check "502 body is the problem document" grep -q '"code":"bad_gateway"' "$prefix/502.json"

echo "--- last access log lines"; tail -n 3 "$access_log"
if (( failed )); then echo "smoke test FAILED"; exit 1; fi
echo "smoke test passed"
