//! `DELETE /applications/{client_id}/grant`: an OAuth app revokes its grant for one user, and
//! with it every token that user holds for the app. The app authenticates with Basic
//! credentials (its client id and secret); the user's token comes in the JSON body
//! (`{"access_token": "…"}`). 204 when done, 404 for a token or app GitHub does not know,
//! 422 for a body without a token.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{api, state::GhState};
use crate::common::oauth::basic_credentials;

const DOCS: &str =
    "https://docs.github.com/rest/apps/oauth-applications#delete-an-app-authorization";

/// The handler.
pub(crate) async fn delete(
    State(state): State<GhState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let config = state.config();
    let Some((id, secret)) = basic_credentials(&headers) else {
        return api::error(StatusCode::UNAUTHORIZED, "Requires authentication", DOCS);
    };
    if id != config.client_id || secret != config.client_secret || client_id != config.client_id {
        return api::error(StatusCode::NOT_FOUND, "Not Found", DOCS);
    }
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["access_token"].as_str().map(str::to_owned));
    let Some(token) = token else {
        return api::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({
                "message": "Invalid request.\n\n\"access_token\" wasn't supplied.",
                "documentation_url": DOCS,
                "status": "422",
            }),
        );
    };
    let mut inner = state.lock();
    let Some(owner) = inner.tokens.get(&token).map(|t| t.user) else {
        return api::error(StatusCode::NOT_FOUND, "Not Found", DOCS);
    };
    inner.tokens.retain(|_, t| t.user != owner);
    StatusCode::NO_CONTENT.into_response()
}
