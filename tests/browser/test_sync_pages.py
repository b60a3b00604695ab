"""同步管理 in the browser: conflicts settled by the village secretary and delivered as a
change, a refused change settled with a note by the township officer, every phone's sync
state; nothing of it for an auditor to change. Also the console's page for a wrong
address, and the team's work list naming who must act."""

from conftest import BASE, expect, look, no_raw_problem


def test_a_secretary_settles_a_conflict_and_the_api_shows_it(signed_in, api):
    page = signed_in("qingshan_secretary")
    page.goto("/sync/conflicts")
    expect(page.get_by_role("heading", name="同步管理")).to_be_visible()
    rows = page.locator("table.sync tbody tr")
    assert rows.count() >= 1, "the demo's conflicting visit notes are not listed"
    look(page, "sync-conflicts")
    secretary = api("qingshan_secretary")
    before = secretary.get("/v1/sync/conflicts", state="open").json()["items"]
    assert before, "the API lists no open conflict"
    # Keep the value that won on the first line.
    rows.first.get_by_role("button", name="保留现值").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("status")).to_contain_text("已处理该冲突")
    after = secretary.get("/v1/sync/conflicts", state="all").json()["items"]
    settled = [c for c in after if c["state"] != "open"]
    assert settled, "no conflict is settled after the page said so"
    assert len(secretary.get("/v1/sync/conflicts", state="open").json()["items"]) == len(before) - 1
    page.goto("/sync/conflicts?state=all")
    expect(page.locator("table.sync")).to_contain_text("保留了现值")
    no_raw_problem(page)


def test_an_officer_settles_a_refused_change_with_a_note(signed_in, api):
    page = signed_in("hekou_officer")
    page.get_by_role("navigation", name="工作").get_by_role("link", name="同步管理").click()
    page.get_by_role("link", name="被拒的修改").click()
    page.wait_for_url("**/sync/quarantine")
    card = page.locator(".card").first
    expect(card).to_contain_text("入户走访")
    look(page, "sync-quarantine")
    # Too short a note is refused beside the field, and what was typed is kept.
    card.get_by_label("处理情况").fill("好")
    card.get_by_role("button", name="标记为已处理").click()
    page.wait_for_load_state("networkidle")
    card = page.locator(".card").first
    expect(card.locator(".field-error")).to_contain_text("至少 4 个字")
    expect(card.get_by_label("处理情况")).to_have_value("好")
    no_raw_problem(page)
    note = "已电话联系责任人，升级应用后重新录入"
    card.get_by_label("处理情况").fill(note)
    card.get_by_role("button", name="标记为已处理").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("status")).to_contain_text("已记下处理情况")
    items = api("hekou_officer").get("/v1/sync/quarantine", state="settled").json()["items"]
    assert any(q["note"] == note for q in items), items
    # 青山镇 sees none of 河口乡's refused changes.
    qingshan = api("qingshan_officer").get("/v1/sync/quarantine", state="all").json()["items"]
    assert all(q["note"] != note for q in qingshan)


def test_devices_show_who_is_behind(signed_in):
    page = signed_in("hekou_officer")
    page.goto("/sync/devices")
    table = page.locator("table.sync")
    expect(table).to_be_visible()
    # 河口乡's phones last reached the server days ago, with work waiting.
    expect(table).to_contain_text("未同步")
    expect(table).to_contain_text("天")
    look(page, "sync-devices")


def test_an_auditor_reads_sync_issues_but_cannot_settle(signed_in):
    page = signed_in("auditor")
    for path in ("/sync/conflicts?state=all", "/sync/quarantine?state=all", "/sync/devices"):
        page.goto(path)
        expect(page.get_by_role("heading", name="同步管理")).to_be_visible()
        assert page.locator("main form[method=post]").count() == 0, f"{path} offers the auditor a form"


def test_a_wrong_address_is_a_page(signed_in):
    page = signed_in("qingshan_officer")
    r = page.goto("/no-such-page")
    assert r.status == 404
    expect(page.get_by_role("heading", name="找不到这个页面")).to_be_visible()
    page.get_by_role("link", name="回到今日工作").click()
    page.wait_for_url(BASE + "/")
    page.goto("/no-such-page")
    look(page, "not-found")
    # The API keeps answering problems at unknown addresses.
    r = page.request.get("/v1/no-such-thing")
    assert r.status == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_the_team_work_list_names_who_must_act(signed_in, api):
    page = signed_in("qingshan_officer")
    page.goto("/?view=team")
    helper = api("qingshan_helper").get("/v1/me").json()
    owners = page.locator("main table tbody td:nth-child(3)").all_inner_texts()
    assert helper["display_name"] in owners, owners
    assert "责任人" not in owners, owners
