#!/usr/bin/env bash
# Local reference data for `make up`, so the kiosk flow works on a fresh machine: the test banks
# and the registry's fee collector as payment participants with caps, and exchange rates in both
# directions (CNY→HKD/MOP are what refunds need). Illustrative figures, not market rates.
# Idempotent: does nothing once the participants exist. The commands call the running payments
# service over gRPC (its address from BAYLINK_PAYMENTS_GRPC_HOST/_PORT, as deploy/services.sh starts
# it), so this runs after `deploy/services.sh start`; the events they cause leave through its outbox.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PAY=(.venv/bin/baylink payments)

if "${PAY[@]}" participants 2>/dev/null | grep -q HKBANK; then
    echo "payments: local participants already set up"
    exit 0
fi
"${PAY[@]}" participant-add HKBANK --name "Hong Kong Test Bank" --jurisdiction HK --currency HKD >/dev/null
"${PAY[@]}" participant-add MOBANK --name "Macau Test Bank" --jurisdiction MO --currency MOP >/dev/null
"${PAY[@]}" participant-add REGISTRY --name "Registry fees" --jurisdiction GD --currency CNY --kind FEE_COLLECTOR >/dev/null
"${PAY[@]}" cap HKBANK 100000000.00 HKD >/dev/null
"${PAY[@]}" cap MOBANK 100000000.00 MOP >/dev/null
"${PAY[@]}" cap REGISTRY 100000000.00 CNY >/dev/null
"${PAY[@]}" rate-set HKD CNY 0.9200 --spread-bps 50 >/dev/null
"${PAY[@]}" rate-set MOP CNY 0.8930 --spread-bps 50 >/dev/null
"${PAY[@]}" rate-set CNY HKD 1.0870 --spread-bps 50 >/dev/null
"${PAY[@]}" rate-set CNY MOP 1.1198 --spread-bps 50 >/dev/null
echo "payments: local participants HKBANK, MOBANK, REGISTRY and HKD/MOP⇄CNY rates set up"
