# Answer the next 3 Produce requests for topic "orders" with NOT_LEADER_OR_FOLLOWER.
curl -sf -X POST "$SLUICE_HTTP/v1/faults" \
  -d '{"api": "Produce", "topic": "orders", "count": 3,
       "action": {"type": "error", "error": "NOT_LEADER_OR_FOLLOWER"}}'
# Delay every Fetch by 500 ms (± 50 ms) for the next 10 seconds.
curl -sf -X POST "$SLUICE_HTTP/v1/faults" \
  -d '{"api": "Fetch", "keep": true, "for_ms": 10000,
       "action": {"type": "delay", "ms": 500, "jitter_ms": 50}}'
# The rules, with how often each matched and fired.
curl -sf "$SLUICE_HTTP/v1/faults"
# Take the broker down (connections closed and refused), then up again.
curl -sf -X POST "$SLUICE_HTTP/v1/broker/down"
curl -sf -X POST "$SLUICE_HTTP/v1/broker/up"
# What clients sent: the last 10 Produce requests.
curl -sf "$SLUICE_HTTP/v1/requests?api=Produce&limit=10"
# Reset between tests.
curl -sf -X DELETE "$SLUICE_HTTP/v1/faults"
curl -sf -X DELETE "$SLUICE_HTTP/v1/requests"
