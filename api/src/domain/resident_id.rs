//! Resident identity numbers (居民身份证号码, GB 11643-1999): 6 digits of the issuing
//! region, the birth date as `YYYYMMDD`, a 3-digit sequence (odd for men, even for women)
//! and a check character computed over the first 17 (ISO 7064 MOD 11-2). R-FILE-1 pays aid
//! only to people identified by a valid number.

use bangfu_sync::Code;
use chrono::NaiveDate;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// What a valid number says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentId {
    /// The number, with a lowercase `x` made uppercase.
    pub number: String,
    pub region_code: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// Not 17 digits followed by a digit or `X`.
    Format,
    /// A birth date that does not exist, or lies in the future.
    BirthDate,
    /// The check character does not match: a typo.
    CheckDigit,
}

impl IdError {
    pub fn code(self) -> Code {
        match self {
            IdError::Format => Code::InvalidFormat,
            IdError::BirthDate => Code::InvalidBirthDate,
            IdError::CheckDigit => Code::InvalidCheckDigit,
        }
    }
}

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(CHECK[(sum % 11) as usize])
}

/// Checks a number as of `today`.
pub fn parse(raw: &str, today: NaiveDate) -> Result<ResidentId, IdError> {
    let number = raw.trim().to_ascii_uppercase();
    let b = number.as_bytes();
    if b.len() != 18
        || !b[..17].iter().all(u8::is_ascii_digit)
        || !(b[17].is_ascii_digit() || b[17] == b'X')
    {
        return Err(IdError::Format);
    }
    let birth_date =
        NaiveDate::parse_from_str(&number[6..14], "%Y%m%d").map_err(|_| IdError::BirthDate)?;
    if birth_date > today
        || birth_date < NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or(NaiveDate::MIN)
    {
        return Err(IdError::BirthDate);
    }
    if check_char(&b[..17]) != Some(char::from(b[17])) {
        return Err(IdError::CheckDigit);
    }
    let sex = if (b[16] - b'0') % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };
    Ok(ResidentId {
        region_code: number[..6].to_owned(),
        number,
        birth_date,
        sex,
    })
}

/// `530102199003071234` -> `530102********1234`: the issuing region and the last four,
/// for roles that need to tell people apart but not to read the number.
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() != 18 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[14..].iter().collect();
    format!("{head}********{tail}")
}

/// Whether 18 bytes read as a resident ID number: 17 digits, a plausible birth date and
/// the right check character (an `x` counts as `X`).
fn looks_like_number(b: &[u8]) -> bool {
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let last = b[17].to_ascii_uppercase();
    let year = (6..10).fold(0u32, |n, i| n * 10 + u32::from(b[i] - b'0'));
    let month = u32::from(b[10] - b'0') * 10 + u32::from(b[11] - b'0');
    let day = u32::from(b[12] - b'0') * 10 + u32::from(b[13] - b'0');
    (1880..=2200).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && check_char(&b[..17]) == Some(char::from(last))
}

/// The text with every resident ID number in it masked (see [`mask`]), or `None` when it
/// holds none. A number counts only standing alone: not inside a longer run of digits.
pub fn mask_in(text: &str) -> Option<String> {
    let b = text.as_bytes();
    if b.len() < 18 {
        return None;
    }
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + 18 <= b.len() {
        let alone = (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b.get(i + 18).is_none_or(|c| !c.is_ascii_alphanumeric());
        if alone && looks_like_number(&b[i..i + 18]) {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..i]);
            o.push_str(&mask(&text[i..i + 18].to_ascii_uppercase()));
            copied = i + 18;
            i += 18;
        } else {
            i += 1;
        }
    }
    out.map(|mut o| {
        o.push_str(&text[copied..]);
        o
    })
}

/// A JSON value with every resident ID number in its strings masked, or `None` when it
/// holds none (nothing is copied then).
pub fn mask_in_json(v: &serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::Value;
    match v {
        Value::String(s) => mask_in(s).map(Value::String),
        Value::Array(items) => {
            let first = items.iter().position(|i| mask_in_json(i).is_some())?;
            Some(Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(n, i)| {
                        if n < first {
                            i.clone()
                        } else {
                            mask_in_json(i).unwrap_or_else(|| i.clone())
                        }
                    })
                    .collect(),
            ))
        }
        Value::Object(o) => {
            o.values().find_map(mask_in_json)?;
            Some(Value::Object(
                o.iter()
                    .map(|(k, i)| (k.clone(), mask_in_json(i).unwrap_or_else(|| i.clone())))
                    .collect(),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default()
    }

    /// Builds a valid number from its first 17 digits.
    fn valid(first17: &str) -> String {
        format!("{first17}{}", check_char(first17.as_bytes()).unwrap_or('?'))
    }

    #[test]
    fn the_standard_example_checks_out() {
        // The worked example of GB 11643-1999: 11010519491231002X.
        let id = parse("11010519491231002x", today()).map_err(|e| e.code());
        assert_eq!(
            id,
            Ok(ResidentId {
                number: "11010519491231002X".into(),
                region_code: "110105".into(),
                birth_date: NaiveDate::from_ymd_opt(1949, 12, 31).unwrap_or_default(),
                sex: Sex::Female,
            })
        );
    }

    #[test]
    fn every_single_digit_typo_is_caught() {
        let good = valid("53012320140301001");
        assert!(parse(&good, today()).is_ok());
        for pos in 0..17 {
            for d in b'0'..=b'9' {
                let mut b = good.clone().into_bytes();
                if b[pos] == d {
                    continue;
                }
                b[pos] = d;
                let typo = String::from_utf8(b).unwrap_or_default();
                assert!(
                    parse(&typo, today()).is_err(),
                    "typo at {pos} accepted: {typo}"
                );
            }
        }
    }

    #[test]
    fn format_and_dates() {
        assert_eq!(parse("53012320140301001", today()), Err(IdError::Format));
        assert_eq!(parse("5301232014030100AX", today()), Err(IdError::Format));
        assert_eq!(
            parse(&valid("53012320140230001"), today()),
            Err(IdError::BirthDate)
        );
        assert_eq!(
            parse(&valid("53012320301201001"), today()),
            Err(IdError::BirthDate)
        );
        let male = parse(&valid("53012320140301001"), today()).map(|i| i.sex);
        assert_eq!(male, Ok(Sex::Male));
    }

    #[test]
    fn numbers_inside_text_are_found_and_masked() {
        let id = valid("53012319510309002");
        assert_eq!(mask_in(&id), Some(mask(&id)));
        assert_eq!(
            mask_in(&format!("身份证号 {id} 为新证")),
            Some(format!("身份证号 {} 为新证", mask(&id)))
        );
        let lower = id.to_lowercase();
        assert!(mask_in(&format!("a:{lower},b:{id}")).is_some_and(|t| !t.contains(&id[6..14])));
        // Not a number inside a longer one, nor one whose check character is wrong.
        assert_eq!(mask_in(&format!("9{id}")), None);
        let mut wrong = id.clone().into_bytes();
        wrong[17] = if wrong[17] == b'1' { b'2' } else { b'1' };
        assert_eq!(mask_in(&String::from_utf8(wrong).unwrap_or_default()), None);
        assert_eq!(mask_in("三组 12 号"), None);
        // Multi-byte text around it stays whole.
        assert!(
            mask_in(&format!("张{id}李")).is_some_and(|t| t.starts_with('张') && t.ends_with('李'))
        );
    }

    #[test]
    fn numbers_anywhere_in_json_are_masked() {
        let id = valid("53012319510309002");
        let v = serde_json::json!({"a": [{"b": format!("x\n{id}")}], "c": 5, "d": "plain"});
        let m = mask_in_json(&v).unwrap_or_default();
        assert_eq!(m["a"][0]["b"], format!("x\n{}", mask(&id)));
        assert_eq!(m["d"], "plain");
        assert_eq!(mask_in_json(&serde_json::json!({"d": "plain"})), None);
    }

    #[test]
    fn masking_keeps_region_and_last_four() {
        assert_eq!(mask("530102199003071234"), "530102********1234");
        assert_eq!(mask("123"), "***");
    }
}
