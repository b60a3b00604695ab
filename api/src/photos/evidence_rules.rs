//! Evidence integrity: whether a photo was taken where and when it claims, and whether the
//! same picture already proves something else. Pure rules over plain facts; the store
//! gathers the facts and keeps the flags with the photo, the reviewer sees them.
//!
//! What the app recorded at capture (time, place and its accuracy, device) is kept apart
//! from the file's EXIF, which phones often strip or get wrong; both are checked.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::infra::error::{Lang, Msg};

/// A photo further than this from its household (beyond the fix's accuracy) is flagged.
pub const MAX_DISTANCE_M: f64 = 500.0;
/// At most this much of a fix's stated accuracy is given as benefit of the doubt; a fix
/// less accurate than this cannot place the photo at all.
pub const MAX_ACCURACY_CREDIT_M: f64 = 1_000.0;
/// The app's place and EXIF's place further apart than this disagree.
pub const EXIF_PLACE_TOLERANCE_M: f64 = 1_000.0;
/// A visit or attempt is photographed from this long before its recorded time to this
/// long after it (after its duration, for a teaching session).
pub const WINDOW_MARGIN: Duration = Duration::hours(3);
/// The app's clock and the camera's EXIF clock further apart than this disagree.
pub const EXIF_CLOCK_TOLERANCE: Duration = Duration::minutes(15);
/// EXIF times without an offset are taken as China Standard Time, the county's zone.
pub const DEFAULT_EXIF_OFFSET_SECONDS: i32 = 8 * 3600;
/// Perceptual hashes at most this many bits apart show the same picture.
pub const REUSE_MAX_BITS: u32 = 3;
/// Bands the 64-bit hash is cut into for lookup: with `REUSE_MAX_BITS + 1` bands, two
/// hashes within the threshold agree exactly on at least one band (pigeonhole). Four bands
/// of 16 bits: among a million photos a band value names about 15 of them, so a lookup
/// reads some 60 candidates, by index.
pub const BANDS: usize = REUSE_MAX_BITS as usize + 1;
/// At most this many reuse flags are kept for one photo.
pub const MAX_REUSE_FLAGS: usize = 10;

/// A point on the earth (WGS 84 degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub lat: f64,
    pub lng: f64,
}

/// Where a photo's place came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaceSource {
    /// The app's own fix at capture time.
    App,
    /// The file's EXIF GPS (the app recorded no place).
    Exif,
}

/// Great-circle distance in metres (haversine).
pub fn distance_m(a: Place, b: Place) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlng = (b.lng - a.lng).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// When the thing a photo proves happened, and the span photos of it may be taken in.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub subject_entity: String,
    pub at: DateTime<Utc>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    /// The window around a subject's time; `duration` is how long it lasted, if known
    /// (a teaching session's class hours).
    pub fn around(subject_entity: &str, at: DateTime<Utc>, duration: Option<Duration>) -> Window {
        Window {
            subject_entity: subject_entity.to_owned(),
            at,
            from: at - WINDOW_MARGIN,
            to: at + duration.unwrap_or_else(Duration::zero) + WINDOW_MARGIN,
        }
    }
}

/// One finding about a photo, kept with it and shown to the reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Flag {
    /// Taken further from the household than the limit, beyond the fix's accuracy.
    FarFromHousehold {
        distance_m: u32,
        limit_m: u32,
        source: PlaceSource,
        accuracy_m: Option<u32>,
    },
    /// The household has a location, but neither the app nor EXIF placed the photo.
    NoLocation {},
    /// The app's fix is too coarse to place the photo.
    ImpreciseLocation { accuracy_m: u32 },
    /// The app's place and the file's EXIF GPS disagree.
    ExifPlaceMismatch { distance_m: u32 },
    /// Taken outside the window of the visit (attempt, session) it is evidence of.
    OutsideSubjectWindow {
        subject_entity: String,
        subject_at: DateTime<Utc>,
        taken_at: DateTime<Utc>,
        minutes_outside: i64,
    },
    /// The visit (attempt, session) it is evidence of is not known to the server (yet).
    SubjectMissing { subject_entity: String },
    /// The app's capture time and the file's EXIF time disagree.
    ExifTimeMismatch {
        taken_at: DateTime<Utc>,
        exif_taken_at: DateTime<Utc>,
        minutes_apart: i64,
    },
    /// The same picture (the same file, or one a few bits of perceptual hash away) is
    /// evidence for another household or visit.
    Reused {
        photo_id: String,
        subject_entity: String,
        subject_id: String,
        household_id: Option<String>,
        same_file: bool,
        distance_bits: u32,
    },
}

impl Flag {
    /// The flag's code, as serialised.
    pub fn code(&self) -> &'static str {
        match self {
            Flag::FarFromHousehold { .. } => "far_from_household",
            Flag::NoLocation {} => "no_location",
            Flag::ImpreciseLocation { .. } => "imprecise_location",
            Flag::ExifPlaceMismatch { .. } => "exif_place_mismatch",
            Flag::OutsideSubjectWindow { .. } => "outside_subject_window",
            Flag::SubjectMissing { .. } => "subject_missing",
            Flag::ExifTimeMismatch { .. } => "exif_time_mismatch",
            Flag::Reused { .. } => "reused",
        }
    }

    /// What the reviewer reads.
    pub fn message(&self, lang: Lang) -> String {
        let m = match self {
            Flag::FarFromHousehold {
                distance_m, source, ..
            } => {
                let (zh, en) = match source {
                    PlaceSource::App => ("应用定位", "the app's fix"),
                    PlaceSource::Exif => ("照片 EXIF", "the photo's EXIF"),
                };
                Msg::new(
                    format!("拍摄地点距该户 {distance_m} 米（据{zh}）。"),
                    format!("Taken {distance_m} m from the household (by {en})."),
                )
            }
            Flag::NoLocation {} => Msg::fixed(
                "照片没有拍摄位置（应用和 EXIF 均无）。",
                "The photo has no place (neither from the app nor from EXIF).",
            ),
            Flag::ImpreciseLocation { accuracy_m } => Msg::new(
                format!("定位精度仅 {accuracy_m} 米，无法核对拍摄地点。"),
                format!("The fix is accurate to {accuracy_m} m only: the place cannot be checked."),
            ),
            Flag::ExifPlaceMismatch { distance_m } => Msg::new(
                format!("应用定位与照片 EXIF 位置相距 {distance_m} 米。"),
                format!("The app's place and the photo's EXIF place are {distance_m} m apart."),
            ),
            Flag::OutsideSubjectWindow {
                minutes_outside, ..
            } => Msg::new(
                format!("拍摄时间在所证明事项的时间窗口之外 {minutes_outside} 分钟。"),
                format!(
                    "Taken {minutes_outside} minutes outside the time window of what it proves."
                ),
            ),
            Flag::SubjectMissing { .. } => Msg::fixed(
                "服务器上尚无该照片所证明的记录。",
                "The record this photo proves is not on the server (yet).",
            ),
            Flag::ExifTimeMismatch { minutes_apart, .. } => Msg::new(
                format!("应用记录的拍摄时间与照片 EXIF 时间相差 {minutes_apart} 分钟。"),
                format!(
                    "The app's capture time and the photo's EXIF time are {minutes_apart} minutes apart."
                ),
            ),
            Flag::Reused {
                photo_id,
                same_file,
                ..
            } => {
                if *same_file {
                    Msg::new(
                        format!("同一文件也作为另一户或另一次走访的证据（照片 {photo_id}）。"),
                        format!(
                            "The same file is also evidence for another household or visit (photo {photo_id})."
                        ),
                    )
                } else {
                    Msg::new(
                        format!(
                            "几乎相同的照片也作为另一户或另一次走访的证据（照片 {photo_id}）。"
                        ),
                        format!(
                            "A nearly identical picture is also evidence for another household or visit (photo {photo_id})."
                        ),
                    )
                }
            }
        };
        m.get(lang).to_owned()
    }
}

/// What is known about one photo: the app's capture, the file's EXIF, and what it proves.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The app's capture time.
    pub taken_at: Option<DateTime<Utc>>,
    /// The app's fix and its accuracy.
    pub app_place: Option<(Place, Option<f64>)>,
    pub exif_taken_at: Option<DateTime<Utc>>,
    pub exif_place: Option<Place>,
    /// The household it concerns, if any, and where that household lives, if known.
    pub household: Option<Option<Place>>,
    /// What it proves has a time (a visit, attempt, session): its window, or `None` when
    /// that record is not known.
    pub subject: Option<Option<Window>>,
    /// The subject's entity name (for `subject_missing`).
    pub subject_entity: String,
}

fn whole(x: f64) -> u32 {
    x.round().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// Place and time flags for one photo.
pub fn check(f: &Facts) -> Vec<Flag> {
    let mut flags = Vec::new();
    if let Some(Some(home)) = f.household {
        let fix = f
            .app_place
            .map(|(p, acc)| (p, acc, PlaceSource::App))
            .or(f.exif_place.map(|p| (p, None, PlaceSource::Exif)));
        match fix {
            None => flags.push(Flag::NoLocation {}),
            Some((_, Some(acc), _)) if acc > MAX_ACCURACY_CREDIT_M => {
                flags.push(Flag::ImpreciseLocation {
                    accuracy_m: whole(acc),
                });
            }
            Some((p, acc, source)) => {
                let d = distance_m(p, home);
                if d - acc.unwrap_or(0.0) > MAX_DISTANCE_M {
                    flags.push(Flag::FarFromHousehold {
                        distance_m: whole(d),
                        limit_m: whole(MAX_DISTANCE_M),
                        source,
                        accuracy_m: acc.map(whole),
                    });
                }
            }
        }
    }
    if let (Some((app, _)), Some(exif)) = (f.app_place, f.exif_place) {
        let d = distance_m(app, exif);
        if d > EXIF_PLACE_TOLERANCE_M {
            flags.push(Flag::ExifPlaceMismatch {
                distance_m: whole(d),
            });
        }
    }
    match (&f.subject, f.taken_at) {
        (Some(None), _) => flags.push(Flag::SubjectMissing {
            subject_entity: f.subject_entity.clone(),
        }),
        (Some(Some(w)), Some(t)) if t < w.from || t > w.to => {
            let outside = if t < w.from { w.from - t } else { t - w.to };
            flags.push(Flag::OutsideSubjectWindow {
                subject_entity: w.subject_entity.clone(),
                subject_at: w.at,
                taken_at: t,
                minutes_outside: outside.num_minutes().max(1),
            });
        }
        _ => {}
    }
    if let (Some(t), Some(e)) = (f.taken_at, f.exif_taken_at) {
        let apart = (t - e).abs();
        if apart > EXIF_CLOCK_TOLERANCE {
            flags.push(Flag::ExifTimeMismatch {
                taken_at: t,
                exif_taken_at: e,
                minutes_apart: apart.num_minutes(),
            });
        }
    }
    flags
}

/// The instant an EXIF local time (`YYYY-MM-DDTHH:MM:SS`) names, with its offset
/// (`+08:00`) or, without one, China Standard Time.
pub fn exif_instant(local: &str, offset: Option<&str>) -> Option<DateTime<Utc>> {
    let t = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S").ok()?;
    let secs = match offset {
        Some(o) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (h, m) = o.get(1..)?.split_once(':')?;
            sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60)
        }
        None => DEFAULT_EXIF_OFFSET_SECONDS,
    };
    let zone = FixedOffset::east_opt(secs)?;
    Some(t.and_local_timezone(zone).single()?.with_timezone(&Utc))
}

/// Bits in which two perceptual hashes differ.
pub fn hash_distance(a: i64, b: i64) -> u32 {
    (a ^ b).count_ones()
}

/// Whether two perceptual hashes show the same picture.
pub fn same_picture(a: i64, b: i64) -> bool {
    hash_distance(a, b) <= REUSE_MAX_BITS
}

/// The hash cut into [`BANDS`] equal bands: `(band, value)` pairs.
pub fn bands(hash: i64) -> [(i32, i32); BANDS] {
    let bits = hash as u64;
    let mut out = [(0, 0); BANDS];
    let mut shift = 0u32;
    for (i, slot) in out.iter_mut().enumerate() {
        let width = (64 - shift) / (BANDS - i) as u32;
        let value = (bits >> shift) & ((1u64 << width) - 1);
        *slot = (i as i32, value as i32);
        shift += width;
    }
    out
}

/// A photo as far as reuse goes: what it proves and the picture it shows.
#[derive(Debug, Clone)]
pub struct Picture<'a> {
    pub photo_id: &'a str,
    pub subject_entity: &'a str,
    pub subject_id: &'a str,
    pub household_id: Option<&'a str>,
    pub sha256: &'a str,
    pub dhash: Option<i64>,
}

/// Reuse flags for `p` among `others`: the same file or picture proving a different thing
/// (another visit, attempt, session or household). Nearest first, at most
/// [`MAX_REUSE_FLAGS`].
pub fn reuse(p: &Picture<'_>, others: &[Picture<'_>]) -> Vec<Flag> {
    let mut found: Vec<(u32, Flag)> = others
        .iter()
        .filter(|o| o.photo_id != p.photo_id)
        .filter(|o| (o.subject_entity, o.subject_id) != (p.subject_entity, p.subject_id))
        .filter_map(|o| {
            let same_file = o.sha256 == p.sha256;
            let bits = match (p.dhash, o.dhash) {
                _ if same_file => 0,
                (Some(a), Some(b)) if same_picture(a, b) => hash_distance(a, b),
                _ => return None,
            };
            Some((
                bits,
                Flag::Reused {
                    photo_id: o.photo_id.to_owned(),
                    subject_entity: o.subject_entity.to_owned(),
                    subject_id: o.subject_id.to_owned(),
                    household_id: o.household_id.map(str::to_owned),
                    same_file,
                    distance_bits: bits,
                },
            ))
        })
        .collect();
    found.sort_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| match (&a.1, &b.1) {
            (Flag::Reused { photo_id: x, .. }, Flag::Reused { photo_id: y, .. }) => x.cmp(y),
            _ => std::cmp::Ordering::Equal,
        })
    });
    found
        .into_iter()
        .take(MAX_REUSE_FLAGS)
        .map(|(_, f)| f)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    const HOME: Place = Place {
        lat: 25.04,
        lng: 102.71,
    };

    /// About `m` metres north of `p`.
    fn north(p: Place, m: f64) -> Place {
        Place {
            lat: p.lat + m / 111_195.0,
            lng: p.lng,
        }
    }

    #[test]
    fn distances_are_great_circle_metres() {
        assert!((distance_m(HOME, north(HOME, 5_000.0)) - 5_000.0).abs() < 5.0);
        assert!(distance_m(HOME, HOME) < 1e-6);
        // Kunming to Beijing is about 2,100 km.
        let beijing = Place {
            lat: 39.9042,
            lng: 116.4074,
        };
        let d = distance_m(HOME, beijing);
        assert!((2_000_000.0..2_200_000.0).contains(&d), "{d}");
    }

    fn at_home(p: Place, acc: Option<f64>) -> Facts {
        Facts {
            app_place: Some((p, acc)),
            household: Some(Some(HOME)),
            ..Facts::default()
        }
    }

    #[test]
    fn a_photo_5_km_from_the_household_is_flagged() {
        let flags = check(&at_home(north(HOME, 5_000.0), Some(10.0)));
        assert!(
            matches!(flags.as_slice(), [Flag::FarFromHousehold { distance_m, source: PlaceSource::App, .. }] if (4_990..5_010).contains(distance_m)),
            "{flags:?}"
        );
        assert!(check(&at_home(north(HOME, 300.0), Some(10.0))).is_empty());
        // The fix's accuracy is given as benefit of the doubt, up to a limit.
        assert!(check(&at_home(north(HOME, 900.0), Some(450.0))).is_empty());
        assert_eq!(
            check(&at_home(north(HOME, 900.0), Some(5_000.0))),
            vec![Flag::ImpreciseLocation { accuracy_m: 5_000 }]
        );
    }

    #[test]
    fn without_the_apps_fix_exif_places_the_photo() {
        let f = Facts {
            exif_place: Some(north(HOME, 5_000.0)),
            household: Some(Some(HOME)),
            ..Facts::default()
        };
        assert!(matches!(
            check(&f).as_slice(),
            [Flag::FarFromHousehold {
                source: PlaceSource::Exif,
                ..
            }]
        ));
        let nowhere = Facts {
            household: Some(Some(HOME)),
            ..Facts::default()
        };
        assert_eq!(check(&nowhere), vec![Flag::NoLocation {}]);
        // A household without a location: nothing to check against.
        let unknown = Facts {
            household: Some(None),
            ..Facts::default()
        };
        assert!(check(&unknown).is_empty());
        // The app and EXIF disagree about the place.
        let both = Facts {
            app_place: Some((HOME, Some(5.0))),
            exif_place: Some(north(HOME, 3_000.0)),
            household: Some(Some(HOME)),
            ..Facts::default()
        };
        assert!(matches!(
            check(&both).as_slice(),
            [Flag::ExifPlaceMismatch { distance_m }] if (2_990..3_010).contains(distance_m)
        ));
    }

    #[test]
    fn a_photo_outside_the_visit_window_is_flagged() {
        let visit = Window::around("visit", at("2026-11-20T02:00:00Z"), None);
        let facts = |t: &str| Facts {
            taken_at: Some(at(t)),
            subject: Some(Some(visit.clone())),
            subject_entity: "visit".into(),
            ..Facts::default()
        };
        assert!(check(&facts("2026-11-20T04:30:00Z")).is_empty());
        assert!(check(&facts("2026-11-19T23:30:00Z")).is_empty());
        let flags = check(&facts("2026-11-19T02:00:00Z"));
        assert!(
            matches!(
                flags.as_slice(),
                [Flag::OutsideSubjectWindow {
                    minutes_outside: 1260,
                    ..
                }]
            ),
            "{flags:?}"
        );
        // A session's duration widens its window.
        let session = Window::around(
            "teaching_session",
            at("2026-11-20T02:00:00Z"),
            Some(Duration::hours(2)),
        );
        let later = Facts {
            taken_at: Some(at("2026-11-20T06:30:00Z")),
            subject: Some(Some(session)),
            ..Facts::default()
        };
        assert!(check(&later).is_empty());
        // The visit is not on the server: said so, not guessed.
        let missing = Facts {
            taken_at: Some(at("2026-11-20T02:00:00Z")),
            subject: Some(None),
            subject_entity: "visit".into(),
            ..Facts::default()
        };
        assert_eq!(
            check(&missing),
            vec![Flag::SubjectMissing {
                subject_entity: "visit".into()
            }]
        );
    }

    #[test]
    fn app_and_exif_clocks_are_compared() {
        let exif = exif_instant("2026-11-20T09:30:00", None);
        assert_eq!(exif, Some(at("2026-11-20T01:30:00Z")));
        assert_eq!(
            exif_instant("2026-11-20T09:30:00", Some("-05:30")),
            Some(at("2026-11-20T15:00:00Z"))
        );
        assert_eq!(exif_instant("2026:11:20 09:30:00", None), None);
        let f = |t: &str| Facts {
            taken_at: Some(at(t)),
            exif_taken_at: exif,
            ..Facts::default()
        };
        assert!(check(&f("2026-11-20T01:40:00Z")).is_empty());
        assert!(matches!(
            check(&f("2026-11-21T01:30:00Z")).as_slice(),
            [Flag::ExifTimeMismatch {
                minutes_apart: 1440,
                ..
            }]
        ));
    }

    #[test]
    fn hashes_within_the_threshold_share_a_band() {
        let a: i64 = 0x5A5A_1234_DEAD_BEEF_u64 as i64;
        // Flipping up to 3 bits, however spread over the hash, keeps one band equal.
        for flips in [
            vec![0u32, 16, 32],
            vec![15, 31, 63],
            vec![1, 2, 3],
            vec![47, 48],
        ] {
            let b = flips.iter().fold(a, |h, bit| h ^ (1i64 << bit));
            assert!(same_picture(a, b));
            let shared = bands(a)
                .iter()
                .zip(bands(b))
                .filter(|(x, y)| **x == *y)
                .count();
            assert!(shared >= 1, "{flips:?}");
        }
        // The bands cover all 64 bits: different hashes differ in some band.
        assert_ne!(bands(a), bands(a ^ (1i64 << 63)));
        assert_ne!(bands(a), bands(a ^ 1));
        assert_eq!(hash_distance(a, !a), 64);
        assert!(!same_picture(a, a ^ 0b1111));
    }

    #[test]
    fn reuse_is_the_same_picture_for_another_subject() {
        let pic = |id: &'static str, subject: &'static str, sha: &'static str, h: i64| Picture {
            photo_id: id,
            subject_entity: "visit",
            subject_id: subject,
            household_id: None,
            sha256: sha,
            dhash: Some(h),
        };
        let p = pic("p1", "v1", "aa", 0);
        let others = [
            pic("p1", "v1", "aa", 0),     // itself
            pic("p2", "v1", "bb", 1),     // the same visit: a second shot, not reuse
            pic("p3", "v2", "cc", 0b111), // another visit, 3 bits away
            pic("p4", "v3", "aa", -1),    // another visit, the same file
            pic("p5", "v4", "dd", 0xFF),  // another visit, a different picture
        ];
        let flags = reuse(&p, &others);
        let ids: Vec<_> = flags
            .iter()
            .filter_map(|f| match f {
                Flag::Reused {
                    photo_id,
                    same_file,
                    distance_bits,
                    ..
                } => Some((photo_id.as_str(), *same_file, *distance_bits)),
                _ => None,
            })
            .collect();
        assert_eq!(ids, [("p4", true, 0), ("p3", false, 3)]);
    }
}
