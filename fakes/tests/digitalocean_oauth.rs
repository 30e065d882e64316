//! The DigitalOcean fake's OAuth server (`/v1/oauth`) over real HTTP.

pub mod common;

use std::time::Duration;

use chatcode_fakes::digitalocean::{self, DoConfig};
use common::{CHALLENGE, VERIFIER, client, header, location, query};
use serde_json::Value;

const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";

/// Runs `/authorize` and returns the code from the redirect.
fn authorize(base: &str, config: &DoConfig, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("client_id", config.client_id.as_str()),
        ("redirect_uri", config.redirect_uri.as_str()),
        ("response_type", "code"),
        ("scope", "read write"),
        ("state", "st4te"),
    ];
    params.extend_from_slice(extra);
    let response = client()
        .get(format!("{base}/v1/oauth/authorize"))
        .query(&params)
        .send()
        .expect("authorize");
    assert_eq!(response.status(), 302);
    let back = query(&location(&response));
    assert_eq!(back.get("state").map(String::as_str), Some("st4te"));
    back.get("code").expect("a code").clone()
}

fn exchange(base: &str, config: &DoConfig, code: &str) -> reqwest::blocking::Response {
    client()
        .post(format!("{base}/v1/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
            ("redirect_uri", &config.redirect_uri),
        ])
        .send()
        .expect("token")
}

fn oauth_error(response: reqwest::blocking::Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().expect("a JSON error");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string());
    body
}

fn api_status(base: &str, token: &str) -> u16 {
    client()
        .get(format!("{base}/v2/account"))
        .bearer_auth(token)
        .send()
        .expect("account")
        .status()
        .as_u16()
}

#[test]
fn authorize_redirects_back_with_a_code_and_the_state() {
    let config = DoConfig::default();
    let (server, _) = digitalocean::spawn(config.clone());
    let response = client()
        .get(format!("{}/v1/oauth/authorize", server.url()))
        .query(&[
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", &config.redirect_uri),
            ("response_type", "code"),
            ("scope", "read write"),
            ("state", "xyz"),
        ])
        .send()
        .expect("authorize");
    assert_eq!(response.status(), 302);
    let to = location(&response);
    assert!(to.starts_with(&format!("{}?", config.redirect_uri)), "{to}");
    let back = query(&to);
    assert_eq!(back["state"], "xyz");
    assert_eq!(back["code"].len(), 64);
}

#[test]
fn authorize_refuses_unknown_clients_and_callbacks_with_a_page() {
    let config = DoConfig::default();
    let (server, _) = digitalocean::spawn(config.clone());
    for (client_id, redirect_uri) in [
        ("someone-else", config.redirect_uri.as_str()),
        (config.client_id.as_str(), "http://evil.test/cb"),
    ] {
        let response = client()
            .get(format!("{}/v1/oauth/authorize", server.url()))
            .query(&[
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
            ])
            .send()
            .expect("authorize");
        assert_eq!(response.status(), 400);
        assert!(response.headers().get("location").is_none());
        assert!(
            response
                .text()
                .expect("a body")
                .contains("An error has occurred")
        );
    }
}

#[test]
fn a_denied_authorization_comes_back_as_access_denied() {
    let config = DoConfig {
        deny_authorization: true,
        ..DoConfig::default()
    };
    let (server, handle) = digitalocean::spawn(config.clone());
    let response = client()
        .get(format!("{}/v1/oauth/authorize", server.url()))
        .query(&[
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", &config.redirect_uri),
            ("response_type", "code"),
            ("state", "s1"),
        ])
        .send()
        .expect("authorize");
    assert_eq!(response.status(), 302);
    let back = query(&location(&response));
    assert_eq!(back["error"], "access_denied");
    assert_eq!(
        back["error_description"],
        "The resource owner or authorization server denied the request."
    );
    assert_eq!(back["state"], "s1");
    assert!(!back.contains_key("code"));
    handle.set_deny(false);
    authorize(&server.url(), &config, &[]);
}

#[test]
fn the_code_exchange_answers_as_documented() {
    let config = DoConfig::default();
    let (server, _) = digitalocean::spawn(config.clone());
    let code = authorize(&server.url(), &config, &[]);
    let response = exchange(&server.url(), &config, &code);
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("no-store")
    );
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 2_592_000);
    assert_eq!(body["scope"], "read write");
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("doo_v1_"))
    );
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("dor_v1_"))
    );
    let account = &config.accounts[0];
    assert_eq!(body["info"]["name"], account.name.as_str());
    assert_eq!(body["info"]["email"], account.email.as_str());
    assert_eq!(body["info"]["uuid"], account.uuid.as_str());
    assert_eq!(
        body["info"]["team_uuid"],
        account.team_uuid.as_deref().expect("a team")
    );
    assert_eq!(
        api_status(&server.url(), body["access_token"].as_str().expect("token")),
        200
    );
}

#[test]
fn the_token_endpoint_takes_query_string_parameters() {
    let config = DoConfig::default();
    let (server, _) = digitalocean::spawn(config.clone());
    let code = authorize(&server.url(), &config, &[]);
    let response = client()
        .post(format!("{}/v1/oauth/token", server.url()))
        .query(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
            ("redirect_uri", &config.redirect_uri),
        ])
        .send()
        .expect("token");
    assert_eq!(response.status(), 200);
}

#[test]
fn codes_are_single_use_expire_and_are_bound_to_the_callback() {
    let config = DoConfig::default();
    let (server, handle) = digitalocean::spawn(config.clone());
    let url = server.url();
    let code = authorize(&url, &config, &[]);
    assert_eq!(exchange(&url, &config, &code).status(), 200);
    let body = oauth_error(exchange(&url, &config, &code), 400, "invalid_grant");
    assert_eq!(body["error_description"], INVALID_GRANT);

    let code = authorize(&url, &config, &[]);
    handle.advance_clock(Duration::from_secs(601));
    oauth_error(exchange(&url, &config, &code), 400, "invalid_grant");

    let code = authorize(&url, &config, &[]);
    let other = DoConfig {
        redirect_uri: "http://127.0.0.1:3000/elsewhere".to_owned(),
        ..config.clone()
    };
    oauth_error(exchange(&url, &other, &code), 400, "invalid_grant");
    oauth_error(exchange(&url, &config, "not-a-code"), 400, "invalid_grant");
}

#[test]
fn bad_client_credentials_are_invalid_client() {
    let config = DoConfig::default();
    let (server, _) = digitalocean::spawn(config.clone());
    let code = authorize(&server.url(), &config, &[]);
    let wrong = DoConfig {
        client_secret: "wrong".to_owned(),
        ..config.clone()
    };
    oauth_error(
        exchange(&server.url(), &wrong, &code),
        401,
        "invalid_client",
    );
    assert_eq!(
        exchange(&server.url(), &config, &code).status(),
        200,
        "a refused exchange keeps the code"
    );
}

#[test]
fn malformed_token_requests_are_refused() {
    let config = DoConfig::default();
    let (server, _) = digitalocean::spawn(config);
    let post = |form: &[(&str, &str)]| {
        client()
            .post(format!("{}/v1/oauth/token", server.url()))
            .form(form)
            .send()
            .expect("token")
    };
    oauth_error(post(&[("code", "x")]), 400, "invalid_request");
    oauth_error(
        post(&[("grant_type", "password")]),
        400,
        "unsupported_grant_type",
    );
    oauth_error(
        post(&[("grant_type", "authorization_code"), ("redirect_uri", "x")]),
        400,
        "invalid_request",
    );
}

#[test]
fn pkce_is_checked_when_a_challenge_was_sent() {
    let config = DoConfig::default();
    let (server, _) = digitalocean::spawn(config.clone());
    let url = server.url();
    let with_pkce = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let code = authorize(&url, &config, &with_pkce);
    let send = |verifier: &str| {
        client()
            .post(format!("{url}/v1/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &config.client_id),
                ("client_secret", &config.client_secret),
                ("redirect_uri", &config.redirect_uri),
                ("code_verifier", verifier),
            ])
            .send()
            .expect("token")
    };
    oauth_error(send("wrong-verifier"), 400, "invalid_grant");
    assert_eq!(send(VERIFIER).status(), 200);
}

#[test]
fn refreshing_rotates_the_pair() {
    let config = DoConfig::default();
    let (server, handle) = digitalocean::spawn(config.clone());
    let url = server.url();
    let first: Value = exchange(&url, &config, &authorize(&url, &config, &[]))
        .json()
        .expect("JSON");
    let old_access = first["access_token"].as_str().expect("access");
    let old_refresh = first["refresh_token"].as_str().expect("refresh");
    let refresh = |token: &str| {
        client()
            .post(format!("{url}/v1/oauth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", &config.client_id),
                ("client_secret", &config.client_secret),
            ])
            .send()
            .expect("refresh")
    };
    let response = refresh(old_refresh);
    assert_eq!(response.status(), 200);
    let second: Value = response.json().expect("JSON");
    assert_eq!(second["token_type"], "bearer");
    assert_eq!(second["expires_in"], 2_592_000);
    assert!(second["info"]["uuid"].is_string());
    let new_access = second["access_token"].as_str().expect("access");
    assert_ne!(new_access, old_access);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    oauth_error(refresh(old_refresh), 400, "invalid_grant");
    assert_eq!(api_status(&url, old_access), 401);
    assert_eq!(api_status(&url, new_access), 200);
    assert!(!handle.refresh_token_is_valid(old_refresh));
}

#[test]
fn revoking_a_token_ends_it() {
    let config = DoConfig::default();
    let (server, handle) = digitalocean::spawn(config.clone());
    let url = server.url();
    let tokens = handle
        .issue_token(&config.accounts[0].uuid, "read write")
        .expect("an account");
    let revoke = |bearer: Option<&str>| {
        let mut request = client()
            .post(format!("{url}/v1/oauth/revoke"))
            .form(&[("token", tokens.access_token.as_str())]);
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        request.send().expect("revoke")
    };
    oauth_error(revoke(None), 401, "invalid_client");
    assert_eq!(api_status(&url, &tokens.access_token), 200);
    let response = revoke(Some(&tokens.access_token));
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().expect("JSON"),
        serde_json::json!({})
    );
    assert_eq!(api_status(&url, &tokens.access_token), 401);
    assert!(!handle.token_is_valid(&tokens.access_token));
    assert!(!handle.refresh_token_is_valid(&tokens.refresh_token));
}

#[test]
fn tokens_expire_after_thirty_days() {
    let config = DoConfig::default();
    let (server, handle) = digitalocean::spawn(config.clone());
    let tokens = handle
        .issue_token(&config.accounts[0].uuid, "read")
        .expect("an account");
    assert_eq!(api_status(&server.url(), &tokens.access_token), 200);
    handle.advance_clock(Duration::from_secs(2_592_000));
    assert_eq!(api_status(&server.url(), &tokens.access_token), 401);
    let other = handle
        .issue_token(&config.accounts[0].uuid, "read")
        .expect("an account");
    assert!(handle.expire_token(&other.access_token));
    assert_eq!(api_status(&server.url(), &other.access_token), 401);
}
