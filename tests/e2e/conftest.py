"""End-to-end fixtures: a real `hotrod serve` on the default model (SmolLM2-135M-Instruct), driven by the
official `openai` client. The binary comes from $HOTROD_BUILD_DIR/bin (default: <repo>/build), the model from
$HOTROD_MODELS (default: ~/.cache/hotrod/models). Without them the tests skip, unless HOTROD_REQUIRE_MODELS=1.

Written to pass on a loaded machine (CI shares its cores): servers take a port the kernel picks (--port 0, read
back from the log), tests that count or wait for quiet start their own server instead of the session one, and
time limits bound only liveness (a hung server), never speed."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("HOTROD_BUILD_DIR", REPO / "build"))
HOTROD = BUILD_DIR / "bin" / "hotrod"
MODELS = Path(os.environ.get("HOTROD_MODELS", Path.home() / ".cache" / "hotrod" / "models"))
# HOTROD_E2E_DEVICE=cuda runs every server of the suite on the GPU (scripts/test-gpu.sh); unset: the default (auto).
DEVICE_ARGS = ["--device", os.environ["HOTROD_E2E_DEVICE"]] if os.environ.get("HOTROD_E2E_DEVICE") else []
SMOLLM2 = MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: the load test of test_soak.py (HOTROD_SOAK_SECONDS, default 45, sets its "
                                       "length); part of the suite, `-m 'not soak'` leaves it out")
    config.addinivalue_line("markers", "slow: minutes rather than seconds (nginx in front of three replicas, "
                                       "test_nginx_replicas.py); part of the suite, `-m 'not slow'` leaves it out")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Marks a failed test on its item (item.failed), so fixtures can keep evidence (test_webui's screenshots)."""
    outcome = yield
    if outcome.get_result().failed:
        item.failed = True


def _missing(what):
    if os.environ.get("HOTROD_REQUIRE_MODELS") == "1":
        pytest.fail(f"{what} is missing")
    pytest.skip(f"{what} is missing")


def http(method, url, body=None, headers=None, timeout=600):
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


LISTENING = re.compile(rb"listening on http://[^ ]+:(\d+) ")


class Server:
    """`hotrod serve` on a port the kernel picks: a number chosen here and passed in could be taken by another
    process before the server binds it. Returns once the server listens (it may still be loading)."""

    def __init__(self, model, *args, timeout=120):
        if not HOTROD.exists():
            _missing(f"{HOTROD} (build it, or set HOTROD_BUILD_DIR)")
        if not Path(model).exists():
            _missing(f"model {model} (scripts/fetch-models.sh)")
        fd, log_path = tempfile.mkstemp(prefix="e2e-serve-", suffix=".log", dir=BUILD_DIR)
        self.log_path = Path(log_path)
        self.log = os.fdopen(fd, "wb")
        self.proc = subprocess.Popen([str(HOTROD), "serve", "-m", str(model), "--port", "0", *DEVICE_ARGS, *args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while not (m := LISTENING.search(self.log_path.read_bytes())):
            if self.proc.poll() is not None:
                raise RuntimeError(f"hotrod serve exited with {self.proc.returncode}: {self.log_path.read_text()}")
            if time.time() > deadline:
                self.proc.kill()
                raise RuntimeError(f"hotrod serve did not listen within {timeout} s: {self.log_path.read_text()}")
            time.sleep(0.02)
        self.port = int(m.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout=300):
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
    return client_of(server)


@pytest.fixture
def own_server():
    """A server of the test's own, as the session one is configured, for tests that count requests or wait for
    quiet: the session server may still be finishing an earlier test's requests (a client that left is only
    noticed at the next write)."""
    s = Server(SMOLLM2, "--parallel", "4", "-c", "8192", "--alias", "smollm2").wait_ready()
    yield s
    assert s.stop() == 0, s.log_path.read_text()


def client_of(server):
    import openai
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=600)


def wait_for(what, condition, timeout=300):
    """Polls condition() until it returns a true value, which it returns. The timeout only catches a hung
    server: nothing here depends on how fast the machine is."""
    deadline = time.time() + timeout
    while not (value := condition()):
        assert time.time() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)
    return value


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
