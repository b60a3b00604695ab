//! Case numbers on the phone: reserve a block while online, then number the cases opened
//! offline from it, never the same number twice (the next serial is kept in the store).

use serde_json::{Value, json};

use super::{ClientError, Field, store};

fn local(e: impl std::fmt::Display) -> ClientError {
    ClientError::Local(e.to_string())
}

/// A block as the server handed it out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Block {
    county_code: String,
    year: i32,
    code: String,
    next: i64,
    last: i64,
}

fn code_of(series: &str) -> Result<&'static str, ClientError> {
    match series {
        "dropout_case" => Ok("KC"),
        "employment_plan" => Ok("JY"),
        other => Err(local(format!("no case numbers for {other:?}"))),
    }
}

impl Field {
    fn block(&mut self, series: &str) -> Result<Option<Block>, ClientError> {
        store::get_meta(&mut self.db, &format!("case_numbers:{series}"))?
            .map(|t| serde_json::from_str(&t).map_err(local))
            .transpose()
    }

    /// Reserves `size` numbers of a series (`dropout_case`, `employment_plan`) for this
    /// device; they replace what is left of an earlier block.
    pub fn reserve_case_numbers(&mut self, series: &str, size: i64) -> Result<(), ClientError> {
        let code = code_of(series)?;
        let url = self.url("/v1/case-number-blocks");
        let body = json!({"series": series, "size": size});
        let b = self.send(|http, token| http.post(&url).bearer_auth(token).json(&body))?;
        let num = |k: &str| {
            b.get(k)
                .and_then(Value::as_i64)
                .ok_or_else(|| local(format!("block without {k}")))
        };
        let block = Block {
            county_code: b
                .get("county_code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            year: i32::try_from(num("year")?).map_err(local)?,
            code: code.to_owned(),
            next: num("first_serial")?,
            last: num("last_serial")?,
        };
        store::set_meta(
            &mut self.db,
            &format!("case_numbers:{series}"),
            &serde_json::to_string(&block).map_err(local)?,
        )
    }

    /// The next number of a series from the reserved block (offline is fine).
    pub fn next_case_no(&mut self, series: &str) -> Result<String, ClientError> {
        let mut b = self
            .block(series)?
            .ok_or_else(|| local("no case numbers reserved: reserve a block while online"))?;
        if b.next > b.last {
            return Err(local(
                "the reserved case numbers are used up: reserve a new block while online",
            ));
        }
        let no = format!("{}-{}-{}-{:05}", b.county_code, b.year, b.code, b.next);
        b.next += 1;
        store::set_meta(
            &mut self.db,
            &format!("case_numbers:{series}"),
            &serde_json::to_string(&b).map_err(local)?,
        )?;
        Ok(no)
    }

    /// Numbers left in the reserved block of a series.
    pub fn case_numbers_left(&mut self, series: &str) -> Result<i64, ClientError> {
        Ok(self
            .block(series)?
            .map_or(0, |b| (b.last - b.next + 1).max(0)))
    }
}
