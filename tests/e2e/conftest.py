"""End-to-end fixtures: a real `hotrod serve` on the default model (SmolLM2-135M-Instruct), driven by the
official `openai` client. The binary comes from $HOTROD_BUILD_DIR/bin (default: <repo>/build), the model from
$HOTROD_MODELS (default: ~/.cache/hotrod/models). Without them the tests skip, unless HOTROD_REQUIRE_MODELS=1."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("HOTROD_BUILD_DIR", REPO / "build"))
HOTROD = BUILD_DIR / "bin" / "hotrod"
MODELS = Path(os.environ.get("HOTROD_MODELS", Path.home() / ".cache" / "hotrod" / "models"))
SMOLLM2 = MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _missing(what):
    if os.environ.get("HOTROD_REQUIRE_MODELS") == "1":
        pytest.fail(f"{what} is missing")
    pytest.skip(f"{what} is missing")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=60):
    """(status, headers, bytes) of one plain HTTP exchange; never raises on an HTTP error status."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Server:
    def __init__(self, model, *args):
        if not HOTROD.exists():
            _missing(f"{HOTROD} (build it, or set HOTROD_BUILD_DIR)")
        if not Path(model).exists():
            _missing(f"model {model} (scripts/fetch-models.sh)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = BUILD_DIR / f"e2e-serve-{self.port}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(HOTROD), "serve", "-m", str(model), "--port", str(self.port), *args],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hotrod serve exited with {self.proc.returncode}: {self.log_path.read_text()}")
            try:
                status, _, _ = http("GET", self.url + "/health", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("hotrod serve did not become ready")

    def stop(self):
        """SIGTERM; the server must exit 0 within its grace period."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        self.log.close()
        return self.proc.returncode

    def metrics(self):
        status, _, body = http("GET", self.url + "/metrics")
        assert status == 200
        return body.decode()


@pytest.fixture(scope="session")
def server():
    s = Server(SMOLLM2, "--parallel", "4", "-c", "8192", "--alias", "smollm2").wait_ready()
    yield s
    assert s.stop() == 0, s.log_path.read_text()


@pytest.fixture(scope="session")
def client(server):
    import openai
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=120)


def tokenize_with_cli(text):
    """Token ids of text by `hotrod tokenize` (control-token text parsed, BOS as the vocabulary asks)."""
    out = subprocess.run([str(HOTROD), "tokenize", "-m", str(SMOLLM2), "--ids", "-"], input=text.encode(),
                         capture_output=True, check=True).stdout.decode()
    return json.loads(out)


def render_with_jinja2(messages, model=SMOLLM2, template=None, **kwargs):
    """The prompt a chat template (the model's own, or the file template) renders, with Python jinja2 as Hugging
    Face runs it."""
    import gguf
    import jinja2
    import jinja2.sandbox

    if template is not None:
        source = Path(template).read_text()
    else:
        reader = gguf.GGUFReader(str(model))
        field = reader.fields["tokenizer.chat_template"]
        source = bytes(field.parts[field.data[0]]).decode()

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(source).render(messages=messages, add_generation_prompt=True, bos_token="",
                                          eos_token="", **kwargs)
