//! Small checks shared by every input type. Each pushes a `FieldError` so that one answer
//! lists every deficiency (R-APP-3).

use bangfu_sync::Code;

use crate::infra::error::{FieldError, Msg};

/// Collects field errors for one request.
#[derive(Debug, Default)]
pub struct Checks {
    pub errors: Vec<FieldError>,
}

impl Checks {
    pub fn text(&mut self, field: &str, value: &str, min_chars: usize, max_chars: usize) {
        let n = value.trim().chars().count();
        if n < min_chars {
            self.errors.push(FieldError::new(
                field,
                Code::Required,
                Msg::new(
                    format!("{field} 不能为空或过短（至少 {min_chars} 个字符）。"),
                    format!("{field} is missing or too short (at least {min_chars} characters)."),
                ),
            ));
        } else if value.chars().count() > max_chars {
            self.errors.push(FieldError::new(
                field,
                Code::TooLong,
                Msg::new(
                    format!("{field} 过长（最多 {max_chars} 个字符）。"),
                    format!("{field} is too long (at most {max_chars} characters)."),
                ),
            ));
        } else if value.chars().any(|c| c.is_control()) {
            self.errors.push(FieldError::new(
                field,
                Code::InvalidCharacters,
                Msg::new(
                    format!("{field} 含有控制字符。"),
                    format!("{field} contains control characters."),
                ),
            ));
        }
    }

    /// A mobile number, when one is given: 11 digits starting with 1.
    pub fn phone(&mut self, field: &str, phone: Option<&str>) {
        self.rule(
            phone.is_none_or(valid_phone),
            field,
            Code::InvalidFormat,
            Msg::fixed(
                "手机号须为 11 位数字。",
                "phone is an 11-digit mobile number.",
            ),
        );
    }

    pub fn rule(&mut self, ok: bool, field: &str, code: Code, message: Msg) {
        if !ok {
            self.errors.push(FieldError::new(field, code, message));
        }
    }

    pub fn finish(self) -> Result<(), crate::infra::error::Error> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(crate::infra::error::Error::Validation(self.errors))
        }
    }
}

/// A mainland mobile number: 11 digits starting with 1.
pub fn valid_phone(phone: &str) -> bool {
    phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit())
}

/// `13812345678` -> `138****5678`: enough to recognise, not enough to call.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert!(valid_phone("13812345678"));
        assert!(!valid_phone("23812345678"));
        assert!(!valid_phone("1381234567"));
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345"), "*****");
    }

    #[test]
    fn checks_collect_every_problem() {
        let mut c = Checks::default();
        c.text("name", "", 1, 10);
        c.text("code", "a\u{0}b", 1, 10);
        c.text("note", &"x".repeat(11), 0, 10);
        let fields: Vec<_> = c
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("name", "required"),
                ("code", "invalid_characters"),
                ("note", "too_long")
            ]
        );
    }
}
