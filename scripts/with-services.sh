#!/usr/bin/env bash
# with-services.sh runs a command with DATABASE_URL and REDIS_URL pointing
# at the private services under .data/ (started if needed), unless the
# caller already set them. REDIS_URL set to an empty string means "no
# Redis": streamflix then runs on Postgres alone.
#
# Usage: scripts/with-services.sh COMMAND [ARGS...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${DATA_DIR:-$root/.data}

if [[ -z ${DATABASE_URL:-} || -z ${REDIS_URL+set} ]]; then
	"$root/scripts/services.sh" start "$data"
	while IFS='=' read -r key value; do
		case $key in
		DATABASE_URL) [[ -n ${DATABASE_URL:-} ]] || export DATABASE_URL=$value ;;
		REDIS_URL) [[ -n ${REDIS_URL+set} ]] || export REDIS_URL=$value ;;
		TEST_DATABASE_URL) export TEST_DATABASE_URL=${TEST_DATABASE_URL:-$value} ;;
		TEST_REDIS_URL) export TEST_REDIS_URL=${TEST_REDIS_URL:-$value} ;;
		esac
	done < <("$root/scripts/services.sh" env "$data")
fi
exec "$@"
