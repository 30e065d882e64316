//! The GitHub fake's OAuth web flow (`/login/oauth`) over real HTTP.

pub mod common;

use std::time::Duration;

use chatcode_fakes::github::{self, GithubConfig, GithubUser};
use common::{
    CHALLENGE, VERIFIER,
    github::{api, authorize, code, exchange, token_error},
    header, location, query,
};
use serde_json::Value;

#[test]
fn authorize_redirects_with_code_and_state() {
    let config = GithubConfig::default();
    let (server, handle) = github::spawn(config.clone());
    let response = authorize(
        &server.url(),
        &config,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(response.status(), 302);
    let to = location(&response);
    assert!(to.starts_with(&config.redirect_uri), "{to}");
    let back = query(&to);
    assert_eq!(back["state"], "abc");
    let seen = handle.last_authorization().expect("recorded");
    assert_eq!(seen.code, back["code"]);
    assert_eq!(seen.code_challenge.as_deref(), Some(CHALLENGE));
    assert_eq!(seen.scopes, vec!["read:user", "user:email"]);
    assert_eq!(seen.login, "octocat");
}

#[test]
fn authorize_errors_come_back_to_the_callback() {
    let config = GithubConfig::default();
    let (server, handle) = github::spawn(config.clone());
    let url = server.url();
    let response = authorize(&url, &config, &[("redirect_uri", "http://evil.test/cb")]);
    assert_eq!(response.status(), 302);
    let to = location(&response);
    assert!(
        to.starts_with(&config.redirect_uri),
        "errors go to the registered callback: {to}"
    );
    let back = query(&to);
    assert_eq!(back["error"], "redirect_uri_mismatch");
    assert_eq!(
        back["error_description"],
        "The redirect_uri MUST match the registered callback URL for this application."
    );
    assert_eq!(back["state"], "abc");

    handle.set_deny(true);
    let back = query(&location(&authorize(&url, &config, &[])));
    assert_eq!(back["error"], "access_denied");
    assert_eq!(
        back["error_description"],
        "The user has denied your application access."
    );
    assert!(back["error_uri"].ends_with("#access-denied"));
    assert_eq!(back["state"], "abc");

    let wrong = GithubConfig {
        client_id: "unknown".to_owned(),
        ..config.clone()
    };
    assert_eq!(authorize(&url, &wrong, &[]).status(), 404);
}

#[test]
fn a_subpath_of_the_callback_is_accepted() {
    let config = GithubConfig::default();
    let (server, _) = github::spawn(config.clone());
    let sub = format!("{}/more", config.redirect_uri);
    let response = authorize(&server.url(), &config, &[("redirect_uri", &sub)]);
    assert!(location(&response).starts_with(&sub));
}

#[test]
fn the_token_answer_is_json_or_form_as_asked() {
    let config = GithubConfig::default();
    let (server, _) = github::spawn(config.clone());
    let url = server.url();
    let response = exchange(&url, &config, &code(&url, &config, &[]), &[], true);
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    let body: Value = response.json().expect("JSON");
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("gho_") && t.len() == 40)
    );
    assert_eq!(body["scope"], "read:user,user:email");
    assert_eq!(body["token_type"], "bearer");

    let response = exchange(&url, &config, &code(&url, &config, &[]), &[], false);
    assert!(
        header(&response, "content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    );
    let pairs: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(response.text().expect("body").as_bytes())
            .into_owned()
            .collect();
    assert!(pairs["access_token"].starts_with("gho_"));
    assert_eq!(pairs["scope"], "read:user,user:email");
    assert_eq!(pairs["token_type"], "bearer");
}

#[test]
fn token_errors_come_with_http_200() {
    let config = GithubConfig::default();
    let (server, handle) = github::spawn(config.clone());
    let url = server.url();
    token_error(
        exchange(&url, &config, "bogus", &[], true),
        "bad_verification_code",
    );
    let c = code(&url, &config, &[]);
    let wrong = GithubConfig {
        client_secret: "nope".to_owned(),
        ..config.clone()
    };
    token_error(
        exchange(&url, &wrong, &c, &[], true),
        "incorrect_client_credentials",
    );
    let elsewhere = GithubConfig {
        redirect_uri: "http://evil.test/cb".to_owned(),
        ..config.clone()
    };
    token_error(
        exchange(&url, &elsewhere, &c, &[], true),
        "redirect_uri_mismatch",
    );
    assert_eq!(exchange(&url, &config, &c, &[], true).status(), 200);
    token_error(
        exchange(&url, &config, &c, &[], true),
        "bad_verification_code",
    );

    let response = exchange(&url, &config, "bogus", &[], false);
    assert_eq!(response.status(), 200);
    let text = response.text().expect("body");
    assert!(
        text.starts_with("error=bad_verification_code&error_description="),
        "{text}"
    );

    let late = code(&url, &config, &[]);
    handle.advance_clock(Duration::from_secs(601));
    token_error(
        exchange(&url, &config, &late, &[], true),
        "bad_verification_code",
    );
}

#[test]
fn pkce_verifiers_must_match_the_challenge() {
    let config = GithubConfig::default();
    let (server, _) = github::spawn(config.clone());
    let url = server.url();
    let pkce = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let c = code(&url, &config, &pkce);
    token_error(
        exchange(&url, &config, &c, &[], true),
        "bad_verification_code",
    );
    token_error(
        exchange(&url, &config, &c, &[("code_verifier", "wrong")], true),
        "bad_verification_code",
    );
    let body: Value = exchange(&url, &config, &c, &[("code_verifier", VERIFIER)], true)
        .json()
        .expect("JSON");
    assert!(body["access_token"].is_string());
    let plain = authorize(
        &url,
        &config,
        &[
            ("code_challenge", "abc"),
            ("code_challenge_method", "plain"),
        ],
    );
    assert_eq!(query(&location(&plain))["error"], "invalid_request");
}

#[test]
fn different_people_can_sign_in() {
    let mut config = GithubConfig::default();
    config.users.push(GithubUser::new("hubot", 7));
    config.users.push(GithubUser::new("mona", 8));
    let (server, handle) = github::spawn(config.clone());
    let url = server.url();
    let login_of = |c: &str| {
        let token: Value = exchange(&url, &config, c, &[], true).json().expect("JSON");
        let user: Value = api(
            &url,
            "/user",
            token["access_token"].as_str().expect("token"),
        )
        .json()
        .expect("JSON");
        user["login"].as_str().expect("login").to_owned()
    };
    assert_eq!(login_of(&code(&url, &config, &[])), "octocat");
    assert!(handle.sign_in_as("hubot"));
    assert_eq!(login_of(&code(&url, &config, &[])), "hubot");
    assert_eq!(login_of(&code(&url, &config, &[("login", "mona")])), "mona");
    assert!(!handle.sign_in_as("nobody"));
}
