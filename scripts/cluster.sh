#!/usr/bin/env bash
# A Temporal cluster without Docker, as the compose stack runs it: the
# server and its schema tool built at go.mod's version, fresh databases on
# the machine's PostgreSQL (persistence and SQL visibility, 4 history
# shards), namespace "default" with journeys' search attributes, then
# journeys in production mode as separate processes: one --role api and two
# --role worker, the ledger on PostgreSQL, the real vendor SDKs against fake
# vendor servers (deploy/fakevendors; billing to per-process outboxes).
#
#   scripts/cluster.sh up          # prints where everything is
#   scripts/cluster.sh down        # stops the processes (the databases stay)
#   scripts/cluster.sh kill NAME   # SIGKILLs one: temporal, api, worker-N, vendors
#   scripts/cluster.sh stop NAME   # stops one cleanly (SIGTERM)
#   scripts/cluster.sh start NAME  # starts it again and waits until it answers
#   scripts/cluster.sh build       # only builds the binaries
#
# JOURNEYS_CLUSTER_DIR (default .cluster) holds config, logs and pids, and
# the binaries unless JOURNEYS_CLUSTER_BIN names a directory to share them;
# PGHOST/PGPORT/PGUSER (default 127.0.0.1, 5432, postgres, trust auth)
# reach PostgreSQL; JOURNEYS_CLUSTER_PREFIX (default journeys_cluster) names
# the databases; JOURNEYS_CLUSTER_WORKERS (default 2) is how many workers;
# JOURNEYS_CLUSTER_PLAYBOOK (default playbooks/demo.yaml) is their playbook.
# docs/deploy.md describes it.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local

DIR=${JOURNEYS_CLUSTER_DIR:-.cluster}
BIN=${JOURNEYS_CLUSTER_BIN:-$DIR/bin}
PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
PREFIX=${JOURNEYS_CLUSTER_PREFIX:-journeys_cluster}
FRONTEND=${JOURNEYS_CLUSTER_FRONTEND:-127.0.0.1:17233}
API_ADDR=${JOURNEYS_CLUSTER_API:-127.0.0.1:18080}
WORKERS=${JOURNEYS_CLUSTER_WORKERS:-2}
PLAYBOOK=${JOURNEYS_CLUSTER_PLAYBOOK:-$PWD/playbooks/demo.yaml}
HOST=${API_ADDR%:*} PORT=${API_ADDR##*:}
VENDORS=$HOST:$((PORT + 10))
SERVER_VERSION=$(go list -m -f '{{.Version}}' go.temporal.io/server)
# The server records its services' membership ports (frontend + 106 at
# most) in a smallint column.
[ "${FRONTEND##*:}" -le 32600 ] || { echo "cluster: frontend port ${FRONTEND##*:} is above 32600: Temporal stores membership ports as smallint" >&2; exit 2; }
SCHEMA=$(go list -m -f '{{.Dir}}' go.temporal.io/server)/schema/postgresql/v12

build() {
  mkdir -p "$BIN"
  go build -o "$BIN/temporal-server" go.temporal.io/server/cmd/server
  go build -o "$BIN/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql
  go build -o "$BIN/journeys" ./worker
  go build -o "$BIN/clustersetup" ./deploy/clustersetup
  go build -o "$BIN/fakevendors" ./deploy/fakevendors
}

sqltool() { "$BIN/temporal-sql-tool" --plugin postgres12 --ep "$PGHOST" -p "$PGPORT" -u "$PGUSER" "$@" >>"$DIR/schema.log" 2>&1; }

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
JOURNEYS_LOOKUP_KEY=$(cat "$DIR/lookup.key")
JOURNEYS_PUBLIC_URL=http://$API_ADDR
JOURNEYS_OUTBOX_CHANNELS=billing
JOURNEYS_PLAYBOOK=$PLAYBOOK
SENDGRID_API_KEY=SG.cluster-fake-key
SENDGRID_FROM=journeys@example.com
SENDGRID_BASE_URL=http://$VENDORS
TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000
TWILIO_AUTH_TOKEN=clusterfaketwiliotoken0123456789
TWILIO_FROM_NUMBER=+15005550006
TWILIO_BASE_URL=http://$VENDORS
SLACK_BOT_TOKEN=xoxb-cluster-fake
SLACK_FALLBACK_CHANNEL=C0CSMTEAM
SLACK_API_URL=http://$VENDORS/api/
HUBSPOT_ACCESS_TOKEN=pat-cluster-fake
HUBSPOT_BASE_URL=http://$VENDORS
ENV
}

# journeys starts one journeys process of role $2 named $1, on HTTP $3.
journeys() {
  mkdir -p "$DIR/$1"
  start "$1" env $(journeys_env | xargs) JOURNEYS_DATA_DIR="$DIR/$1" JOURNEYS_HTTP_ADDR="$3" "$BIN/journeys" --role "$2"
  wait_http "http://$3/healthz"
}

names() { echo vendors temporal api; for i in $(seq 1 "$WORKERS"); do echo "worker-$i"; done; }

# launch starts the process called $1 and waits until it answers.
launch() {
  case $1 in
    vendors)
      start vendors "$BIN/fakevendors" --addr "$VENDORS" --log "$DIR/vendors.jsonl"
      wait_http "http://$VENDORS/healthz" ;;
    temporal)
      start temporal "$BIN/temporal-server" --config-file "$DIR/config/temporal.yaml" --allow-no-auth start
      "$BIN/clustersetup" --address "$FRONTEND" --namespace default ;;
    api) journeys api api "$API_ADDR" ;;
    worker-*) journeys "$1" worker "$HOST:$((PORT + ${1#worker-}))" ;;
    *) echo "cluster: no process called $1" >&2; return 2 ;;
  esac
}

# stop sends signal $2 to the process called $1 and waits until it is gone.
stop() {
  local pid
  [ -f "$DIR/$1.pid" ] || return 0
  pid=$(cat "$DIR/$1.pid")
  kill "-$2" "$pid" 2>/dev/null && for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  rm -f "$DIR/$1.pid"
}

up() {
  down 2>/dev/null || true
  build
  : >"$DIR/schema.log"
  schema "${PREFIX}_temporal" temporal
  schema "${PREFIX}_visibility" visibility
  psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -qc "DROP DATABASE IF EXISTS ${PREFIX}_ledger" -c "CREATE DATABASE ${PREFIX}_ledger" >/dev/null 2>&1
  write_config
  [ -s "$DIR/codec.keys" ] || go run ./starter codec-key --id c1 | tail -1 >"$DIR/codec.keys"
  [ -s "$DIR/link.keys" ] || echo "l1:$(head -c 32 /dev/urandom | base64)" >"$DIR/link.keys"
  [ -s "$DIR/lookup.key" ] || head -c 32 /dev/urandom | base64 >"$DIR/lookup.key"
  : >"$DIR/vendors.jsonl"
  for name in $(names); do launch "$name"; done
  cat <<WHERE
cluster is up (Temporal server $SERVER_VERSION on PostgreSQL $PGHOST:$PGPORT, databases ${PREFIX}_*)
  Temporal frontend  $FRONTEND  (namespace default)
  events API         http://$API_ADDR  (Authorization: Bearer cluster-events-token-0123456789)
  workers            $(names | grep worker | xargs)  (HTTP from $HOST:$((PORT + 1)))
  fake vendors       http://$VENDORS  (SendGrid, Twilio, Slack, HubSpot; deliveries in $DIR/vendors.jsonl)
  logs and pids      $DIR/*.log, $DIR/*.pid
WHERE
}

down() {
  local name
  # Clients first, the server and the fakes they call last.
  for name in $(names | tac); do stop "$name" TERM; done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  kill) stop "${2:?kill NAME}" KILL ;;
  stop) stop "${2:?stop NAME}" TERM ;;
  start) launch "${2:?start NAME}" ;;
  build) build ;;
  *) echo "usage: scripts/cluster.sh up|down|kill NAME|stop NAME|start NAME|build" >&2; exit 2 ;;
esac
