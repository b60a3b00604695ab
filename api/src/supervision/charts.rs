//! How supervision figures are looked at: the periods offices ask for (the last 30 days,
//! this month, this quarter, this year) and the one before each for its trend, and bar
//! charts laid out as coordinates for SVG drawn on the server. Pure rules, no I/O.

use chrono::{Datelike, Duration, NaiveDate};

/// A period offered in one click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The 30 days ending today.
    Days30,
    Month,
    Quarter,
    Year,
}

impl Preset {
    pub const ALL: [Preset; 4] = [Preset::Days30, Preset::Month, Preset::Quarter, Preset::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Days30 => "30d",
            Preset::Month => "month",
            Preset::Quarter => "quarter",
            Preset::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The office's words for it.
    pub fn label(self) -> &'static str {
        match self {
            Preset::Days30 => "近 30 天",
            Preset::Month => "本月",
            Preset::Quarter => "本季度",
            Preset::Year => "本年",
        }
    }

    /// First and last day of the period that holds `today` (the last ending today).
    pub fn days(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let first_of = |month: u32| NaiveDate::from_ymd_opt(today.year(), month, 1);
        let from = match self {
            Preset::Days30 => Some(today - Duration::days(29)),
            Preset::Month => first_of(today.month()),
            Preset::Quarter => first_of((today.month0() / 3) * 3 + 1),
            Preset::Year => first_of(1),
        };
        (from.unwrap_or(today), today)
    }
}

/// The period of the same length that ends the day before `from`: what a trend compares
/// with.
pub fn previous(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let len = (to - from).num_days().max(0);
    let end = from - Duration::days(1);
    (end - Duration::days(len), end)
}

/// A ratio (0 to 1) as a percentage with one decimal: `62.3%`.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// A rate of `base` things as shown: a percentage, or `—` when there was nothing to count
/// (no household, no payment: 0 of 0 is no rate at all).
pub fn rate_of(ratio: f64, base: i64) -> String {
    if base == 0 {
        "—".to_owned()
    } else {
        percent(ratio)
    }
}

/// How a rate moved from the period before, in percentage points.
pub fn rate_trend(now: f64, before: f64) -> String {
    let d = ((now - before) * 1000.0).round() / 10.0;
    if d.abs() < 0.05 {
        "与上期持平".to_owned()
    } else if d > 0.0 {
        format!("较上期 ↑ {d:.1} 个百分点")
    } else {
        format!("较上期 ↓ {:.1} 个百分点", -d)
    }
}

/// How a count moved from the period before.
pub fn count_trend(now: i64, before: i64) -> String {
    match now - before {
        0 => "与上期持平".to_owned(),
        d if d > 0 => format!("较上期 ↑ {d}"),
        d => format!("较上期 ↓ {}", -d),
    }
}

/// The width of a chart, in SVG user units (it scales to its box).
pub const WIDTH: f64 = 520.0;
/// Where bars start (the region names are written to the left of it).
const BAR_X: f64 = 130.0;
/// The longest bar (room is left after it for the figure).
const BAR_MAX: f64 = 300.0;
const ROW: f64 = 32.0;
const BAR_H: f64 = 20.0;
const PAD: f64 = 8.0;

/// One part of a bar (a stacked bar has several).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub x: f64,
    pub width: f64,
    /// The stylesheet class that fills it (and a pattern, so that print in black and white
    /// still tells parts apart).
    pub class: &'static str,
}

/// One region's bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    /// Top of the bar, and the baseline of its texts.
    pub y: f64,
    pub text_y: f64,
    pub height: f64,
    pub segments: Vec<Segment>,
    /// The figure written after the bar, and where.
    pub value: String,
    pub value_x: f64,
}

/// A horizontal bar chart, laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    pub bar_x: f64,
    /// Where the label column ends (labels are right-aligned to it).
    pub label_x: f64,
    pub bars: Vec<Bar>,
}

/// A bar to draw: its label, its parts (value and class), the figure written beside it.
pub struct Row {
    pub label: String,
    pub parts: Vec<(f64, &'static str)>,
    pub value: String,
}

fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Lays out one bar per row, scaled so that `max` (a rate's 1.0, or the largest count)
/// fills the bar's room; a bar never runs past it, and a part worth something is never
/// drawn narrower than one unit.
pub fn bars(rows: Vec<Row>, max: f64) -> Chart {
    let scale = if max > 0.0 { BAR_MAX / max } else { 0.0 };
    let bars: Vec<Bar> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let y = PAD + i as f64 * ROW;
            let mut x = BAR_X;
            let mut segments = Vec::new();
            for (v, class) in r.parts {
                let room = BAR_X + BAR_MAX - x;
                let mut w = (v.max(0.0) * scale).min(room);
                if v > 0.0 && w < 1.0 && room >= 1.0 {
                    w = 1.0;
                }
                if w > 0.0 {
                    segments.push(Segment {
                        x: tenth(x),
                        width: tenth(w),
                        class,
                    });
                }
                x += w;
            }
            Bar {
                label: r.label,
                y: tenth(y + (ROW - BAR_H) / 2.0 - PAD / 2.0),
                text_y: tenth(y + ROW / 2.0),
                height: BAR_H,
                segments,
                value: r.value,
                value_x: tenth(x + 6.0),
            }
        })
        .collect();
    Chart {
        width: WIDTH,
        height: tenth(PAD * 2.0 + bars.len() as f64 * ROW),
        bar_x: BAR_X,
        label_x: BAR_X - 8.0,
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn presets_hold_today() {
        let today = day(2026, 12, 7);
        assert_eq!(Preset::Days30.days(today), (day(2026, 11, 8), today));
        assert_eq!(Preset::Month.days(today), (day(2026, 12, 1), today));
        assert_eq!(Preset::Quarter.days(today), (day(2026, 10, 1), today));
        assert_eq!(Preset::Quarter.days(day(2026, 3, 31)).0, day(2026, 1, 1));
        assert_eq!(Preset::Year.days(today), (day(2026, 1, 1), today));
        assert_eq!(Preset::parse("quarter"), Some(Preset::Quarter));
        assert_eq!(Preset::parse("week"), None);
    }

    #[test]
    fn the_previous_period_has_the_same_length_and_ends_the_day_before() {
        assert_eq!(
            previous(day(2026, 11, 8), day(2026, 12, 7)),
            (day(2026, 10, 9), day(2026, 11, 7))
        );
        assert_eq!(
            previous(day(2026, 12, 1), day(2026, 12, 1)),
            (day(2026, 11, 30), day(2026, 11, 30))
        );
    }

    #[test]
    fn trends_read_as_words() {
        assert_eq!(percent(0.6234), "62.3%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(rate_of(0.0, 0), "—");
        assert_eq!(rate_of(0.5, 2), "50.0%");
        assert_eq!(rate_trend(0.65, 0.6), "较上期 ↑ 5.0 个百分点");
        assert_eq!(rate_trend(0.5, 0.625), "较上期 ↓ 12.5 个百分点");
        assert_eq!(rate_trend(0.5, 0.5), "与上期持平");
        assert_eq!(count_trend(3, 5), "较上期 ↓ 2");
        assert_eq!(count_trend(5, 3), "较上期 ↑ 2");
    }

    #[test]
    fn bars_scale_to_the_largest_and_stack() {
        let row = |label: &str, parts: Vec<(f64, &'static str)>| Row {
            label: label.to_owned(),
            parts,
            value: String::new(),
        };
        let c = bars(
            vec![
                row("青山镇", vec![(10.0, "a"), (10.0, "b")]),
                row("河口乡", vec![(5.0, "a"), (0.0, "b")]),
                row("本级", vec![(0.0, "a")]),
            ],
            20.0,
        );
        assert_eq!(c.bars.len(), 3);
        let full = &c.bars[0].segments;
        assert_eq!(full.len(), 2);
        assert_eq!(full[0].x, BAR_X);
        assert_eq!(full[0].width + full[1].width, BAR_MAX);
        assert_eq!(full[1].x, BAR_X + BAR_MAX / 2.0);
        assert_eq!(c.bars[1].segments.len(), 1, "an empty part is not drawn");
        assert_eq!(c.bars[1].segments[0].width, BAR_MAX / 4.0);
        assert!(c.bars[2].segments.is_empty());
        assert!(c.bars[1].y > c.bars[0].y && c.height > c.bars[2].y + BAR_H);
        // A tiny value stays visible; nothing runs past the room.
        let c = bars(vec![row("a", vec![(0.001, "a"), (5.0, "b")])], 1.0);
        assert_eq!(c.bars[0].segments[0].width, 1.0);
        assert!(c.bars[0].segments[1].x + c.bars[0].segments[1].width <= BAR_X + BAR_MAX);
        // Nothing to scale by: no bars, no division by zero.
        assert!(
            bars(vec![row("a", vec![(0.0, "a")])], 0.0).bars[0]
                .segments
                .is_empty()
        );
    }
}
