#!/usr/bin/env bash
# deps.sh installs the Debian packages a make target needs, if missing.
#
# Usage: scripts/deps.sh PURPOSE...   where PURPOSE is run, test or bench
#
# As root it runs apt-get; otherwise it prints the exact command to run and
# exits 1.
set -euo pipefail

want=()
need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || want+=("$2")
}
pg_server() {
	compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || want+=(postgresql)
}

for purpose in "$@"; do
	case $purpose in
	run)
		pg_server
		need redis-server redis-server
		;;
	test)
		pg_server
		need redis-server redis-server
		need nginx nginx
		need promtool prometheus
		;;
	bench)
		pg_server
		need redis-server redis-server
		need wrk wrk
		;;
	*)
		echo "deps.sh: unknown purpose $purpose" >&2
		exit 2
		;;
	esac
done

if [[ ${#want[@]} -eq 0 ]]; then
	exit 0
fi
# Deduplicate.
mapfile -t want < <(printf '%s\n' "${want[@]}" | sort -u)
if [[ $(id -u) -ne 0 ]]; then
	echo "Missing packages. Run: sudo apt-get update && sudo apt-get install -y ${want[*]}" >&2
	exit 1
fi
echo "installing: ${want[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
