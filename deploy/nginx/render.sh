#!/usr/bin/env bash
# Print streamflix.conf with its upstream rewritten for N instances on
# consecutive ports, and the server's listen port replaced.
#
#   render.sh N [base_port=8081] [listen_port=8080] > streamflix.conf
#
# Environment overrides (optional):
#   UPSTREAM_HOST  instance host                    (default 127.0.0.1)
#   CACHE_DIR      proxy_cache_path directory       (default: as in streamflix.conf)
#   ACCESS_LOG     access_log file                  (default: as in streamflix.conf)
#
# Example: 3 instances on 8081..8083 behind nginx on 8080
#   deploy/nginx/render.sh 3 8081 8080
set -euo pipefail

usage() { echo "usage: $0 N [base_port] [listen_port]" >&2; exit 2; }
n=${1:-}; base=${2:-8081}; listen=${3:-8080}
is_port() { [[ $1 =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65535 )); }
[[ $n =~ ^[0-9]+$ ]] && (( n >= 1 )) || usage
is_port "$base" && is_port "$listen" && is_port $((base + n - 1)) || usage

template="$(cd "$(dirname "$0")" && pwd)/streamflix.conf"

awk -v n="$n" -v base="$base" -v listen="$listen" \
    -v host="${UPSTREAM_HOST:-127.0.0.1}" \
    -v cache_dir="${CACHE_DIR:-}" -v access_log="${ACCESS_LOG:-}" '
  /^upstream streamflix \{/ { in_up = 1 }
  in_up && /^[[:space:]]*server[[:space:]]/ {
    if (!done) {
      for (i = 0; i < n; i++)
        printf "    server %s:%d max_fails=3 fail_timeout=10s;\n", host, base + i
      done = 1
    }
    next
  }
  in_up && /^\}/ { in_up = 0 }
  /^[[:space:]]*listen[[:space:]]+[0-9]+;/ { sub(/[0-9]+;/, listen ";") }
  cache_dir != "" && /^proxy_cache_path / { sub(/proxy_cache_path [^ ]+/, "proxy_cache_path " cache_dir) }
  access_log != "" && /^[[:space:]]*access_log / { sub(/access_log [^ ]+/, "access_log " access_log) }
  { print }
' "$template"
