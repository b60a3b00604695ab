"""户情更正 in the browser: a correction the village accepted waits on the township; its
officer opens it from the work list, a rejection without a reason is refused beside the
field, and acceptance moves it up a level, as the API then reads it. The list shows what
waits on any level and every level's review, and only the jurisdiction's."""

import re

from conftest import expect, look, no_raw_problem


def waiting_correction(api, username):
    """A correction on the account's work list (theirs or their office's)."""
    items = api(username).get("/v1/work-list", view="mine", horizon_days=31, limit=500).json()["items"]
    ids = [i["subject_id"] for i in items if i["subject_entity"] == "correction"]
    assert ids, f"{username}'s work list holds no correction"
    return ids[0]


def test_a_township_officer_accepts_a_correction_the_village_accepted(signed_in, api):
    cid = waiting_correction(api, "qingshan_officer")
    before = api("qingshan_officer").get(f"/v1/corrections/{cid}").json()
    assert before["review_status"] == "village_accepted", before
    page = signed_in("qingshan_officer")
    line = page.locator(f'a[href="/corrections/{cid}"]')
    expect(line.first).to_be_visible()
    line.first.click()
    page.wait_for_url(f"**/corrections/{cid}")
    expect(page.get_by_role("heading", name="户情更正")).to_be_visible()
    expect(page.locator("main")).to_contain_text("村级已同意，待乡镇审核")
    look(page, "correction")
    # A rejection needs a reason: refused beside the field.
    page.get_by_role("button", name="退回").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#reason-error")).to_contain_text("理由")
    no_raw_problem(page)
    page.get_by_role("button", name="同意，报上一级").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("main")).to_contain_text("乡镇已同意，待县级审核")
    after = api("county_officer").get(f"/v1/corrections/{cid}").json()
    assert after["review_status"] == "township_accepted", after
    # Not the township's turn any more: no decision offered.
    assert page.locator("main form[method=post]").count() == 0


def test_another_township_cannot_open_it(signed_in, api):
    cid = waiting_correction(api, "qingshan_secretary")
    page = signed_in("hekou_officer")
    r = page.goto(f"/corrections/{cid}")
    assert r.status == 404, cid
    no_raw_problem(page)


def test_the_list_shows_what_waits_and_the_reviews_done(signed_in, api):
    # One waiting on the village is in the township's list too: it lies in its jurisdiction.
    cid = waiting_correction(api, "qingshan_secretary")
    page = signed_in("qingshan_officer")
    page.get_by_role("navigation", name="工作").get_by_role("link", name="户情更正").click()
    page.wait_for_url("**/corrections")
    expect(page.get_by_role("heading", name="户情更正", level=1)).to_be_visible()
    waiting = page.locator("table.corrections tbody tr", has=page.locator(f'a[href="/corrections/{cid}"]'))
    expect(waiting.first).to_contain_text("青山村")
    look(page, "corrections")
    # Every level's review, those done with their time.
    page.get_by_role("link", name="全部审核记录").click()
    page.wait_for_url("**/corrections?state=all")
    expect(page.locator("table.corrections tbody tr", has_text=re.compile(r"完成 \d{4}-\d{2}-\d{2} \d{2}:\d{2}")).first).to_be_visible()
    look(page, "corrections-all")
    no_raw_problem(page)
    # Another township's list names none of 青山's corrections.
    other = signed_in("hekou_officer")
    other.goto("/corrections?state=all")
    expect(other.get_by_role("heading", name="户情更正", level=1)).to_be_visible()
    assert other.locator(f'a[href="/corrections/{cid}"]').count() == 0
