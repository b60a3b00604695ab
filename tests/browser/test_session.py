"""Signing in and out, the session's limits, and what every console answer is protected by."""

import os
import time

from conftest import BASE, csrf_of, expect, look, no_raw_problem, sign_in

ROLES = {
    # username: navigation entries the role must see, and must not see
    "qingshan_secretary": (["今日工作", "照片审核"], []),
    "qingshan_officer": (["今日工作", "照片审核"], []),
    "county_officer": (["今日工作", "照片审核"], []),
    "auditor": (["今日工作", "照片审核"], []),
    "qingshan_helper": (["今日工作"], ["照片审核"]),
    "admin": (["今日工作", "照片审核"], []),
}


def test_every_role_signs_in_to_its_work_list_and_out_again(signed_in):
    for username, (shown, hidden) in ROLES.items():
        page = signed_in(username)
        assert page.get_by_role("heading", name="今日工作").is_visible()
        nav = page.get_by_role("navigation", name="工作")
        for label in shown:
            assert nav.get_by_role("link", name=label).is_visible(), (username, label)
        for label in hidden:
            assert nav.get_by_role("link", name=label).count() == 0, (username, label)
        look(page, f"work-{username}")
        page.get_by_role("link", name="团队").click()
        expect(page.get_by_role("heading", name="今日工作（团队）")).to_be_visible()
        page.wait_for_load_state("networkidle")
        if username in ("qingshan_officer", "qingshan_secretary"):
            look(page, f"work-team-{username}")
        # Signing out ends the session: the old cookie opens nothing any more.
        cookie = [c for c in page.context.cookies() if c["name"] == "bangfu_console"][0]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        page.get_by_role("button", name="退出").click()
        page.wait_for_load_state("networkidle")
        assert "/login" in page.url
        page.context.add_cookies([cookie])
        page.goto("/")
        assert "/login" in page.url, f"{username}: a signed-out cookie still opened 今日工作"


def test_a_wrong_password_is_told_in_the_page_with_the_name_kept(contexts):
    page = contexts().new_page()
    page.goto("/login")
    look(page, "login")
    page.get_by_label("用户名").fill("qingshan_officer")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("alert").inner_text() == "用户名或密码错误。"
    assert page.get_by_label("用户名").input_value() == "qingshan_officer"
    no_raw_problem(page)
    look(page, "login-refused")


def test_a_page_asked_for_before_signing_in_opens_after_it(contexts):
    page = contexts().new_page()
    page.goto("/photo-reviews?status=approved")
    assert "/login" in page.url
    sign_in(page, "qingshan_secretary", go=False)
    assert page.url == f"{BASE}/photo-reviews?status=approved"


def test_an_idle_session_ends(signed_in):
    page = signed_in("qingshan_officer")
    idle = int(os.environ.get("BANGFU_IDLE_SECS", "20"))
    time.sleep(idle + 3)
    page.goto("/")
    assert "/login" in page.url, "the session outlived its idle timeout"


def test_every_answer_carries_the_security_headers(signed_in):
    page = signed_in("qingshan_secretary")
    for path in ("/", "/photo-reviews", "/login", "/photo-reviews/nonexistent"):
        r = page.request.get(path, max_redirects=0)
        h = r.headers
        assert "script-src 'self'" in h["content-security-policy"], path
        assert "frame-ancestors 'none'" in h["content-security-policy"], path
        assert h["x-content-type-options"] == "nosniff", path
        assert h["referrer-policy"] == "same-origin", path
        assert h["x-frame-options"] == "DENY", path
        assert h["cache-control"] == "no-store", path
        if r.status != 303:
            assert h["content-type"].startswith("text/html"), path
    css = page.locator('link[rel="stylesheet"]').get_attribute("href")
    r = page.request.get(css)
    assert r.ok and "immutable" in r.headers["cache-control"] and r.headers["etag"]


def test_an_inline_script_does_not_run(signed_in):
    page = signed_in("qingshan_secretary")

    def inject(route):
        r = route.fetch()
        body = r.text().replace("</main>", "<script>window.__ran = 1</script></main>")
        route.fulfill(response=r, body=body)

    page.route(f"{BASE}/", inject)
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto("/")
    assert page.locator("script:not([src])").count() == 1, "the injected script is in the page"
    assert page.evaluate("window.__ran") is None, "an inline script ran despite the CSP"
    assert any("Content Security Policy" in m for m in messages)


def test_a_post_without_the_form_token_is_refused(signed_in):
    page = signed_in("qingshan_secretary")
    token = csrf_of(page)
    for body in ("decision=approved", "decision=approved&csrf=" + "0" * len(token)):
        status = page.evaluate(
            """async (body) => (await fetch('/photo-reviews/x/decision', {method: 'POST',
                headers: {'content-type': 'application/x-www-form-urlencoded'}, body})).status""",
            body,
        )
        assert status == 403, body
    # Signing out needs the token too.
    status = page.evaluate(
        """async () => (await fetch('/logout', {method: 'POST',
            headers: {'content-type': 'application/x-www-form-urlencoded'}, body: ''})).status"""
    )
    assert status == 403
    page.goto("/")
    assert page.get_by_role("heading", name="今日工作").is_visible(), "the refused sign-out ended the session"
    # The page a browser shows for it.
    page.set_content(
        f"""<form method="post" action="{BASE}/logout"><button>go</button></form>"""
    )
    page.get_by_role("button", name="go").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name="无法确认请求来自本系统")).to_be_visible()
    no_raw_problem(page)
    look(page, "refused-form")
