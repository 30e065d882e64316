//! PaymentIntents: `POST /v1/payment_intents` (with `confirm=true` it charges at once, as the
//! card behaves) and `GET /v1/payment_intents/{id}`; the Charge each attempt creates.

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};

use super::{
    cards::Outcome,
    charges::Charge,
    errors::{ApiError, json_response},
    gate::Caller,
    model::PaymentIntent,
    params::{self, Kind, Schema},
    setup_intents::{AUTOMATIC, methods},
    state::{Inner, Origin, StripeState, client_secret, new_id},
};

const CREATE: Schema = &[
    ("amount", Kind::Int),
    ("automatic_payment_methods", Kind::Hash(AUTOMATIC)),
    ("confirm", Kind::Bool),
    ("currency", Kind::Text),
    ("customer", Kind::Text),
    ("description", Kind::Text),
    ("metadata", Kind::Metadata),
    ("off_session", Kind::Bool),
    ("payment_method", Kind::Text),
    ("payment_method_types", Kind::TextList),
];
const NO_PARAMS: Schema = &[];
/// Currencies the fake takes: code, smallest charge in minor units, symbol, decimals.
const CURRENCIES: &[(&str, u64, &str, u32)] = &[
    ("usd", 50, "$", 2),
    ("eur", 50, "€", 2),
    ("gbp", 30, "£", 2),
    ("cad", 50, "$", 2),
    ("aud", 50, "$", 2),
    ("chf", 50, "CHF ", 2),
    ("jpy", 50, "¥", 0),
];
/// Largest amount: eight digits.
const MAX_AMOUNT: u64 = 99_999_999;

fn money(amount: u64, symbol: &str, decimals: u32) -> String {
    if decimals == 0 {
        return format!("{symbol}{amount}");
    }
    let unit = 10u64.pow(decimals);
    let whole = (amount / unit).to_string();
    let grouped: Vec<String> = whole
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "{symbol}{}.{:0width$}",
        grouped.join(","),
        amount % unit,
        width = decimals as usize
    )
}

/// `amount` and `currency` as Stripe checks them.
fn amount_and_currency(amount: i64, currency: &str) -> Result<(u64, String), ApiError> {
    let currency = currency.to_ascii_lowercase();
    let Some((code, minimum, symbol, decimals)) = CURRENCIES.iter().find(|(c, ..)| *c == currency)
    else {
        let codes: Vec<&str> = CURRENCIES.iter().map(|(c, ..)| *c).collect();
        return Err(ApiError::invalid(format!(
            "Invalid currency: {currency}. Stripe currently supports these currencies: {}",
            codes.join(", ")
        ))
        .param("currency")
        .unsaved());
    };
    let amount = u64::try_from(amount).unwrap_or(0);
    if amount < *minimum {
        return Err(ApiError::invalid(format!(
            "Amount must be at least {} {code}",
            money(*minimum, symbol, *decimals)
        ))
        .code("amount_too_small")
        .param("amount")
        .unsaved());
    }
    if amount > MAX_AMOUNT {
        return Err(ApiError::invalid(format!(
            "Amount must be no more than {} {code}",
            money(MAX_AMOUNT, symbol, *decimals)
        ))
        .code("amount_too_large")
        .param("amount")
        .unsaved());
    }
    Ok((amount, currency))
}

impl Inner {
    /// Charges a PaymentIntent's payment method: succeeded, waiting for 3D Secure, or
    /// declined (a 402 carrying the intent, back to `requires_payment_method`).
    pub(crate) fn confirm_payment(
        &mut self,
        id: &str,
        off_session: bool,
        authenticated: bool,
        origin: &Origin,
        now_ms: u64,
    ) -> Result<(), ApiError> {
        let Some(mut pi) = self.payment_intents.get(&id.to_owned()).cloned() else {
            return Err(ApiError::no_such("payment_intent", id, "id"));
        };
        let Some(pm_id) = pi.payment_method.clone() else {
            return Err(missing_payment_method());
        };
        let pm = self.payment_method(&pm_id, "payment_method")?.clone();
        let outcome = pm.card.charge(off_session, authenticated);
        if outcome == Outcome::NeedsAuthentication {
            pi.status = "requires_action";
            let json = pi.to_json();
            self.payment_intents.insert(pi.id.clone(), pi);
            self.emit("payment_intent.requires_action", json, None, origin, now_ms);
            return Ok(());
        }
        let failure = match outcome {
            Outcome::Declined(e) => Some(e),
            _ => None,
        };
        let charge = Charge {
            id: new_id("ch"),
            created: now_ms / 1000,
            amount: pi.amount,
            currency: pi.currency.clone(),
            customer: pi.customer.clone(),
            description: pi.description.clone(),
            metadata: pi.metadata.clone(),
            payment_intent: pi.id.clone(),
            payment_method: pm.clone(),
            balance_transaction: failure.is_none().then(|| new_id("txn")),
            failure: failure.clone(),
            amount_refunded: 0,
            disputed: false,
        };
        let charge_json = charge.to_json();
        pi.latest_charge = Some(charge.id.clone());
        self.charges.insert(charge.id.clone(), charge.clone());
        let error = failure.map(|e| {
            e.with("charge", charge.id.clone().into())
                .with("payment_method", pm.to_json())
        });
        match &error {
            None => {
                pi.status = "succeeded";
                pi.amount_received = pi.amount;
                pi.last_payment_error = None;
            }
            Some(e) => {
                pi.status = "requires_payment_method";
                pi.payment_method = None;
                pi.last_payment_error = Some(e.as_last_error());
            }
        }
        let json = pi.to_json();
        self.payment_intents.insert(pi.id.clone(), pi);
        let (charge_event, intent_event) = match &error {
            None => ("charge.succeeded", "payment_intent.succeeded"),
            Some(_) => ("charge.failed", "payment_intent.payment_failed"),
        };
        self.emit(charge_event, charge_json, None, origin, now_ms);
        self.emit(intent_event, json.clone(), None, origin, now_ms);
        match error {
            Some(e) => Err(e.with("payment_intent", json)),
            None => Ok(()),
        }
    }
}

fn missing_payment_method() -> ApiError {
    ApiError::invalid("You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method or ConfirmationToken.")
        .code("payment_intent_unexpected_state")
}

/// Checks that a payment method may pay for `customer`'s intent.
fn check_owner(pm: &str, owner: Option<&str>, customer: Option<&str>) -> Result<(), ApiError> {
    match (owner, customer) {
        (Some(owner), Some(customer)) if owner != customer => Err(ApiError::invalid(format!(
            "The PaymentMethod provided ({pm}) does not belong to the Customer ({customer}). Please use a PaymentMethod that belongs to the Customer."
        ))
        .param("payment_method")),
        (Some(_), None) => Err(ApiError::invalid(
            "The provided PaymentMethod belongs to a Customer. Please provide the Customer ID as the `customer` parameter.",
        )
        .param("payment_method")),
        _ => Ok(()),
    }
}

/// `POST /v1/payment_intents`.
pub(crate) async fn create(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let p = params::check(&caller.form, CREATE)?;
    // The schema made sure `amount` is an integer.
    let amount = p.required("amount")?.parse().unwrap_or_default();
    let (amount, currency) = amount_and_currency(amount, p.required("currency")?)?;
    let methods = methods(&p)?;
    let confirm = p.flag(&["confirm"]) == Some(true);
    let off_session = p.flag(&["off_session"]) == Some(true);
    if p.given(&["off_session"]) && !confirm {
        return Err(ApiError::invalid(
            "The off_session parameter can only be used when confirm=true.",
        )
        .param("off_session")
        .unsaved());
    }
    if confirm && p.text(&["payment_method"]).is_none() {
        return Err(missing_payment_method());
    }
    let now = state.now_ms();
    let origin = caller.origin();
    let mut inner = state.lock();
    let customer = match p.text(&["customer"]) {
        Some(c) => Some(inner.customer(c, "customer")?.id.clone()),
        None => None,
    };
    let payment_method = match p.text(&["payment_method"]) {
        Some(pm) => {
            let id = inner.resolve_payment_method(pm, "payment_method", now)?;
            let found = inner.payment_method(&id, "payment_method")?;
            check_owner(&id, found.customer.as_deref(), customer.as_deref())?;
            Some(id)
        }
        None => None,
    };
    let id = new_id("pi");
    let mut pi = PaymentIntent {
        client_secret: client_secret(&id),
        id: id.clone(),
        created: now / 1000,
        amount,
        currency,
        customer,
        description: p.text(&["description"]).map(str::to_owned),
        metadata: Default::default(),
        methods,
        status: if payment_method.is_some() {
            "requires_confirmation"
        } else {
            "requires_payment_method"
        },
        payment_method,
        amount_received: 0,
        latest_charge: None,
        last_payment_error: None,
    };
    p.apply_metadata(&mut pi.metadata);
    inner.payment_intents.insert(id.clone(), pi.clone());
    inner.emit("payment_intent.created", pi.to_json(), None, &origin, now);
    let result = if confirm {
        inner.confirm_payment(&id, off_session, false, &origin, now)
    } else {
        Ok(())
    };
    let json = inner.payment_intents.get(&id).map(PaymentIntent::to_json);
    drop(inner);
    state.wake();
    result?;
    json.map(|j| json_response(StatusCode::OK, &j))
        .ok_or_else(|| ApiError::api(StatusCode::INTERNAL_SERVER_ERROR))
}

/// `GET /v1/payment_intents/{id}`.
pub(crate) async fn get(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    params::check(&caller.form, NO_PARAMS)?;
    let json = state
        .lock()
        .payment_intents
        .get(&id)
        .map(PaymentIntent::to_json)
        .ok_or_else(|| ApiError::no_such("payment_intent", &id, "id"))?;
    Ok(json_response(StatusCode::OK, &json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_checked_per_currency() {
        assert_eq!(
            amount_and_currency(1099, "USD").ok(),
            Some((1099, "usd".into()))
        );
        let e = amount_and_currency(49, "usd").expect_err("too small");
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                Some("amount_too_small"),
                "Amount must be at least $0.50 usd"
            )
        );
        assert!(amount_and_currency(30, "gbp").is_ok());
        assert!(
            amount_and_currency(100_000_000, "usd")
                .is_err_and(|e| e.message == "Amount must be no more than $999,999.99 usd")
        );
        assert!(
            amount_and_currency(100, "xyz").is_err_and(|e| e.param.as_deref() == Some("currency"))
        );
        assert!(amount_and_currency(-5, "usd").is_err_and(|e| e.code == Some("amount_too_small")));
    }
}
