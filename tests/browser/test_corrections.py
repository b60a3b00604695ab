"""户情更正 in the browser: a correction the village accepted waits on the township; its
officer opens it from the work list, a rejection without a reason is refused beside the
field, and acceptance moves it up a level, as the API then reads it."""

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
