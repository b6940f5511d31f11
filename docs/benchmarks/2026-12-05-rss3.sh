#!/bin/bash
# RSS of three multi-supplier replicas of the same 1M directory, against a
# single-supplier server over the imported store, one after the other on
# one machine. usage: BIN=... W=DIR 2026-12-05-rss3.sh start|measure|single|stop
#   start:   serves $W/r1, $W/r2, $W/r3 with $W/3r/rN.yaml (replica N,
#            multi_supplier, the other two as peers; ports 23991, 24001,
#            24011, admin +1). The stores come from the join stages, the
#            supplier stopped first: r1 -> sup (ln -s), r2 the join stage's
#            store (mv join r2), r3 a join by hand with 3r/r3.yaml
#   measure: waits until all three are settled, then prints each one's
#            /proc status and resident pages by mapping (smaps), runs the
#            read load against each (a paged subtree search of every entry
#            and four equality searches), and prints them again
#   single:  the same for a single-supplier server over a copy of $W/imp
#   stop:    stops the three
set -e
STAGE=$1
BIN=${BIN:-switchboard}
W=${W:-/tmp/js/m1}
export SWITCHBOARD_ROOT_PASSWORD=secret
port() { echo $((23991 + ($1 - 1) * 10)); }
byMapping() { python3 "$(dirname "$0")/2026-12-05-smaps.py" "$1"; }
st() { grep -E "VmRSS|VmHWM|RssAnon|RssFile" /proc/$1/status | tr -s ' ' | tr '\n' ' '; byMapping $1; }
load() {
	local P=$1
	ldapsearch -x -H ldap://127.0.0.1:$P -D cn=admin,dc=example,dc=com -w secret -b dc=example,dc=com \
		-E pr=1000/noprompt '(objectClass=*)' dn cn mail | grep -c '^dn:' || true
	for f in '(uid=rlefevre)' '(mail=raphael.lefevre@example.com)' '(cn=staff)' '(employeeNumber=600001)'; do
		ldapsearch -x -H ldap://127.0.0.1:$P -D cn=admin,dc=example,dc=com -w secret \
			-b ou=people,dc=example,dc=com "$f" dn >/dev/null || true
	done
}
settled() {
	curl -s -m 60 -u 'cn=admin,dc=example,dc=com:secret' "http://127.0.0.1:$(($1 + 1))/replication" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d.get("settled") and d.get("checkpoint") else 1)' 2>/dev/null
}
case $STAGE in
start)
	for i in 1 2 3; do
		P=$(port $i)
		$BIN serve --config $W/3r/r$i.yaml --data $W/r$i --listen 127.0.0.1:$P --admin-listen 127.0.0.1:$((P + 1)) \
			--http-listen 127.0.0.1:$((P + 2)) --log.level warn > $W/3r/r$i.log 2>&1 &
		echo $! > $W/3r/r$i.pid
		echo "r$i pid $! started $(date -u +%T)"
	done
	;;
measure)
	T0=$(date +%s)
	for i in 1 2 3; do
		until settled $(port $i); do sleep 2; done
		echo "r$i settled at +$(($(date +%s) - T0)) s"
	done
	sleep ${SETTLE:-30}
	for i in 1 2 3; do echo "r$i settled: $(st $(cat $W/3r/r$i.pid))"; done
	for i in 1 2 3; do echo "r$i read load: $(load $(port $i)) entries"; done
	sleep 5
	for i in 1 2 3; do echo "r$i after the load: $(st $(cat $W/3r/r$i.pid))"; done
	;;
single)
	rm -rf $W/single && cp -a $W/imp $W/single
	P=24031
	$BIN serve --data $W/single --listen 127.0.0.1:$P --admin-listen 127.0.0.1:$((P + 1)) --http-listen "" \
		--log.level warn > $W/single.log 2>&1 &
	PID=$!
	until ldapsearch -x -H ldap://127.0.0.1:$P -b "" -s base 1.1 >/dev/null 2>&1; do sleep 1; done
	sleep ${SETTLE:-30}
	echo "single settled: $(st $PID)"
	echo "single read load: $(load $P) entries"
	sleep 5
	echo "single after the load: $(st $PID)"
	kill $PID; wait $PID || true
	;;
stop)
	for i in 1 2 3; do kill $(cat $W/3r/r$i.pid) 2>/dev/null || true; done
	;;
esac
