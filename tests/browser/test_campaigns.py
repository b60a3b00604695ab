"""走访活动 in the browser: a township officer follows the visit campaign over the township,
its progress per village and helper, and marks a phase done; a page read before someone
else's change is refused when it posts; starting a campaign refuses a phase due before the
one before it beside its field, then starts once however often the form is sent; another
township reaches none of it by address."""

import re
from datetime import date, timedelta

from conftest import BASE, expect, look, no_raw_problem


def campaign_of(api, username):
    """The campaign over the account's township, as the API lists it."""
    items = api(username).get("/v1/campaigns").json()["items"]
    assert items, f"{username} sees no campaign"
    return items[-1]


def open_campaigns(page):
    page.get_by_role("navigation", name="工作").get_by_role("link", name="走访活动").click()
    page.wait_for_url("**/campaigns")
    expect(page.get_by_role("heading", name="走访活动", level=1)).to_be_visible()


def test_a_township_officer_marks_a_phase_done_and_sees_it(signed_in, api):
    officer = api("qingshan_officer")
    campaign = campaign_of(api, "qingshan_officer")
    assert campaign["phases"][0]["completed_at"] is not None
    assert campaign["phases"][1]["completed_at"] is None
    page = signed_in("qingshan_officer")
    open_campaigns(page)
    table = page.locator("table.campaigns")
    expect(table).to_contain_text("青山镇冬季大走访")
    expect(table).to_contain_text("大走访")
    expect(table).to_contain_text("入户走访")
    expect(table).to_contain_text("1 / 4")
    expect(table).not_to_contain_text("河口乡")
    look(page, "campaigns")
    table.get_by_role("link", name="青山镇冬季大走访").click()
    page.wait_for_url(f"**/campaigns/{campaign['id']}")
    main = page.locator("main")
    expect(page.get_by_role("heading", name="青山镇冬季大走访")).to_be_visible()
    # Progress per village (region names) and per helper (names), each with its words.
    villages = page.locator("#villages + table")
    expect(villages).to_contain_text("青山村")
    expect(villages).to_contain_text("石桥村")
    expect(villages).to_contain_text("%")
    helper = api("qingshan_helper").get("/v1/me").json()["display_name"]
    expect(page.locator("#helpers + table")).to_contain_text(helper)
    progress = officer.get(f"/v1/campaigns/{campaign['id']}/progress").json()
    first = progress["villages"][0]
    expect(villages).to_contain_text(f"{first['done']} / {first['total']}")
    look(page, "campaign")
    # The visiting phase is the current one: marked done from the page.
    page.get_by_role("button", name="标记“入户走访”已完成").click()
    page.wait_for_url(re.compile(rf"/campaigns/{campaign['id']}\?done=phase$"))
    expect(page.get_by_role("status")).to_contain_text("已标记该阶段完成")
    step = page.locator("ol.timeline > li").nth(1)
    expect(step).to_contain_text("标记完成")
    assert page.get_by_role("button", name="标记“入户走访”已完成").count() == 0
    after = officer.get(f"/v1/campaigns/{campaign['id']}").json()
    assert after["phases"][1]["completed_at"] is not None, after
    assert after["version"] == campaign["version"] + 1
    no_raw_problem(page)


def test_a_page_read_before_a_change_is_refused_in_the_page(contexts, api):
    from conftest import sign_in

    campaign = campaign_of(api, "hekou_officer")
    pages = []
    for _ in range(2):
        p = contexts().new_page()
        sign_in(p, "hekou_officer")
        p.goto(f"/campaigns/{campaign['id']}")
        pages.append(p)
    first, second = pages
    first.get_by_role("button", name="标记“入户走访”已完成").click()
    first.wait_for_url(re.compile(r"\?done=phase$"))
    # The second page still carries the version it read.
    second.get_by_role("button", name="标记“完善台账”已完成").click()
    second.wait_for_load_state("load")
    alert = second.get_by_role("alert")
    expect(alert).to_contain_text("他人已修改此内容")
    expect(alert).to_contain_text("刷新页面")
    no_raw_problem(second)
    look(second, "campaign-stale")
    after = api("hekou_officer").get(f"/v1/campaigns/{campaign['id']}").json()
    assert after["phases"][1]["completed_at"] is not None
    assert after["phases"][2]["completed_at"] is None, "the stale form was applied"


def test_starting_a_campaign_refuses_a_bad_date_beside_it_and_starts_once(signed_in, api):
    page = signed_in("qingshan_officer")
    open_campaigns(page)
    page.get_by_role("link", name="开始新活动").click()
    page.wait_for_url("**/campaigns/new")
    name = "石桥村春季回头看"
    page.get_by_label("活动名称").fill(name)
    # The standard four phases are offered with dates; the third is put before the second.
    expect(page.get_by_label("第 2 阶段名称")).to_have_value("入户走访")
    second_due = date.fromisoformat(page.get_by_label("第 2 阶段截止日期").input_value())
    bad = (second_due - timedelta(days=3)).isoformat()
    page.get_by_label("第 3 阶段截止日期").fill(bad)
    look(page, "campaign-new")
    page.get_by_role("button", name="开始活动").click()
    page.wait_for_load_state("load")
    error = page.locator("#p2-due-error")
    expect(error).to_contain_text("阶段截止日期须不早于活动开始日和上一阶段")
    expect(page.get_by_label("第 3 阶段截止日期")).to_have_attribute("aria-invalid", "true")
    # What was typed is kept.
    expect(page.get_by_label("活动名称")).to_have_value(name)
    expect(page.get_by_label("第 3 阶段截止日期")).to_have_value(bad)
    no_raw_problem(page)
    look(page, "campaign-new-refused")
    assert not [c for c in api("qingshan_officer").get("/v1/campaigns").json()["items"] if c["name"] == name]
    # Corrected, and sent twice (a double click): one campaign.
    page.get_by_label("第 3 阶段截止日期").fill((second_due + timedelta(days=30)).isoformat())
    sent = page.evaluate(
        """async () => {
            const body = new URLSearchParams(new FormData(document.querySelector('form.campaign-form')));
            const out = [];
            for (let i = 0; i < 2; i++) {
                const r = await fetch('/campaigns', {method: 'POST', body});
                out.push([r.status, r.url]);
            }
            return out;
        }"""
    )
    assert [s for s, _ in sent] == [200, 200], sent
    assert sent[0][1] == sent[1][1] and "/campaigns/" in sent[0][1] and sent[0][1].endswith("?done=started"), sent
    made = [c for c in api("qingshan_officer").get("/v1/campaigns").json()["items"] if c["name"] == name]
    assert len(made) == 1, made
    page.goto(sent[0][1])
    expect(page.get_by_role("status")).to_contain_text("活动已开始")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    page.goto("/campaigns")
    expect(page.locator("table.campaigns tbody tr").first).to_contain_text(name)


def test_a_dropout_campaign_shows_each_school_and_the_pupils_not_yet_seen(signed_in, api):
    page = signed_in("qingshan_officer")
    page.goto("/campaigns/new")
    name = "青山镇春季开学劝返核查"
    page.get_by_label("活动名称").fill(name)
    page.get_by_role("radio", name=re.compile("开学劝返核查")).check()
    start = date.fromisoformat(page.get_by_label("开始日期").input_value())
    page.get_by_label(re.compile("^开学日期")).fill((start + timedelta(days=10)).isoformat())
    page.get_by_role("button", name="开始活动").click()
    page.wait_for_url(re.compile(r"/campaigns/[0-9a-f-]+\?done=started$"))
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.locator(".head .tag")).to_have_text("开学劝返核查")
    cid = page.url.split("/campaigns/")[1].split("?")[0]
    progress = api("qingshan_officer").get(f"/v1/campaigns/{cid}/progress").json()
    assert progress["offices"], progress
    offices = page.locator("#offices ~ table.progress")
    expect(offices).to_contain_text("青山镇中心小学")
    total = progress["offices"][0]
    expect(offices).to_contain_text(f"{total['done']} / {total['total']}")
    expect(page.locator("main")).to_contain_text(f"尚未见到的学生：{len(progress['unchecked_children'])} 人")
    assert page.locator("#villages").count() == 0, "a dropout campaign shows visit progress"
    look(page, "campaign-dropout")


def test_another_township_reaches_neither_campaign_nor_accounts_by_address(signed_in, api):
    campaign = campaign_of(api, "qingshan_officer")
    helper = api("qingshan_helper").get("/v1/me").json()
    page = signed_in("hekou_officer")
    for path in (f"/campaigns/{campaign['id']}", f"/users/{helper['id']}"):
        r = page.goto(path)
        assert r.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.locator("body")).not_to_contain_text("青山镇冬季大走访")
        expect(page.locator("body")).not_to_contain_text(helper["username"])
        no_raw_problem(page)
    page.goto("/campaigns")
    expect(page.locator("table.campaigns")).not_to_contain_text("青山镇")
    page.goto("/users")
    expect(page.locator("table.users")).not_to_contain_text(helper["username"])
    assert page.url.startswith(BASE)
