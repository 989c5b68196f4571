#!/usr/bin/env bash
# Plays the marketplace backend for the demo: puts a lot on the card of stream "demo", posts a
# bid every few seconds from a rotating set of bidders, closes the lot as sold when its clock
# runs out, and starts the next lot. Usage: scripts/demo_backend.sh [BASE_URL] [TOKEN]
set -uo pipefail
BASE=${1:-http://127.0.0.1:8080}/api/v1/streams/demo
TOKEN=${2:-demo-api-token}
ITEM_IMG=${DEMO_IMAGE:-}

api() { # method path [json]
  curl -fsS -o /dev/null -X "$1" -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: application/json" ${3:+--data "$3"} "$BASE/$2" ||
    echo "demo backend: $1 $2 failed" >&2
}

TITLES=("Vintage Omega Seamaster 1968, serviced"
        "ポケモンカード 初版 リザードン PSA 9"
        "Signed rookie card — limited 1/25 ✨🔥"
        "Hand-thrown stoneware vase, ash glaze")
BIDDERS=(mia_k collector88 j.ramos 王小明 sneakerhead nora_b)
lot=0
while true; do
  lot=$((lot + 1))
  title=${TITLES[$(((lot - 1) % ${#TITLES[@]}))]}
  bid=20; count=0; leader=""
  ends=$(($(date +%s) + 30))
  image=""
  [ -n "$ITEM_IMG" ] && image=",\"image\":\"$ITEM_IMG\""
  lot_json() { # state
    printf '{"id":"lot-%d","title":"%s"%s,"currency":"USD","starting_bid":20,"current_bid":%d,"bid_count":%d,"leader":"%s","ends_at":%d,"state":"%s","labels":["Free shipping"]}' \
      "$lot" "$title" "$image" "$bid" "$count" "$leader" "$ends" "$1"
  }
  api PUT lot "$(lot_json live)"
  while [ "$(date +%s)" -lt "$ends" ]; do
    sleep $((2 + RANDOM % 3))
    [ "$(date +%s)" -ge "$ends" ] && break
    bid=$((bid + 5 * (1 + RANDOM % 4))); count=$((count + 1))
    leader=${BIDDERS[$((RANDOM % ${#BIDDERS[@]}))]}
    # A late bid extends the clock, as auction rules usually do.
    left=$((ends - $(date +%s))); [ "$left" -lt 10 ] && ends=$((ends + 10))
    api POST bids "{\"lot_id\":\"lot-$lot\",\"amount\":$bid,\"bidder\":\"$leader\",\"bid_count\":$count,\"ends_at\":$ends}"
  done
  if [ "$count" -gt 0 ]; then api PUT lot "$(lot_json sold)"; else api PUT lot "$(lot_json unsold)"; fi
  sleep 5
done
