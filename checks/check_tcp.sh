#!/bin/bash
# directord / ldirectord external check: TCP connect to the real server.
# Usage: check_tcp.sh VIP VPORT RIP RPORT   (see README.md)
# Up (exit 0) when a TCP connection to RIP:RPORT opens within the timeout; down (exit 1) otherwise.
set -u
[ $# -eq 4 ] || { echo "usage: $0 VIP VPORT RIP RPORT" >&2; exit 1; }
rip=${3#[}
rip=${rip%]}
rport=$4
ms=${DIRECTORD_TIMEOUT_MS:-5000}
secs=$(( (ms + 999) / 1000 ))
if timeout "$secs" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$rip" "$rport" 2>/dev/null; then
  echo "connected to $rip:$rport"
  exit 0
fi
echo "cannot connect to $rip:$rport"
exit 1
