"""Fixtures that start real servers on 127.0.0.1: the reference shop and, where installed, Redis."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(
    method: str, url: str, body: dict | None = None, headers: dict | None = None, timeout: float = 10
) -> tuple[int, dict, dict]:
    """(status, JSON body, headers) of one request; error statuses are answers, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), dict(exc.headers)


class Shop:
    """The reference shop running as a real server process."""

    def __init__(self, store: str, *args: str, workers: int = 1, port: int | None = None, fresh: bool = True):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loadtests.target",
                "--port",
                str(self.port),
                "--store",
                store,
                *(["--fresh"] if fresh else []),
                "--workers",
                str(workers),
                *args,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the shop exited: {self.process.stdout.read()}")
            try:
                if http("GET", f"{self.url}/health", timeout=1)[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the shop did not answer /health within 30 s")

    def stats(self) -> dict:
        return http("GET", f"{self.url}/admin/stats")[1]

    def stop(self) -> int:
        """SIGTERM, as an operator or a supervisor would stop it; its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def start_shop():
    """Start shops (stopped after the test): start_shop(store_url, *args, workers=N); port= and fresh=False start
    one again where another stopped, on its store as left."""
    shops: list[Shop] = []

    def start(store: str, *args: str, workers: int = 1, port: int | None = None, fresh: bool = True) -> Shop:
        shops.append(Shop(store, *args, workers=workers, port=port, fresh=fresh))
        return shops[-1]

    yield start
    for shop in shops:
        shop.stop()


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on 127.0.0.1 for the session; the tests that need it skip, saying why, without it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed (apt-get install redis-server; .ci/run does it)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    client.close()
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


def load_text(tmp_path: Path, text: str, *overrides: str):
    """A scenario from YAML text (written under tmp_path, so errors name a file), with overrides."""
    from simulator import load_scenario

    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path, overrides)


SHOTS = Path(__file__).resolve().parent.parent / "results" / "test-pages"
"""Screenshots of the pages opened in the browser: kept as test artifacts."""
LOCAL = ("file:", "data:", "blob:", "about:")
"""Where a page may fetch from: this machine's files and its own data."""


@pytest.fixture
def browser():
    """Headless Chromium (Debian's), driven by Playwright for one test: the sync API runs an event loop in
    this thread while it is open, so it is never kept past the test (asyncio.run would refuse to start)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium package)")
    sync = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    with sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def opened(browser, page_path: Path, shot: str) -> dict:
    """Open a page; what it logged, what it asked for, and how many of its charts and images drew."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_timeout(500)
    seen = page.evaluate(
        """() => ({
            charts: document.querySelectorAll('.plotly-graph-div').length,
            drawn: [...document.querySelectorAll('.plotly-graph-div')]
                .filter(d => d.querySelectorAll('.scatterlayer .trace path.js-line').length > 0).length,
            images: document.images.length,
            loaded: [...document.images].filter(i => i.complete && i.naturalWidth > 0).length,
        })"""
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
    page.close()
    return {**seen, "errors": errors, "away": [u for u in requests if not u.startswith(LOCAL)]}
