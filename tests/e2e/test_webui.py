"""The chat page at / (issue 16, section 3) in a real browser: Debian's headless Chromium driven by selenium.
Load the page, see the model and device, send a message and watch the streamed answer with its timings, stop a
long one, switch thinking off, ask under a JSON schema and get JSON back, give the API key the server asks for.
A failing test leaves a screenshot in the build directory (webui-<test>.png)."""

import json
import shutil
import socket

import pytest

from conftest import BUILD_DIR, SMOLLM2, Server, http

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def page_server():
    s = Server(SMOLLM2, "--parallel", "2", "-c", "4096", "--alias", "smollm2").wait_ready()
    yield s
    assert s.stop() == 0, s.log_path.read_text()


def localhost_resolves():
    try:
        socket.getaddrinfo("localhost", None)
        return True
    except OSError:
        return False


@pytest.fixture
def browser(request):
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    if not localhost_resolves():
        # ChromeDriver reaches Chromium's DevTools at "localhost": a root without /etc/hosts (a bare debootstrap,
        # as ../shared/tools/fresh-machine-check builds) cannot run a browser session at all.
        pytest.skip("'localhost' does not resolve here (no /etc/hosts entry): ChromeDriver cannot reach Chromium")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield driver
    if getattr(request.node, "failed", False):
        driver.save_screenshot(str(BUILD_DIR / f"webui-{request.node.name}.png"))
    driver.quit()


def wait(driver, cond, timeout=120):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: cond(d))


def send(driver, text):
    box = driver.find_element(By.ID, "input")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()


def last_reply(driver):
    msgs = driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")
    return msgs[-1] if msgs else None


def record_requests(driver):
    """Wraps the page's fetch so the tests can read the bodies it sent."""
    driver.execute_script("""
        window.sent = [];
        const f = window.fetch;
        window.fetch = (url, init) => { if (init && init.body) window.sent.push(JSON.parse(init.body)); return f(url, init); };
    """)


def test_page_streams_a_reply_with_timings(page_server, browser):
    browser.get(page_server.url + "/")
    wait(browser, lambda d: d.find_element(By.ID, "model").text == "smollm2")
    assert browser.find_element(By.ID, "device").text.startswith("cpu")
    send(browser, "Name three colours.")
    wait(browser, lambda d: "tokens/s" in last_reply(d).find_element(By.CLASS_NAME, "stats").text)
    reply = last_reply(browser)
    assert reply.find_element(By.CLASS_NAME, "content").text.strip()
    assert "time to first token" in reply.find_element(By.CLASS_NAME, "stats").text
    # The conversation goes on: the second request carries both turns.
    record_requests(browser)
    send(browser, "And one more?")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg.assistant")) == 2 and
         "tokens/s" in last_reply(d).find_element(By.CLASS_NAME, "stats").text)
    roles = [m["role"] for m in browser.execute_script("return window.sent")[0]["messages"]]
    assert roles == ["user", "assistant", "user"]


def test_stop_ends_a_long_reply(page_server, browser):
    browser.get(page_server.url + "/")
    max_tokens = browser.find_element(By.ID, "max_tokens")
    max_tokens.clear()
    max_tokens.send_keys("3000")
    send(browser, "Write a very long story about a lighthouse keeper, chapter by chapter.")
    wait(browser, lambda d: len(last_reply(d).find_element(By.CLASS_NAME, "content").text) > 20)
    browser.find_element(By.ID, "stop").click()
    wait(browser, lambda d: "(stopped)" in last_reply(d).text, timeout=30)
    assert browser.find_element(By.ID, "send").is_enabled()
    assert not browser.find_element(By.ID, "stop").is_enabled()


def test_thinking_switch_and_schema(page_server, browser):
    browser.get(page_server.url + "/")
    record_requests(browser)
    browser.find_element(By.ID, "thinking").click()  # off
    schema = {"type": "object", "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]}},
              "required": ["colour"]}
    browser.find_element(By.ID, "schema").send_keys(json.dumps(schema))
    send(browser, "What colour is the sky? Answer in JSON.")
    wait(browser, lambda d: "tokens/s" in last_reply(d).find_element(By.CLASS_NAME, "stats").text or
         "tokens" in last_reply(d).find_element(By.CLASS_NAME, "stats").text)
    body = browser.execute_script("return window.sent")[0]
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["response_format"]["json_schema"]["schema"] == schema
    answer = json.loads(last_reply(browser).find_element(By.CLASS_NAME, "content").text)
    assert answer["colour"] in ("red", "green", "blue")


def test_api_key_is_asked_for_and_kept(browser):
    s = Server(SMOLLM2, "--api-key", "k3y", "-c", "2048").wait_ready()
    try:
        browser.get(s.url + "/")  # the page itself needs no key
        send(browser, "Hello")
        wait(browser, lambda d: "401" in last_reply(d).text)
        assert "API key" in last_reply(browser).find_element(By.CLASS_NAME, "error").text
        key = browser.find_element(By.ID, "apikey")
        key.send_keys("k3y")
        browser.find_element(By.ID, "system").click()  # leaves the field: the key is stored
        send(browser, "Hello")
        wait(browser, lambda d: "tokens" in last_reply(d).find_element(By.CLASS_NAME, "stats").text)
        assert browser.execute_script("return localStorage.getItem('hotrod.apikey')") == "k3y"
    finally:
        assert s.stop() == 0


def test_no_webui_leaves_only_the_api():
    s = Server(SMOLLM2, "--no-webui", "-c", "1024").wait_ready()
    try:
        status, _, body = http("GET", s.url + "/")
        assert status == 404 and b"no route" in body
        assert http("GET", s.url + "/health")[0] == 200
    finally:
        assert s.stop() == 0
