#!/bin/bash
# The restart of a multi-supplier replica after kill -9 (issue 15):
# time to serving, to settled (first resolution done), and the CPU the
# process used until settled.
# usage: 2026-12-05-restart.sh LDIF TAG   (binary in $BIN)
# GML=VALUE runs the server with GOMEMLIMIT=VALUE (GML=off: no limit).
# Each restart writes a CPU profile to /tmp/restart-bench/TAG/cpuN.prof;
# the first restart's is written when the server stops cleanly before the
# second kill (a clean stop, a start, settled, then kill -9).
set -e
LDIF=$1; TAG=${2:-x}
BIN=${BIN:-switchboard}
W=/tmp/restart-bench/$TAG
rm -rf $W; mkdir -p $W
. "$(dirname "$0")/replica-lib.sh"
$BIN import --data $W/d --log.level warn $LDIF > /dev/null 2>&1
serve $BIN first
until settled; do sleep 1; done
# A few writes, so that the checkpoint is not the seeding's.
for i in 1 2 3; do
  ldapmodify -x -H ldap://127.0.0.1:25891 -D cn=admin,dc=example,dc=com -w secret >/dev/null <<L
dn: dc=example,dc=com
changetype: modify
replace: description
description: restart $i
L
done
sleep 3
until settled; do sleep 1; done
for round in 1 2; do
  if [ $round = 2 ]; then
    kill -TERM $(cat $W/pid); sleep 4; serve $BIN pre2; sleep 2; until settled; do sleep 1; done
  fi
  kill -9 $(cat $W/pid); sleep 1
  echo "== restart $round after kill -9; load average $(cat /proc/loadavg)"
  t0=$(date +%s.%N)
  SWITCHBOARD_CPUPROFILE=$W/cpu$round.prof serve $BIN restart$round
  PID=$(cat $W/pid)
  until ldapsearch -x -H ldap://127.0.0.1:25891 -b "" -s base 1.1 >/dev/null 2>&1; do sleep 0.1; done
  t1=$(date +%s.%N)
  until settled; do sleep 0.1; done
  t2=$(date +%s.%N)
  cpu=$(awk -v hz=$(getconf CLK_TCK) '{printf "%.1f", ($14+$15)/hz}' /proc/$PID/stat)
  echo "serving after $(echo "$t1 - $t0" | bc) s, settled after $(echo "$t2 - $t0" | bc) s, CPU until settled $cpu s"
  grep -o 'msg="replication: state loaded".*\|msg="replication: resuming.*' $W/restart$round.log || true
done
kill $(cat $W/pid); wait || true
du -sh $W/d
