//! 督导统计: the supervision metrics of a region and of each region directly below it, for
//! a period, with the change from the period before; a region's name drills one level
//! down, the breadcrumb leads back up. Each figure is drawn as a bar chart (SVG written on
//! the server, with its title, its description and the table of the same figures beside
//! it). The same use case as `GET /v1/supervision/metrics`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::auth::caller::perm;
use crate::console::format::yuan;
use crate::console::respond::html;
use crate::console::routes::Register;
use crate::console::{Layout, Page, PageError, errors};
use crate::infra::error::Error;
use crate::regions::names;
use crate::state::AppState;
use crate::supervision::charts::{self, Chart, Preset, Row, rate_of};
use crate::supervision::metrics::Metrics;
use crate::supervision::service::{self, Report};

/// A region as a table or chart names it, with the page one level down.
struct RegionLink {
    name: String,
    href: Option<String>,
}

/// One row of a figure's table.
struct TableRow {
    region: RegionLink,
    cells: Vec<String>,
}

/// One figure: its chart and the table of the same numbers.
struct Figure {
    id: &'static str,
    title: &'static str,
    /// The chart's description: every bar in words.
    desc: String,
    chart: Chart,
    legend: Vec<(&'static str, &'static str)>,
    headers: Vec<&'static str>,
    rows: Vec<TableRow>,
    total: Vec<String>,
}

/// A headline number with its trend.
struct Headline {
    label: &'static str,
    value: String,
    detail: String,
    trend: Option<String>,
}

struct Crumb {
    name: String,
    href: Option<String>,
}

#[derive(Template)]
#[template(path = "supervision.html")]
struct SupervisionPage {
    layout: Layout,
    region_name: String,
    region_id: String,
    crumbs: Vec<Crumb>,
    presets: Vec<(&'static str, &'static str, String, bool)>,
    from: String,
    to: String,
    period_words: String,
    problem: Option<(String, String)>,
    headlines: Vec<Headline>,
    figures: Vec<Figure>,
    empty: bool,
}

#[derive(Debug, Deserialize)]
struct SupervisionQuery {
    region: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn day(s: Option<&str>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s?.trim(), "%Y-%m-%d").ok()
}

fn query_string(region: &str, from: NaiveDate, to: NaiveDate, preset: Option<Preset>) -> String {
    let mut qs = form_urlencoded::Serializer::new(String::new());
    qs.append_pair("region", region);
    match preset {
        Some(p) => qs.append_pair("period", p.as_str()),
        None => qs
            .append_pair("from", &from.to_string())
            .append_pair("to", &to.to_string()),
    };
    qs.finish()
}

/// The figures' rows: the region itself (records filed at it) is named `本级` and links
/// nowhere; every other row drills down.
fn links(report: &Report, qs: &dyn Fn(&str) -> String) -> Vec<(RegionLink, Metrics)> {
    report
        .children
        .iter()
        .map(|f| {
            let own = f.region_id == report.region.id;
            let link = RegionLink {
                name: if own {
                    format!("{}（本级）", report.region.name)
                } else if f.name.is_empty() {
                    "未知区域".to_owned()
                } else {
                    f.name.clone()
                },
                href: (!own).then(|| format!("/supervision?{}", qs(&f.region_id))),
            };
            (link, f.metrics.clone())
        })
        .collect()
}

/// What a figure of a rate shows: the rate (0 to 1), the count it is a rate of (nothing to
/// count shows "—"), and its table's columns.
struct RateSpec {
    id: &'static str,
    title: &'static str,
    rate: fn(&Metrics) -> f64,
    base: fn(&Metrics) -> i64,
    headers: Vec<&'static str>,
    cells: fn(&Metrics) -> Vec<String>,
}

/// A figure whose bars are a rate.
fn rate_figure(spec: RateSpec, rows: &[(RegionLink, Metrics)], total: &Metrics) -> Figure {
    let RateSpec {
        id,
        title,
        rate,
        base,
        headers,
        cells,
    } = spec;
    let desc = rows
        .iter()
        .map(|(r, m)| format!("{} {}", r.name, rate_of(rate(m), base(m))))
        .collect::<Vec<_>>()
        .join("，");
    let chart = charts::bars(
        rows.iter()
            .map(|(r, m)| Row {
                label: r.name.clone(),
                parts: vec![(rate(m), "bar")],
                value: rate_of(rate(m), base(m)),
            })
            .collect(),
        1.0,
    );
    Figure {
        id,
        title,
        desc: format!("{title}，按区域：{desc}。"),
        chart,
        legend: Vec::new(),
        headers,
        rows: table(rows, cells),
        total: cells(total),
    }
}

fn table(rows: &[(RegionLink, Metrics)], cells: fn(&Metrics) -> Vec<String>) -> Vec<TableRow> {
    rows.iter()
        .map(|(r, m)| TableRow {
            region: RegionLink {
                name: r.name.clone(),
                href: r.href.clone(),
            },
            cells: cells(m),
        })
        .collect()
}

fn figures(rows: &[(RegionLink, Metrics)], t: &Metrics) -> Vec<Figure> {
    let backlog_max = rows
        .iter()
        .map(|(_, m)| m.photos_pending)
        .max()
        .unwrap_or(0);
    let backlog = Figure {
        id: "backlog",
        title: "照片审核积压",
        desc: format!(
            "待审核的走访照片，按区域：{}。",
            rows.iter()
                .map(|(r, m)| format!("{} {} 张", r.name, m.photos_pending))
                .collect::<Vec<_>>()
                .join("，")
        ),
        chart: charts::bars(
            rows.iter()
                .map(|(r, m)| Row {
                    label: r.name.clone(),
                    parts: vec![(m.photos_pending as f64, "bar")],
                    value: format!("{} 张", m.photos_pending),
                })
                .collect(),
            backlog_max as f64,
        ),
        legend: Vec::new(),
        headers: vec!["待审核照片"],
        rows: table(rows, |m| vec![m.photos_pending.to_string()]),
        total: vec![t.photos_pending.to_string()],
    };
    let due_max = rows
        .iter()
        .map(|(_, m)| m.deadlines_met_on_time + m.deadlines_missed)
        .max()
        .unwrap_or(0);
    let deadlines = Figure {
        id: "deadlines",
        title: "时限完成情况",
        desc: format!(
            "本期到期的事项中按时完成和逾期未完成的件数，按区域：{}。",
            rows.iter()
                .map(|(r, m)| format!(
                    "{} 按时完成 {} 件、逾期未完成 {} 件",
                    r.name, m.deadlines_met_on_time, m.deadlines_missed
                ))
                .collect::<Vec<_>>()
                .join("；")
        ),
        chart: charts::bars(
            rows.iter()
                .map(|(r, m)| Row {
                    label: r.name.clone(),
                    parts: vec![
                        (m.deadlines_met_on_time as f64, "bar"),
                        (m.deadlines_missed as f64, "bar-bad"),
                    ],
                    value: format!("{} / {}", m.deadlines_met_on_time, m.deadlines_missed),
                })
                .collect(),
            due_max as f64,
        ),
        legend: vec![("bar", "按时完成"), ("bar-bad", "逾期未完成")],
        headers: vec!["到期事项", "按时完成", "逾期未完成"],
        rows: table(rows, deadline_cells),
        total: deadline_cells(t),
    };
    vec![
        rate_figure(
            RateSpec {
                id: "visits",
                title: "走访完成率",
                rate: |m| m.visit_completion,
                base: |m| m.households_active,
                headers: vec!["在册户数", "已走访户数", "走访完成率"],
                cells: |m| {
                    vec![
                        m.households_active.to_string(),
                        m.households_visited.to_string(),
                        rate_of(m.visit_completion, m.households_active),
                    ]
                },
            },
            rows,
            t,
        ),
        backlog,
        rate_figure(
            RateSpec {
                id: "retrieval",
                title: "控辍保学劝返率",
                rate: |m| m.retrieval_rate,
                base: |m| m.dropout_cases_in_period,
                headers: vec![
                    "未销号案件",
                    "本期新增",
                    "本期在办",
                    "本期销号",
                    "劝返复学",
                    "劝返率",
                ],
                cells: |m| {
                    vec![
                        m.dropout_cases_open.to_string(),
                        m.dropout_cases_opened.to_string(),
                        m.dropout_cases_in_period.to_string(),
                        m.dropout_cases_closed.to_string(),
                        m.dropout_cases_returned.to_string(),
                        rate_of(m.retrieval_rate, m.dropout_cases_in_period),
                    ]
                },
            },
            rows,
            t,
        ),
        rate_figure(
            RateSpec {
                id: "aid",
                title: "救助资金按时发放率",
                rate: |m| m.disbursement_timeliness,
                base: |m| m.disbursements,
                headers: vec!["发放笔数", "按时发放", "发放金额", "按时发放率"],
                cells: |m| {
                    vec![
                        m.disbursements.to_string(),
                        m.disbursements_on_time.to_string(),
                        yuan(m.disbursed_fen),
                        rate_of(m.disbursement_timeliness, m.disbursements),
                    ]
                },
            },
            rows,
            t,
        ),
        deadlines,
        rate_figure(
            RateSpec {
                id: "teaching",
                title: "送教上门达标率",
                rate: |m| m.home_teaching_compliance,
                base: |m| m.home_teaching_months,
                headers: vec!["应送教人月", "达标人月", "达标率"],
                cells: |m| {
                    vec![
                        m.home_teaching_months.to_string(),
                        m.home_teaching_compliant.to_string(),
                        rate_of(m.home_teaching_compliance, m.home_teaching_months),
                    ]
                },
            },
            rows,
            t,
        ),
    ]
}

fn deadline_cells(m: &Metrics) -> Vec<String> {
    vec![
        m.deadlines_due.to_string(),
        m.deadlines_met_on_time.to_string(),
        m.deadlines_missed.to_string(),
    ]
}

fn headlines(t: &Metrics, before: Option<&Metrics>) -> Vec<Headline> {
    // A rate is compared only when both periods had something to count.
    let rate = |rate: fn(&Metrics) -> f64, base: fn(&Metrics) -> i64| {
        before
            .filter(|&b| base(t) > 0 && base(b) > 0)
            .map(|b| charts::rate_trend(rate(t), rate(b)))
    };
    let count =
        |now: i64, was: fn(&Metrics) -> i64| before.map(|b| charts::count_trend(now, was(b)));
    vec![
        Headline {
            label: "走访完成率",
            value: rate_of(t.visit_completion, t.households_active),
            detail: format!(
                "已走访 {} 户 / 在册 {} 户",
                t.households_visited, t.households_active
            ),
            trend: rate(|m| m.visit_completion, |m| m.households_active),
        },
        Headline {
            label: "待审核照片",
            value: format!("{} 张", t.photos_pending),
            detail: "当前积压".to_owned(),
            trend: None,
        },
        Headline {
            label: "劝返率",
            value: rate_of(t.retrieval_rate, t.dropout_cases_in_period),
            detail: format!(
                "本期在办 {} 件中劝返复学 {} 人",
                t.dropout_cases_in_period, t.dropout_cases_returned
            ),
            trend: rate(|m| m.retrieval_rate, |m| m.dropout_cases_in_period),
        },
        Headline {
            label: "救助按时发放率",
            value: rate_of(t.disbursement_timeliness, t.disbursements),
            detail: format!(
                "按时 {} / {} 笔，共 {}",
                t.disbursements_on_time,
                t.disbursements,
                yuan(t.disbursed_fen)
            ),
            trend: rate(|m| m.disbursement_timeliness, |m| m.disbursements),
        },
        Headline {
            label: "逾期未完成",
            value: format!("{} 件", t.deadlines_missed),
            detail: format!(
                "到期 {} 件，按时完成 {} 件",
                t.deadlines_due, t.deadlines_met_on_time
            ),
            trend: count(t.deadlines_missed, |m| m.deadlines_missed),
        },
        Headline {
            label: "建档与退出",
            value: format!("新建 {} 户", t.files_created),
            detail: format!("调整 {} 户，退出 {} 户", t.files_adjusted, t.files_exited),
            trend: count(t.files_created, |m| m.files_created),
        },
    ]
}

/// The way from the caller's own region down to the one shown; every step above the one
/// shown links to its page.
async fn crumbs(
    state: &AppState,
    page: &Page<perm::ReadMetrics>,
    report: &Report,
    qs: &dyn Fn(&str) -> String,
) -> Result<Vec<Crumb>, PageError> {
    let ids: Vec<String> = report
        .region
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let start = ids
        .iter()
        .position(|id| *id == page.caller.region_id)
        .unwrap_or(ids.len().saturating_sub(1));
    let shown: Vec<String> = ids.into_iter().skip(start).collect();
    let named = names::names(&state.db, &page.caller, shown.clone()).await?;
    let last = shown.len().saturating_sub(1);
    Ok(shown
        .into_iter()
        .enumerate()
        .filter_map(|(i, id)| {
            named.get(&id).map(|name| Crumb {
                name: name.clone(),
                href: (i < last).then(|| format!("/supervision?{}", qs(&id))),
            })
        })
        .collect())
}

async fn supervision(
    state: web::Data<AppState>,
    page: Page<perm::ReadMetrics>,
    q: web::Query<SupervisionQuery>,
) -> Result<HttpResponse, PageError> {
    let today = crate::infra::clock::today();
    let region = q
        .region
        .clone()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| page.caller.region_id.clone());
    // A period chosen by its dates, else by its name, else the last 30 days.
    let custom = match (day(q.from.as_deref()), day(q.to.as_deref())) {
        (Some(f), Some(t)) => Some((f, t)),
        _ => None,
    };
    let typed_wrong = custom.is_none() && (q.from.is_some() || q.to.is_some());
    let preset = if custom.is_some() {
        None
    } else {
        Some(
            q.period
                .as_deref()
                .and_then(Preset::parse)
                .unwrap_or(Preset::Days30),
        )
    };
    let (mut from, mut to) = custom.unwrap_or_else(|| preset.unwrap_or(Preset::Days30).days(today));
    let mut problem = typed_wrong.then(|| {
        (
            "期间有误".to_owned(),
            "请填写开始和结束日期（年-月-日）。下面显示近 30 天的数字。".to_owned(),
        )
    });
    let report =
        match service::metrics(&state.db, &page.caller, Some(region.clone()), from, to).await {
            Ok(r) => r,
            Err(e @ Error::Validation(_)) => {
                let (title, _) = errors::message(&e);
                problem = Some((
                    title,
                    "期间须为 1 到 400 天，且结束日期不早于开始日期。下面显示近 30 天的数字。"
                        .to_owned(),
                ));
                (from, to) = Preset::Days30.days(today);
                service::metrics(&state.db, &page.caller, Some(region.clone()), from, to).await?
            }
            Err(e) => return Err(e.into()),
        };
    let (pf, pt) = charts::previous(from, to);
    let before = service::metrics(&state.db, &page.caller, Some(region.clone()), pf, pt)
        .await
        .ok();
    // After a refused period the page shows the last 30 days, and its links keep to them.
    let preset_now = if problem.is_some() {
        Some(Preset::Days30)
    } else {
        preset
    };
    let qs = move |r: &str| query_string(r, from, to, preset_now);
    let rows = links(&report, &qs);
    let crumbs = crumbs(&state, &page, &report, &qs).await?;
    let body = SupervisionPage {
        layout: Layout::new(&state, &page, "督导统计", "/supervision").await,
        region_name: report.region.name.clone(),
        region_id: report.region.id.clone(),
        crumbs,
        presets: Preset::ALL
            .into_iter()
            .map(|p| {
                (
                    p.label(),
                    p.as_str(),
                    format!(
                        "/supervision?{}",
                        query_string(&report.region.id, from, to, Some(p))
                    ),
                    preset_now == Some(p),
                )
            })
            .collect(),
        from: from.to_string(),
        to: to.to_string(),
        period_words: {
            let days = (to - from).num_days() + 1;
            format!("{from} 至 {to}（{days} 天），趋势与此前 {days} 天相比")
        },
        problem,
        headlines: headlines(&report.totals, before.as_ref().map(|b| &b.totals)),
        empty: rows.is_empty(),
        figures: figures(&rows, &report.totals),
    }
    .render()
    .map_err(Error::internal)?;
    Ok(html(StatusCode::OK, body))
}

pub fn configure(r: &mut impl Register) {
    r.get("/supervision", supervision);
}
