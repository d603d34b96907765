"""The limits and access flags of `hotrod serve`, end to end: the address it binds by default, API keys from
--api-key (several) and --api-key-file as Bearer or x-api-key, /health public and /metrics protected unless
--metrics-public, CORS only for --cors-origin, and the header limit. The gate's timing cases (408s, the connection
bound) are unit tests (tests/unit/server/test_http_gate.cpp) and part of test_soak.py."""

import json
import socket

import openai
import pytest

from conftest import SMOLLM2, Server, http

CHAT = "/v1/chat/completions"
OK = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "temperature": 0}


def listening_addresses(port):
    """Local addresses of the sockets listening on port (/proc/net/tcp and tcp6, state 0A)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.append(addr)
    return found


def test_binds_loopback_unless_host_says(server):
    assert b"listening on http://127.0.0.1:" in server.log_path.read_bytes()
    assert listening_addresses(server.port) == ["0100007F"]  # 127.0.0.1, little-endian hex


def test_cors_off_by_default(server):
    status, headers, _ = http("GET", server.url + "/v1/models", headers={"Origin": "http://site.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    status, headers, _ = http("OPTIONS", server.url + CHAT, headers={"Origin": "http://site.example",
                                                                     "Access-Control-Request-Method": "POST"})
    assert status != 204 and "Access-Control-Allow-Origin" not in headers


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    keys = tmp_path_factory.mktemp("keys") / "keys.txt"
    keys.write_text("# one key a line\n\nfile-key\n")
    s = Server(SMOLLM2, "--parallel", "1", "-c", "1024", "--api-key", "key-a,key-b", "--api-key-file", str(keys),
               "--cors-origin", "http://ok.example", "--max-header-bytes", "2048").wait_ready()
    yield s
    assert s.stop() == 0, s.log_path.read_text()


def test_keys_from_the_list_and_the_file_as_bearer_or_x_api_key(guarded):
    for key in ("key-a", "key-b", "file-key"):
        c = openai.OpenAI(base_url=guarded.url + "/v1", api_key=key, max_retries=0)
        assert c.chat.completions.create(model="SmolLM2-135M-Instruct.Q4_1", **OK).choices
        assert http("GET", guarded.url + "/v1/models", headers={"x-api-key": key})[0] == 200
    for headers in ({}, {"x-api-key": "key-c"}, {"Authorization": "Bearer key-aa"}, {"Authorization": "key-a"}):
        status, _, body = http("POST", guarded.url + CHAT, OK, headers=headers)
        assert status == 401 and json.loads(body)["error"]["type"] == "authentication_error"


def test_health_public_metrics_protected(guarded):
    assert http("GET", guarded.url + "/health")[0] == 200
    assert http("GET", guarded.url + "/metrics")[0] == 401
    assert http("GET", guarded.url + "/metrics", headers={"Authorization": "Bearer key-b"})[0] == 200


def test_metrics_public():
    s = Server(SMOLLM2, "--parallel", "1", "-c", "1024", "--api-key", "k", "--metrics-public").wait_ready()
    try:
        assert http("GET", s.url + "/metrics")[0] == 200
        assert http("GET", s.url + "/v1/models")[0] == 401
    finally:
        assert s.stop() == 0


def test_cors_for_the_listed_origin(guarded):
    status, headers, _ = http("OPTIONS", guarded.url + CHAT, headers={
        "Origin": "http://ok.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert status == 204  # no key on a preflight
    assert headers["Access-Control-Allow-Origin"] == "http://ok.example"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    status, headers, _ = http("POST", guarded.url + CHAT, OK,
                              headers={"Origin": "http://ok.example", "x-api-key": "key-a"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://ok.example"
    status, headers, _ = http("POST", guarded.url + CHAT, OK,
                              headers={"Origin": "http://other.example", "x-api-key": "key-a"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


def test_431_headers_over_the_limit(guarded):
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=60) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 3000 + b"\r\n\r\n")
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 431 ")
    assert json.loads(reply.partition(b"\r\n\r\n")[2])["error"]["code"] == "headers_too_large"
