"""督导统计, 台账下载 and 审计日志: a county officer drills down the region tree and reads the
same figures the API gives; ledgers download from the page as real spreadsheets, only of
the caller's jurisdiction; an auditor reads a record's history and can change nothing."""

import csv
import io
import zipfile
from datetime import datetime, timedelta, timezone

from conftest import BASE, expect, look, no_raw_problem

CHINA = timezone(timedelta(hours=8))


def pct(ratio, base=1):
    """A rate as the page writes it: none when there was nothing to count."""
    return f"{ratio * 100:.1f}%" if base else "—"


def yuan(fen):
    return f"{fen // 100:,}.{fen % 100:02d} 元"


# Each figure's table, as the API's figures would fill it.
EXPECTED = {
    "visits": lambda m: [str(m["households_active"]), str(m["households_visited"]), pct(m["visit_completion"], m["households_active"])],
    "backlog": lambda m: [str(m["photos_pending"])],
    "retrieval": lambda m: [
        str(m["dropout_cases_open"]),
        str(m["dropout_cases_opened"]),
        str(m["dropout_cases_in_period"]),
        str(m["dropout_cases_closed"]),
        str(m["dropout_cases_returned"]),
        pct(m["retrieval_rate"], m["dropout_cases_in_period"]),
    ],
    "aid": lambda m: [
        str(m["disbursements"]),
        str(m["disbursements_on_time"]),
        yuan(m["disbursed_fen"]),
        pct(m["disbursement_timeliness"], m["disbursements"]),
    ],
    "deadlines": lambda m: [str(m["deadlines_due"]), str(m["deadlines_met_on_time"]), str(m["deadlines_missed"])],
    "teaching": lambda m: [
        str(m["home_teaching_months"]),
        str(m["home_teaching_compliant"]),
        pct(m["home_teaching_compliance"], m["home_teaching_months"]),
    ],
}


def table_of(page, figure):
    """A figure's table: region name → cells, and the total row."""
    section = page.locator(f'section[aria-labelledby="fig-{figure}"]')
    rows = {}
    for tr in section.locator("tbody tr").all():
        rows[tr.locator("th").inner_text().strip()] = [td.inner_text().strip() for td in tr.locator("td").all()]
    total = [td.inner_text().strip() for td in section.locator("tfoot td").all()]
    return rows, total


def at(page, region):
    """Waits for the page of `region` (links swap the page in place)."""
    expect(page.get_by_role("heading", level=1)).to_have_text(f"督导统计：{region}")
    page.wait_for_load_state("networkidle")


def assert_same_figures(page, officer):
    """The page's figures are the API's for the region and period the page shows."""
    region_id = page.locator('input[name="region"]').get_attribute("value")
    start = page.locator("#from").input_value()
    end = page.locator("#to").input_value()
    r = officer.get("/v1/supervision/metrics", region_id=region_id, **{"from": start, "to": end})
    assert r.ok, r.text()
    report = r.json()
    assert page.get_by_role("heading", level=1).inner_text() == f"督导统计：{report['name']}"
    for figure, cells in EXPECTED.items():
        rows, total = table_of(page, figure)
        want = {
            (f"{report['name']}（本级）" if c["region_id"] == region_id else c["name"]): cells(c)
            for c in report["children"]
        }
        assert rows == want, (figure, rows, want)
        assert total == cells(report["totals"]), (figure, total)
        # The chart says the same in words, for those who cannot see it.
        desc = page.locator(f"#fig-{figure}-desc").text_content()
        for name in want:
            assert name in desc
    headline = page.locator(".headlines li").first
    assert pct(report["totals"]["visit_completion"]) in headline.inner_text()
    return report


def test_a_county_officer_drills_down_to_a_village(signed_in, api):
    page = signed_in("county_officer")
    officer = api("county_officer")
    page.get_by_role("navigation", name="工作").get_by_role("link", name="督导统计").click()
    page.wait_for_url("**/supervision")
    page.wait_for_load_state("networkidle")
    county = assert_same_figures(page, officer)
    assert county["name"] == "示范县"
    assert county["totals"]["households_active"] > 0, "the demo county has households"
    assert page.locator("svg.chart").count() == len(EXPECTED)
    assert page.locator("svg.chart rect").count() > 0, "no bar drawn"
    look(page, "supervision-county")

    # One level down: the township, reached from its name in a table.
    page.locator('section[aria-labelledby="fig-visits"]').get_by_role("link", name="青山镇").click()
    at(page, "青山镇")
    township = assert_same_figures(page, officer)
    assert township["name"] == "青山镇"
    trail = page.get_by_role("navigation", name="督导区域")
    expect(trail.get_by_role("link", name="示范县")).to_be_visible()
    look(page, "supervision-township")

    # And to a village, with the way back up.
    page.locator('section[aria-labelledby="fig-visits"]').get_by_role("link", name="青山村").click()
    at(page, "青山村")
    village = assert_same_figures(page, officer)
    assert village["name"] == "青山村"
    assert [t.strip() for t in trail.locator("li").all_inner_texts()] == ["示范县", "青山镇", "青山村"]
    assert trail.locator('[aria-current="page"]').inner_text() == "青山村"
    assert village["totals"]["households_active"] > 0
    look(page, "supervision-village")

    # Another period keeps the region; its figures are the API's too.
    page.get_by_role("navigation", name="统计期间").get_by_role("link", name="本年").click()
    page.wait_for_url("**period=year*")
    at(page, "青山村")
    assert assert_same_figures(page, officer)["name"] == "青山村"
    assert page.locator("#from").input_value().endswith("-01-01")

    trail.get_by_role("link", name="青山镇").click()
    at(page, "青山镇")

    # A period the service refuses is a message on the page, with figures still shown.
    page.goto("/supervision?from=2026-05-01&to=2025-01-01")
    assert "期间" in page.get_by_role("alert").inner_text()
    no_raw_problem(page)
    assert page.locator("svg.chart").count() == len(EXPECTED)
    look(page, "supervision-bad-period")

    # A region outside the caller's jurisdiction is not found, as in the API.
    hekou = api("hekou_officer")
    mine = hekou.get("/v1/supervision/metrics", **{"from": "2026-01-01", "to": "2026-01-31"}).json()
    other = signed_in("qingshan_officer")
    r = other.request.get(f"/supervision?region={mine['region_id']}")
    assert r.status == 404


def download(page, click):
    with page.expect_download() as d:
        click()
    return d.value


def csv_rows(dl):
    with open(dl.path(), "rb") as f:
        text = f.read().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def headers_of(api, name):
    ledgers = api.get("/v1/ledgers").json()["items"]
    return [c["header"] for c in next(l for l in ledgers if l["name"] == name)["columns"]]


def test_ledgers_download_as_real_spreadsheets_of_the_callers_jurisdiction(signed_in, api):
    page = signed_in("county_officer")
    county = api("county_officer")
    page.get_by_role("navigation", name="工作").get_by_role("link", name="台账下载").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name="台账下载")).to_be_visible()
    look(page, "ledgers")

    # XLSX: a zip whose sheet starts with the ledger's header row.
    page.get_by_label("台账", exact=True).select_option(label="户档台账")
    page.get_by_label("XLSX（Excel、WPS）").check()
    dl = download(page, lambda: page.get_by_role("button", name="下载").click())
    assert dl.suggested_filename.endswith(".xlsx"), dl.suggested_filename
    with open(dl.path(), "rb") as f:
        data = f.read()
    assert data[:4] == b"PK\x03\x04"
    book = zipfile.ZipFile(io.BytesIO(data))
    sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    assert len(sheets) == 1, sheets
    sheet = book.read(sheets[0]).decode()
    row1 = sheet[sheet.index('<row r="1"'):sheet.index("</row>")]
    headers = headers_of(county, "households")
    for h in headers:
        assert f"<t>{h}</t>" in row1, h
    assert '<row r="2"' in sheet, "the county's household ledger has rows"

    # CSV with the expected header, the whole county.
    page.get_by_label("CSV（单个台账）").check()
    dl = download(page, lambda: page.get_by_role("button", name="下载").click())
    assert dl.suggested_filename.endswith(".csv")
    rows = csv_rows(dl)
    assert rows[0] == headers
    villages = {r[0] for r in rows[1:]}
    assert {"青山村", "河口村"} <= villages, villages
    # Masked as the API masks it: ID numbers with their middle hidden.
    id_col = headers.index("户主身份证号")
    assert all("*" in r[id_col] for r in rows[1:] if r[id_col]), rows[1]

    # A refused download keeps the form as filled and says why beside the field.
    page.get_by_label("开始日期（可不填）").fill("2026-12-01")
    page.get_by_label("结束日期（可不填）").fill("2026-11-01")
    page.get_by_role("button", name="下载").click()
    page.wait_for_load_state("networkidle")
    assert "/ledgers/download" in page.url
    assert page.locator("#to-error").inner_text()
    assert page.get_by_label("台账", exact=True).input_value() == "households"
    no_raw_problem(page)
    look(page, "ledgers-refused")
    page.get_by_label("开始日期（可不填）").fill("")
    page.get_by_label("结束日期（可不填）").fill("")

    # In full only with a reason, which the audit log keeps.
    page.get_by_label("显示完整身份证号和电话").check()
    page.get_by_role("button", name="下载").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#reason-error").inner_text()
    reason = "民政局核对身份信息"
    page.get_by_label("理由（勾选时必填，记入审计日志）").fill(reason)
    dl = download(page, lambda: page.get_by_role("button", name="下载").click())
    full = csv_rows(dl)
    assert any(r[id_col] and "*" not in r[id_col] for r in full[1:])
    auditor = api("auditor")
    unmasked = auditor.get("/v1/audit", entity="ledger", action="unmask", actor_id=county.user_id).json()["items"]
    assert unmasked and unmasked[0]["reason"] == reason

    # A township officer's download holds its township only.
    township = signed_in("qingshan_officer")
    township.goto("/ledgers")
    assert "河口乡" not in township.get_by_label("区域", exact=True).inner_text()
    township.get_by_label("台账", exact=True).select_option(label="户档台账")
    township.get_by_label("CSV（单个台账）").check()
    dl = download(township, lambda: township.get_by_role("button", name="下载").click())
    mine = csv_rows(dl)
    assert mine[0] == headers
    theirs = {r[0] for r in mine[1:]}
    assert theirs and theirs <= {"青山村", "石桥村"}, theirs
    assert len(mine) < len(rows)
    look(township, "ledgers-township")


def test_the_auditor_reads_a_history_and_can_change_nothing(signed_in, api):
    secretary = api("qingshan_secretary")
    auditor_api = api("auditor")
    # A photo the secretary reviewed, as the API's audit log has it.
    entries = auditor_api.get("/v1/audit", entity="photo", actor_id=secretary.user_id, limit=50).json()["items"]
    assert entries, "the demo's secretary reviewed 青山村's older photos"
    photo_id = entries[-1]["entity_id"]
    history = auditor_api.get("/v1/audit", entity="photo", entity_id=photo_id).json()["items"]

    page = signed_in("auditor")
    nav = page.get_by_role("navigation", name="工作")
    for task in ("审计日志", "督导统计", "台账下载"):
        expect(nav.get_by_role("link", name=task)).to_be_visible()
    nav.get_by_role("link", name="审计日志").click()
    # htmx swaps the page in: wait for the new one, not for the network to settle.
    page.wait_for_url("**/audit")
    expect(page.locator("table.audit tbody tr").first).to_be_visible()
    look(page, "audit")

    # Filter to the secretary's work on photos, and open one photo's history.
    page.get_by_label("操作人").select_option(value=secretary.user_id)
    page.get_by_label("对象").select_option(value="photo")
    page.get_by_label("记录编号").fill(photo_id)
    page.get_by_role("button", name="查询").click()
    page.wait_for_url("**/audit?*record=*")
    page.wait_for_load_state("networkidle")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == sum(1 for e in history if e["actor_id"] == secretary.user_id)
    look(page, "audit-filtered")
    rows.first.get_by_role("link").click()
    page.wait_for_url(f"{BASE}/audit/history/photo/{photo_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("走访照片的审计历史")
    steps = page.locator("ol.history > li")
    assert steps.count() == len(history)
    # Who did what, and when (China time), in the order it happened.
    reviewed = next(e for e in history if e["actor_id"] == secretary.user_id)
    at = datetime.fromisoformat(reviewed["at"].replace("Z", "+00:00")).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    step = steps.filter(has_text=at).filter(has_text="村第一书记")
    assert step.count() >= 1, page.inner_text("main")
    assert "青山村第一书记 周涛" in step.first.inner_text()
    assert "审核状态" in step.first.inner_text()
    after = reviewed["changes"]["review_status"]["after"]
    assert after in step.first.inner_text()
    look(page, "audit-history")

    # Read-only everywhere: no form that posts, but signing out.
    pending = secretary.get("/v1/photo-reviews", status="pending", limit=500).json()["items"]
    assert pending, "the demo's latest 青山村 photos wait for review"
    target = pending[-1]["id"]
    for path, name in (
        ("/", "auditor-work"),
        ("/photo-reviews", "auditor-photo-queue"),
        (f"/photo-reviews/{target}", "auditor-photo-review"),
        ("/supervision", "auditor-supervision"),
        ("/ledgers", "auditor-ledgers"),
        ("/audit", None),
        (f"/audit/history/photo/{photo_id}", None),
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        posting = page.locator('form[method="post"]:not([action="/logout"])')
        assert posting.count() == 0, (path, posting.first.evaluate("f => f.outerHTML"))
        assert page.get_by_role("button", name="批准").count() == 0
        assert page.get_by_role("button", name="驳回").count() == 0
        if name:
            look(page, name)
    page.goto("/ledgers")
    assert page.get_by_label("显示完整身份证号和电话").count() == 0, "auditors never unmask"

    # Posting a decision anyway, with its own valid form token, is refused with a page.
    page.goto(f"/photo-reviews/{target}")
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    for decision in ("approved", "rejected"):
        status = page.evaluate(
            """async ([id, token, d]) => {
                const r = await fetch(`/photo-reviews/${id}/decision`, {method: 'POST',
                  headers: {'content-type': 'application/x-www-form-urlencoded'},
                  body: `csrf=${token}&decision=${d}&reason=x`});
                return [r.status, r.headers.get('content-type'), await r.text()];
            }""",
            [target, token, decision],
        )
        assert status[0] == 403 and status[1].startswith("text/html"), status[:2]
        assert "<h1" in status[2]
    still = secretary.get("/v1/photo-reviews", status="pending", limit=500).json()["items"]
    assert any(p["id"] == target for p in still), "the photo is still pending"
    after = auditor_api.get("/v1/audit", entity="photo", entity_id=target).json()["items"]
    assert all(e["actor_id"] != auditor_api.user_id for e in after)
