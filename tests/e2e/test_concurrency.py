"""32 clients at once: streaming and not, valid and invalid, some leaving mid-stream or before a non-streamed
reply. Every valid request gets the text it gets alone at temperature 0, every invalid one its 400, the server
stays up, every leaver is counted 499, and the slots and in-flight count return to 0 once the leavers are noticed.
On a server of its own, so that the counts are exact and its leavers cannot reach a later test."""

import concurrent.futures as cf
import json
import socket

from conftest import client_of, http, wait_for
from test_endpoints import parse_metrics

PROMPTS = [f"Write one sentence about the number {n}." for n in (3, 7, 12, 25, 40, 99)]
MAX_TOKENS = 20


def ask(client, prompt, stream):
    kw = dict(model="smollm2", messages=[{"role": "user", "content": prompt}], max_tokens=MAX_TOKENS, temperature=0)
    if not stream:
        return client.chat.completions.create(**kw).choices[0].message.content
    return "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(**kw, stream=True)
                   if c.choices)


def leave_mid_stream(client, prompt):
    stream = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": prompt}],
                                            max_tokens=300, temperature=0, stream=True,
                                            extra_body={"ignore_eos": True})
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.response.close()
    return "left"


def leave_before_reply(server, prompt):
    """A non-streamed request whose client leaves as soon as it has sent it, long before the reply. The server
    writes nothing until the reply is whole and watches the socket meanwhile; the client closes normally (a FIN,
    not a reset), so the request is still read and queued, and then found gone."""
    body = json.dumps({"model": "smollm2", "messages": [{"role": "user", "content": prompt}], "max_tokens": 300,
                       "ignore_eos": True}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=600) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    return "left"


def invalid(server, i):
    bodies = [{"messages": [{"role": "user", "content": "hi"}], "temperature": "warm"},
              {"messages": [{"role": "robot", "content": "hi"}]},
              {"messages": [{"role": "user", "content": "hi"}], "n": 4}]
    status, _, body = http("POST", server.url + "/v1/chat/completions", bodies[i % len(bodies)])
    return status, json.loads(body)["error"]["type"]


def test_32_concurrent_clients(own_server):
    server, client = own_server, client_of(own_server)
    alone = {p: ask(client, p, stream=False) for p in PROMPTS}
    jobs = []
    with cf.ThreadPoolExecutor(max_workers=32) as pool:
        for i in range(32):
            prompt = PROMPTS[i % len(PROMPTS)]
            if i % 8 == 5:
                jobs.append(("leave-stream", None, pool.submit(leave_mid_stream, client, prompt)))
            elif i % 16 == 6:
                jobs.append(("leave-plain", None, pool.submit(leave_before_reply, server, prompt)))
            elif i % 8 == 7:
                jobs.append(("invalid", None, pool.submit(invalid, server, i)))
            else:
                jobs.append(("valid", prompt, pool.submit(ask, client, prompt, i % 2 == 0)))
        results = [(kind, prompt, f.result()) for kind, prompt, f in jobs]

    for kind, prompt, got in results:
        if kind == "valid":
            assert got == alone[prompt], prompt
        elif kind == "invalid":
            assert got == (400, "invalid_request_error")
        else:
            assert got == "left"

    # A streaming leaver leaves after the first chunks, a non-streamed one right after sending. The server notices
    # each at its next write (streams) or look at the socket (non-streamed): all six end as 499, then no slot stays
    # busy and nothing is in flight.
    n_valid = sum(kind == "valid" for kind, _, _ in results)
    n_left = sum(kind.startswith("leave") for kind, _, _ in results)

    def settled():
        m, _ = parse_metrics(server.metrics())
        done = m.get('hotrod_requests_total{endpoint="chat",status="499"}') == n_left
        idle = m["hotrod_busy_slots"] == 0 and m["hotrod_requests_in_flight"] == 0 and m["hotrod_queue_depth"] == 0
        return done and idle and m

    m = wait_for("every leaver counted and the server idle", settled)
    assert m['hotrod_requests_total{endpoint="chat",status="200"}'] == len(alone) + n_valid
    assert ask(client, PROMPTS[0], stream=True) == alone[PROMPTS[0]]
