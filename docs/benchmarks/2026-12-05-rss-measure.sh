#!/bin/bash
# usage: measure.sh BIN STORE_SRC MODE(single|multi) TAG PORTBASE [settle_secs]
# Copies STORE_SRC, serves it, reports VmRSS/VmHWM after settle and after a read load, and saves a heap profile.
# Every SAMPLE seconds (default 10) it also writes the figures to $W/samples. Beside /proc/PID/status each
# figure splits the resident pages by mapping (smaps): Badger's tables (sst), value log (vlog), memtable
# logs (mem) and anonymous memory.
BIN=$1; SRC=$2; MODE=$3; TAG=$4; PB=$5; SETTLE=${6:-30}
W=${RSSWORK:-/tmp/rss-work}/run-$TAG
rm -rf $W; mkdir -p $W; cp -a $SRC $W/data
MS=false; [ $MODE = multi ] && MS=true
cat > $W/config.yaml <<EOC
listen: 127.0.0.1:$PB
admin_listen: 127.0.0.1:$((PB+1))
http_listen: ""
data: $W/data
root_password: secret
admin_pprof: true
replication:
  multi_supplier: $MS
  replica_id: 1
EOC
start=$(date +%s.%N)
$BIN serve --config $W/config.yaml > $W/log 2>&1 &
PID=$!
byMapping() { python3 "$(dirname "$0")/2026-12-05-smaps.py" "$1"; }
st() { grep -E "VmRSS|VmHWM|RssAnon|RssFile" /proc/$PID/status | tr -s ' ' | tr '\n' ' '; byMapping $PID; }
echo "pid $PID"
(while kill -0 $PID 2>/dev/null; do echo "$(date +%T) $(st)"; sleep ${SAMPLE:-10}; done) > $W/samples 2>/dev/null &
for i in $(seq 1 600); do
  if grep -q "state loaded\|ready\|listening" $W/log 2>/dev/null && ldapsearch -x -H ldap://127.0.0.1:$PB -b "" -s base 1.1 >/dev/null 2>&1; then break; fi
  sleep 0.5
done
up=$(date +%s.%N)
echo "up after $(echo "$up - $start" | bc) s: $(st)"
if [ $MODE = multi ]; then
  for i in $(seq 1 1200); do
    j=$(curl -s -u 'cn=admin,dc=example,dc=com:secret' "http://127.0.0.1:$((PB+1))/replication")
    if echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d.get("settled") and d.get("checkpoint") else 1)' 2>/dev/null; then break; fi
    sleep 1
  done
  echo "settled+checkpointed after $(echo "$(date +%s.%N) - $start" | bc) s: $(st)"
fi
sleep $SETTLE
echo "settled: $(st)"
curl -s -u 'cn=admin,dc=example,dc=com:secret' "http://127.0.0.1:$((PB+1))/debug/pprof/heap?gc=1" -o $W/heap-settled.pb.gz
curl -s -u 'cn=admin,dc=example,dc=com:secret' "http://127.0.0.1:$((PB+1))/metrics" | grep -E "^go_memstats_(heap_alloc|heap_inuse|heap_sys|next_gc)_bytes|^go_gc_gomemlimit" 
# read load: a full subtree search and 2000 base searches
ldapsearch -x -H ldap://127.0.0.1:$PB -D cn=admin,dc=example,dc=com -w secret -b dc=example,dc=com -E pr=1000/noprompt '(objectClass=*)' dn cn mail > /dev/null
for i in $(seq 1 4); do ldapsearch -x -H ldap://127.0.0.1:$PB -D cn=admin,dc=example,dc=com -w secret -b ou=people,dc=example,dc=com "(uid=user$((RANDOM*3 % 100000)))" >/dev/null; done
sleep 5
echo "after load: $(st)"
curl -s -u 'cn=admin,dc=example,dc=com:secret' "http://127.0.0.1:$((PB+1))/debug/pprof/heap?gc=1" -o $W/heap-load.pb.gz
curl -s -u 'cn=admin,dc=example,dc=com:secret' "http://127.0.0.1:$((PB+1))/metrics" | grep -E "^go_memstats_(heap_alloc|heap_inuse|heap_sys)_bytes"
grep -E "memory limit|state loaded|recorded the existing|released" $W/log | cut -c1-250
kill $PID; wait $PID 2>/dev/null
cat /proc/loadavg
