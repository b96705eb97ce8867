import json
import os
import urllib.request

BASE = os.environ["SLUICE_HTTP"]  # e.g. http://127.0.0.1:8082


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    with urllib.request.urlopen(request) as response:
        return json.load(response)


# Drop the next JoinGroup of group "payments": the consumer must retry it.
rule = call("POST", "/v1/faults", {
    "api": "JoinGroup",
    "group_id": "payments",
    "action": {"type": "drop"},
})
print("rule", rule["id"])

# ... run the consumer under test ...

print("fired", call("GET", f"/v1/faults/{rule['id']}")["fired"])
for r in call("GET", "/v1/requests?api=JoinGroup")["requests"]:
    print(r["api"], r["version"], r["client_id"], r["error"], r["latency_ms"])
call("DELETE", "/v1/faults")
