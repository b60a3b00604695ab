//! Money is an integer number of fen. Every amount that comes in is bounded, so that no
//! sum or product of them can leave `i64`; the arithmetic on them saturates rather than
//! wraps, so that a bug could never turn a cap into a negative number.

use bangfu_sync::Code;

use crate::domain::validate::Checks;
use crate::infra::error::Msg;

/// The largest amount any one field may carry: 10 billion yuan, far above any household's
/// income or any payment of a county, far below where sums of them could overflow.
pub const MAX_FEN: i64 = 1_000_000_000_000;

/// Checks an incoming amount: at most [`MAX_FEN`] either way (`negative`: whether it may be
/// below zero at all).
pub fn check(c: &mut Checks, field: &str, fen: i64, negative: bool) {
    let lowest = if negative { -MAX_FEN } else { 0 };
    c.rule(
        (lowest..=MAX_FEN).contains(&fen),
        field,
        Code::OutOfRange,
        if negative {
            Msg::new(
                format!("{field} 须在 ±100 亿元以内（以分计）。"),
                format!("{field} lies within ±10 billion yuan (in fen)."),
            )
        } else {
            Msg::new(
                format!("{field} 须在 0 到 100 亿元之间（以分计）。"),
                format!("{field} lies between 0 and 10 billion yuan (in fen)."),
            )
        },
    );
}

/// The sum of amounts, saturating at the ends of `i64`.
pub fn total(amounts: impl IntoIterator<Item = i64>) -> i64 {
    amounts.into_iter().fold(0i64, i64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_bounded_and_sums_never_wrap() {
        let mut c = Checks::default();
        check(&mut c, "amount_fen", MAX_FEN, false);
        check(&mut c, "amount_fen", 0, false);
        assert!(c.errors.is_empty());
        check(&mut c, "a", MAX_FEN + 1, false);
        check(&mut c, "b", -1, false);
        check(&mut c, "c", -MAX_FEN, true);
        check(&mut c, "d", i64::MIN, true);
        let fields: Vec<_> = c.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a", "b", "d"]);
        assert_eq!(total([i64::MAX, i64::MAX]), i64::MAX);
        assert_eq!(total([1, 2, 3]), 6);
    }
}
