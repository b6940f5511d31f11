#!/bin/bash
# usage: run.sh LDIF TAG   (binary in $BIN, default /tmp/bulkjoin-bin/switchboard)
set -e
LDIF=$1; TAG=${2:-x}
BIN=${BIN:-/tmp/bulkjoin-bin/switchboard}
W=/tmp/bulkjoin-bench/$TAG
rm -rf $W; mkdir -p $W
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
      url: ldap://127.0.0.1:23891
      bind_dn: cn=admin,dc=example,dc=com
      password: secret
Y
cat /proc/loadavg > $W/loadavg
echo "== import"; cat /proc/loadavg
/usr/bin/time -f "import wall %e s user %U s sys %S s maxrss %M KB" $BIN import --data $W/imp --log.level warn $LDIF 2>&1 | tail -2
echo "== supplier from a second import"
$BIN import --data $W/sup --log.level warn $LDIF >/dev/null 2>&1
$BIN serve --config $W/r1.yaml --data $W/sup --listen 127.0.0.1:23891 --admin-listen 127.0.0.1:23892 --http-listen 127.0.0.1:23893 --log.level warn > $W/sup.log 2>&1 &
SUP=$!
echo $SUP > $W/sup.pid
for i in $(seq 1 120); do
  ldapmodify -x -H ldap://127.0.0.1:23891 -D cn=admin,dc=example,dc=com -w secret >/dev/null 2>&1 <<L && break
dn: dc=example,dc=com
changetype: modify
replace: description
description: supplier
L
  sleep 1
done
for i in $(seq 1 600); do
  if curl -sf -u cn=admin,dc=example,dc=com:secret http://127.0.0.1:23892/replication 2>/dev/null | grep -q '"generation": *"[0-9a-f]'; then break; fi
  sleep 1
done
# The supplier's first start records and resolves the imported entries:
# let it settle, so that the join competes only with serving the snapshot.
for i in $(seq 1 600); do
  if curl -sf -u cn=admin,dc=example,dc=com:secret http://127.0.0.1:23892/replication 2>/dev/null | grep -q '"settled": *true'; then break; fi
  sleep 1
done
curl -sf -u cn=admin,dc=example,dc=com:secret http://127.0.0.1:23892/replication | head -5
SUPCPU0=$(awk '{print $14+$15}' /proc/$SUP/stat)
echo "== join"; cat /proc/loadavg
/usr/bin/time -f "join wall %e s user %U s sys %S s maxrss %M KB" $BIN replica join --from ldap://127.0.0.1:23891 --config $W/r2.yaml --data $W/join --log.level warn 2>&1 | tail -3
cat /proc/loadavg
echo "supplier CPU during the join: $(( ($(awk '{print $14+$15}' /proc/$SUP/stat) - SUPCPU0) / $(getconf CLK_TCK) )) s"
kill $SUP; wait $SUP || true
du -sh $W/imp $W/join
