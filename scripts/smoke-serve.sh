#!/usr/bin/env bash
# Smoke test of README command 1: runs `bash scripts/serve.sh` in the background, waits until /health is 200,
# asks one chat completion under a JSON schema, prints it, and stops the server (by its pid). Exit 0 when the
# answer is a 200 whose content parses as JSON. Used to check the first README command on a fresh machine:
#   ../shared/tools/fresh-machine-check 'bash scripts/smoke-serve.sh'
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port=${HOTROD_SMOKE_PORT:-8080}
# The check below needs python3, which a fresh machine gets from the same package list serve.sh installs.
source "$root/scripts/lib.sh"
install_apt_packages
log=$(mktemp)
bash "$root/scripts/serve.sh" --port "$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
python3 - "$port" "$pid" "$log" <<'PY'
import json, os, sys, time, urllib.error, urllib.request
port, pid, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
base = f"http://127.0.0.1:{port}"
deadline = time.time() + 3600  # serve.sh installs packages and builds first
while True:
    try:
        if urllib.request.urlopen(base + "/health", timeout=5).status == 200:
            break
    except (urllib.error.URLError, OSError):
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("serve.sh exited before the server was ready:\n" + open(log).read()[-4000:])
    if time.time() > deadline:
        sys.exit("server not ready in time:\n" + open(log).read()[-4000:])
    time.sleep(2)
body = {"messages": [{"role": "user", "content": "Classify: 3 of 41 tests fail."}], "max_tokens": 40,
        "temperature": 0, "response_format": {"type": "json_schema", "json_schema": {"name": "c", "schema": {
            "type": "object", "properties": {"phase": {"enum": ["planning", "testing", "debugging"]}},
            "required": ["phase"], "additionalProperties": False}}}}
req = urllib.request.Request(base + "/v1/chat/completions", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
reply = json.loads(urllib.request.urlopen(req, timeout=120).read())
content = reply["choices"][0]["message"]["content"]
print("reply:", content)
json.loads(content)
print(open(log).read()[-1500:])
PY
