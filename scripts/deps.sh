#!/usr/bin/env bash
# deps.sh installs the Debian packages a make target needs, if missing.
#
# Usage: scripts/deps.sh PURPOSE...   where PURPOSE is run, test, bench or web
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

# go_tool COMMAND MODULE@VERSION installs a Go tool (not a Debian package)
# with go install, into GOBIN, when the command is missing.
go_tool() {
	command -v "$1" >/dev/null 2>&1 && return 0
	local bin
	bin="$(go env GOBIN)"
	[[ -n $bin ]] || bin="$(go env GOPATH)/bin"
	[[ -x $bin/$1 ]] && return 0
	echo "installing: $2 (go install)"
	go install "$2"
}

for purpose in "$@"; do
	case $purpose in
	run)
		pg_server
		need redis-server redis-server
		need ffmpeg ffmpeg
		;;
	web)
		need node nodejs
		need npm npm
		;;
	test)
		pg_server
		need redis-server redis-server
		need nginx nginx
		need promtool prometheus
		need psql postgresql-client
		need node nodejs
		need npm npm
		need chromium chromium
		need ffmpeg ffmpeg
		go_tool versitygw github.com/versity/versitygw/cmd/versitygw@v1.8.0
		go_tool stripe-mock github.com/stripe/stripe-mock@v0.203.0
		;;
	bench)
		pg_server
		need redis-server redis-server
		need wrk wrk
		need psql postgresql-client
		;;
	*)
		echo "deps.sh: unknown purpose $purpose" >&2
		exit 2
		;;
	esac
done

# node_version_ok: the web app's build (Vite 8) needs Node 20.19 or later;
# Debian 12's own nodejs is 18.
node_version_ok() {
	command -v node >/dev/null 2>&1 || return 0 # not installed yet: apt brings it below
	local v major minor
	v=$(node -p 'process.versions.node' 2>/dev/null) || return 0
	IFS=. read -r major minor _ <<<"$v"
	if ((major < 20 || (major == 20 && minor < 19))); then
		echo "deps.sh: Node $v is too old for the web app (needs 20.19 or later); install Node 20 or 22 (e.g. from NodeSource) and retry" >&2
		return 1
	fi
}

if [[ ${#want[@]} -eq 0 ]]; then
	node_version_ok
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
node_version_ok
