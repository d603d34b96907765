#!/usr/bin/env python3
"""Time to first token with the hybrid prefix cache (issue 14): a Qwen3.5 model behind `hotrod serve`, two
requests sharing a long system prompt (the second resumes from a state snapshot inside it), then a 10-turn chat
(each turn should cost only its new tokens). Prints each request's TTFT (streamed, first content or reasoning
chunk), prompt tokens and cached tokens.

    python3 bench/hybrid_prefix_ttft.py MODEL.gguf [--hotrod build/bin/hotrod] [--system-tokens 2000]
(MODEL: e.g. `hotrod synth --arch qwen35 --shape 0.8b --quant q4_k_m --quick-quant --chat-template
../shared/templates/Qwen3.5-4B.jinja --vocab ../shared/vocab/ggml-vocab-qwen35.gguf -o q35.gguf`.)
"""
import argparse
import json
import re
import subprocess
import sys
import time
import urllib.request


def stream(url, messages, max_tokens=8):
    body = json.dumps({"messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": True,
                       "stream_options": {"include_usage": True},
                       "chat_template_kwargs": {"enable_thinking": False}}).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", body, {"Content-Type": "application/json"})
    t0, ttft, text, usage = time.time(), None, "", None
    with urllib.request.urlopen(req, timeout=3600) as r:
        for line in r:
            line = line.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            for ch in chunk.get("choices", []):
                d = ch.get("delta", {})
                piece = (d.get("content") or "") + (d.get("reasoning_content") or "")
                if piece and ttft is None:
                    ttft = time.time() - t0
                text += d.get("content") or ""
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    return ttft if ttft is not None else time.time() - t0, usage["prompt_tokens"], cached, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--hotrod", default="build/bin/hotrod")
    ap.add_argument("--system-tokens", type=int, default=2000)
    ap.add_argument("--extra", default="", help="more serve arguments, e.g. '--device cuda'")
    a = ap.parse_args()
    proc = subprocess.Popen([a.hotrod, "serve", "-m", a.model, "--port", "0", "-c", "16384", *a.extra.split()],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    port = None
    for line in proc.stdout:
        m = re.search(rb"listening on http://[^ ]+:(\d+) ", line)
        if m:
            port = int(m.group(1))
            break
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if urllib.request.urlopen(url + "/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.2)
    try:
        system = " ".join(f"rule{i}: answer briefly." for i in range(a.system_tokens // 6))
        sys_msg = {"role": "system", "content": system}
        t1, p1, c1, _ = stream(url, [sys_msg, {"role": "user", "content": "What about Paris?"}])
        t2, p2, c2, _ = stream(url, [sys_msg, {"role": "user", "content": "And Rome?"}])
        print(f"shared system prompt: first TTFT {t1 * 1000:.0f} ms ({p1} prompt tokens, {c1} cached), second "
              f"{t2 * 1000:.0f} ms ({p2} prompt, {c2} cached): ratio {t2 / t1:.3f}")
        messages = [sys_msg]
        for turn in range(10):
            messages.append({"role": "user", "content": f"Turn {turn}: tell me one more thing."})
            t, p, c, text = stream(url, messages, max_tokens=24)
            messages.append({"role": "assistant", "content": text})
            print(f"chat turn {turn}: TTFT {t * 1000:.0f} ms, {p} prompt tokens, {c} cached, {p - c} computed")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    sys.exit(main())
