#!/bin/bash
# Restarts after kill -9 of one multi-supplier replica, two binaries
# alternating on one store (issue 15, restart of a large replica):
# import, a first start that seeds and settles, then twice for each
# binary: kill -9, start, time to serving and to settled, CPU until
# settled. 70 s between restarts, so that a checkpoint with its store
# mark stands.
# usage: [GAP=SECONDS] 2026-12-05-restart-alternating.sh LDIF BIN_BEFORE BIN_AFTER [WORKDIR]
set -e
LDIF=$1; A=$2; B=$3; W=${4:-/tmp/restart-alternating}
mkdir -p $W
. "$(dirname "$0")/replica-lib.sh"
timed() { # bin tag
  s=$(date +%s.%N); serve $1 $2
  until grep -q "serving " $W/$2.log; do sleep 0.2; done; sv=$(echo "$(date +%s.%N) - $s" | bc)
  until settled; do sleep 0.5; done; st=$(echo "$(date +%s.%N) - $s" | bc)
  cpu=$(awk '{print ($14+$15)/100}' /proc/$(cat $W/pid)/stat)
  echo "$2: serving after $sv s, settled after $st s, CPU $cpu s; $(grep -o 'state loaded.*' $W/$2.log); load $(cut -d' ' -f1-3 /proc/loadavg)"
}
if [ ! -d $W/d ]; then
  s=$(date +%s); $B import --data $W/d --suffix dc=example,dc=com $LDIF > $W/import.log 2>&1
  echo "import $(( $(date +%s) - s )) s"
  timed $B first
  sleep ${GAP:-70}
fi
for round in 1 2; do
  for b in before after; do
    kill -9 $(cat $W/pid); sleep 1
    bin=$A; [ $b = after ] && bin=$B
    timed $bin $b-$round 2>/dev/null
    sleep ${GAP:-70}
  done
done
kill -TERM $(cat $W/pid)
