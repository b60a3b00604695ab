"""人员账号 in the browser: a township officer reads the accounts of the township (phones
masked as the API masks them), filters them, opens one with its phones, opens an account
(a short password refused beside its field), and disables and enables it, as signing in
then shows; a helper has no such page."""

import re

from conftest import BASE, expect, look, no_raw_problem

PASSWORD = "a-long-enough-password"


def open_users(page):
    page.get_by_role("navigation", name="工作").get_by_role("link", name="人员账号").click()
    page.wait_for_url("**/users")
    expect(page.get_by_role("heading", name="人员账号", level=1)).to_be_visible()


def signs_in(page, username):
    r = page.request.post("/v1/auth/login", data={"username": username, "password": PASSWORD})
    return r.status


def test_a_township_officer_reads_and_filters_the_accounts(signed_in, api):
    officer = api("qingshan_officer")
    helper = api("qingshan_helper").get("/v1/me").json()
    page = signed_in("qingshan_officer")
    open_users(page)
    table = page.locator("table.users")
    expect(table).to_contain_text(helper["display_name"])
    expect(table).to_contain_text("帮扶责任人")
    expect(table).not_to_contain_text("hekou_helper")
    # Phones as the API masks them for the officer.
    listed = officer.get("/v1/users", role="helper").json()["items"]
    masked = [u["phone"] for u in listed if u["phone"]]
    assert masked and all("****" in p for p in masked), masked
    expect(table).to_contain_text(masked[0])
    look(page, "users")
    page.get_by_label("角色").select_option(label="帮扶责任人")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"role=helper"))
    roles = page.locator("table.users tbody td:nth-child(3)").all_inner_texts()
    assert roles and set(roles) == {"帮扶责任人"}, roles
    assert len(roles) == len(listed)
    # One account, with its phones.
    page.locator("table.users").get_by_role("link", name=helper["display_name"]).click()
    page.wait_for_url(f"**/users/{helper['id']}")
    expect(page.get_by_role("heading", name=helper["display_name"])).to_be_visible()
    devices = officer.get("/v1/devices", all="true").json()["items"]
    mine = [d for d in devices if d["user_id"] == helper["id"]]
    assert mine, "the demo helper has no phone"
    expect(page.locator("table.devices")).to_contain_text(mine[0]["name"])
    expect(page.get_by_role("link", name=re.compile("查看各手机的同步情况"))).to_have_attribute("href", "/sync/devices")
    look(page, "user")


def test_an_officer_opens_an_account_then_disables_and_enables_it(signed_in, api):
    page = signed_in("qingshan_officer")
    open_users(page)
    page.get_by_role("link", name="新建账号").click()
    page.wait_for_url("**/users/new")
    # Only the roles a township officer may give are offered.
    roles = page.get_by_label("角色").locator("option").all_inner_texts()
    assert roles == ["帮扶责任人", "村第一书记"], roles
    page.get_by_label("姓名").fill("赵小梅")
    page.get_by_label(re.compile("^用户名")).fill("shiqiao_zhao")
    page.get_by_label(re.compile("^初始密码")).fill("short")
    page.get_by_label("角色").select_option(label="帮扶责任人")
    page.get_by_label("隶属区域").select_option(label="石桥村（村）")
    page.get_by_label(re.compile("^手机号")).fill("13900001111")
    page.get_by_role("button", name="开通账号").click()
    page.wait_for_load_state("load")
    expect(page.locator("#n-password-error")).to_contain_text("密码长度须为 10 到 128 个字符")
    expect(page.get_by_label("姓名")).to_have_value("赵小梅")
    expect(page.get_by_label("隶属区域")).to_have_value(
        page.get_by_label("隶属区域").locator("option", has_text="石桥村").get_attribute("value")
    )
    no_raw_problem(page)
    look(page, "user-new-refused")
    page.get_by_label(re.compile("^初始密码")).fill(PASSWORD)
    page.get_by_role("button", name="开通账号").click()
    page.wait_for_url(re.compile(r"/users/[0-9a-f-]+\?done=created$"))
    expect(page.get_by_role("status")).to_contain_text("账号已创建")
    expect(page.locator("main")).to_contain_text("139****1111")
    assert signs_in(page, "shiqiao_zhao") == 200
    # Disabled: signing in is refused, and the list's status filter finds it.
    page.get_by_role("button", name="停用账号").click()
    page.wait_for_url(re.compile(r"\?done=disabled$"))
    expect(page.get_by_role("status")).to_contain_text("账号已停用")
    expect(page.locator("main .head")).to_contain_text("已停用")
    assert signs_in(page, "shiqiao_zhao") == 401
    page.goto("/users?status=disabled")
    expect(page.locator("table.users")).to_contain_text("赵小梅")
    page.goto("/users?status=active")
    expect(page.locator("table.users")).not_to_contain_text("赵小梅")
    page.goto("/users?status=disabled")
    page.locator("table.users").get_by_role("link", name="赵小梅").click()
    page.wait_for_url(re.compile(r"/users/[0-9a-f-]+$"))
    page.get_by_role("button", name="恢复使用").click()
    page.wait_for_url(re.compile(r"\?done=enabled$"))
    assert signs_in(page, "shiqiao_zhao") == 200
    items = api("qingshan_officer").get("/v1/users", active="true", role="helper").json()["items"]
    assert any(u["username"] == "shiqiao_zhao" for u in items), items


def test_a_helper_has_no_users_page(signed_in):
    page = signed_in("qingshan_helper")
    nav = page.get_by_role("navigation", name="工作")
    assert nav.get_by_role("link", name="人员账号").count() == 0
    for path in ("/users", "/users/new"):
        r = page.goto(path)
        assert r.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        no_raw_problem(page)
    look(page, "users-refused")


def test_a_secretary_reads_accounts_but_opens_none(signed_in):
    page = signed_in("qingshan_secretary")
    open_users(page)
    assert page.get_by_role("link", name="新建账号").count() == 0
    page.locator("table.users tbody tr").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/users/[0-9a-f-]+$"))
    assert page.locator("main form[method=post]").count() == 0
    expect(page.locator("main")).to_contain_text("同步管理的设备页")
    assert page.url.startswith(BASE)
