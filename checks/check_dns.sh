#!/bin/sh
# directord / ldirectord external check: DNS A query to the real server.
# Usage: check_dns.sh VIP VPORT RIP RPORT   (see README.md)
# Queries DIRECTORD_REQUEST (leading "/" removed; default "localhost") for A records at RIP:RPORT.
# Up (exit 0) when an answer matches DIRECTORD_RECEIVE (grep -E), or, without a receive, when
# there is any answer. Down (exit 1) otherwise.
set -u
[ $# -eq 4 ] || { echo "usage: $0 VIP VPORT RIP RPORT" >&2; exit 1; }
rip=${3#[}
rip=${rip%]}
rport=$4
name=${DIRECTORD_REQUEST:-/localhost}
name=${name#/}
[ -n "$name" ] || name=localhost
receive=${DIRECTORD_RECEIVE:-}
ms=${DIRECTORD_TIMEOUT_MS:-5000}
secs=$(( (ms + 999) / 1000 ))
answer=$(dig +short +time="$secs" +tries=1 -p "$rport" "@$rip" "$name" A) || exit 1
[ -n "$answer" ] || { echo "no answer for $name"; exit 1; }
if [ -n "$receive" ]; then
  printf '%s\n' "$answer" | grep -Eq -- "$receive" || { echo "answer $answer does not match $receive"; exit 1; }
fi
echo "$answer" | head -1
exit 0
