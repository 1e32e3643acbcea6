#!/usr/bin/env bash
# bench/run.sh: `make bench`.
#
# Measures GET /healthz and a small JSON API route through streamflix's full
# middleware chain against a bare net/http handler in the same run, the idle
# resident memory of `streamflix serve`, then identity, notify, catalog and
# payment and video figures, each next to its baseline measured in the same run. Prints the
# results and writes them to bench/results/platform.txt. Speed is printed, never asserted.
# bench/README.md explains the method and how to read the numbers.
#
# Environment:
#   BENCH_SECONDS  measured seconds per variant and route (default 10)
#   BENCH_ROUNDS   interleaved runs those seconds are split into (default 5)
#   REDIS_URL      if set, also measure the gateway with Redis-backed rate
#                  limits, and run streamflix serve with it for the RSS
#   DATABASE_URL   a Postgres, needed for every part but the platform one
#                  (each is skipped with a note when unset)
#   BENCH_ONLY     comma-separated parts to run (platform, rss, identity,
#                  notify, catalog, payment, video); default all
#   CATALOG_TITLES titles generated for the catalog part (default 100000)
#   PAYMENT_EVENTS webhook events a round for the payment part (default 500)
#   VIDEO_SECONDS  length of the video part's generated source (default 20)
set -euo pipefail

cd "$(dirname "$0")/.."

TOTAL=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
SLICE=$((TOTAL / ROUNDS))
if [ "$SLICE" -lt 1 ]; then
	ROUNDS=$TOTAL
	SLICE=1
fi
CONNS=64
WARMUP=2
RESULTS=bench/results/platform.txt

note() { echo "bench: $*" >&2; }
# want PART: whether BENCH_ONLY (comma-separated: platform, rss, identity,
# notify, catalog, payment) is empty or names PART.
want() { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }

# wrk, installed on demand when we may.
if ! command -v wrk >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		note "installing wrk"
		apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
	else
		echo "bench: wrk is missing; install it with: sudo apt-get install -y wrk" >&2
		exit 1
	fi
fi

# Servers on CPU 0, the load generator on CPU 1, so they never compete.
PIN_SERVER=()
PIN_CLIENT=()
PINNED="server on 1 core"
if ! command -v taskset >/dev/null; then
	note "taskset missing: not pinning (servers still run with GOMAXPROCS=1)"
	PINNED="GOMAXPROCS=1, not pinned"
elif [ "$(nproc)" -lt 2 ]; then
	note "fewer than 2 CPUs: not pinning (servers and wrk share the CPU)"
	PINNED="GOMAXPROCS=1, not pinned, 1 CPU shared with wrk"
else
	PIN_SERVER=(taskset -c 0)
	PIN_CLIENT=(taskset -c 1)
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/streamflix-bench.XXXXXX")
PIDS=()

# stop PID: SIGTERM, then SIGKILL if it lingers past 5s.
stop() {
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do stop "$pid"; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	if command -v python3 >/dev/null; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		(echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# wait_http URL SECONDS: until URL answers 200.
wait_http() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# to_ms LATENCY: wrk's "812.00us", "1.10ms" or "1.02s" in milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
		printf "%.3f", n
	}'
}

median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# cpu_ticks: busy (user+nice+system) and total jiffies of all CPUs.
cpu_ticks() { awk '/^cpu / {b = $2 + $3 + $4; t = 0; for (i = 2; i <= NF; i++) t += $i; print b, t}' /proc/stat; }
# own_ticks: CPU jiffies of the servers (by pid) and of this script's
# finished children (wrk, curl, awk).
own_ticks() {
	local n=0 pid
	for pid in "${PIDS[@]}"; do
		n=$((n + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo $((n + $(awk '{print $16 + $17}' "/proc/$$/stat")))
}

note "building"
go build -o "$TMP/benchserver" ./bench/cmd/benchserver
go build -o "$TMP/streamflix" ./cmd/streamflix
go build -o "$TMP/authbench" ./bench/cmd/authbench
go build -o "$TMP/notifybench" ./bench/cmd/notifybench
go build -o "$TMP/ssebench" ./bench/cmd/ssebench
go build -o "$TMP/catalogbench" ./bench/cmd/catalogbench
go build -o "$TMP/paymentbench" ./bench/cmd/paymentbench
go build -o "$TMP/videobench" ./bench/cmd/videobench
if [ -n "${DATABASE_URL:-}" ]; then
	"$TMP/streamflix" migrate up >/dev/null
fi

echo "streamflix bench, $(date -u +%Y-%m-%dT%H:%MZ), $(go env GOVERSION), $(nproc) CPUs" >"$TMP/report.txt"

if want platform; then
	ROUTES=(/healthz /api/v1/bench/item)
	VARIANTS=("bare|bare net/http|-mode bare" "memory|gateway (memory)|-mode gateway -cache memory")
	if [ -n "${REDIS_URL:-}" ]; then
		VARIANTS+=("redis|gateway (redis)|-mode gateway -cache redis")
	else
		note "REDIS_URL unset: skipping gateway (redis)"
	fi

	# Every variant's server runs for the whole measurement, pinned to the same
	# core and idle while another is measured, so the variants can be
	# interleaved: a slow spell of the machine then hits all of them alike
	# instead of one.
	declare -A BASE PID_OF
	KEYS=()
	for v in "${VARIANTS[@]}"; do
		IFS='|' read -r key label args <<<"$v"
		port=$(free_port)
		# shellcheck disable=SC2086 # args is a list of flags
		GOMAXPROCS=1 "${PIN_SERVER[@]}" "$TMP/benchserver" $args -addr "127.0.0.1:$port" -log "$TMP/access-$key.log" \
			>"$TMP/$key.out" 2>&1 &
		PIDS+=($!)
		PID_OF[$key]=$!
		if ! wait_http "http://127.0.0.1:$port/healthz" 10; then
			note "$label did not start:"
			sed 's/^/  /' "$TMP/$key.out" >&2
			continue
		fi
		BASE[$key]="http://127.0.0.1:$port"
		KEYS+=("$key")
	done

	# proc_ticks PID: CPU jiffies the process has used.
	proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
	HZ=$(getconf CLK_TCK)

	# measure KEY ROUTE ROUND: one wrk run, appended to results.tsv as
	# route key round req/s p50 p99 errors cpu-µs/request.
	measure() {
		local out="$TMP/wrk.txt" rps p50 p99 bad t0 t1 cpu
		t0=$(proc_ticks "${PID_OF[$1]}")
		"${PIN_CLIENT[@]}" wrk -t1 -c"$CONNS" -d"${SLICE}s" --latency "${BASE[$1]}$2" >"$out"
		t1=$(proc_ticks "${PID_OF[$1]}")
		rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
		p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
		p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
		bad=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")
		cpu=$(awk -v t=$((t1 - t0)) -v hz="$HZ" '/ requests in / {if ($1 > 0) printf "%.1f", t / hz * 1e6 / $1}' "$out")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$2" "$1" "$3" "$rps" "$p50" "$p99" "$bad" "${cpu:-0}" >>"$TMP/results.tsv"
	}

	: >"$TMP/results.tsv"
	read -r busy0 total0 <<<"$(cpu_ticks)"
	own0=$(own_ticks)
	for route in "${ROUTES[@]}"; do
		note "GET $route: ${WARMUP}s warm-up per variant, then $ROUNDS rounds of ${SLICE}s per variant"
		for key in "${KEYS[@]}"; do
			"${PIN_CLIENT[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "${BASE[$key]}$route" >/dev/null
		done
		for ((round = 0; round < ROUNDS; round++)); do
			# Rotate the order so no variant always runs first.
			n=${#KEYS[@]}
			for ((i = 0; i < n; i++)); do
				measure "${KEYS[$(((i + round) % n))]}" "$route" "$round"
			done
			# The servers append with O_APPEND: truncating keeps the disk small.
			for f in "$TMP"/access-*.log; do : >"$f"; done
		done
	done
	read -r busy1 total1 <<<"$(cpu_ticks)"
	own1=$(own_ticks)
	# Share of both CPUs that processes other than ours used meanwhile.
	other=$(awk -v b=$((busy1 - busy0)) -v o=$((own1 - own0)) -v t=$((total1 - total0)) 'BEGIN {x = t > 0 ? (b - o) / t * 100 : 0; printf "%.0f", x < 0 ? 0 : x}')

	# column ROUTE KEY FIELD: the values of FIELD (4 req/s, 5 p50, 6 p99,
	# 7 errors, 8 cpu/req) over rounds.
	column() { awk -F'\t' -v r="$1" -v k="$2" -v f="$3" '$1 == r && $2 == k {print $f}' "$TMP/results.tsv"; }
	# ratios ROUTE KEY: KEY's req/s over bare's, round by round.
	ratios() {
		awk -F'\t' -v r="$1" -v k="$2" '$1 == r && $2 == "bare" {b[$3] = $4} $1 == r && $2 == k {v[$3] = $4}
			END {for (i in v) if (b[i] > 0) print v[i] / b[i]}' "$TMP/results.tsv"
	}

	{
		for route in "${ROUTES[@]}"; do
			echo
			echo "platform: GET $route, $CONNS connections, ${TOTAL}s, $PINNED"
			printf '  %-18s %8s %9s %9s %9s   %s\n' variant req/s p50 p99 "cpu/req" "ratio vs bare"
			for v in "${VARIANTS[@]}"; do
				IFS='|' read -r key label _ <<<"$v"
				rps=$(column "$route" "$key" 4 | median)
				if [ -z "$rps" ]; then
					printf '  %-18s %8s\n' "$label" failed
					continue
				fi
				p50=$(column "$route" "$key" 5 | median)
				p99=$(column "$route" "$key" 6 | median)
				cpu=$(column "$route" "$key" 8 | median)
				ratio=$(ratios "$route" "$key" | median)
				errs=$(column "$route" "$key" 7 | awk '{n += $1} END {print n + 0}')
				[ "$errs" = 0 ] && errs="" || errs="  ($errs errors)"
				printf '  %-18s %8.0f %7.2fms %7.2fms %7.1fµs   %s%s\n' "$label" "$rps" "$p50" "$p99" "$cpu" \
					"$(awk -v x="${ratio:-0}" 'BEGIN {printf "%.2f", x}')" "$errs"
			done
		done
		echo
		echo "target: gateway at 0.60 or more of bare's req/s (medians of $ROUNDS interleaved ${SLICE}s runs)"
		if [ "$other" -ge 5 ]; then
			echo "note: other processes used ${other}% of the CPUs meanwhile; these numbers are noisier than usual"
		fi
	} >>"$TMP/report.txt"

	for pid in "${PIDS[@]}"; do stop "$pid"; done
	PIDS=()
fi

# Idle RSS of the real binary, with every module, the queue and its workers.
if ! want rss; then
	:
elif [ -z "${DATABASE_URL:-}" ]; then
	echo "idle RSS of streamflix serve: not measured (set DATABASE_URL to a migrated Postgres)" >>"$TMP/report.txt"
else
	port=$(free_port)
	note "streamflix serve: waiting for /readyz, then 5s idle"
	HTTP_ADDR="127.0.0.1:$port" LOG_LEVEL=warn LOG_FORMAT=json DRAIN_DELAY=0s \
		"$TMP/streamflix" serve >"$TMP/serve.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	if wait_http "http://127.0.0.1:$port/readyz" 30; then
		sleep 5
		rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
		backend=memory
		[ -z "${REDIS_URL:-}" ] || backend=redis
		awk -v kb="$rss_kb" -v b="$backend" 'BEGIN {printf "idle RSS of streamflix serve: %.0f MB (target < 60 MB; cache %s)\n", kb / 1024, b}' >>"$TMP/report.txt"
	else
		echo "idle RSS of streamflix serve: not measured (/readyz never answered 200)" >>"$TMP/report.txt"
		tail -n 20 "$TMP/serve.out" | sed 's/^/  /' >&2
	fi
	stop "$pid"
fi

# Identity: login throughput next to raw argon2id hashing, and the cost of
# the token check plus session lookup (bench/cmd/authbench).
if want identity && [ -n "${DATABASE_URL:-}" ]; then
	port=$(free_port)
	email="bench-$(date +%s)-$$@example.com"
	benchpw="plum-kettle-orbit-92"
	echo "$benchpw" | MAIL_DIR="$TMP/mail" "$TMP/streamflix" admin create-user --email "$email" --password-stdin >/dev/null
	note "identity: login throughput and token check"
	HTTP_ADDR="127.0.0.1:$port" LOG_LEVEL=warn LOG_FORMAT=json DRAIN_DELAY=0s RATE_LIMIT_IP=0 RATE_LIMIT_USER=0 MAIL_DIR="$TMP/mail" \
		"$TMP/streamflix" serve >"$TMP/serve-auth.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	if wait_http "http://127.0.0.1:$port/readyz" 30; then
		{
			echo
			"$TMP/authbench" -url "http://127.0.0.1:$port" -email "$email" -password "$benchpw" -duration "${TOTAL}s"
		} >>"$TMP/report.txt"
	else
		echo "identity: not measured (/readyz never answered 200)" >>"$TMP/report.txt"
	fi
	stop "$pid"
fi

# Notifications: emails per second through River to a loopback SMTP server
# next to a plain loop with the same mailer (bench/cmd/notifybench).
if want notify && [ -n "${DATABASE_URL:-}" ]; then
	note "notify: emails through River vs direct, $ROUNDS rounds"
	{
		echo
		"$TMP/notifybench" -n 1000 -rounds "$ROUNDS" || echo "notify: not measured (notifybench failed)"
	} >>"$TMP/report.txt" 2>&1
fi

# Notifications: live inbox fan-out to 1,000 SSE clients on two instances
# of streamflix serve (bench/cmd/ssebench). Rate limits are off: every
# client connects from 127.0.0.1.
if want notify && [ -n "${DATABASE_URL:-}" ]; then
	note "notify: live inbox fan-out, 2 instances, 1000 SSE clients"
	URLS=()
	SSE_PIDS=()
	for i in 1 2; do
		port=$(free_port)
		HTTP_ADDR="127.0.0.1:$port" LOG_LEVEL=warn LOG_FORMAT=json DRAIN_DELAY=0s RATE_LIMIT_IP=0 RATE_LIMIT_USER=0 MAIL_DIR="$TMP/mail" \
			"$TMP/streamflix" serve >"$TMP/serve-sse-$i.out" 2>&1 &
		PIDS+=($!)
		SSE_PIDS+=($!)
		URLS+=("http://127.0.0.1:$port")
	done
	ok=1
	for u in "${URLS[@]}"; do wait_http "$u/readyz" 30 || ok=0; done
	{
		echo
		if [ "$ok" = 1 ]; then
			"$TMP/ssebench" -urls "$(IFS=,; echo "${URLS[*]}")" -clients 1000 -users 500 -rounds "$ROUNDS" ||
				echo "notify: live inbox not measured (ssebench failed)"
		else
			echo "notify: live inbox not measured (/readyz never answered 200)"
		fi
	} >>"$TMP/report.txt" 2>&1
	for pid in "${SSE_PIDS[@]}"; do stop "$pid"; done
fi

# Catalog: title page and home rows through the real binary (cache warm,
# cache cold, cache off) next to the bare handler in the same run, then
# search latency over a large generated catalog (bench/cmd/catalogbench).
# It uses its own database, seeded once with CATALOG_TITLES titles.
if ! want catalog; then
	:
elif [ -n "${DATABASE_URL:-}" ] && command -v psql >/dev/null; then
	ntitles=${CATALOG_TITLES:-100000}
	cat_db=streamflix_bench_catalog
	cat_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$DATABASE_URL" "$cat_db")
	psql -q "$DATABASE_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$cat_db'" | grep -q 1 ||
		psql -q "$DATABASE_URL" -c "CREATE DATABASE $cat_db" >/dev/null
	DATABASE_URL=$cat_url "$TMP/streamflix" migrate up >/dev/null
	note "catalog: seeding $ntitles titles (once; later runs reuse them)"
	DATABASE_URL=$cat_url "$TMP/streamflix" seed --scale "$ntitles" >&2 || note "catalog: seeding failed"
	cat_email=catalog-bench@example.com
	echo "plum-kettle-orbit-92" | DATABASE_URL=$cat_url MAIL_DIR="$TMP/mail" "$TMP/streamflix" admin create-user \
		--email "$cat_email" --password-stdin >/dev/null 2>&1 || true

	declare -A CAT_BASE PID_OF
	cat_ok=1
	# cat_serve KEY [ENV=VALUE...]: a server for the catalog runs.
	cat_serve() {
		local key=$1 port
		shift
		port=$(free_port)
		if [ "$key" = bare ]; then
			GOMAXPROCS=1 "${PIN_SERVER[@]}" "$TMP/benchserver" -mode bare -addr "127.0.0.1:$port" >"$TMP/cat-$key.out" 2>&1 &
		else
			env "$@" DATABASE_URL="$cat_url" HTTP_ADDR="127.0.0.1:$port" GOMAXPROCS=1 LOG_LEVEL=warn LOG_FORMAT=json DRAIN_DELAY=0s \
				RATE_LIMIT_IP=0 RATE_LIMIT_USER=0 WORKERS=false MAIL_DIR="$TMP/mail" \
				"${PIN_SERVER[@]}" "$TMP/streamflix" serve >"$TMP/cat-$key.out" 2>&1 &
		fi
		PIDS+=($!)
		PID_OF[$key]=$!
		if ! wait_http "http://127.0.0.1:$port/readyz" 30 && ! wait_http "http://127.0.0.1:$port/healthz" 1; then
			note "catalog: $key server did not start"
			sed 's/^/  /' "$TMP/cat-$key.out" >&2
			cat_ok=0
		fi
		CAT_BASE[$key]="http://127.0.0.1:$port"
	}
	cat_serve bare
	cat_serve cached
	cat_serve uncached CATALOG_CACHE_TTL=0
	if [ "$cat_ok" = 1 ] && DATABASE_URL=$cat_url "$TMP/catalogbench" prepare -url "${CAT_BASE[cached]}" \
		-email "$cat_email" -password plum-kettle-orbit-92 -dir "$TMP"; then
		tok=$(cat "$TMP/token")
		title=$(cat "$TMP/title")
		# key|label|server|path|wrk arguments (the cold run's offset is added per round)
		CAT_VARIANTS=(
			"bare|bare net/http (JSON item)|bare|/api/v1/bench/item|"
			"title-warm|title page, cache warm|cached|/api/v1/titles/$title|"
			"title-cold|title page, cache cold|cached|/|-s $TMP/titles.lua"
			"title-off|title page, cache off|uncached|/api/v1/titles/$title|"
			"home-warm|home rows, cache warm|cached|/api/v1/catalog/home|"
			"home-off|home rows, cache off|uncached|/api/v1/catalog/home|"
		)
		: >"$TMP/catalog.tsv"
		note "catalog: ${WARMUP}s warm-up per variant, then $ROUNDS rounds of ${SLICE}s per variant"
		for v in "${CAT_VARIANTS[@]}"; do
			IFS='|' read -r key _ server path extra <<<"$v"
			# shellcheck disable=SC2086 # extra is a list of wrk flags
			"${PIN_CLIENT[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" -H "Authorization: Bearer $tok" $extra \
				"${CAT_BASE[$server]}$path" >/dev/null
		done
		n=${#CAT_VARIANTS[@]}
		for ((round = 0; round < ROUNDS; round++)); do
			for ((i = 0; i < n; i++)); do
				IFS='|' read -r key _ server path extra <<<"${CAT_VARIANTS[$(((i + round) % n))]}"
				args=()
				# Each cold round starts far past every earlier one.
				[ -z "$extra" ] || args=(-- $((20000 * (round + 1))))
				# shellcheck disable=SC2086
				"${PIN_CLIENT[@]}" wrk -t1 -c"$CONNS" -d"${SLICE}s" --timeout 10s --latency -H "Authorization: Bearer $tok" $extra \
					"${CAT_BASE[$server]}$path" "${args[@]}" >"$TMP/wrk.txt"
				rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$TMP/wrk.txt")
				p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$TMP/wrk.txt")")
				p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$TMP/wrk.txt")")
				bad=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$TMP/wrk.txt")
				printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$round" "$rps" "$p50" "$p99" "$bad" >>"$TMP/catalog.tsv"
			done
		done
		{
			echo
			echo "catalog: $CONNS connections, ${TOTAL}s per variant, servers GOMAXPROCS=1 ($PINNED), Postgres and Redis unpinned, rate limits off"
			printf '  %-28s %8s %9s %9s   %s\n' variant req/s p50 p99 "ratio vs bare"
			for v in "${CAT_VARIANTS[@]}"; do
				IFS='|' read -r key label _ <<<"$v"
				col() { awk -F'\t' -v k="$key" -v f="$1" '$1 == k {print $f}' "$TMP/catalog.tsv" | median; }
				ratio=$(awk -F'\t' -v k="$key" '$1 == "bare" {b[$2] = $3} $1 == k {v[$2] = $3}
					END {for (i in v) if (b[i] > 0) print v[i] / b[i]}' "$TMP/catalog.tsv" | median)
				errs=$(awk -F'\t' -v k="$key" '$1 == k {n += $6} END {print n + 0}' "$TMP/catalog.tsv")
				[ "$errs" = 0 ] && errs="" || errs="  ($errs errors)"
				printf '  %-28s %8.0f %7.2fms %7.2fms   %.2f%s\n' "$label" "$(col 3)" "$(col 4)" "$(col 5)" "${ratio:-0}" "$errs"
			done
			echo "  target: cached title page at 0.50 or more of bare's req/s"
			echo
			DATABASE_URL=$cat_url "$TMP/catalogbench" search -url "${CAT_BASE[cached]}" -token-file "$TMP/token" ||
				echo "catalog: search not measured (catalogbench failed)"
		} >>"$TMP/report.txt" 2>&1
	else
		echo "catalog: not measured (a server or prepare failed)" >>"$TMP/report.txt"
	fi
	for key in bare cached uncached; do stop "${PID_OF[$key]}"; done
else
	echo "catalog: not measured (needs DATABASE_URL and psql)" >>"$TMP/report.txt"
fi

# Payment: signed webhook events applied per second end to end next to bare
# inserts of the same rows, and checkout req/s next to the bare handler
# (bench/cmd/paymentbench). It starts its own streamflix serve and
# benchserver over a database of its own, dropped at the end.
if want payment && [ -n "${DATABASE_URL:-}" ]; then
	note "payment: webhooks and checkout, $ROUNDS rounds"
	{
		echo
		"$TMP/paymentbench" -streamflix "$TMP/streamflix" -benchserver "$TMP/benchserver" \
			-events "${PAYMENT_EVENTS:-500}" -rounds "$ROUNDS" -duration "${TOTAL}s" ||
			echo "payment: not measured (paymentbench failed)"
	} >>"$TMP/report.txt"
fi

# Video: the transcode job's real-time factor next to the bare ffmpeg
# command it runs on the same source, and tus upload throughput next to a
# plain file write (bench/cmd/videobench, its own serve and database).
if want video && [ -n "${DATABASE_URL:-}" ] && command -v ffmpeg >/dev/null; then
	note "video: transcode and upload, $ROUNDS rounds"
	{
		echo
		"$TMP/videobench" -streamflix "$TMP/streamflix" -rounds "$ROUNDS" -seconds "${VIDEO_SECONDS:-20}" ||
			echo "video: not measured (videobench failed)"
	} >>"$TMP/report.txt"
elif want video; then
	echo "video: not measured (needs DATABASE_URL and ffmpeg)" >>"$TMP/report.txt"
fi

mkdir -p "$(dirname "$RESULTS")"
cp "$TMP/report.txt" "$RESULTS"
cat "$TMP/report.txt"
