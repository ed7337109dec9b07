#!/usr/bin/env bash
# A Temporal cluster without Docker, as the compose stack runs it: the
# server and its schema tool built at go.mod's version, fresh databases on
# the machine's PostgreSQL (persistence and SQL visibility, 4 history
# shards), namespace "default" with journeys' search attributes, then
# journeys in production mode as separate processes: one --role api and two
# --role worker, the ledger on PostgreSQL, channels to per-process outboxes.
#
#   scripts/cluster.sh up     # prints where everything is
#   scripts/cluster.sh down   # stops the processes (the databases stay)
#
# JOURNEYS_CLUSTER_DIR (default .cluster) holds binaries, config, logs and
# pids; PGHOST/PGPORT/PGUSER (default 127.0.0.1, 5432, postgres, trust auth)
# reach PostgreSQL; JOURNEYS_CLUSTER_PREFIX (default journeys_cluster) names
# the databases. docs/deploy.md describes it.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

DIR=${JOURNEYS_CLUSTER_DIR:-.cluster}
PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
PREFIX=${JOURNEYS_CLUSTER_PREFIX:-journeys_cluster}
FRONTEND=${JOURNEYS_CLUSTER_FRONTEND:-127.0.0.1:17233}
API_ADDR=${JOURNEYS_CLUSTER_API:-127.0.0.1:18080}
SERVER_VERSION=$(go list -m -f '{{.Version}}' go.temporal.io/server)
SCHEMA=$(go list -m -f '{{.Dir}}' go.temporal.io/server)/schema/postgresql/v12

build() {
  mkdir -p "$DIR/bin"
  go build -o "$DIR/bin/temporal-server" go.temporal.io/server/cmd/server
  go build -o "$DIR/bin/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql
  go build -o "$DIR/bin/journeys" ./worker
}

sqltool() { "$DIR/bin/temporal-sql-tool" --plugin postgres12 --ep "$PGHOST" -p "$PGPORT" -u "$PGUSER" "$@" >>"$DIR/schema.log" 2>&1; }

# schema creates database $1 afresh and migrates it with the versioned
# schema in $2, as the compose stack's temporal-schema service does.
schema() {
  psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -qc "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1
  sqltool --db "$1" create
  sqltool --db "$1" setup-schema -v 0.0
  sqltool --db "$1" update-schema -d "$SCHEMA/$2/versioned"
}

write_config() {
  local port=${FRONTEND##*:}
  mkdir -p "$DIR/config"
  cat >"$DIR/config/temporal.yaml" <<YAML
log: {stdout: true, level: warn}
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
      sql: {pluginName: postgres12, databaseName: ${PREFIX}_temporal, connectAddr: "$PGHOST:$PGPORT", connectProtocol: tcp, user: $PGUSER, maxConns: 20, maxIdleConns: 20, maxConnLifetime: 1h}
    visibility:
      sql: {pluginName: postgres12, databaseName: ${PREFIX}_visibility, connectAddr: "$PGHOST:$PGPORT", connectProtocol: tcp, user: $PGUSER, maxConns: 10, maxIdleConns: 10, maxConnLifetime: 1h}
global:
  membership: {maxJoinDuration: 30s, broadcastAddress: 127.0.0.1}
services:
  frontend: {rpc: {grpcPort: $port, membershipPort: $((port + 100)), bindOnLocalHost: true, httpPort: $((port + 10))}}
  history: {rpc: {grpcPort: $((port + 1)), membershipPort: $((port + 101)), bindOnLocalHost: true}}
  matching: {rpc: {grpcPort: $((port + 2)), membershipPort: $((port + 102)), bindOnLocalHost: true}}
  worker: {rpc: {grpcPort: $((port + 6)), membershipPort: $((port + 106)), bindOnLocalHost: true}}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active: {enabled: true, initialFailoverVersion: 1, rpcName: frontend, rpcAddress: "$FRONTEND"}
dcRedirectionPolicy: {policy: noop}
dynamicConfigClient: {filepath: "$PWD/deploy/temporal-dynamicconfig.yaml", pollInterval: 10s}
YAML
}

# start runs "$@" in the background as $1's named process, logging to
# $DIR/<name>.log and remembering its pid.
start() {
  local name=$1; shift
  "$@" >"$DIR/$name.log" 2>&1 &
  echo $! >"$DIR/$name.pid"
}

wait_http() { for _ in $(seq 1 120); do curl -sf "$1" >/dev/null && return 0; sleep 0.5; done; echo "cluster: $1 did not answer" >&2; return 1; }

journeys_env() {
  cat <<ENV
TEMPORAL_ADDRESS=$FRONTEND
TEMPORAL_NAMESPACE=default
JOURNEYS_DATABASE_URL=postgres://$PGUSER@$PGHOST:$PGPORT/${PREFIX}_ledger?sslmode=disable
JOURNEYS_API_TOKENS=cluster-events-token-0123456789
JOURNEYS_OPERATOR_TOKENS=cluster-operator-token-0123456789
JOURNEYS_CODEC_KEYS=$(cat "$DIR/codec.keys")
JOURNEYS_LINK_KEYS=$(cat "$DIR/link.keys")
JOURNEYS_PUBLIC_URL=http://$API_ADDR
JOURNEYS_OUTBOX_CHANNELS=email,sms,alert,crm,billing
JOURNEYS_PLAYBOOK=$PWD/playbooks/demo.yaml
ENV
}

# journeys starts one journeys process of role $2 named $1, on HTTP $3.
journeys() {
  mkdir -p "$DIR/$1"
  start "$1" env $(journeys_env | xargs) JOURNEYS_DATA_DIR="$DIR/$1" JOURNEYS_HTTP_ADDR="$3" "$DIR/bin/journeys" --role "$2"
  wait_http "http://$3/healthz"
}

up() {
  down 2>/dev/null || true
  build
  : >"$DIR/schema.log"
  schema "${PREFIX}_temporal" temporal
  schema "${PREFIX}_visibility" visibility
  psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -qc "DROP DATABASE IF EXISTS ${PREFIX}_ledger" -c "CREATE DATABASE ${PREFIX}_ledger" >/dev/null 2>&1
  write_config
  start temporal "$DIR/bin/temporal-server" --config-file "$DIR/config/temporal.yaml" --allow-no-auth start
  [ -s "$DIR/codec.keys" ] || go run ./starter codec-key --id c1 | tail -1 >"$DIR/codec.keys"
  [ -s "$DIR/link.keys" ] || echo "l1:$(head -c 32 /dev/urandom | base64)" >"$DIR/link.keys"
  go run ./deploy/clustersetup --address "$FRONTEND" --namespace default
  journeys api api "$API_ADDR"
  journeys worker-1 worker "${API_ADDR%:*}:$(( ${API_ADDR##*:} + 1 ))"
  journeys worker-2 worker "${API_ADDR%:*}:$(( ${API_ADDR##*:} + 2 ))"
  cat <<WHERE
cluster is up (Temporal server $SERVER_VERSION on PostgreSQL $PGHOST:$PGPORT, databases ${PREFIX}_*)
  Temporal frontend  $FRONTEND  (namespace default)
  events API         http://$API_ADDR  (Authorization: Bearer cluster-events-token-0123456789)
  workers            worker-1, worker-2  (outboxes $DIR/worker-*/outbox.jsonl)
  logs and pids      $DIR/*.log, $DIR/*.pid
WHERE
}

down() {
  local pid
  for name in api worker-1 worker-2 temporal; do
    [ -f "$DIR/$name.pid" ] || continue
    pid=$(cat "$DIR/$name.pid")
    kill "$pid" 2>/dev/null && for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    rm -f "$DIR/$name.pid"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: scripts/cluster.sh up|down" >&2; exit 2 ;;
esac
