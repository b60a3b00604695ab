"""申请审核: a township officer returns an application with every point and sees the
applicant's corrected version arrive; a county officer approves after the public notice and
is refused before it; an officer of another township sees none of it. Each effect is checked
where it lands: the applicant's own view through the JSON API, and the officers' API."""

import datetime
import hashlib
import uuid

import pytest

from conftest import BASE, expect, look, no_raw_problem

CHINA = datetime.timezone(datetime.timedelta(hours=8))


def china_today():
    return datetime.datetime.now(CHINA).date().isoformat()


def resident_id(birth, seq):
    """A valid 18-character resident ID number (GB 11643 check digit)."""
    body = f"530123{birth.strftime('%Y%m%d')}{seq:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body, weights))
    return body + "10X98765432"[total % 11]


class Applicant:
    """An applicant of the mini-program, signed in through the stand-in WeChat."""

    def __init__(self, pw, name):
        self.ctx = pw.request.new_context(base_url=BASE)
        r = self.ctx.post("/v1/auth/wechat", data={"code": f"ok-{name}"})
        assert r.ok, f"WeChat sign-in: {r.status} {r.text()}"
        self.h = {"authorization": f"Bearer {r.json()['access_token']}"}

    def call(self, method, path, body=None, ok=True):
        r = self.ctx.fetch(path, method=method, headers=self.h, data=body)
        if ok:
            assert r.ok, f"{method} {path}: {r.status} {r.text()}"
        return r

    def material(self, code):
        """Uploads a small PDF for the checklist item and names it as a material."""
        data = f"%PDF-1.4\n% {code} {uuid.uuid4()}\n%%EOF\n".encode()
        digest = hashlib.sha256(data).hexdigest()
        r = self.call("POST", "/v1/uploads", {"sha256": digest, "size": len(data), "kind": "document",
                                                "file_name": f"{code}.pdf"})
        up = r.json()["id"]
        r = self.ctx.fetch(f"/v1/uploads/{up}", method="PATCH", data=data, headers={
            **self.h, "content-type": "application/offset+octet-stream", "upload-offset": "0",
            "tus-resumable": "1.0.0"})
        assert r.ok, f"upload {code}: {r.status} {r.text()}"
        return {"code": code, "sha256": digest, "file_name": f"{code}.pdf"}

    def close(self):
        self.ctx.dispose()


@pytest.fixture()
def applicant(pw):
    made = []

    def make(name):
        a = Applicant(pw, name)
        made.append(a)
        return a

    yield make
    for a in made:
        a.close()


def region_ids(api, names):
    regions = api.get("/v1/regions", limit=500).json()["items"]
    return {r["name"]: r["id"] for r in regions if r["name"] in names}


def every_application(api, status=None):
    params = {"limit": 200}
    if status:
        params["status"] = status
    r = api.get("/v1/applications", **params)
    assert r.ok, r.text()
    return r.json()["items"]


def form_body(program, village, address, materials):
    head = resident_id(datetime.date(1968, 3, 14), 402)
    return {
        "program_id": program["id"], "region_id": village,
        "form": {"address": address, "phone": "13812345678",
                 "members": [{"name": "王桂兰", "relation": "head", "id_number": head,
                              "birth_date": "1968-03-14", "gender": "female"}],
                 "items": [{"category": "farming", "amount_fen": 420000, "year": 2026},
                           {"category": "illness", "amount_fen": 1850000, "year": 2026}],
                 "situations": ["illness"]},
        "materials": materials,
    }


def test_a_township_officer_returns_with_every_point_and_sees_the_new_version(signed_in, api, applicant):
    officer_api = api("qingshan_officer")
    village = region_ids(officer_api, {"青山村"})["青山村"]
    programs = officer_api.get("/v1/programs").json()["items"]
    program = next(p for p in programs if p["code"] == "worker_hardship")

    # An applicant files a complete application from the mini-program.
    who = applicant(f"returned-{uuid.uuid4().hex[:8]}")
    codes = ["id_cards", "household_register", "income_proof", "diagnosis"]
    files = [who.material(c) for c in codes]
    body = form_body(program, village, "青山村五组 3 号", files)
    first = who.call("POST", "/v1/applications", body).json()
    app_id = first["id"]
    assert who.call("POST", f"/v1/applications/{app_id}/submit").json()["status"] == "grassroots_review"

    # The township officer finds it among those waiting for the grassroots review.
    page = signed_in("qingshan_officer")
    page.get_by_role("navigation", name="工作").get_by_role("link", name="申请审核").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name="申请审核")).to_be_visible()
    current = page.get_by_role("navigation", name="审核环节").locator('[aria-current="page"]')
    assert current.inner_text().startswith("待村级/乡镇审核")
    row = page.locator("table.apps tbody tr", has=page.locator(f'a[href="/applications/{app_id}"]'))
    expect(row).to_have_count(1)
    assert "王桂兰" in row.inner_text() and "530123********402" in row.inner_text()
    assert "5301231968" not in page.content(), "an ID number shown unmasked"
    look(page, "applications-grassroots")

    row.get_by_role("link", name="王桂兰").click()
    page.wait_for_url(f"{BASE}/applications/{app_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("王桂兰户")
    assert page.locator(".head .tag").inner_text() == "待村级/乡镇审核"
    # PDFs are opened as they are; the check finds nothing missing in a complete application.
    materials = page.locator(".materials li")
    expect(materials).to_have_count(4)
    href = materials.filter(has_text="医院诊断证明").get_by_role("link").first.get_attribute("href")
    assert page.request.get(href).headers["content-type"].startswith("application/pdf")
    assert "没有发现缺漏" in page.locator("section", has=page.locator("#h-gaps")).inner_text()
    look(page, "application-grassroots")

    # A point without its words is refused beside the point; what was typed stays.
    page.get_by_label("字段或材料").nth(0).select_option("materials.diagnosis")
    page.get_by_label("问题", exact=True).nth(0).select_option("unreadable")
    page.get_by_label("要补正的内容").nth(0).fill("诊断证明照片模糊，请重新上传清晰的扫描件。")
    page.get_by_label("字段或材料").nth(1).select_option("form.address")
    page.get_by_role("button", name="退回补正").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#point-2-error").inner_text().startswith("每项问题须写明要补正什么")
    assert page.get_by_label("要补正的内容").nth(0).input_value().startswith("诊断证明照片模糊")
    assert page.get_by_label("字段或材料").nth(1).input_value() == "form.address"
    no_raw_problem(page)
    assert who.call("GET", f"/v1/applications/{app_id}").json()["status"] == "grassroots_review"
    look(page, "application-return-refused")

    page.get_by_label("问题", exact=True).nth(1).select_option("inconsistent")
    page.get_by_label("要补正的内容").nth(1).fill("地址与户口簿不符，请按户口簿填写。")
    page.get_by_label("补正期限（工作日，1–30）").fill("8")
    page.get_by_role("button", name="退回补正").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{BASE}/applications/{app_id}?done=return"
    assert page.get_by_role("status").inner_text().startswith("已退回补正")
    assert page.locator(".head .tag").inner_text() == "已退回"
    points = page.locator("ol.points li")
    expect(points).to_have_count(2)
    assert "诊断证明" in points.nth(0).inner_text() and "地址" in points.nth(1).inner_text()
    assert page.get_by_role("button", name="退回补正").count() == 0, "a returned application offers decisions"
    look(page, "application-returned")

    # The applicant sees every point, with its field, and a deadline.
    mine = who.call("GET", f"/v1/applications/{app_id}").json()
    assert mine["status"] == "returned" and mine["correction_due_on"]
    assert [(d["field"], d["code"], d["message"]) for d in mine["deficiencies"]] == [
        ("materials.diagnosis", "unreadable", "诊断证明照片模糊，请重新上传清晰的扫描件。"),
        ("form.address", "inconsistent", "地址与户口簿不符，请按户口簿填写。"),
    ]
    # … corrects both in a new version and resubmits it.
    second = who.call("POST", f"/v1/applications/{app_id}/revise").json()
    assert second["previous_id"] == app_id and second["revision"] == 2
    fixed = [f for f in files if f["code"] != "diagnosis"] + [who.material("diagnosis")]
    who.call("PUT", f"/v1/applications/{second['id']}", form_body(program, village, "青山村五组 13 号", fixed))
    assert who.call("POST", f"/v1/applications/{second['id']}/submit").json()["status"] == "grassroots_review"

    # The officer's page of the returned one leads to the new version, which says what changed.
    page.goto(f"/applications/{app_id}")
    assert page.locator(".head .tag").inner_text() == "已补正重交"
    page.locator(".versions").get_by_role("link", name="第 2 版").click()
    page.wait_for_url(f"{BASE}/applications/{second['id']}")
    assert page.locator(".head .tag").inner_text() == "待村级/乡镇审核"
    changes = page.locator(".versions li[aria-current] .changes").inner_text()
    assert "地址：青山村五组 3 号 → 青山村五组 13 号" in changes
    assert "重新上传材料：医院诊断证明及医疗费票据" in changes
    assert page.locator("ol.points li").count() == 2, "the points of the return are not shown"
    trail = page.locator(".trail").inner_text()
    assert "退回补正" in trail and "开始补正（新版本）" in trail
    expect(page.get_by_role("button", name="退回补正")).to_be_visible()
    look(page, "application-second-version")
    page.goto("/applications")
    row = page.locator("table.apps tbody tr", has=page.locator(f'a[href="/applications/{second["id"]}"]'))
    expect(row).to_contain_text("第 2 版")


def test_a_county_officer_approves_after_the_notice_and_not_before(signed_in, api):
    county = api("county_officer")
    today = china_today()
    noticed = every_application(county, "in_notice")
    ended = [a for a in noticed if a["notice_ends_on"] < today]
    running = [a for a in noticed if a["notice_ends_on"] >= today]
    assert ended and running, f"the demo needs one notice over and one running: {noticed}"
    done, still = ended[0], running[0]

    page = signed_in("county_officer")
    page.goto("/applications")
    current = page.get_by_role("navigation", name="审核环节").locator('[aria-current="page"]')
    assert current.inner_text().startswith("县级审核"), "a county officer's list opens on county review"
    look(page, "applications-county")
    page.get_by_role("navigation", name="审核环节").get_by_role("link", name="公示中").click()
    page.wait_for_url("**/applications?stage=in_notice")
    page.wait_for_load_state("networkidle")
    expect(current).to_contain_text("公示中")
    rows = page.locator("table.apps tbody tr")
    expect(rows).to_have_count(len(noticed))
    # The longest waiting first: the one whose notice is over was posted first.
    assert rows.first.locator(f'a[href="/applications/{done["id"]}"]').count() == 1
    look(page, "applications-notice")

    page.goto(f"/applications/{done['id']}")
    box = page.locator(".notice-box").inner_text()
    assert f"至 {done['notice_ends_on']} 止" in box and "公示期已满" in box
    # Materials are pictures shown in place.
    img = page.locator(".materials img").first
    img.scroll_into_view_if_needed()
    expect(img).to_be_visible()
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    look(page, "application-notice-over")
    page.get_by_label("建档类别").select_option("relative")
    page.get_by_role("button", name="公示期满，批准并建档").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{BASE}/applications/{done['id']}?done=approve"
    assert page.locator(".head .tag").inner_text() == "已批准"
    assert "公示期满，批准并建档" in page.locator(".trail").inner_text()
    after = county.get(f"/v1/applications/{done['id']}").json()
    assert after["status"] == "approved" and after["case_file_id"], after
    facts = page.locator("section", has=page.locator("#h-facts")).inner_text()
    assert after["case_file_id"] in facts
    look(page, "application-approved")

    # Before the notice ends, approval is refused, in the page, naming the rule's day.
    page.goto(f"/applications/{still['id']}")
    assert "公示期未满" in page.locator(".notice-box").inner_text()
    page.get_by_role("button", name="公示期满，批准并建档").click()
    page.wait_for_load_state("networkidle")
    alert = page.get_by_role("alert").inner_text()
    assert f"公示期至 {still['notice_ends_on']} 结束" in alert, alert
    no_raw_problem(page)
    assert county.get(f"/v1/applications/{still['id']}").json()["status"] == "in_notice"
    look(page, "application-notice-running-refused")


def test_an_officer_of_another_township_sees_none_of_qingshan(signed_in, api):
    county = api("county_officer")
    ids = region_ids(county, {"青山村", "石桥村", "河口村", "柳树村"})
    qingshan = [a for a in every_application(county) if a["region_id"] in (ids["青山村"], ids["石桥村"])]
    hekou = [a for a in every_application(county) if a["region_id"] in (ids["河口村"], ids["柳树村"])]
    assert qingshan and hekou

    page = signed_in("hekou_officer")
    page.goto("/applications")
    seen = set()
    tabs = page.get_by_role("navigation", name="审核环节").get_by_role("link")
    hrefs = [tabs.nth(i).get_attribute("href") for i in range(tabs.count())]
    assert len(hrefs) == 6
    for href in hrefs:
        page.goto(href)
        for a in page.locator("table.apps tbody a").all():
            seen.add(a.get_attribute("href").rsplit("/", 1)[1])
    assert seen, "河口乡's officer sees none of 河口乡's own applications"
    assert not seen & {a["id"] for a in qingshan}, "青山镇's applications are listed in 河口乡"
    assert seen <= {a["id"] for a in hekou}
    # The region filter offers only 河口乡's places.
    options = page.get_by_label("地区").locator("option").all_inner_texts()
    assert any("河口村" in o for o in options) and not any("青山" in o for o in options), options
    page.goto("/applications?stage=grassroots_review")
    look(page, "applications-hekou")

    other = qingshan[0]
    r = page.request.get(f"/applications/{other['id']}")
    assert r.status == 404
    page.goto(f"/applications/{other['id']}")
    no_raw_problem(page)
    assert "户 ·" not in page.locator("h1").inner_text()
    look(page, "application-not-found")
    if other["materials"]:
        sha = other["materials"][0]["sha256"]
        assert page.request.get(f"/applications/{other['id']}/materials/{sha}").status == 404
    # Deciding from outside is refused the same way, with a valid form token of its own.
    page.goto("/applications")
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    status = page.evaluate(
        """async ([id, token]) => (await fetch(`/applications/${id}/decision`, {method: 'POST',
            headers: {'content-type': 'application/x-www-form-urlencoded'},
            body: `csrf=${token}&action=reject&reason=${encodeURIComponent('不在本辖区的测试')}`})).status""",
        [other["id"], token],
    )
    assert status == 404
    assert county.get(f"/v1/applications/{other['id']}").json()["status"] == other["status"]
