//! Resident identity numbers (居民身份证号码, GB 11643-1999): 6 digits of the issuing
//! region, the birth date as `YYYYMMDD`, a 3-digit sequence (odd for men, even for women)
//! and a check character computed over the first 17 (ISO 7064 MOD 11-2). R-FILE-1 pays aid
//! only to people identified by a valid number.

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
    pub fn code(self) -> &'static str {
        match self {
            IdError::Format => "invalid_format",
            IdError::BirthDate => "invalid_birth_date",
            IdError::CheckDigit => "invalid_check_digit",
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
    fn masking_keeps_region_and_last_four() {
        assert_eq!(mask("530102199003071234"), "530102********1234");
        assert_eq!(mask("123"), "***");
    }
}
