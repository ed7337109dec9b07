#!/usr/bin/env bash
# Records the replay corpus: runs scripted customers through every stage on
# the embedded Temporal server with the demo playbook (a day lasts 10 s),
# then exports every run of each journey with `starter history export`.
# Between them the journeys hold every stage, the continue-as-new at each
# stage change (so most files come as <scenario>-1.json, -2.json, ...: one
# per run), STOP and START texts, a bounced address, a paid renewal, a
# suspension and its restore, a CSM alert acknowledged with `starter alert`
# and CSM alerts escalated for want of an answer.
#
#   scripts/record-histories.sh [OUT_DIR [PREFIX]]
#
# Until 1.0 the corpus is re-recorded from the code in the same commit as a
# change to the command sequence; see docs/VERSIONING.md. So with the
# default OUT_DIR, workflows/testdata/histories, and no PREFIX, the files
# are named by scenario (activated-1.json, alert-escalated-2.json, ...) and
# every old *.json there is removed before the new ones are written. With
# another OUT_DIR, or a PREFIX (from 1.0 on, to add recordings next to the
# frozen ones: PREFIX-activated-1.json, ...), only this script's own files
# from an earlier run are replaced.
#
# It takes about three minutes plus the build. It uses its own data
# directory and ports (RECORD_TEMPORAL_PORT, default 17233, and
# RECORD_HTTP_PORT, default 18080), so a dev worker may keep running, and
# stops its worker on exit. It fails, and writes nothing, when a scenario
# did not play out (such as an alert not raised in time).
set -euo pipefail
cd "$(dirname "$0")/.."
default_out=workflows/testdata/histories
out=${1:-$default_out}
prefix=${2:-}
mkdir -p "$out"
work=$(mktemp -d)

export TEMPORAL_ADDRESS=127.0.0.1:${RECORD_TEMPORAL_PORT:-17233}
export JOURNEYS_HTTP_ADDR=127.0.0.1:${RECORD_HTTP_PORT:-18080}
export JOURNEYS_DATA_DIR=$work/data
export JOURNEYS_UI_ADDR=off

worker=""
cleanup() {
  if [ -n "$worker" ]; then
    kill "$worker" 2>/dev/null || true
    wait "$worker" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "building worker and starter"
go build -o "$work/worker" ./worker
go build -o "$work/starter" ./starter
"$work/worker" --dev --playbook playbooks/demo.yaml >"$work/worker.log" 2>&1 &
worker=$!
for _ in $(seq 1 120); do
  grep -q "journeys is running" "$work/worker.log" && break
  kill -0 "$worker" 2>/dev/null || { cat "$work/worker.log"; exit 1; }
  sleep 0.5
done
grep -q "journeys is running" "$work/worker.log" || { echo "the worker did not start"; cat "$work/worker.log"; exit 1; }

s() { "$work/starter" "$@" >/dev/null; }
signup() { s signup --customer "$1" --name "Test $1" --email "$1@example.com" --phone +15550100000 --sms-consent --plan pro --seats 5 --mrr 49900 --tz America/New_York --csm U0CSM01; }
activate() { for m in first_project invited_teammate connected_integration; do s event --customer "$1" --type milestone_reached --data milestone=$m; done; }
now() { date +%s; }
rfc3339() { date -u -d "@$1" +%FT%TZ; }
# sleep_until waits until the Unix time $1; at once when it has passed.
sleep_until() {
  local left=$(($1 - $(now)))
  if [ "$left" -gt 0 ]; then sleep "$left"; fi
}
fail() { echo "record-histories: $*" >&2; exit 1; }
# status prints a customer's state as JSON (indented, one field a line).
status() { "$work/starter" status --json "$1"; }

# The demo playbook's clocks, in seconds (playbooks/demo.yaml): the day-7
# onboarding step alerts the CSM about a customer who has not activated, and
# an alert nobody acknowledges escalates sla_days (2) later.
alert_after=70
escalate_after=90

customers="rec-activated rec-never-activated rec-alert-escalated rec-alert-acknowledged rec-adoption rec-dunning rec-renewal rec-churned rec-reactivated"
echo "t=0 s: signing up nine customers"
for c in $customers; do
  signup "$c"
  if [ "$c" = rec-alert-acknowledged ]; then ack_signup=$(now); fi
done
for c in rec-activated rec-adoption rec-dunning rec-renewal rec-churned rec-reactivated; do activate "$c"; done

# Adoption: usage falls by half, seats fill up, a detractor answers NPS, a ticket.
s event --customer rec-adoption --type login
s event --customer rec-adoption --type usage_snapshot --data active_users=4 --data key_actions=120 --data seats_used=3
s event --customer rec-adoption --type usage_snapshot --data active_users=2 --data key_actions=60 --data seats_used=5
s event --customer rec-adoption --type nps_response --data score=3 --data comment="Reports are slow"
s event --customer rec-adoption --type support_ticket --data ticket_id=T-1 --data status=opened --data priority=urgent
# Dunning through suspension (100 s after the failure) and restore; the
# customer texts STOP first (the dunning texts do not go) and START at 45 s.
s event --customer rec-dunning --type consent_changed --data channel=sms --data status=opted_out --data source=twilio_inbound --data reason=STOP
failed_at=$(now)
s event --customer rec-dunning --type payment_failed --data invoice_id=in_1 --data amount=49900 \
  --data currency=USD --data reason=card_declined --data update_url=https://billing.example.com/update
# Renewal 70 s ahead, paid 5 s after the date, before the window closes
# (close_after_days: 1, 10 s after the date).
renews_at=$(($(now) + 70))
s event --customer rec-renewal --type renewal_scheduled --json "{\"renews_at\":\"$(rfc3339 "$renews_at")\",\"amount\":598800}"
# A save, then a cancellation for good: win-back, and completion 120 s later.
s event --customer rec-churned --type cancellation_requested --data reason=price --data comment="Too expensive"
s event --customer rec-churned --type cancellation_withdrawn
s event --customer rec-churned --type cancellation_requested --data reason=not_using
s event --customer rec-churned --type subscription_canceled
s event --customer rec-reactivated --type cancellation_requested --data reason=missing_feature
s event --customer rec-reactivated --type subscription_canceled
# A never-activated customer's address bounces and they have no consent to
# texts: the day-7 SMS and later emails find no channel (the CSM is told).
# Their alert, like rec-alert-escalated's, goes unanswered and escalates.
s event --customer rec-never-activated --type profile_updated --data sms_consent=false
s event --customer rec-never-activated --type consent_changed --data channel=email --data status=unusable --data source=sendgrid --data reason="bounce 5.1.1"

# t=0 of the timeline below is the end of the setup above.
t0=$(now)
sleep_until $((t0 + 45))
echo "t=45 s: a churned customer comes back; the dunning customer texts START"
s event --customer rec-reactivated --type reactivated
s event --customer rec-dunning --type consent_changed --data channel=sms --data status=opted_in --data source=twilio_inbound --data reason=START

# The CSM acknowledges rec-alert-acknowledged's not_activated alert once it
# is raised and well before it would escalate.
sleep_until $((ack_signup + alert_after))
key=""
while [ -z "$key" ]; do
  [ "$(now)" -lt $((ack_signup + escalate_after - 5)) ] || fail "rec-alert-acknowledged has no not_activated alert to acknowledge $((escalate_after - 5)) s after signup"
  key=$(status rec-alert-acknowledged | sed -n 's|^ *"key": "\(.*/onboarding\.escalate/alert\)",\{0,1\}$|\1|p' | head -n 1) || true
  [ -n "$key" ] || sleep 0.5
done
echo "t=$(($(now) - t0)) s: the CSM acknowledges rec-alert-acknowledged's alert"
answer=$("$work/starter" alert --customer rec-alert-acknowledged --key "$key" --action acknowledge --by U0CSM01 --json)
grep -q '"status": "acknowledged"' <<<"$answer" || fail "the alert of rec-alert-acknowledged was not acknowledged: $answer"

sleep_until $((renews_at + 5))
echo "t=$(($(now) - t0)) s: the renewal is paid"
s event --customer rec-renewal --type payment_succeeded --data invoice_id=in_r1 --data renewal=true
sleep_until $((failed_at + 115))
echo "t=$(($(now) - t0)) s: the suspended account pays"
s event --customer rec-dunning --type payment_succeeded --data invoice_id=in_1
sleep_until $((t0 + 150))

echo "t=$(($(now) - t0)) s: checking that the timed scenarios played out, then exporting"
# expect CUSTOMER LINE WHAT: the customer's state has LINE (a fixed string).
expect() { status "$1" | grep -qF -- "$2" || fail "$1: $3 (no $2 in its state)"; }
expect rec-never-activated '"escalated_at"' "the not_activated alert did not escalate"
expect rec-alert-escalated '"escalated_at"' "the not_activated alert did not escalate"
expect rec-alert-acknowledged '"status": "acknowledged"' "the alert is not acknowledged"
if status rec-alert-acknowledged | grep -qF '"escalated_at"'; then fail "rec-alert-acknowledged: the acknowledged alert escalated"; fi
expect rec-renewal '"renewals": 1' "the renewal was not paid in its window"
expect rec-dunning '"suspensions": 1' "the account was not suspended"
expect rec-dunning '"dunning_recovered": 1' "the suspended account was not restored"
expect rec-reactivated '"reactivations": 1' "the customer did not come back"

if [ -z "$prefix" ] && [ "$(cd "$out" && pwd -P)" = "$(cd "$default_out" && pwd -P)" ]; then
  echo "removing the old recordings in $out"
  rm -f "$out"/*.json
fi
for c in $customers; do
  file=$out/${prefix:+$prefix-}${c#rec-}
  rm -f "$file"-[0-9]*.json
  "$work/starter" history export --customer "$c" --all-runs --out "$file.json"
done
ls -l "$out"
