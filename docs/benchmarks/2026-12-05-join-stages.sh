#!/bin/bash
# The join benchmark in stages, for a 1M run: the supplier is started once and
# joined from several times. usage: BIN=... P=PORT 2026-12-05-join-stages.sh
#   import|supplier|join|start|stop LDIF TAG
# import: times switchboard import of LDIF, copies the store as the supplier's;
# supplier: serves it as multi-supplier replica 1, founds a generation with one
# modify, waits until settled; join: times replica join of replica 2 into an
# empty store, with the supplier's CPU during it; start: serves the joined
# store as replica 2 and times its first start until settled (then stops
# it); stop: stops the supplier.
set -e
STAGE=$1; LDIF=$2; TAG=${3:-x}
BIN=${BIN:-switchboard}
W=${WORK:-/tmp/join-stages}/$TAG
mkdir -p $W
export SWITCHBOARD_ROOT_PASSWORD=secret
cat > $W/r1.yaml <<Y
replication:
  replica_id: 1
  multi_supplier: true
Y
cat > $W/r2.yaml <<Y
replication:
  replica_id: 2
  multi_supplier: true
  peers:
    - name: r1
      url: ldap://127.0.0.1:${P:-23991}
      bind_dn: cn=admin,dc=example,dc=com
      password: secret
Y
case $STAGE in
import)
  rm -rf $W/imp $W/sup
  echo "== import $(date -u +%T)"; cat /proc/loadavg
  /usr/bin/time -f "import wall %e s user %U s sys %S s maxrss %M KB" $BIN import --data $W/imp --log.level warn $LDIF 2>&1 | tail -2
  cat /proc/loadavg
  cp -a $W/imp $W/sup
  du -sh $W/imp
  ;;
supplier)
  echo "== supplier start $(date -u +%T)"; cat /proc/loadavg
  $BIN serve --config $W/r1.yaml --data $W/sup --listen 127.0.0.1:${P:-23991} --admin-listen 127.0.0.1:$((${P:-23991}+1)) --http-listen 127.0.0.1:$((${P:-23991}+2)) --log.level warn > $W/sup.log 2>&1 &
  SUP=$!
  echo $SUP > $W/sup.pid
  T0=$(date +%s)
  for i in $(seq 1 1200); do
    ldapmodify -x -H ldap://127.0.0.1:${P:-23991} -D cn=admin,dc=example,dc=com -w secret >/dev/null 2>&1 <<L && break
dn: dc=example,dc=com
changetype: modify
replace: description
description: supplier
L
    sleep 1
  done
  echo "first modify at +$(( $(date +%s) - T0 )) s"
  for i in $(seq 1 3600); do
    if curl -sf -m 60 -u cn=admin,dc=example,dc=com:secret http://127.0.0.1:$((${P:-23991}+1))/replication 2>/dev/null | grep -q '"settled": *true'; then break; fi
    sleep 2
  done
  echo "settled at +$(( $(date +%s) - T0 )) s $(date -u +%T)"; cat /proc/loadavg
  echo "supplier CPU $(( $(awk '{print $14+$15}' /proc/$SUP/stat) / $(getconf CLK_TCK) )) s; $(grep -E 'VmHWM|VmRSS' /proc/$SUP/status | tr '\n' ' ')"
  ;;
join)
  SUP=$(cat $W/sup.pid)
  rm -rf $W/join $W/join.join-runs
  SUPCPU0=$(awk '{print $14+$15}' /proc/$SUP/stat)
  echo "== join $(date -u +%T)"; cat /proc/loadavg; free -g | head -2
  /usr/bin/time -f "join wall %e s user %U s sys %S s maxrss %M KB" $BIN replica join --from ldap://127.0.0.1:${P:-23991} --config $W/r2.yaml --data $W/join --log.level ${JLOG:-warn} 2>&1 | tail -3
  cat /proc/loadavg
  echo "supplier CPU during the join: $(( ($(awk '{print $14+$15}' /proc/$SUP/stat) - SUPCPU0) / $(getconf CLK_TCK) )) s; $(grep -E 'VmHWM|VmRSS' /proc/$SUP/status | tr '\n' ' ')"
  du -sh $W/join
  ;;
start)
  echo "== first start of the joined replica $(date -u +%T)"; cat /proc/loadavg
  Q=$((${P:-23991}+10))
  $BIN serve --config $W/r2.yaml --data $W/join --listen 127.0.0.1:$Q --admin-listen 127.0.0.1:$((Q+1)) --http-listen 127.0.0.1:$((Q+2)) --log.level info > $W/join-start.log 2>&1 &
  J=$!
  T0=$(date +%s.%N)
  until curl -sf -m 60 -u cn=admin,dc=example,dc=com:secret http://127.0.0.1:$((Q+1))/replication 2>/dev/null | grep -q '"settled": *true'; do sleep 0.5; done
  echo "settled after $(echo "$(date +%s.%N) - $T0" | bc) s; CPU $(( $(awk '{print $14+$15}' /proc/$J/stat) / $(getconf CLK_TCK) )) s; $(grep -E 'VmHWM|VmRSS' /proc/$J/status | tr '\n' ' ')"
  grep -o 'resuming from the store.*' $W/join-start.log | head -1
  kill $J; wait $J || true
  ;;
stop)
  SUP=$(cat $W/sup.pid); kill $SUP; while kill -0 $SUP 2>/dev/null; do sleep 1; done
  ;;
esac
