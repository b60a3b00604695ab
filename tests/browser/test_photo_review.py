"""照片审核: a village secretary decides on evidence photos in the browser, and the
decision lands where the API and the helper's phone read it; nobody outside the village
sees any of it."""

from conftest import BASE, expect, look, no_raw_problem


def pull_all(api, cursor=None):
    """Every change the account's next pulls carry, and the cursor after them."""
    changes = []
    while True:
        params = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        r = api.get("/v1/sync/pull", headers={"bangfu-sync-protocol": "1"}, **params)
        assert r.ok, r.text()
        body = r.json()
        changes += body["changes"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return changes, cursor


def first_reviewable(page):
    """Opens the first pending photo whose file has arrived; its id."""
    page.goto("/photo-reviews")
    row = page.locator("table.photos tbody tr", has=page.locator("img")).first
    row.get_by_role("link").click()
    page.wait_for_url(f"{BASE}/photo-reviews/*")
    expect(page.locator(".review")).to_be_visible()
    return page.url.rsplit("/", 1)[1]


def test_a_secretary_rejects_a_photo_and_the_helper_pull_carries_it(signed_in, api):
    page = signed_in("qingshan_secretary")
    page.get_by_role("navigation", name="工作").get_by_role("link", name="照片审核").click()
    page.wait_for_url("**/photo-reviews")
    expect(page.get_by_role("heading", name="照片审核")).to_be_visible()
    assert page.locator("table.photos img").count() > 0, "the demo's pending photos have no thumbnails"
    # Thumbnails are real pictures served to the signed-in browser (waited for: htmx swaps
    # the page in before its images arrive; a broken one never loads and times out).
    page.wait_for_function(
        "() => { const i = document.querySelector('table.photos img');"
        " return i !== null && i.complete && i.naturalWidth > 0; }",
        timeout=10_000,
    )
    look(page, "photo-queue")
    page.get_by_label("只看有疑点的照片").check()
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**flagged=1*")
    page.wait_for_load_state("networkidle")
    look(page, "photo-queue-flagged")

    photo_id = first_reviewable(page)
    look(page, "photo-review")
    secretary = api("qingshan_secretary")
    mine = secretary.get("/v1/photo-reviews", status="pending", limit=500).json()["items"]
    author_id = next(p["author_id"] for p in mine if p["id"] == photo_id)
    helper = api("qingshan_helper")
    assert helper.user_id == author_id, "the demo's 青山村 photos are qingshan_helper's"
    _, cursor = pull_all(helper)

    # Rejecting without a reason is refused beside the field, nothing lost.
    page.get_by_role("button", name="驳回").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#reason-error").inner_text() == "退回照片须说明理由。"
    assert page.get_by_label("驳回理由（发回帮扶责任人，必填）").get_attribute("aria-invalid") == "true"
    no_raw_problem(page)
    look(page, "photo-review-reason-missing")

    reason = "照片与走访对象不符，请重新拍摄户主和房屋。"
    page.get_by_label("驳回理由（发回帮扶责任人，必填）").fill(reason)
    page.get_by_role("button", name="驳回").click()
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(f"{BASE}/photo-reviews?done=rejected")
    assert page.get_by_role("status").inner_text().startswith("已驳回")
    assert page.locator(f'a[href="/photo-reviews/{photo_id}"]').count() == 0, "still in the queue"

    # The API reads the decision …
    rejected = secretary.get("/v1/photo-reviews", status="rejected", limit=500).json()["items"]
    decided = next(p for p in rejected if p["id"] == photo_id)
    assert decided["review_reason"] == reason and decided["reviewed_by"] == secretary.user_id
    # … and the helper's next pull carries it to the phone.
    changes, _ = pull_all(helper, cursor)
    mine = [c for c in changes if c["entity"] == "photo" and c["id"] == photo_id]
    assert mine and mine[-1]["fields"]["review_status"] == "rejected", changes[:3]
    assert mine[-1]["fields"]["review_reason"] == reason

    # The decided page shows the decision and offers no other.
    page.goto(f"/photo-reviews/{photo_id}")
    assert page.locator(".head .tag").inner_text() == "已驳回"
    assert page.get_by_role("button", name="批准").count() == 0
    page.goto("/photo-reviews?status=rejected")
    look(page, "photo-queue-rejected")


def test_a_secretary_approves_a_photo(signed_in, api):
    page = signed_in("qingshan_secretary")
    photo_id = first_reviewable(page)
    page.get_by_role("button", name="批准").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("status").inner_text() == "已批准该照片。"
    approved = api("qingshan_secretary").get("/v1/photo-reviews", status="approved", limit=500)
    assert any(p["id"] == photo_id for p in approved.json()["items"])


def test_officers_read_the_queue_without_deciding(signed_in):
    page = signed_in("qingshan_officer")
    first_reviewable(page)
    assert page.get_by_role("button", name="批准").count() == 0
    assert "不能审核" in page.inner_text("main")
    look(page, "photo-review-officer")


def test_nobody_outside_the_village_sees_its_photos(signed_in, api):
    page = signed_in("qingshan_secretary")
    photo_id = first_reviewable(page)
    thumb = page.locator(".shot img").get_attribute("src")

    other = signed_in("hekou_officer")
    other.goto("/photo-reviews")
    assert other.locator(f'a[href="/photo-reviews/{photo_id}"]').count() == 0
    r = other.request.get(f"/photo-reviews/{photo_id}")
    assert r.status == 404
    other.goto(f"/photo-reviews/{photo_id}")
    assert other.get_by_role("heading").first.inner_text() != "入户走访照片"
    no_raw_problem(other)
    look(other, "not-found")
    assert other.request.get(thumb).status == 404
    other.goto("/")
    # Deciding from outside is refused the same way (with a valid form token of its own).
    token = other.locator('input[name="csrf"]').first.get_attribute("value")
    status = other.evaluate(
        """async ([id, token]) => (await fetch(`/photo-reviews/${id}/decision`, {method: 'POST',
            headers: {'content-type': 'application/x-www-form-urlencoded'},
            body: `csrf=${token}&decision=approved`})).status""",
        [photo_id, token],
    )
    assert status == 403  # a township officer does not review photos at all
    theirs = api("hekou_officer").get("/v1/photo-reviews", limit=500).json()["items"]
    assert all(p["id"] != photo_id for p in theirs)

    helper = signed_in("hekou_helper")
    r = helper.request.get("/photo-reviews")
    assert r.status == 403
    helper.goto("/photo-reviews")
    no_raw_problem(helper)
    look(helper, "forbidden")
