"""工作日历 in the browser: the year as twelve months with holidays (休) and make-up working
days (班) in words; a year not loaded says that deadlines then count Monday to Friday only;
a county officer loads a year and a refused one is told in the page; a helper reads it and
changes nothing."""

import re
from datetime import date

from conftest import csrf_of, expect, look, no_raw_problem

YEAR = date.today().year


def open_calendar(page):
    page.get_by_role("navigation", name="工作").get_by_role("link", name="工作日历").click()
    page.wait_for_url("**/calendar")
    expect(page.get_by_role("heading", name="工作日历", level=1)).to_be_visible()


def test_the_demo_year_is_shown_as_months_with_its_days_in_words(signed_in, api):
    schedule = api("county_officer").get(f"/v1/calendar/{YEAR}").json()
    assert schedule["holidays"], schedule
    page = signed_in("county_officer")
    open_calendar(page)
    months = page.locator("table.month")
    expect(months).to_have_count(12)
    first = date.fromisoformat(sorted(schedule["holidays"])[0])
    month = months.nth(first.month - 1)
    expect(month.locator("caption")).to_have_text(f"{first.month} 月")
    expect(month.locator("td.mark-off", has_text=re.compile(rf"^{first.day}休$"))).to_have_count(1)
    marks = page.locator("table.month td.mark-off .day-mark").all_inner_texts()
    assert len(marks) == len(schedule["holidays"]) and set(marks) == {"休"}
    work = page.locator("table.month td.mark-work .day-mark").all_inner_texts()
    assert len(work) == len(schedule["makeup_workdays"]) and set(work) <= {"班"}
    expect(page.locator("#h-holidays + ul")).to_contain_text(f"{first.month} 月 {first.day} 日")
    look(page, "calendar")


def test_a_county_officer_loads_a_year_and_a_refused_one_is_told(signed_in, api):
    county = api("county_officer")
    year = YEAR + 4
    assert county.get(f"/v1/calendar/{year}").status == 404
    page = signed_in("county_officer")
    page.goto(f"/calendar?year={year}")
    empty = page.locator("section.empty")
    expect(empty).to_contain_text(f"{year} 年的节假日安排尚未载入")
    expect(empty).to_contain_text("只按周一至周五计算工作日")
    look(page, "calendar-empty")
    # A date of another year is refused beside the field, and what was typed is kept.
    typed = f"{year}-10-01\n{year + 1}-01-01"
    page.get_by_label(re.compile("^法定节假日")).fill(typed)
    page.get_by_role("button", name=f"保存 {year} 年的安排").click()
    page.wait_for_load_state("load")
    expect(page.locator("#f-holidays-error")).to_contain_text(f"{year + 1}-01-01 不在 {year} 年内。")
    expect(page.get_by_label(re.compile("^法定节假日"))).to_have_value(typed)
    no_raw_problem(page)
    look(page, "calendar-refused")
    assert county.get(f"/v1/calendar/{year}").status == 404, "a refused year was saved"
    # A line that is no date is refused too, with its line number.
    page.get_by_label(re.compile("^法定节假日")).fill(f"{year}-10-01\n十月二日")
    page.get_by_role("button", name=f"保存 {year} 年的安排").click()
    page.wait_for_load_state("load")
    expect(page.locator("#f-holidays-error")).to_contain_text("第 2 行")
    # Loaded.
    page.get_by_label(re.compile("^法定节假日")).fill("\n".join(f"{year}-10-0{d}" for d in range(1, 8)))
    page.get_by_label(re.compile("^调休上班日")).fill(f"{year}-10-12")
    page.get_by_role("button", name=f"保存 {year} 年的安排").click()
    page.wait_for_url(re.compile(rf"/calendar\?year={year}&done=1$"))
    expect(page.get_by_role("status")).to_contain_text(f"已保存 {year} 年的节假日安排")
    expect(page.locator("#h-holidays + ul")).to_contain_text("10 月 1 日至 10 月 7 日（7 天）")
    expect(page.locator("table.month").nth(9).locator("td.mark-work")).to_have_text("12班")
    saved = county.get(f"/v1/calendar/{year}").json()
    assert len(saved["holidays"]) == 7 and saved["makeup_workdays"] == [f"{year}-10-12"], saved


def test_a_helper_reads_the_calendar_and_changes_nothing(signed_in):
    page = signed_in("qingshan_helper")
    open_calendar(page)
    expect(page.locator("table.month")).to_have_count(12)
    assert page.locator("main form[method=post]").count() == 0
    status = page.evaluate(
        """async ([year, csrf]) => (await fetch('/calendar/' + year, {method: 'POST',
            headers: {'content-type': 'application/x-www-form-urlencoded'},
            body: 'holidays=&makeup_workdays=&csrf=' + csrf})).status""",
        [YEAR, csrf_of(page)],
    )
    assert status == 403
