#!/usr/bin/env bash
# services.sh runs a private PostgreSQL and Redis for development and tests.
#
# Usage: scripts/services.sh start|stop|status|env [DATA_DIR]
#
#   start   install missing servers (as root), initialise and start both; idempotent
#   stop    stop both if running
#   status  print one line per service
#   env     print DATABASE_URL, REDIS_URL, TEST_DATABASE_URL, TEST_REDIS_URL lines
#
# DATA_DIR defaults to .data in the repository root. Environment:
#   PGPORT       Postgres port (default 54329)
#   REDIS_PORT   Redis port (default 63799)
#   FAST_UNSAFE  1 turns off fsync, synchronous_commit and full_page_writes (tests only)
#   PG_BIN       Postgres server bin directory (default: newest /usr/lib/postgresql/*/bin)
#
# Redis is a cache in this application, so it runs without persistence.
set -euo pipefail

usage() {
	echo "usage: $0 start|stop|status|env [DATA_DIR]" >&2
	exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
cmd=$1

repo_root=$(cd "$(dirname "$0")/.." && pwd)
data_dir=${2:-$repo_root/.data}
pg_port=${PGPORT:-54329}
redis_port=${REDIS_PORT:-63799}
db_name=streamflix

is_root() { [[ $(id -u) -eq 0 ]]; }

# abs_path prints $1 as an absolute path without requiring it to exist.
abs_path() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$(pwd)" "$1" ;;
	esac
}

data_dir=$(abs_path "$data_dir")
pg_dir=$data_dir/pg
pg_log=$data_dir/pg.log
run_dir=$data_dir/run
redis_dir=$data_dir/redis
redis_pid=$redis_dir/redis.pid
redis_log=$data_dir/redis.log

# Unix socket paths are limited to about 107 bytes; fall back to /tmp for deep data dirs.
sock_dir=$run_dir
if [[ ${#sock_dir} -gt 80 ]]; then
	sock_dir=/tmp
fi

# find_pg_bin prints the newest Postgres server bin directory, or nothing.
find_pg_bin() {
	if [[ -n ${PG_BIN:-} ]]; then
		[[ -x $PG_BIN/initdb ]] && printf '%s\n' "$PG_BIN"
		return 0
	fi
	local d best=""
	while IFS= read -r d; do
		[[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] && best=$d
	done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
	[[ -n $best ]] && printf '%s\n' "$best"
	return 0
}

# as_pg runs a command as the cluster owner: postgres when we are root, else ourselves.
as_pg() {
	if is_root; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

ensure_installed() {
	local missing=()
	[[ -n $(find_pg_bin) ]] || missing+=(postgresql)
	command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
	[[ ${#missing[@]} -eq 0 ]] && return 0
	if ! is_root; then
		echo "missing: ${missing[*]}; install with:" >&2
		echo "  sudo apt-get install -y postgresql redis-server" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq postgresql redis-server >/dev/null
	if [[ -z $(find_pg_bin) ]] || ! command -v redis-server >/dev/null 2>&1; then
		echo "apt-get install postgresql redis-server did not provide the servers" >&2
		exit 1
	fi
}

pg_running() {
	local bin
	bin=$(find_pg_bin)
	[[ -n $bin && -f $pg_dir/PG_VERSION ]] || return 1
	as_pg "$bin/pg_ctl" -D "$pg_dir" status >/dev/null 2>&1
}

redis_pid_alive() {
	[[ -f $redis_pid ]] || return 1
	local pid
	pid=$(<"$redis_pid")
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

redis_running() {
	redis_pid_alive || return 1
	[[ $(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null) == PONG ]]
}

start_pg() {
	local bin
	bin=$(find_pg_bin)
	mkdir -p "$data_dir" "$run_dir"
	if is_root; then
		# postgres must traverse DATA_DIR and own its cluster, socket dir and log.
		chmod 755 "$data_dir"
		if ! runuser -u postgres -- test -x "$data_dir"; then
			echo "postgres: user postgres cannot reach $data_dir (check parent directory permissions)" >&2
			exit 1
		fi
		touch "$pg_log"
		chown postgres: "$run_dir" "$pg_log"
	fi
	if [[ ! -f $pg_dir/PG_VERSION ]]; then
		mkdir -p "$pg_dir"
		chmod 700 "$pg_dir"
		is_root && chown postgres: "$pg_dir"
		if ! as_pg "$bin/initdb" -D "$pg_dir" -U postgres --auth=trust -E UTF8 -N >"$data_dir/initdb.log" 2>&1; then
			echo "postgres: initdb failed, see $data_dir/initdb.log" >&2
			exit 1
		fi
	fi
	if ! pg_running; then
		local opts="-p $pg_port -k '$sock_dir' -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=128MB"
		if [[ ${FAST_UNSAFE:-} == 1 ]]; then
			opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
		fi
		if ! as_pg "$bin/pg_ctl" -D "$pg_dir" -l "$pg_log" -w -t 60 -o "$opts" start >/dev/null; then
			echo "postgres: failed to start; last lines of $pg_log:" >&2
			tail -n 20 "$pg_log" >&2 || true
			exit 1
		fi
	fi
	local psql=(psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1)
	[[ -x $bin/psql ]] && psql[0]=$bin/psql
	if [[ -z $("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'") ]]; then
		"${psql[@]}" -c "CREATE DATABASE $db_name"
	fi
	echo "postgres: running on 127.0.0.1:$pg_port"
}

start_redis() {
	mkdir -p "$redis_dir"
	if ! redis_running; then
		redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes \
			--dir "$redis_dir" --pidfile "$redis_pid" --logfile "$redis_log" \
			--save "" --appendonly no
		local i
		for ((i = 0; i < 100; i++)); do
			redis_running && break
			sleep 0.05
		done
		if ! redis_running; then
			echo "redis: failed to start; last lines of $redis_log:" >&2
			tail -n 20 "$redis_log" >&2 || true
			exit 1
		fi
	fi
	echo "redis: running on 127.0.0.1:$redis_port"
}

stop_pg() {
	if pg_running; then
		as_pg "$(find_pg_bin)/pg_ctl" -D "$pg_dir" -m fast -w stop >/dev/null
	fi
	echo "postgres: stopped"
}

stop_redis() {
	if redis_pid_alive; then
		local pid i
		pid=$(<"$redis_pid")
		redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "redis: pid $pid did not exit" >&2
			exit 1
		fi
		rm -f "$redis_pid"
	fi
	echo "redis: stopped"
}

case $cmd in
start)
	ensure_installed
	start_pg
	start_redis
	;;
stop)
	stop_pg
	stop_redis
	;;
status)
	if pg_running; then
		echo "postgres: running on 127.0.0.1:$pg_port"
	else
		echo "postgres: stopped"
	fi
	if redis_running; then
		echo "redis: running on 127.0.0.1:$redis_port"
	else
		echo "redis: stopped"
	fi
	;;
env)
	echo "DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/$db_name?sslmode=disable"
	echo "REDIS_URL=redis://127.0.0.1:$redis_port/0"
	echo "TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
	echo "TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0"
	;;
*)
	usage
	;;
esac
