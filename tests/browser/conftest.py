"""Fixtures for the console's browser tests: one Chromium for the run, a fresh browser
context (cookies, viewport) per sign-in, the API beside it, axe-core and screenshots.

The server is started by scripts/browser-test, which passes its address in BANGFU_BASE."""

import json
import os
import pathlib
import re

import pytest
from playwright.sync_api import expect, sync_playwright

BASE = os.environ.get("BANGFU_BASE", "http://127.0.0.1:8080")
PASSWORD = "bangfu-demo-2026"
SHOTS = pathlib.Path(os.environ.get("BANGFU_SCREENSHOTS", "target/console-screenshots"))
AXE = pathlib.Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def pw():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(pw):
    b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    yield b
    b.close()


@pytest.fixture()
def contexts(browser):
    made = []

    def make(viewport=DESKTOP, **kw):
        c = browser.new_context(viewport=viewport, locale="zh-CN", base_url=BASE, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def sign_in(page, username, password=PASSWORD, go=True):
    if go:
        page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")


@pytest.fixture()
def signed_in(contexts):
    """A page signed in as `username`, at 今日工作."""

    def make(username, viewport=DESKTOP):
        page = contexts(viewport=viewport).new_page()
        sign_in(page, username)
        assert page.url.rstrip("/") == BASE, f"{username} did not land on 今日工作: {page.url}"
        return page

    return make


class Api:
    """The JSON API, signed in as one account."""

    def __init__(self, pw, username):
        self.ctx = pw.request.new_context(base_url=BASE)
        r = self.ctx.post("/v1/auth/login", data={"username": username, "password": PASSWORD})
        assert r.ok, r.text()
        self.token = r.json()["access_token"]
        self.user_id = r.json()["user_id"]

    def get(self, path, headers=None, **params):
        h = {"authorization": f"Bearer {self.token}", **(headers or {})}
        return self.ctx.get(path, params=params, headers=h)

    def close(self):
        self.ctx.dispose()


@pytest.fixture()
def api(pw):
    made = []

    def make(username):
        a = Api(pw, username)
        made.append(a)
        return a

    yield make
    for a in made:
        a.close()


def axe_check(page):
    """No serious or critical accessibility violation on the page as it stands."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}:\n" + "\n".join(bad)


def shoot(page, name):
    """Screenshots of the page at office-PC and phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, vp in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(vp)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(size)


def look(page, name):
    """Every page the tests visit is checked for accessibility and photographed."""
    axe_check(page)
    shoot(page, name)


def no_raw_problem(page):
    body = page.content()
    assert "application/problem+json" not in body and not re.search(r'^\s*\{"type"', page.inner_text("body"))


def csrf_of(page):
    return page.locator('input[name="csrf"]').first.get_attribute("value")


__all__ = ["expect", "sign_in", "look", "axe_check", "shoot", "csrf_of", "no_raw_problem", "json", "BASE"]
