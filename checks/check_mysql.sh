#!/bin/sh
# directord / ldirectord external check: is mysqld/mariadbd answering?
# Usage: check_mysql.sh VIP VPORT RIP RPORT   (see README.md)
# Runs `mysqladmin ping` against RIP:RPORT as DIRECTORD_LOGIN (default: directord-check).
# mysqladmin ping exits 0 whenever the server answers, even "Access denied", so no password is
# needed and none is passed. Up = exit 0; down = exit 1.
set -u
[ $# -eq 4 ] || { echo "usage: $0 VIP VPORT RIP RPORT" >&2; exit 1; }
rip=${3#[}
rip=${rip%]}
rport=$4
user=${DIRECTORD_LOGIN:-directord-check}
[ -n "$user" ] || user=directord-check
ms=${DIRECTORD_TIMEOUT_MS:-5000}
secs=$(( (ms + 999) / 1000 ))
if mysqladmin --no-defaults --protocol=TCP --connect-timeout="$secs" -h "$rip" -P "$rport" -u "$user" ping >/dev/null 2>&1; then
  echo "mysqld is alive"
  exit 0
fi
echo "mysqld not answering on $rip:$rport"
exit 1
