#!/usr/bin/env bash
# Validate the deploy configs: Prometheus config and rules, rule unit tests,
# and nginx syntax (the shipped config and a 3-instance render). Prints one
# line per check and exits non-zero if any fails. Needs promtool and nginx
# (Debian: apt-get install -y prometheus nginx). Runs from any directory, as
# root or not.
set -uo pipefail
cd "$(dirname "$0")"

failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME CMD...: run a check, print OK/FAIL, show its output on failure.
run() {
    local name=$1; shift
    if out=$("$@" 2>&1); then
        echo "OK   $name"
    else
        echo "FAIL $name"
        printf '%s\n' "$out" | sed 's/^/     /'
        failed=1
    fi
}

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "FAIL $1 not found (apt-get install -y $2)"
        failed=1
        return 1
    fi
}

# nginx_test NAME CONF: nginx -t with nginx.conf + CONF as streamflix.conf in
# a scratch prefix (nginx creates its temp/cache dirs at -t time, so it must
# not touch the repo or /var).
nginx_test() {
    local name=$1 conf=$2 p
    p=$(mktemp -d "$tmp/nginx.XXXXXX")
    chmod 755 "$p"   # workers run as nobody when started as root
    mkdir -p "$p/logs" "$p/cache" "$p/temp"
    cp nginx/nginx.conf "$p/nginx.conf"
    cp "$conf" "$p/streamflix.conf"
    if [[ -f /etc/nginx/mime.types ]]; then
        cp /etc/nginx/mime.types "$p/mime.types"
    else
        printf 'types {\n    application/json json;\n    text/html html;\n}\n' > "$p/mime.types"
    fi
    run "$name" nginx -t -q -p "$p/" -c nginx.conf -e stderr
}

if need promtool prometheus; then
    run "promtool check config prometheus/prometheus.yml" promtool check config prometheus/prometheus.yml
    run "promtool check rules prometheus/alerts.yml"      promtool check rules prometheus/alerts.yml
    run "promtool test rules prometheus/alerts_test.yml"  promtool test rules prometheus/alerts_test.yml
fi

if need nginx nginx; then
    nginx_test "nginx -t nginx/nginx.conf (streamflix.conf)" nginx/streamflix.conf
    if nginx/render.sh 3 9001 18080 > "$tmp/rendered.conf" 2> "$tmp/render.err"; then
        nginx_test "nginx -t nginx/render.sh 3 9001 18080" "$tmp/rendered.conf"
    else
        echo "FAIL nginx/render.sh 3 9001 18080"; sed 's/^/     /' "$tmp/render.err"; failed=1
    fi
fi

if (( failed )); then echo "deploy checks FAILED"; exit 1; fi
echo "deploy checks passed"
