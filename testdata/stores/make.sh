#!/bin/sh
# make.sh BINARY: re-create the stores in this folder with a switchboard
# binary (the format the tests must keep opening). Needs ldap-utils, curl,
# tar. Writes single.tar.gz, multi.tar.gz and the expectations beside them:
#   single.export.ldif.gz  `switchboard export` of the single-supplier store
#   multi.export.ldif    the same of replica r1 of the multi-supplier pair
#   multi.digest         GET /replication/digest?store=1 of r1 once both converged
#   VERSION              the binary's `switchboard version` and format
# Ports 13389, 13391, 13392, 18391 and 18392 on 127.0.0.1 must be free.
set -eu
bin=$(readlink -f "$1")
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
cd "$work" # no ./config.yaml
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
export SWITCHBOARD_ROOT_PASSWORD=secret
root=cn=admin,dc=example,dc=com

waitldap() { # port
	i=0
	until ldapsearch -x -H "ldap://127.0.0.1:$1" -s base -b "" "(objectClass=*)" >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "server on $1 did not start" >&2; exit 1; }
		sleep 0.2
	done
}
modify() { # port, LDIF on stdin
	ldapmodify -x -H "ldap://127.0.0.1:$1" -D $root -w secret >/dev/null
}
stop() { # pid
	kill -TERM "$1"; wait "$1" || true
}

# Single supplier: the demo data, then one write of each kind, so the
# RFC 4533 changelog holds records.
mkdir "$work/single"
"$bin" serve --data "$work/single/data" --demo --listen 127.0.0.1:13389 --admin-listen "" \
	>"$work/single.log" 2>&1 &
p=$!; pids="$pids $p"
waitldap 13389
modify 13389 <<'L'
dn: cn=Format Probe,ou=People,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
cn: Format Probe
sn: Probe
uid: fprobe
mail: fprobe@example.com

dn: cn=Format Probe,ou=People,dc=example,dc=com
changetype: modify
replace: mail
mail: probe@example.com
-
add: telephoneNumber
telephoneNumber: +1 555 0100

dn: cn=Format Probe,ou=People,dc=example,dc=com
changetype: modrdn
newrdn: cn=Format Probe2
deleteoldrdn: 1

dn: cn=Format Probe2,ou=People,dc=example,dc=com
changetype: delete

dn: cn=Format Kept,ou=People,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
cn: Format Kept
sn: Kept
description: added after the demo data
L
stop $p
"$bin" export --data "$work/single/data" --suffix dc=example,dc=com | gzip -n >"$out/single.export.ldif.gz"
tar -C "$work/single" -czf "$out/single.tar.gz" data

# Multi-supplier: two replicas pulling from each other, writes on both.
for r in 1 2; do
	o=$((3 - r))
	printf %s secret >"$work/pw"
	cat >"$work/r$r.yaml" <<Y
listen: 127.0.0.1:1339$r
admin_listen: 127.0.0.1:1839$r
data: $work/multi$r/data
suffix: dc=example,dc=com
root_dn: $root
replication:
  replica_id: $r
  multi_supplier: true
  interval: 100ms
  maintenance_interval: 1s
  peers:
    - {name: r$o, url: "ldap://127.0.0.1:1339$o", bind_dn: "$root", password_file: $work/pw}
Y
done
"$bin" serve --config "$work/r1.yaml" >"$work/r1.log" 2>&1 &
p1=$!; pids="$pids $p1"
"$bin" serve --config "$work/r2.yaml" >"$work/r2.log" 2>&1 &
p2=$!; pids="$pids $p2"
waitldap 13391
waitldap 13392
modify 13391 <<'L'
dn: dc=example,dc=com
changetype: add
objectClass: dcObject
objectClass: organization
dc: example
o: Example Corp

dn: ou=People,dc=example,dc=com
changetype: add
objectClass: organizationalUnit
ou: People

dn: cn=Ann,ou=People,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
cn: Ann
sn: One
mail: ann@example.com
L
digest() { # port
	curl -sf -u "$root:secret" "http://127.0.0.1:$1/replication/digest" | tr -d ' \n'
}
converge() {
	i=0
	until [ "$(digest 18391)" = "$(digest 18392)" ] && ldapsearch -x -H ldap://127.0.0.1:13392 -D $root -w secret \
		-b "$1" -s base >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 150 ] || { echo "replicas did not converge" >&2; exit 1; }
		sleep 0.2
	done
}
converge "cn=Ann,ou=People,dc=example,dc=com"
modify 13392 <<'L'
dn: cn=Bob,ou=People,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
cn: Bob
sn: Two

dn: cn=Ann,ou=People,dc=example,dc=com
changetype: modify
add: telephoneNumber
telephoneNumber: +1 555 0101
L
modify 13391 <<'L'
dn: cn=Ann,ou=People,dc=example,dc=com
changetype: modify
replace: mail
mail: ann@example.org

dn: cn=Cy,ou=People,dc=example,dc=com
changetype: add
objectClass: inetOrgPerson
cn: Cy
sn: Three

dn: cn=Cy,ou=People,dc=example,dc=com
changetype: delete
L
sleep 1
converge "cn=Bob,ou=People,dc=example,dc=com"
sleep 2 # a maintenance pass writes the checkpoint
curl -sf -u "$root:secret" "http://127.0.0.1:18391/replication/digest?store=1" | tr -d ' \n' >"$out/multi.digest"
echo >>"$out/multi.digest"
stop $p1
stop $p2
pids=""
"$bin" export --config "$work/r1.yaml" >"$out/multi.export.ldif"
tar -C "$work" -czf "$out/multi.tar.gz" multi1/data multi2/data
{ "$bin" version; echo "store format 1 (directory/keys.go formatVersion)"; } >"$out/VERSION"
ls -l "$out"
