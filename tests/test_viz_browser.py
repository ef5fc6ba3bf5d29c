"""The live view in a real browser: `storagemarket viz` served on 127.0.0.1, Debian's chromium
driven headless by Playwright (`make browser` installs it, `make assets` caches Solara's files).

It checks the controls (the market design's among them), steps the model, opens a second tab (a
model of its own), changes a control and resets, plays and pauses, and leaves a screenshot and the
measured step times in out/test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "out" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# Quiet, offline chromium: no sync, updates or background calls to the outside.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 60
CARDS = {"sm-run": "Run", "sm-network": "Validator network", "sm-dnos": "DNOs: storage plans",
         "sm-auction": "Auction", "sm-money": "Welfare, platform account", "sm-blocks": "Latest blocks"}
FIGURES = ["network", "dnos", "auction", "money"]
CONTROLS = ["Coordination stage", "Real-time stage", "Seller concession rate", "Buyer concession rate",
            "Valley compensation (RMB/MWh)", "Service fee (RMB/MWh)", "Forecast error scale", "Number of DNOs",
            "Consensus engine", "Faulty validators", "Seed"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`storagemarket viz paper-4dn` on a free port; killed (with its group) whatever happens."""
    port = _free_port()
    log = tmp_path_factory.mktemp("viz") / "server.log"
    cli = Path(sys.executable).with_name("storagemarket")
    with open(log, "w") as out:
        proc = subprocess.Popen([str(cli), "viz", "paper-4dn", "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the viz server exited with {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the viz server did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1600, "height": 1300})
        page = context.new_page()
        failed: list[str] = []  # requests the server or the network could not answer
        page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(server)
        try:
            yield page, failed
        finally:
            context.close()


# Each figure is an <img> whose blob URL changes when the server sends a new picture.
_SOURCES = "() => [...document.querySelectorAll('img[class*=sm-figure-]')].map(img => img.src)"
# Stepped: the hour reads as expected and every figure shows a new picture (checked each frame).
_STEPPED = """([hour, before]) => {
    const now = [...document.querySelectorAll('img[class*=sm-figure-]')].map(img => img.src);
    return document.querySelector('.sm-hour')?.textContent === hour && now.length === before.length
        && now.every((src, i) => src !== before[i]);
}"""


def _figures(page) -> dict[str, bytes]:
    return {name: page.locator(f".sm-figure-{name}").screenshot() for name in FIGURES}


def test_the_live_view_steps_resets_and_shows_the_model(page):
    page, failed = page
    for cls, title in CARDS.items():
        expect(page.locator(f".{cls}")).to_contain_text(title, timeout=60_000)
    for name in FIGURES:
        expect(page.locator(f".sm-figure-{name}")).to_be_visible()
    for label in ("Reset", "Step", "▶"):
        expect(page.get_by_role("button", name=label)).to_be_visible()
    for label in CONTROLS:
        expect(page.get_by_text(label, exact=False).first).to_be_visible()
    expect(page.locator(".sm-hour")).to_have_text("Ready: 24 hours to run")
    expect(page.get_by_role("button", name=re.compile("ledger file", re.I))).to_be_visible()
    expect(page.locator(".v-select", has_text="Real-time stage")).to_contain_text("concession_auction")
    expect(page.locator(".sm-run .sm-design").last).to_have_text(re.compile(r"^Real-time stage: concession_auction \("))
    expect(page.locator(".sm-stages")).to_contain_text("What each design stage does")

    before = _figures(page)
    step_seconds = []
    for hour in (1, 2, 3):
        sources = page.evaluate(_SOURCES)
        assert len(sources) == len(FIGURES)
        start = time.perf_counter()
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(_STEPPED, arg=[f"Day 1, hour {hour} (step {hour} of 24)", sources], polling="raf",
                               timeout=10_000)
        step_seconds.append(time.perf_counter() - start)
    expect(page.locator(".sm-block").first).to_contain_text("3")  # the newest block is the third hour's
    after = _figures(page)
    assert [n for n in FIGURES if before[n] == after[n]] == [], "every figure must redraw as the model steps"
    expect(page.locator(".sm-run")).to_contain_text("chain height 3")

    other = page.context.new_page()  # a second tab has a model of its own, not this one
    other.goto(page.url)
    expect(other.locator(".sm-hour")).to_have_text("Ready: 24 hours to run", timeout=60_000)
    other.close()
    expect(page.locator(".sm-hour")).to_have_text("Day 1, hour 3 (step 3 of 24)")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "viz.png", full_page=True)
    (ARTIFACTS / "viz-step-seconds.json").write_text(json.dumps(step_seconds) + "\n")

    dnos = page.locator(".v-input", has_text="Number of DNOs").get_by_role("slider")
    dnos.focus()
    dnos.press("ArrowRight")
    dnos.press("ArrowRight")
    page.get_by_role("button", name="Reset").click()
    expect(page.locator(".sm-hour")).to_have_text("Ready: 24 hours to run", timeout=20_000)
    expect(page.locator(".sm-run")).to_contain_text("6 DNOs")
    expect(page.locator(".sm-run")).to_contain_text("chain height 0")

    page.get_by_role("button", name="▶").click()  # play steps the model from a worker thread
    expect(page.locator(".sm-hour")).to_have_text(re.compile(r"Day 1, hour ([2-9]|1\d|2[0-4]) "), timeout=20_000)
    page.get_by_role("button", name="❚❚").click()
    expect(page.get_by_text("error in step")).to_have_count(0)  # Mesa's own report of a failed step
    expect(page.locator(".sm-run .v-alert")).to_have_count(0)

    cdn = [f for f in failed if "/_solara/cdn/" in f]
    assert cdn == [], f"assets missing from Solara's cache (run `make assets`): {cdn}"
