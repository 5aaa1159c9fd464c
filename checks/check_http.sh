#!/bin/sh
# directord / ldirectord external check: HTTP GET of the real server.
# Usage: check_http.sh VIP VPORT RIP RPORT   (ldirectord's checkcommand contract; see README.md)
# Up (exit 0) when the status is 2xx and, if DIRECTORD_RECEIVE is set, the body matches it
# (grep -E). Down (exit 1) otherwise. Redirects are not followed.
set -u
[ $# -eq 4 ] || { echo "usage: $0 VIP VPORT RIP RPORT" >&2; exit 1; }
rip=$3
rport=$4
path=${DIRECTORD_REQUEST:-/}
case $path in /*) ;; *) path=/$path ;; esac
receive=${DIRECTORD_RECEIVE:-}
vhost=${DIRECTORD_VIRTUALHOST:-}
ms=${DIRECTORD_TIMEOUT_MS:-5000}
secs=$(( (ms + 999) / 1000 ))
if [ -n "$vhost" ]; then
  body=$(curl --globoff --silent --show-error --fail --max-time "$secs" -H "Host: $vhost" "http://$rip:$rport$path") || exit 1
else
  body=$(curl --globoff --silent --show-error --fail --max-time "$secs" "http://$rip:$rport$path") || exit 1
fi
if [ -n "$receive" ]; then
  printf '%s\n' "$body" | grep -Eq -- "$receive" || { echo "body does not match $receive"; exit 1; }
fi
echo "HTTP ok"
exit 0
