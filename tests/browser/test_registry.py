"""户档 and 控辍保学: a township officer finds a household, reads it masked, shows its numbers
in full for a stated reason (and the audit log keeps the reason); a household's case file,
payments against the caps and visits; the dropout cases with the eight legal steps as a
timeline; and nobody of another township sees any of it."""

import datetime
import re

from conftest import BASE, csrf_of, expect, look, no_raw_problem


def households(api, **params):
    r = api.get("/v1/households", limit=500, **params)
    assert r.ok, r.text()
    return r.json()["items"]


def head_of(h):
    return next((m for m in h["members"] if m["relation"] == "head"), h["members"][0])


def audit_unmasks(auditor, household_id):
    r = auditor.get("/v1/audit", entity="household", entity_id=household_id, action="unmask", limit=500)
    assert r.ok, r.text()
    return r.json()["items"]


def search_by_name(page, name):
    page.goto("/households")
    page.get_by_label("成员姓名").fill(name)
    page.get_by_role("button", name="查找").click()
    page.wait_for_url(lambda u: "name=" in u)
    page.wait_for_load_state("networkidle")


def test_an_officer_unmasks_a_household_with_a_reason_and_the_audit_keeps_it(signed_in, api):
    officer = api("qingshan_officer")
    mine = households(officer)
    assert len(mine) > 20, "the demo's 青山镇 households"
    h = mine[7]
    head = head_of(h)
    assert "*" in head["id_number"], "the API masks the list"

    page = signed_in("qingshan_officer")
    page.get_by_role("navigation", name="工作").get_by_role("link", name="户档").click()
    page.wait_for_url(f"{BASE}/households")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name="户档", exact=True)).to_be_visible()
    assert page.locator("table.registry tbody tr").count() == 30, "a page of 30"
    assert page.get_by_role("link", name="下一页").count() == 1
    look(page, "households")

    search_by_name(page, head["name"])
    row = page.locator("table.registry tbody tr", has=page.locator(f'a[href="/households/{h["id"]}"]'))
    expect(row).to_have_count(1)
    # Masked exactly as the API masks it.
    assert head["id_number"] in row.inner_text()
    look(page, "households-search")
    row.get_by_role("link").click()
    page.wait_for_url(f"{BASE}/households/{h['id']}")
    page.wait_for_load_state("networkidle")
    members = page.locator("table.members")
    assert head["id_number"] in members.inner_text()
    assert "*" in members.inner_text()
    look(page, "household")

    reason = f"核对低保发放名单（{datetime.datetime.now().isoformat(timespec='seconds')}）"
    page.get_by_label("查看完整身份证号和电话的理由（必填，记入审计日志）").fill(reason)
    page.get_by_role("button", name="显示完整号码").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{BASE}/households/{h['id']}/unmask"
    expect(page.get_by_role("status")).to_contain_text(reason)
    shown = page.locator("table.members tbody tr", has=page.get_by_role("rowheader", name=head["name"], exact=True))
    full = shown.locator("td.id-number").first.inner_text().strip()
    assert re.fullmatch(r"\d{17}[\dX]", full), full
    assert full[:6] == head["id_number"][:6] and full[-4:] == head["id_number"][-4:]
    assert "*" not in page.locator("table.members").inner_text()
    look(page, "household-unmasked")

    # The audit log (the JSON API, as the auditor) shows that read with its reason.
    auditor = api("auditor")
    entries = [e for e in audit_unmasks(auditor, h["id"]) if e["reason"] == reason]
    assert len(entries) == 1, audit_unmasks(auditor, h["id"])
    assert entries[0]["actor_id"] == officer.user_id
    assert set(entries[0]["changes"]["unmasked"]) == {"id_number", "phone"}

    # The full number finds the household exactly; a reload shows it masked again.
    page.goto(f"/households/{h['id']}")
    assert "*" in page.locator("table.members").inner_text()
    page.goto("/households")
    page.get_by_label("身份证号（完整 18 位）").fill(full)
    page.get_by_role("button", name="查找").click()
    page.wait_for_load_state("networkidle")
    rows = page.locator("table.registry tbody tr")
    expect(rows).to_have_count(1)
    assert rows.get_by_role("link").get_attribute("href") == f"/households/{h['id']}"
    # The same number the API opens for an officer.
    opened = officer.get(f"/v1/households/{h['id']}", unmask="true", reason="核对浏览器测试所见号码").json()
    assert head_of(opened)["id_number"] == full


def test_unmasking_without_a_reason_is_refused_in_the_page(signed_in, api):
    h = households(api("qingshan_officer"))[11]
    auditor = api("auditor")
    before = len(audit_unmasks(auditor, h["id"]))
    page = signed_in("qingshan_officer")
    page.goto(f"/households/{h['id']}")
    page.get_by_role("button", name="显示完整号码").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#reason-error").inner_text() == "须说明理由（至少 4 个汉字、字母或数字），理由记入审计日志。"
    field = page.get_by_label("查看完整身份证号和电话的理由（必填，记入审计日志）")
    assert field.get_attribute("aria-invalid") == "true"
    assert "*" in page.locator("table.members").inner_text(), "nothing shown in full"
    no_raw_problem(page)
    look(page, "household-unmask-no-reason")
    # Spaces are no reason either; nothing was recorded as read.
    field.fill("   ")
    page.get_by_role("button", name="显示完整号码").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#reason-error").inner_text() == "须说明理由（至少 4 个汉字、字母或数字），理由记入审计日志。"
    assert len(audit_unmasks(auditor, h["id"])) == before

    # A short ID number is refused beside its field in the search.
    page.goto("/households?id_number=5301231")
    assert "18 位" in page.locator("#q-id-error").inner_text()
    no_raw_problem(page)
    look(page, "households-bad-id")


def test_a_household_page_shows_its_case_file_payments_against_caps_and_visits(signed_in, api):
    page = signed_in("county_officer")
    page.goto("/households?category=relative")
    rows = page.locator("table.registry tbody tr")
    assert rows.count() > 0, "the demo has relative-difficulty files"
    assert all("相对困难" in t for t in rows.all_inner_texts())
    look(page, "households-relative")
    # A household with payments this year.
    year = datetime.date.today().year
    for href in [a.get_attribute("href") for a in rows.get_by_role("link").all()]:
        page.goto(href)
        if page.locator("table.payments").count() > 0:
            break
    else:
        raise AssertionError("no relative-difficulty household with payments")
    expect(page.get_by_role("heading", name="建档立卡")).to_be_visible()
    assert page.locator(".classification .reasons li").count() >= 3, "the reasons of the classification"
    # Paid this year, per kind, is the sum of this year's payments of that kind.
    payments = page.locator("table.payments tbody tr").all_inner_texts()
    for kind in ("生活救助", "医疗救助"):
        fen = 0
        for line in payments:
            cells = line.split("\t")
            if cells[0].startswith(str(year)) and cells[1] == kind:
                fen += int(cells[2].replace(",", "").replace(" 元", "").replace(".", ""))
        cap_row = page.locator("table.caps tbody tr", has=page.get_by_role("rowheader", name=kind))
        paid = cap_row.locator("td").first.inner_text()
        assert paid == f"{fen // 100:,}.{fen % 100:02d} 元", (kind, paid, payments)
    living = page.locator("table.caps tbody tr", has=page.get_by_role("rowheader", name="生活救助"))
    assert re.search(r"[\d,]+\.\d\d 元", living.locator("td").nth(1).inner_text())
    expect(page.get_by_role("heading", name="回头看与回头帮")).to_be_visible()
    look(page, "household-case-file")

    # Visits, with their photos linking to the photo's page.
    page.goto("/households")
    hrefs = [a.get_attribute("href") for a in page.locator("table.registry tbody th a").all()]
    for href in hrefs:
        page.goto(href)
        if page.locator("ol.visits .thumbs a").count() > 0:
            break
    else:
        raise AssertionError("no household with visit photos on the first page")
    assert page.locator("ol.visits > li").count() > 0
    thumb = page.locator("ol.visits .thumbs a").first
    link = thumb.get_attribute("href")
    assert re.fullmatch(r"/photo-reviews/[0-9a-f-]{36}", link), link
    assert thumb.locator("img").evaluate("i => i.complete && i.naturalWidth > 0")
    assert "不愁吃" in page.inner_text("ol.visits"), "the basic-needs check of each visit"
    look(page, "household-visits")
    page.goto(link)
    assert page.locator(".review").count() == 1


def overdue_case(page):
    page.goto("/dropout")
    row = page.locator("table.dropout-cases tbody tr.overdue").first
    expect(row).to_be_visible()
    return row


def test_the_overdue_escalated_case_shows_the_overdue_step_and_escalation(signed_in, api):
    page = signed_in("qingshan_officer")
    page.get_by_role("navigation", name="工作").get_by_role("link", name="控辍保学").click()
    page.wait_for_url(f"{BASE}/dropout")
    page.wait_for_load_state("networkidle")
    lines = page.locator("table.dropout-cases tbody tr")
    assert lines.count() == 2, "two open cases in the demo (one overdue, one persuading)"
    row = overdue_case(page)
    assert "overdue" in (lines.first.get_attribute("class") or ""), "overdue first"
    assert "逾期" in row.inner_text() and "已升级至" in row.inner_text()
    look(page, "dropout-cases")
    row.get_by_role("link").click()
    page.wait_for_url(f"{BASE}/dropout/*")
    page.wait_for_load_state("networkidle")
    case_id = page.url.rsplit("/", 1)[1]

    steps = page.locator("ol.timeline > li")
    expect(steps).to_have_count(8)
    # The API's judgement of the same case: the steps done and the clocks missed.
    ev = api("qingshan_officer").get(f"/v1/dropout-cases/{case_id}/evaluation").json()
    done = [s["step"] for s in ev["steps"] if s["done"]]
    assert page.locator("ol.timeline > li.step-done").count() == len(done)
    missed = [d for d in ev["deadlines"] if d["standing"] == "overdue"]
    assert missed and any(d["escalation_level"] >= 1 for d in missed), ev["deadlines"]
    overdue = page.locator("ol.timeline > li.step-overdue")
    expect(overdue).to_have_count(len(missed))
    text = "\n".join(overdue.all_inner_texts())
    for d in missed:
        assert d["title"] in text, (d["title"], text)
    assert "逾期" in text and "已升级至" in text, text
    # The next step and what it lacks are named.
    assert ev["next_step"] is not None
    expect(page.locator(".next-step h2")).to_contain_text("下一步")
    assert page.locator("ol.timeline > li.step-next").count() == 1
    assert page.locator("ol.timeline ul.missing li").count() > 0
    # Evidence: the papers and the persuasion attempts.
    assert "限期复学通知书" in page.inner_text("ol.timeline")
    assert "入户劝返" in page.inner_text("ol.timeline")
    look(page, "dropout-case")

    page.goto("/dropout?show=closed")
    closed = page.locator("table.dropout-cases tbody tr")
    expect(closed).to_have_count(1)
    assert "已销号" in closed.inner_text()
    look(page, "dropout-closed")
    closed.get_by_role("link").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".head .tag").inner_text() == "已销号"
    look(page, "dropout-case-closed")


def test_another_township_sees_none_of_qingshan(signed_in, api, contexts):
    qingshan = households(api("qingshan_officer"))
    qingshan_ids = {h["id"] for h in qingshan}
    target = qingshan[3]["id"]
    owner = signed_in("qingshan_officer")
    owner.goto("/dropout?show=all")
    case_ids = [a.get_attribute("href").rsplit("/", 1)[1]
                for a in owner.locator("table.dropout-cases tbody th a").all()]
    assert len(case_ids) == 3

    for user in ("hekou_officer", "hekou_helper"):
        page = signed_in(user)
        theirs = households(api(user))
        assert theirs and not qingshan_ids & {h["id"] for h in theirs}
        page.goto("/households")
        links = {a.get_attribute("href") for a in page.locator("table.registry tbody th a").all()}
        assert links, f"{user} reads their own households"
        assert not links & {f"/households/{i}" for i in qingshan_ids}
        assert "青山" not in page.inner_text("table.registry")
        look(page, f"households-{user}")
        # By name: the 青山镇 household is not found.
        search_by_name(page, head_of(qingshan[3])["name"])
        assert page.locator(f'a[href="/households/{target}"]').count() == 0
        assert page.request.get(f"/households/{target}").status == 404
        page.goto(f"/households/{target}")
        no_raw_problem(page)
        assert head_of(qingshan[3])["name"] not in page.inner_text("main")
        look(page, f"household-not-found-{user}")

        page.goto("/dropout?show=all")
        assert page.locator("table.dropout-cases").count() == 0
        expect(page.locator(".empty h2")).to_be_visible()
        look(page, f"dropout-empty-{user}")
        for cid in case_ids:
            assert page.request.get(f"/dropout/{cid}").status == 404
        page.goto(f"/dropout/{case_ids[0]}")
        no_raw_problem(page)
        look(page, f"dropout-not-found-{user}")

        # Unmasking from outside: 404 for an officer (who may unmask in their own
        # township), refused outright for a helper (who may not unmask at all).
        page.goto("/households")
        token = csrf_of(page)
        status = page.evaluate(
            """async ([id, token]) => (await fetch(`/households/${id}/unmask`, {method: 'POST',
                headers: {'content-type': 'application/x-www-form-urlencoded'},
                body: `csrf=${token}&reason=${encodeURIComponent('核对')}`})).status""",
            [target, token],
        )
        assert status == (404 if user == "hekou_officer" else 403), (user, status)
    assert all(e["reason"] != "核对" for e in audit_unmasks(api("auditor"), target))
