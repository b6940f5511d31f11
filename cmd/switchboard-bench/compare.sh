#!/usr/bin/env bash
# Compare Switchboard with OpenLDAP slapd (back-mdb) on the same data, the
# same machine and the same load, alternating servers per case.
#
#   cmd/switchboard-bench/compare.sh [-quick] [-n N] [-duration D] [-warmup D] [-cases "eq:1 eq:8@people ..."]
#                                    [-matrix] [-workdir DIR] [-as-user] [-anonymous]
#
# A case is op:conns, optionally @base: suffix (the default), people
# (ou=people, the base mail clients and SSO servers are configured with)
# or deep (ou=berlin,ou=engineering,ou=people, holding 2% of the people).
# -matrix runs every search kind at the three bases, as an ordinary user
# (implies -as-user): the matrix of docs/benchmarks.
#
# The load client binds as the root DN, whom neither server's access
# control restricts; -as-user binds as the first person of the data
# instead, so that both servers evaluate their access rules (the same
# two, "userPassword: self write, anonymous auth; everything: read") on
# every entry and attribute: the cost of access control. Writes are then
# refused by both, so give -as-user read cases only.
#
# -anonymous binds as no one (after -matrix too): anonymous readers, what
# mail clients' address books mostly are, under the same rules.
#
# -quick is a smoke run: N=2000, 2 s per case, 0.5 s warm-up.
# SWITCHBOARD_BIN=path (and BENCH_BIN=path) use prebuilt binaries.
# Needs: go, slapd, slapadd, slaptest (Debian slapd), taskset (util-linux).
#
# Data: `go run ./testdata/gen -n N`, people only: the group entries are
# removed for both servers, so that the runs measure person look-ups and
# both stores hold the same entries (the groupOfNames+posixGroup groups
# also need rfc2307bis, which Debian's slapd lacks). slapd loads the stock
# core, cosine and inetorgperson schemas plus
# testdata/differential/rfc2307bis-mozilla.schema (instead of Debian's
# nis.schema) for posixAccount, shadowAccount and mozillaAbPersonAlpha.
#
# slapd follows docs' performance-anchors recipe: mdb, objectClass eq and
# cn,sn,mail,uid eq,sub indexes, loglevel 0, threads 8, fsync on (no
# dbnosync). Switchboard gets the same indexes through a config file.
# Servers are pinned to CPU 0 and the client to CPU 1.
set -euo pipefail

N=100000
DURATION=10s
WARMUP=2s
CASES="eq:1 eq:8 sub:8 presence:8 and:8 or:8 thunderbird:8 outlook:8 base:8 bind:8 modify:8 adddel:8 mix:8"
WORK=${WORKDIR:-/tmp/switchboard-compare}
AS_USER=0
ANON=0
MATRIX_CASES=""
for b in suffix people deep; do
	for op in eq sub thunderbird outlook presence onelevel paged sortpage base; do
		MATRIX_CASES="$MATRIX_CASES $op:8@$b"
	done
done
while [ $# -gt 0 ]; do
	case "$1" in
	-quick) N=2000 DURATION=2s WARMUP=500ms ;;
	-n) N=$2; shift ;;
	-duration) DURATION=$2; shift ;;
	-warmup) WARMUP=$2; shift ;;
	-cases) CASES=$2; shift ;;
	-workdir) WORK=$2; shift ;;
	-as-user) AS_USER=1 ;;
	-anonymous) ANON=1 ;;
	-matrix) CASES=$MATRIX_CASES AS_USER=1 ;;
	*) echo "usage: $0 [-quick] [-n N] [-duration D] [-warmup D] [-cases 'op:conns[@base] ...'] [-matrix] [-workdir DIR] [-as-user] [-anonymous]" >&2; exit 2 ;;
	esac
	shift
done

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SUFFIX="dc=example,dc=com"
ROOTDN="cn=admin,$SUFFIX"
ROOTPW=secret
PATH=$PATH:/usr/sbin:/sbin
for tool in slapd slapadd slaptest taskset go; do
	command -v $tool >/dev/null || { echo "compare.sh: $tool not found" >&2; exit 1; }
done
SCHEMA_DIR=/etc/ldap/schema
MODULE_DIR=/usr/lib/ldap
CPUS=$(nproc)
SRV_CPU=0 CLI_CPU=1
[ "$CPUS" -ge 2 ] || CLI_CPU=0

mkdir -p "$WORK/bin" "$WORK/results"
log() { echo "# $*" >&2; }
now() { date +%s.%N; }
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
	echo $((20000 + RANDOM % 20000)); }

# SWITCHBOARD_BIN and BENCH_BIN use prebuilt binaries instead of building.
SB=${SWITCHBOARD_BIN:-$WORK/bin/switchboard}
BENCH=${BENCH_BIN:-$WORK/bin/switchboard-bench}
if [ -z "${SWITCHBOARD_BIN:-}" ]; then
	log "building switchboard"
	(cd "$REPO" && go build -o "$SB" ./cmd/switchboard)
fi
if [ -z "${BENCH_BIN:-}" ]; then
	log "building switchboard-bench"
	(cd "$REPO" && go build -o "$BENCH" ./cmd/switchboard-bench)
fi

FULL=$WORK/gen-$N.ldif
DATA=$WORK/people-$N-deep2.ldif
if [ ! -s "$DATA" ]; then
	log "generating $N people"
	(cd "$REPO" && go run ./testdata/gen -n "$N" -deep 2 -suffix "$SUFFIX" >"$FULL")
	awk 'BEGIN { RS = ""; ORS = "\n\n" } /^dn: / && !/^dn: cn=[^\n]*,ou=groups,/' "$FULL" >"$DATA"
	rm -f "$FULL"
fi
ENTRIES=$(grep -c '^dn:' "$DATA")

# --- slapd ---
SLAPD_DIR=$WORK/slapd
rm -rf "$SLAPD_DIR"
mkdir -p "$SLAPD_DIR/db"
cat >"$SLAPD_DIR/slapd.conf" <<CONF
include         $SCHEMA_DIR/core.schema
include         $SCHEMA_DIR/cosine.schema
include         $SCHEMA_DIR/inetorgperson.schema
include         $REPO/testdata/differential/rfc2307bis-mozilla.schema
modulepath      $MODULE_DIR
moduleload      back_mdb
moduleload      sssvlv
pidfile         $SLAPD_DIR/slapd.pid
argsfile        $SLAPD_DIR/slapd.args
loglevel        0
threads         8
sizelimit       unlimited
tool-threads    2
database        mdb
suffix          "$SUFFIX"
rootdn          "$ROOTDN"
rootpw          $ROOTPW
directory       $SLAPD_DIR/db
maxsize         4294967296
index           objectClass eq
index           cn,sn,mail,uid eq,sub
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
overlay         sssvlv
CONF
slaptest -f "$SLAPD_DIR/slapd.conf" -u >/dev/null 2>&1 || { slaptest -f "$SLAPD_DIR/slapd.conf" -u; exit 1; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "slapadd -q $ENTRIES entries"
t0=$(now)
/usr/bin/time -f '%M' -o "$WORK/slapadd.rss" slapadd -q -f "$SLAPD_DIR/slapd.conf" -l "$DATA" >"$WORK/slapadd.log" 2>&1 ||
	{ cat "$WORK/slapadd.log"; exit 1; }
SLAPADD_S=$(echo "$(now) - $t0" | bc)
SLAPADD_RSS=$(tail -1 "$WORK/slapadd.rss")

SB_DIR=$WORK/switchboard
rm -rf "$SB_DIR" "$SB_DIR.importing"
# The same indexes as slapd's (Switchboard's defaults add approx, presence,
# ordering and givenName indexes); the group attributes keep their equality
# indexes for the memberOf overlay, which computes memberOf from them.
cat >"$WORK/switchboard.yaml" <<CONF
indexes:
  objectClass: [eq]
  uid: [eq, sub]
  cn: [eq, sub]
  sn: [eq, sub]
  mail: [eq, sub]
  member: [eq]
  uniqueMember: [eq]
  entryUUID: [eq]
access:
  rules:
    - to attrs=userPassword by self write by anonymous auth by * none
    - to * by * read
# slapd runs with "sizelimit unlimited" and no unchecked limit: the same
# for ordinary users here (Switchboard's defaults cap them at 500 entries,
# 25,000 unindexed candidates and a filter work budget).
limits:
  size: -1
  unindexed: -1
  filter_work: -1
  sort_candidates: -1
CONF
log "switchboard import $ENTRIES entries"
t0=$(now)
/usr/bin/time -f '%M' -o "$WORK/sbimport.rss" "$SB" import --config "$WORK/switchboard.yaml" --data "$SB_DIR" --suffix "$SUFFIX" --log.level warn "$DATA" >"$WORK/sbimport.log" 2>&1 ||
	{ cat "$WORK/sbimport.log"; exit 1; }
SBIMPORT_S=$(echo "$(now) - $t0" | bc)
SBIMPORT_RSS=$(tail -1 "$WORK/sbimport.rss")
# Both stores have sparse or preallocated files (mdb's maxsize map, Badger's
# value log): du -sb (apparent size) overstates them, so report the blocks
# in use (du -sB1) as well.
du_b() { du -sb "$1" | cut -f1; }
du_alloc() { du -sB1 "$1" | cut -f1; }
DU_SLAPD=$(du_alloc "$SLAPD_DIR/db") DU_SLAPD_APP=$(du_b "$SLAPD_DIR/db")
DU_SB=$(du_alloc "$SB_DIR") DU_SB_APP=$(du_b "$SB_DIR")

# --- servers ---
SLAPD_PORT=$(freeport)
SB_PORT=$(freeport)
while [ "$SB_PORT" = "$SLAPD_PORT" ]; do SB_PORT=$(freeport); done
taskset -c $SRV_CPU slapd -f "$SLAPD_DIR/slapd.conf" -h "ldap://127.0.0.1:$SLAPD_PORT/" -d 0 >"$WORK/slapd.log" 2>&1 &
SLAPD_PID=$!
SWITCHBOARD_ROOT_PASSWORD=$ROOTPW taskset -c $SRV_CPU "$SB" serve --config "$WORK/switchboard.yaml" --data "$SB_DIR" --listen "127.0.0.1:$SB_PORT" \
	--admin-listen "" --http-listen "" --suffix "$SUFFIX" --root-dn "$ROOTDN" --log.level warn >"$WORK/switchboard.log" 2>&1 &
SB_PID=$!
cleanup() {
	kill "$SLAPD_PID" "$SB_PID" 2>/dev/null || true
	wait "$SLAPD_PID" "$SB_PID" 2>/dev/null || true
}
trap cleanup EXIT
waitport() {
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "compare.sh: nothing listens on port $1" >&2
	return 1
}
waitport "$SLAPD_PORT" || { cat "$WORK/slapd.log"; exit 1; }
waitport "$SB_PORT" || { cat "$WORK/switchboard.log"; exit 1; }

BIND_DN=$ROOTDN BIND_PW=$ROOTPW
if [ "$AS_USER" = 1 ]; then
	# The generator gives every person the password "password".
	BIND_DN=$(grep -m1 '^dn: uid=' "$DATA" | cut -c5-) BIND_PW=password
	log "load client binds as $BIND_DN"
fi
if [ "$ANON" = 1 ]; then
	BIND_DN="" BIND_PW=""
	log "load client does not bind (anonymous)"
fi

alive() { kill -0 "$1" 2>/dev/null; }
basedn() {
	case "$1" in
	suffix) echo "$SUFFIX" ;;
	people) echo "ou=people,$SUFFIX" ;;
	deep) echo "ou=berlin,ou=engineering,ou=people,$SUFFIX" ;;
	*) echo "compare.sh: unknown base $1 (suffix, people, deep)" >&2; exit 2 ;;
	esac
}
runcase() { # server port pid op conns base
	local out=$WORK/results/$4-c$5-$6-$1.tsv
	if ! alive "$3"; then
		echo "$4	$5	0	0	0	0	0	0	server-dead	0	0	0	0" >"$out"
	else
		taskset -c $CLI_CPU "$BENCH" -addr "127.0.0.1:$2" -op "$4" -conns "$5" -duration "$DURATION" -warmup "$WARMUP" \
			-data "$DATA" -base "$(basedn "$6")" -bind-dn "$BIND_DN" -bind-pw "$BIND_PW" -server-pid "$3" -tsv >"$out" 2>"$out.err" ||
			echo "$4	$5	0	0	0	0	0	0	bench-failed:$(head -c 200 "$out.err" | tr '\t\n' '  ')	0	0	0	0" >"$out"
	fi
	cat "$out" >&2
}

# splitcase sets op, conns and base from op:conns[@base].
splitcase() {
	local c=$1 b=suffix
	case "$c" in *@*) b=${c##*@} c=${c%@*} ;; esac
	op=${c%%:*} conns=${c##*:} base=$b
}
for c in $CASES; do
	splitcase "$c"
	log "case $op c$conns @$base: slapd"
	runcase slapd "$SLAPD_PORT" "$SLAPD_PID" "$op" "$conns" "$base"
	log "case $op c$conns @$base: switchboard"
	runcase switchboard "$SB_PORT" "$SB_PID" "$op" "$conns" "$base"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

rss() { awk '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} END {printf "%.0f MiB (anon %.0f MiB)", r/1024, a/1024}' "/proc/$1/status" 2>/dev/null || echo "dead"; }
RSS_SLAPD=$(rss "$SLAPD_PID")
RSS_SB=$(rss "$SB_PID")
alive "$SB_PID" || SB_STATUS="switchboard DIED during the run; log: $WORK/switchboard.log"
alive "$SLAPD_PID" || SLAPD_STATUS="slapd DIED during the run; log: $WORK/slapd.log"

# --- report ---
echo "## Switchboard vs slapd, $ENTRIES entries ($N people), ${DURATION} per case"
echo
echo "Machine: $CPUS CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average before $LOAD_BEFORE, after $LOAD_AFTER."
echo "$(slapd -VV 2>&1 | grep -o 'slapd [0-9.]*' | head -1) (mdb) on CPU $SRV_CPU, Switchboard $("$SB" version 2>/dev/null | head -1) on CPU $SRV_CPU, client on CPU $CLI_CPU."
echo
echo "| case | slapd ops/s | slapd p50 / p99 ms | switchboard ops/s | switchboard p50 / p99 ms | ratio ops/s (sb/slapd) | ratio p99 (sb/slapd) | entries/op slapd / sb | server CPU µs/op slapd / sb | errors slapd / sb |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for c in $CASES; do
	splitcase "$c"
	paste "$WORK/results/$op-c$conns-$base-slapd.tsv" "$WORK/results/$op-c$conns-$base-switchboard.tsv" | awk -F'\t' -v base="$base" '
	function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
	function e(x, io) { s = x; if (io > 0) s = s " io:" io; return s }
	{ printf "| %s c%s @%s | %.0f | %.2f / %.2f | %.0f | %.2f / %.2f | %s | %s | %.2f / %.2f | %.0f / %.0f | %s / %s |\n",
		$1, $2, base, $4, $5/1000, $6/1000, $17, $18/1000, $19/1000, r($17, $4), r($19, $6), $8, $21, $11, $24, e($9, $10), e($22, $23) }'
done
echo
echo "| | slapd | switchboard | ratio |"
echo "|---|---|---|---|"
printf "| import %s entries, wall s | %.1f (slapadd -q) | %.1f (switchboard import) | %.2f |\n" "$ENTRIES" "$SLAPADD_S" "$SBIMPORT_S" "$(echo "$SBIMPORT_S / $SLAPADD_S" | bc -l)"
printf "| import peak RSS | %d MiB | %d MiB | |\n" $((SLAPADD_RSS / 1024)) $((SBIMPORT_RSS / 1024))
printf "| on disk after import, allocated (du -sB1) | %d MB | %d MB | %.2f |\n" $((DU_SLAPD / 1000000)) $((DU_SB / 1000000)) "$(echo "$DU_SB / $DU_SLAPD" | bc -l)"
printf "| on disk after import, apparent (du -sb) | %d MB | %d MB | |\n" $((DU_SLAPD_APP / 1000000)) $((DU_SB_APP / 1000000))
printf "| on disk after the run, allocated | %d MB | %d MB | |\n" $(($(du_alloc "$SLAPD_DIR/db") / 1000000)) $(($(du_alloc "$SB_DIR") / 1000000))
echo "| server RSS after the run | $RSS_SLAPD | $RSS_SB | |"
echo
echo "Errors are non-success result codes as code:count (sizeLimitExceeded is success for the size-limited"
echo "presence, thunderbird, outlook, onelevel and sortpage cases); io:N counts broken connections. Raw results: $WORK/results."
[ -z "${SB_STATUS:-}" ] || echo "**$SB_STATUS**"
[ -z "${SLAPD_STATUS:-}" ] || echo "**$SLAPD_STATUS**"
