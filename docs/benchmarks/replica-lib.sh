# Shared by the restart benchmarks (sourced): one multi-supplier replica
# in $W, served on 127.0.0.1:25891 (LDAP), :25892 (admin), :25893 (web),
# root cn=admin,dc=example,dc=com with password "secret".
export SWITCHBOARD_ROOT_PASSWORD=secret
AUTH=cn=admin,dc=example,dc=com:secret
cat > $W/r1.yaml <<Y
replication:
  replica_id: 1
  multi_supplier: true
Y
# serve BIN LOG: starts BIN on $W/d in the background, its pid in $W/pid;
# GML=VALUE runs it with GOMEMLIMIT=VALUE (GML=off: no limit).
serve() {
  export GOMEMLIMIT=${GML:-}; [ -z "$GML" ] && unset GOMEMLIMIT
  $1 serve --config $W/r1.yaml --data $W/d --listen 127.0.0.1:25891 --admin-listen 127.0.0.1:25892 \
    --http-listen 127.0.0.1:25893 --log.level info > $W/$2.log 2>&1 &
  echo $! > $W/pid
}
# settled: the first resolution since the start is done.
settled() {
  curl -sf -m 5 -u $AUTH http://127.0.0.1:25892/replication 2>/dev/null | grep -q '"settled": *true'
}
