#!/usr/bin/env python3
"""Tool calls side by side (issue 15): the same requests to hotrod serve and to llama.cpp's llama-server, same model,
same chat template, one server after the other; per tool_choice, how many replies carry a parsed tool call (in
message.tool_calls), how many of those have arguments that are JSON and validate against the function's schema
(Python jsonschema is the judge), and how many requests failed outright. Prints a Markdown table.

  usage: tools_vs_llama_server.py MODEL TEMPLATE --hotrod build/bin/hotrod --llama-server PATH [-n 20]
e.g. python3 bench/tools_vs_llama_server.py ~/.cache/hotrod/models/SmolLM2-135M-Instruct.Q4_1.gguf \
       ../shared/templates/Qwen-Qwen2.5-7B-Instruct.jinja --llama-server ~/.cache/hotrod/llama-ref/build/bin/llama-server
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import jsonschema

BOOKING = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "enum": ["Paris", "Rome", "Oslo"]},
        "nights": {"type": "integer", "minimum": 1, "maximum": 14},
        "guests": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
        "breakfast": {"type": "boolean"},
    },
    "required": ["city", "nights"],
    "additionalProperties": False,
}
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
           "additionalProperties": False}
SCHEMAS = {"book_hotel": BOOKING, "get_weather": WEATHER}


def tools(strict):
    out = []
    for name, desc in (("book_hotel", "Book a hotel room."), ("get_weather", "Current weather in a city.")):
        f = {"name": name, "description": desc, "parameters": SCHEMAS[name]}
        if strict:
            f["strict"] = True
        out.append({"type": "function", "function": f})
    return out


CASES = [
    ("auto", "auto", False),
    ("required", "required", False),
    ("named book_hotel", {"type": "function", "function": {"name": "book_hotel"}}, False),
    ("named book_hotel, strict", {"type": "function", "function": {"name": "book_hotel"}}, True),
]
ASK = [{"role": "system", "content": "You are a travel agent. Use the tools."},
       {"role": "user", "content": "Book me two nights in Rome for Ana and Luis, with breakfast."}]


def post(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")[:200]


def judge(port, n):
    rows = []
    for label, choice, strict in CASES:
        ok = parsed = valid = 0
        for seed in range(n):
            body = {"messages": ASK, "tools": tools(strict), "tool_choice": choice, "max_tokens": 128,
                    "temperature": 1.0, "seed": seed}
            status, reply = post(port, body)
            if status != 200:
                continue
            ok += 1
            calls = reply["choices"][0]["message"].get("tool_calls") or []
            if not calls:
                continue
            parsed += 1
            good = True
            for c in calls:
                try:
                    args = json.loads(c["function"]["arguments"])
                    jsonschema.validate(args, SCHEMAS[c["function"]["name"]])
                except Exception:  # bad JSON, unknown function, schema violation
                    good = False
            valid += good
        rows.append((label, ok, parsed, valid))
    return rows


def serve(cmd, port, log):
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return p
        except Exception:
            if p.poll() is not None:
                sys.exit(f"{cmd[0]} exited before it was ready (see {log.name})")
            time.sleep(0.5)
    p.kill()
    sys.exit(f"{cmd[0]} was not ready in 300 s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("template")
    ap.add_argument("--hotrod", default="build/bin/hotrod")
    ap.add_argument("--llama-server", required=True)
    ap.add_argument("-n", type=int, default=20, help="requests per tool_choice (seeds 0..n-1)")
    ap.add_argument("--log-dir", default="/tmp")
    a = ap.parse_args()
    servers = [
        ("hotrod", [a.hotrod, "serve", "-m", a.model, "--chat-template-file", a.template, "--port", "18091",
                    "--host", "127.0.0.1", "--parallel", "1", "--device", "cpu"], 18091),
        ("llama-server", [a.llama_server, "-m", a.model, "--jinja", "--chat-template-file", a.template, "--port",
                          "18092", "--host", "127.0.0.1", "--parallel", "1", "-c", "4096"], 18092),
    ]
    results = {}
    for name, cmd, port in servers:
        with open(os.path.join(a.log_dir, f"tools-{name}.log"), "w") as log:
            p = serve(cmd, port, log)
            try:
                results[name] = judge(port, a.n)
            finally:
                p.terminate()
                p.wait(timeout=30)
    print(f"model {os.path.basename(a.model)}, template {os.path.basename(a.template)}, {a.n} requests each "
          "(temperature 1, seeds 0..n-1)\n")
    print("| tool_choice | server | answered 200 | tool call parsed | arguments validate |")
    print("|---|---|---|---|---|")
    for i, (label, _, _) in enumerate(CASES):
        for name in results:
            _, ok, parsed, valid = results[name][i]
            print(f"| {label} | {name} | {ok}/{a.n} | {parsed}/{a.n} | {valid}/{a.n} |")


if __name__ == "__main__":
    main()
