//! Capture time and place as the camera wrote them in EXIF. Phones often strip EXIF or get
//! it wrong; these are kept beside the blob as evidence, apart from what the app recorded.

use std::io::{BufRead, Seek};

use exif::{In, Reader, Tag, Value};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the file's EXIF says; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExifInfo {
    /// `DateTimeOriginal` as written: local time of the camera, `YYYY-MM-DDTHH:MM:SS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_at_local: Option<String>,
    /// The UTC offset the camera noted (`OffsetTimeOriginal`), e.g. `+08:00`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub altitude_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
}

impl ExifInfo {
    pub fn has_gps(&self) -> bool {
        self.lat.is_some() || self.lon.is_some()
    }

    fn is_empty(&self) -> bool {
        *self == ExifInfo::default()
    }
}

/// Reads EXIF from a JPEG, PNG, WebP or HEIF file; `None` if it has none (or none legible).
pub fn read<R: BufRead + Seek>(r: &mut R) -> Option<ExifInfo> {
    let exif = Reader::new().read_from_container(r).ok()?;
    let ascii = |tag: Tag| -> Option<String> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(parts) => parts
                .first()
                .map(|p| String::from_utf8_lossy(p).trim().to_owned())
                .filter(|s| !s.is_empty() && s.len() <= 64),
            _ => None,
        }
    };
    let mut info = ExifInfo::default();
    if let Some(raw) = ascii(Tag::DateTimeOriginal).or_else(|| ascii(Tag::DateTime))
        && let Ok(t) = exif::DateTime::from_ascii(raw.as_bytes())
        && chrono::NaiveDate::from_ymd_opt(t.year.into(), t.month.into(), t.day.into()).is_some()
        && t.hour < 24
        && t.minute < 60
        && t.second < 61
    {
        info.taken_at_local = Some(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        ));
    }
    info.offset = ascii(Tag::OffsetTimeOriginal)
        .filter(|o| o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":");
    let degrees = |tag: Tag, reference: Tag, negative: &str| -> Option<f64> {
        let Value::Rational(r) = &exif.get_field(tag, In::PRIMARY)?.value else {
            return None;
        };
        if r.len() < 3 || r.iter().any(|x| x.denom == 0) {
            return None;
        }
        let v = r[0].to_f64() + r[1].to_f64() / 60.0 + r[2].to_f64() / 3600.0;
        let sign = if ascii(reference).as_deref() == Some(negative) {
            -1.0
        } else {
            1.0
        };
        Some(sign * v).filter(|v| v.is_finite())
    };
    info.lat = degrees(Tag::GPSLatitude, Tag::GPSLatitudeRef, "S").filter(|v| v.abs() <= 90.0);
    info.lon = degrees(Tag::GPSLongitude, Tag::GPSLongitudeRef, "W").filter(|v| v.abs() <= 180.0);
    if info.lat.is_none() || info.lon.is_none() {
        info.lat = None;
        info.lon = None;
    }
    if let Some(f) = exif.get_field(Tag::GPSAltitude, In::PRIMARY)
        && let Value::Rational(r) = &f.value
        && let Some(a) = r.first().filter(|a| a.denom != 0)
    {
        info.altitude_m = Some(a.to_f64());
    }
    let make = ascii(Tag::Make).unwrap_or_default();
    let model = ascii(Tag::Model).unwrap_or_default();
    let camera = format!("{make} {model}").trim().to_owned();
    info.camera = (!camera.is_empty()).then_some(camera);
    (!info.is_empty()).then_some(info)
}
