#!/usr/bin/env bash
# Records the replay corpus: runs scripted customers through every stage on
# the embedded Temporal server with the demo playbook (a day lasts 10 s),
# then exports every run of each journey with `starter history export`.
#
#   scripts/record-histories.sh [OUT_DIR [PREFIX]]
#
# OUT_DIR defaults to workflows/testdata/histories and PREFIX to
# rec-<today>, so a new recording adds files next to the older ones
# instead of replacing them: older histories are what prove that a change
# still replays the journeys already in flight.
#
# It takes about three minutes. It uses its own data directory and ports, so
# a dev worker may keep running. Record before a workflow change, then keep
# the files: they are what proves the change replays (docs/VERSIONING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-workflows/testdata/histories}
prefix=${2:-rec-$(date -u +%Y%m%d)}
mkdir -p "$out"
work=$(mktemp -d)

export TEMPORAL_ADDRESS=127.0.0.1:${RECORD_TEMPORAL_PORT:-17233}
export JOURNEYS_HTTP_ADDR=127.0.0.1:${RECORD_HTTP_PORT:-18080}
export JOURNEYS_DATA_DIR=$work/data
export JOURNEYS_UI_ADDR=off

echo "building worker and starter"
go build -o "$work/worker" ./worker
go build -o "$work/starter" ./starter
"$work/worker" --dev --playbook playbooks/demo.yaml >"$work/worker.log" 2>&1 &
worker=$!
cleanup() {
  kill "$worker" 2>/dev/null || true
  wait "$worker" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  grep -q "journeys is running" "$work/worker.log" && break
  kill -0 "$worker" 2>/dev/null || { cat "$work/worker.log"; exit 1; }
  sleep 0.5
done
grep -q "journeys is running" "$work/worker.log" || { echo "the worker did not start"; cat "$work/worker.log"; exit 1; }

s() { "$work/starter" "$@" >/dev/null; }
signup() { s signup --customer "$1" --name "Test $1" --email "$1@example.com" --phone +15550100000 --sms-consent --plan pro --seats 5 --mrr 49900 --tz America/New_York --csm U0CSM01; }
activate() { for m in first_project invited_teammate connected_integration; do s event --customer "$1" --type milestone_reached --data milestone=$m; done; }
at() { date -u -d "+$1 sec" +%FT%TZ; }

echo "t=0 s: signing up seven customers"
for c in rec-activated rec-never-activated rec-adoption rec-dunning rec-renewal rec-churned rec-reactivated; do signup $c; done
for c in rec-activated rec-adoption rec-dunning rec-renewal rec-churned rec-reactivated; do activate $c; done

# Adoption: usage falls by half, seats fill up, a detractor answers NPS, a ticket.
s event --customer rec-adoption --type login
s event --customer rec-adoption --type usage_snapshot --data active_users=4 --data key_actions=120 --data seats_used=3
s event --customer rec-adoption --type usage_snapshot --data active_users=2 --data key_actions=60 --data seats_used=5
s event --customer rec-adoption --type nps_response --data score=3 --data comment="Reports are slow"
s event --customer rec-adoption --type support_ticket --data ticket_id=T-1 --data status=opened --data priority=urgent
# Dunning through suspension (at 100 s) and restore; the customer texts
# STOP first (the dunning texts do not go) and START at 45 s.
s event --customer rec-dunning --type consent_changed --data channel=sms --data status=opted_out --data source=twilio_inbound --data reason=STOP
s event --customer rec-dunning --type payment_failed --data invoice_id=in_1 --data amount=49900 \
  --data currency=USD --data reason=card_declined --data update_url=https://billing.example.com/update
# Renewal 70 s ahead, paid after it.
s event --customer rec-renewal --type renewal_scheduled --json "{\"renews_at\":\"$(at 70)\",\"amount\":598800}"
# A save, then a cancellation for good: win-back, and completion at 120 s.
s event --customer rec-churned --type cancellation_requested --data reason=price --data comment="Too expensive"
s event --customer rec-churned --type cancellation_withdrawn
s event --customer rec-churned --type cancellation_requested --data reason=not_using
s event --customer rec-churned --type subscription_canceled
s event --customer rec-reactivated --type cancellation_requested --data reason=missing_feature
s event --customer rec-reactivated --type subscription_canceled
# A never-activated customer's address bounces and they have no consent to
# texts: the day-7 SMS and later emails find no channel (the CSM is told).
s event --customer rec-never-activated --type profile_updated --data sms_consent=false
s event --customer rec-never-activated --type consent_changed --data channel=email --data status=unusable --data source=sendgrid --data reason="bounce 5.1.1"

sleep 45
echo "t=45 s: a churned customer comes back; the dunning customer texts START"
s event --customer rec-reactivated --type reactivated
s event --customer rec-dunning --type consent_changed --data channel=sms --data status=opted_in --data source=twilio_inbound --data reason=START
sleep 40
echo "t=85 s: the renewal is paid"
s event --customer rec-renewal --type payment_succeeded --data invoice_id=in_r1 --data renewal=true
sleep 30
echo "t=115 s: the suspended account pays"
s event --customer rec-dunning --type payment_succeeded --data invoice_id=in_1
sleep 35
echo "t=150 s: exporting"
for c in rec-activated rec-never-activated rec-adoption rec-dunning rec-renewal rec-churned rec-reactivated; do
  "$work/starter" history export --customer "$c" --all-runs --out "$out/$prefix-${c#rec-}.json"
done
