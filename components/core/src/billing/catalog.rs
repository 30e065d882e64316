//! What billing offers, from configuration: plans and credit packages to list, the price of a
//! model's tokens, and the credits a new user starts with. Each comes from one Spin variable
//! holding JSON; a bad value is refused whole, naming the variable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Longest id of a plan or package.
const MAX_ID_LEN: usize = 64;
/// Longest name or description.
const MAX_TEXT_LEN: usize = 500;
/// Most credits any one number in configuration may hold (a trillion).
pub const MAX_CREDITS: i64 = 1_000_000_000_000;
/// Most credits per 1,000 tokens.
const MAX_RATE: i64 = 1_000_000;
/// Largest price, in minor units (Stripe's eight digits).
const MAX_PRICE: i64 = 99_999_999;

/// A configuration variable that does not hold what it must.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("variable {variable} is invalid: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

/// A plan, as `GET /api/billing/plans` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Stable id.
    pub id: String,
    /// Shown name.
    pub name: String,
    /// One or two sentences.
    #[serde(default)]
    pub description: String,
    /// Price per interval in minor units (0: free).
    pub price_cents: i64,
    /// ISO 4217 code, lowercase (`usd`).
    pub currency: String,
    /// `month`, `year`, or none for a plan without a recurring price.
    #[serde(default)]
    pub interval: Option<String>,
    /// Credits the plan includes per interval (or once, without an interval).
    #[serde(default)]
    pub included_credits: i64,
    /// Short lines for the plan's card.
    #[serde(default)]
    pub features: Vec<String>,
}

/// A package of credits one can buy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditPackage {
    /// Stable id, what `POST /api/billing/credits/purchase` names.
    pub id: String,
    /// Shown name (the id when absent).
    #[serde(default)]
    pub name: Option<String>,
    /// Credits granted once paid.
    pub credits: i64,
    /// Price in minor units.
    pub price_cents: i64,
    /// ISO 4217 code, lowercase (`usd`).
    pub currency: String,
}

/// Credits per 1,000 tokens of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// Per 1,000 input tokens.
    pub input_per_1k: i64,
    /// Per 1,000 output tokens.
    pub output_per_1k: i64,
}

/// The price table: a row per model, and the `default` row every other model uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    rows: BTreeMap<String, ModelPrice>,
    default: ModelPrice,
}

/// The model row every unlisted model is priced by.
pub const DEFAULT_MODEL: &str = "default";

impl PriceTable {
    /// The row for `model` (compared without case), or the `default` row.
    pub fn price_of(&self, model: &str) -> ModelPrice {
        self.rows
            .get(&model.trim().to_ascii_lowercase())
            .copied()
            .unwrap_or(self.default)
    }

    /// Credits for a usage event: each side's tokens at its rate, summed, divided by 1,000,
    /// rounded up (a call that used tokens never costs nothing at a non-zero rate). `None`
    /// only if the product overflows, which validated inputs cannot do.
    pub fn credits(&self, model: &str, input_tokens: i64, output_tokens: i64) -> Option<i64> {
        let price = self.price_of(model);
        let milli = i128::from(input_tokens) * i128::from(price.input_per_1k)
            + i128::from(output_tokens) * i128::from(price.output_per_1k);
        if milli < 0 {
            return None;
        }
        i64::try_from((milli + 999) / 1000).ok()
    }
}

/// Parses `billing_plans`: a JSON array of plans with unique ids.
pub fn parse_plans(json: &str) -> Result<Vec<Plan>, ConfigError> {
    const VAR: &str = "billing_plans";
    let plans: Vec<Plan> =
        serde_json::from_str(json).map_err(|e| ConfigError::new(VAR, e.to_string()))?;
    let mut seen = Vec::new();
    for plan in &plans {
        let at = |why: String| ConfigError::new(VAR, format!("plan {:?}: {why}", plan.id));
        check_id(&plan.id, &mut seen).map_err(at)?;
        check_text("name", &plan.name, false).map_err(at)?;
        check_text("description", &plan.description, true).map_err(at)?;
        check_currency(&plan.currency).map_err(at)?;
        check_range("price_cents", plan.price_cents, 0, MAX_PRICE).map_err(at)?;
        check_range("included_credits", plan.included_credits, 0, MAX_CREDITS).map_err(at)?;
        if let Some(interval) = &plan.interval
            && !matches!(interval.as_str(), "month" | "year")
        {
            return Err(at("interval must be \"month\", \"year\" or null".into()));
        }
        for feature in &plan.features {
            check_text("a feature", feature, false).map_err(at)?;
        }
    }
    Ok(plans)
}

/// Parses `credit_packages`: a JSON array of packages with unique ids, each worth credits
/// and costing something.
pub fn parse_packages(json: &str) -> Result<Vec<CreditPackage>, ConfigError> {
    const VAR: &str = "credit_packages";
    let packages: Vec<CreditPackage> =
        serde_json::from_str(json).map_err(|e| ConfigError::new(VAR, e.to_string()))?;
    let mut seen = Vec::new();
    for package in &packages {
        let at = |why: String| ConfigError::new(VAR, format!("package {:?}: {why}", package.id));
        check_id(&package.id, &mut seen).map_err(at)?;
        if let Some(name) = &package.name {
            check_text("name", name, false).map_err(at)?;
        }
        check_range("credits", package.credits, 1, MAX_CREDITS).map_err(at)?;
        check_range("price_cents", package.price_cents, 1, MAX_PRICE).map_err(at)?;
        check_currency(&package.currency).map_err(at)?;
    }
    Ok(packages)
}

/// Parses `usage_prices`: a JSON object from model name to its [`ModelPrice`], which must
/// have a `default` row. Model names are compared without case.
pub fn parse_prices(json: &str) -> Result<PriceTable, ConfigError> {
    const VAR: &str = "usage_prices";
    let table: BTreeMap<String, ModelPrice> =
        serde_json::from_str(json).map_err(|e| ConfigError::new(VAR, e.to_string()))?;
    let mut rows = BTreeMap::new();
    for (model, price) in table {
        let at = |why: String| ConfigError::new(VAR, format!("model {model:?}: {why}"));
        let key = model.trim().to_ascii_lowercase();
        if key.is_empty() || key.len() > 128 {
            return Err(at("the name must have 1 to 128 characters".into()));
        }
        check_range("input_per_1k", price.input_per_1k, 0, MAX_RATE).map_err(at)?;
        check_range("output_per_1k", price.output_per_1k, 0, MAX_RATE).map_err(at)?;
        if rows.insert(key, price).is_some() {
            return Err(at("listed twice (names are compared without case)".into()));
        }
    }
    let default = *rows
        .get(DEFAULT_MODEL)
        .ok_or_else(|| ConfigError::new(VAR, "there must be a \"default\" row"))?;
    Ok(PriceTable { rows, default })
}

/// Parses `signup_credits`: the credits a new user is granted, a whole number.
pub fn parse_signup_credits(text: &str) -> Result<i64, ConfigError> {
    const VAR: &str = "signup_credits";
    let credits: i64 = text
        .trim()
        .parse()
        .map_err(|_| ConfigError::new(VAR, format!("{text:?} is not a whole number")))?;
    check_range("the value", credits, 0, MAX_CREDITS).map_err(|why| ConfigError::new(VAR, why))?;
    Ok(credits)
}

fn check_id(id: &str, seen: &mut Vec<String>) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if !ok {
        return Err("the id must have 1 to 64 of a-z, 0-9, '-', '_' and '.'".into());
    }
    if seen.iter().any(|s| s == id) {
        return Err("the id is listed twice".into());
    }
    seen.push(id.to_owned());
    Ok(())
}

fn check_text(what: &str, text: &str, may_be_empty: bool) -> Result<(), String> {
    if (!may_be_empty && text.trim().is_empty())
        || text.chars().count() > MAX_TEXT_LEN
        || text.chars().any(char::is_control)
    {
        let empty = if may_be_empty { "" } else { "non-empty, " };
        return Err(format!(
            "{what} must be {empty}at most {MAX_TEXT_LEN} characters, without control characters"
        ));
    }
    Ok(())
}

fn check_currency(currency: &str) -> Result<(), String> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(format!(
            "currency {currency:?} must be a lowercase ISO 4217 code such as \"usd\""
        ))
    }
}

fn check_range(what: &str, value: i64, min: i64, max: i64) -> Result<(), String> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!("{what} must be between {min} and {max}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults `spin.toml` ships must parse (kept in step by hand: a copy here).
    const PACKAGES: &str = r#"[{"id":"credits-500k","name":"500,000 credits","credits":500000,"price_cents":500,"currency":"usd"}]"#;

    #[test]
    fn packages_parse_and_bad_ones_name_the_variable() {
        let packages = parse_packages(PACKAGES).unwrap();
        assert_eq!(packages[0].credits, 500_000);
        assert_eq!(packages[0].price_cents, 500);
        for bad in [
            "{}",
            r#"[{"id":"a","credits":0,"price_cents":5,"currency":"usd"}]"#,
            r#"[{"id":"a","credits":5,"price_cents":0,"currency":"usd"}]"#,
            r#"[{"id":"a","credits":5,"price_cents":5,"currency":"USD"}]"#,
            r#"[{"id":"A b","credits":5,"price_cents":5,"currency":"usd"}]"#,
            r#"[{"id":"a","credits":5,"price_cents":5,"currency":"usd"},{"id":"a","credits":6,"price_cents":6,"currency":"usd"}]"#,
            r#"[{"id":"a","credits":5,"price_cents":5,"currency":"usd","extra":1}]"#,
        ] {
            let err = parse_packages(bad).unwrap_err();
            assert_eq!(err.variable, "credit_packages", "{bad}");
            assert!(
                err.to_string()
                    .starts_with("variable credit_packages is invalid")
            );
        }
    }

    #[test]
    fn plans_parse_with_defaults() {
        let plans = parse_plans(
            r#"[{"id":"payg","name":"Pay as you go","price_cents":0,"currency":"usd"}]"#,
        )
        .unwrap();
        assert_eq!(plans[0].interval, None);
        assert!(plans[0].features.is_empty());
        assert!(parse_plans(r#"[{"id":"x","name":"","price_cents":0,"currency":"usd"}]"#).is_err());
        assert!(
            parse_plans(
                r#"[{"id":"x","name":"X","price_cents":0,"currency":"usd","interval":"week"}]"#
            )
            .is_err()
        );
        assert_eq!(parse_plans("nope").unwrap_err().variable, "billing_plans");
    }

    #[test]
    fn prices_need_a_default_and_round_up() {
        let table = parse_prices(
            r#"{"default":{"input_per_1k":3,"output_per_1k":15},"Big-Model":{"input_per_1k":10,"output_per_1k":50}}"#,
        )
        .unwrap();
        // 1,000 in and 1,000 out at the default row.
        assert_eq!(table.credits("unknown", 1000, 1000), Some(18));
        // Names compare without case; one token still costs a credit.
        assert_eq!(table.credits("big-model", 1, 0), Some(1));
        assert_eq!(table.credits(" BIG-MODEL ", 2000, 100), Some(25));
        assert_eq!(table.credits("big-model", 0, 0), Some(0));
        assert_eq!(
            table.credits("x", 1_000_000_000, 1_000_000_000),
            Some(18_000_000)
        );
        let err = parse_prices(r#"{"m":{"input_per_1k":1,"output_per_1k":1}}"#).unwrap_err();
        assert_eq!(err.variable, "usage_prices");
        assert!(err.reason.contains("default"));
        assert!(parse_prices(r#"{"default":{"input_per_1k":-1,"output_per_1k":1}}"#).is_err());
        assert!(
            parse_prices(
                r#"{"default":{"input_per_1k":1,"output_per_1k":1},"A":{"input_per_1k":1,"output_per_1k":1},"a":{"input_per_1k":1,"output_per_1k":1}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn signup_credits_are_a_whole_number() {
        assert_eq!(parse_signup_credits(" 100000 "), Ok(100_000));
        assert_eq!(parse_signup_credits("0"), Ok(0));
        assert!(parse_signup_credits("-1").is_err());
        assert!(parse_signup_credits("1e5").is_err());
        assert_eq!(
            parse_signup_credits("").unwrap_err().variable,
            "signup_credits"
        );
    }
}
