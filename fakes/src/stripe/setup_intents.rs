//! SetupIntents: `POST /v1/setup_intents` (optionally confirmed at once with a payment
//! method) and `GET /v1/setup_intents/{id}`; what confirming one does to the card.

use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};

use super::{
    cards::Outcome,
    errors::{ApiError, json_response},
    gate::Caller,
    model::{Methods, SetupIntent},
    params::{self, Kind, Params, Schema},
    state::{Inner, Origin, StripeState, client_secret, new_id},
};

pub(crate) const AUTOMATIC: Schema = &[("allow_redirects", Kind::Text), ("enabled", Kind::Bool)];
const CREATE: Schema = &[
    ("automatic_payment_methods", Kind::Hash(AUTOMATIC)),
    ("confirm", Kind::Bool),
    ("customer", Kind::Text),
    ("description", Kind::Text),
    ("metadata", Kind::Metadata),
    ("payment_method", Kind::Text),
    ("payment_method_types", Kind::TextList),
    ("usage", Kind::Text),
];
const NO_PARAMS: Schema = &[];

/// `payment_method_types[]` or `automatic_payment_methods[enabled]` (one of them; automatic
/// when neither is sent, as in current API versions). The fake holds cards only.
pub(crate) fn methods(p: &Params<'_>) -> Result<Methods, ApiError> {
    let types = p.list("payment_method_types");
    if types.is_some() && p.given(&["automatic_payment_methods"]) {
        return Err(ApiError::invalid("You may only specify one of these parameters: automatic_payment_methods, payment_method_types.")
            .code("parameters_exclusive")
            .param("automatic_payment_methods")
            .unsaved());
    }
    if let Some(bad) = types.iter().flatten().find(|t| *t != "card") {
        return Err(ApiError::invalid(format!("The payment method type provided: {bad} is invalid. Please ensure the provided type is activated in your dashboard (https://dashboard.stripe.com/account/payments/settings) and your account is enabled for any preview features that you are trying to use."))
            .param("payment_method_types")
            .unsaved());
    }
    Ok(Methods {
        automatic: types.is_none()
            && p.flag(&["automatic_payment_methods", "enabled"]) != Some(false),
        types: types.unwrap_or_else(|| vec!["card".to_owned()]),
    })
}

fn missing_payment_method() -> ApiError {
    ApiError::invalid("You cannot confirm this SetupIntent because it's missing a payment method. You can either update the SetupIntent with a payment method and then confirm it again, or confirm it again directly with a payment method or ConfirmationToken.")
        .code("setup_intent_unexpected_state")
}

impl Inner {
    /// Confirms a SetupIntent with its payment method: the card is saved (and attached to
    /// the intent's customer), needs 3D Secure, or is declined (a 402 carrying the intent).
    pub(crate) fn confirm_setup(
        &mut self,
        id: &str,
        authenticated: bool,
        origin: &Origin,
        now_ms: u64,
    ) -> Result<(), ApiError> {
        let Some(si) = self.setup_intents.get(&id.to_owned()).cloned() else {
            return Err(ApiError::no_such("setupintent", id, "id"));
        };
        let Some(pm_id) = si.payment_method.clone() else {
            return Err(missing_payment_method());
        };
        let pm = self.payment_method(&pm_id, "payment_method")?.clone();
        let mut si = si;
        let error = match pm.card.setup(authenticated) {
            Outcome::Approved => {
                if let Some(customer) = &si.customer {
                    self.attach(&pm_id, customer, origin, now_ms)?;
                }
                si.status = "succeeded";
                si.last_setup_error = None;
                None
            }
            Outcome::NeedsAuthentication => {
                si.status = "requires_action";
                None
            }
            Outcome::Declined(e) => {
                let e = e.with("payment_method", pm.to_json());
                si.status = "requires_payment_method";
                si.payment_method = None;
                si.last_setup_error = Some(e.as_last_error());
                Some(e)
            }
        };
        let json = si.to_json();
        self.setup_intents.insert(si.id.clone(), si);
        let kind = match &error {
            Some(_) => "setup_intent.setup_failed",
            None if json["status"] == "succeeded" => "setup_intent.succeeded",
            None => "setup_intent.requires_action",
        };
        self.emit(kind, json.clone(), None, origin, now_ms);
        match error {
            Some(e) => Err(e.with("setup_intent", json)),
            None => Ok(()),
        }
    }
}

/// `POST /v1/setup_intents`.
pub(crate) async fn create(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let p = params::check(&caller.form, CREATE)?;
    let methods = methods(&p)?;
    let usage = p.text(&["usage"]).unwrap_or("off_session");
    if !matches!(usage, "off_session" | "on_session") {
        return Err(
            ApiError::invalid("Invalid usage: must be one of off_session or on_session")
                .param("usage")
                .unsaved(),
        );
    }
    let confirm = p.flag(&["confirm"]) == Some(true);
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
        Some(pm) => Some(inner.resolve_payment_method(pm, "payment_method", now)?),
        None => None,
    };
    let id = new_id("seti");
    let si = SetupIntent {
        client_secret: client_secret(&id),
        id: id.clone(),
        created: now / 1000,
        customer,
        description: p.text(&["description"]).map(str::to_owned),
        metadata: {
            let mut m = Default::default();
            p.apply_metadata(&mut m);
            m
        },
        usage: usage.to_owned(),
        methods,
        status: if payment_method.is_some() {
            "requires_confirmation"
        } else {
            "requires_payment_method"
        },
        payment_method,
        last_setup_error: None,
    };
    inner.setup_intents.insert(id.clone(), si.clone());
    inner.emit("setup_intent.created", si.to_json(), None, &origin, now);
    let result = if confirm {
        inner.confirm_setup(&id, false, &origin, now)
    } else {
        Ok(())
    };
    let json = inner.setup_intents.get(&id).map(SetupIntent::to_json);
    drop(inner);
    state.wake();
    result?;
    json.map(|j| json_response(StatusCode::OK, &j))
        .ok_or_else(|| ApiError::api(StatusCode::INTERNAL_SERVER_ERROR))
}

/// `GET /v1/setup_intents/{id}`.
pub(crate) async fn get(
    State(state): State<StripeState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    params::check(&caller.form, NO_PARAMS)?;
    let json = state
        .lock()
        .setup_intents
        .get(&id)
        .map(SetupIntent::to_json)
        .ok_or_else(|| ApiError::no_such("setupintent", &id, "id"))?;
    Ok(json_response(StatusCode::OK, &json))
}
