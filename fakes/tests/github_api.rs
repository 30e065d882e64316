//! The GitHub fake's REST API (`/user`, `/user/emails`) over real HTTP.

pub mod common;

use std::time::Duration;

use chatcode_fakes::{
    Fault,
    github::{self, GithubConfig, GithubEmail, GithubEndpoint, GithubUser},
};
use common::{
    client,
    github::{UA, api, code, exchange},
    header,
};
use serde_json::{Value, json};

#[test]
fn the_user_endpoint_needs_a_user_agent_and_a_good_token() {
    let config = GithubConfig::default();
    let (server, handle) = github::spawn(config.clone());
    let url = server.url();
    let token: Value = exchange(&url, &config, &code(&url, &config, &[]), &[], true)
        .json()
        .expect("JSON");
    let token = token["access_token"].as_str().expect("token").to_owned();

    let response = client()
        .get(format!("{url}/user"))
        .bearer_auth(&token)
        .send()
        .expect("no UA");
    assert_eq!(response.status(), 403);
    assert!(response.text().expect("body").contains("User-Agent"));

    let response = api(&url, "/user", "gho_bogus");
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().expect("JSON"),
        json!({ "message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401" })
    );
    let response = client()
        .get(format!("{url}/user"))
        .header("user-agent", UA)
        .send()
        .expect("no auth");
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().expect("JSON")["message"],
        "Requires authentication"
    );

    let response = api(&url, "/user", &token);
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "x-ratelimit-limit").as_deref(),
        Some("5000")
    );
    assert_eq!(
        header(&response, "x-ratelimit-remaining").as_deref(),
        Some("4999")
    );
    assert_eq!(header(&response, "x-ratelimit-used").as_deref(), Some("1"));
    assert!(header(&response, "x-ratelimit-reset").is_some());
    assert_eq!(
        header(&response, "x-oauth-scopes").as_deref(),
        Some("read:user, user:email")
    );
    let user: Value = response.json().expect("JSON");
    assert_eq!(user["login"], "octocat");
    assert_eq!(user["id"], 583_231);
    assert!(user["node_id"].is_string() && user["avatar_url"].is_string());
    assert_eq!(user["name"], "The Octocat");
    assert!(user["email"].is_null());

    let response = client()
        .get(format!("{url}/user"))
        .header("user-agent", UA)
        .header("authorization", format!("token {token}"))
        .send()
        .expect("token scheme");
    assert_eq!(response.status(), 200);
    assert!(handle.revoke_token(&token));
    assert_eq!(api(&url, "/user", &token).status(), 401);
    assert_eq!(handle.traffic().calls(GithubEndpoint::User), 6);
}

#[test]
fn emails_need_the_scope_and_paginate_with_link_headers() {
    let (server, handle) = github::spawn(GithubConfig::default());
    let url = server.url();
    let mut user = GithubUser::new("mona", 42);
    user.emails
        .push(GithubEmail::new("mona@work.example", false, true));
    user.emails.push(GithubEmail {
        email: "mona@old.example".to_owned(),
        primary: false,
        verified: false,
        visibility: Some("public".to_owned()),
    });
    handle.add_user(user);
    let no_scope = handle.issue_token("mona", &["read:user"]).expect("mona");
    let response = api(&url, "/user/emails", &no_scope);
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().expect("JSON")["message"],
        "Not Found"
    );

    let token = handle.issue_token("mona", &["user:email"]).expect("mona");
    let all: Value = api(&url, "/user/emails", &token).json().expect("JSON");
    assert_eq!(
        all[0],
        json!({ "email": "mona@example.com", "primary": true, "verified": true, "visibility": "private" })
    );
    assert_eq!(all[1]["visibility"], Value::Null);
    assert_eq!(all.as_array().map(Vec::len), Some(3));

    let response = api(&url, "/user/emails?per_page=1", &token);
    let link = header(&response, "link").expect("a Link header");
    assert!(
        link.contains("page=2>; rel=\"next\"") && link.contains("page=3>; rel=\"last\""),
        "{link}"
    );
    let response = api(&url, "/user/emails?per_page=1&page=2", &token);
    let link = header(&response, "link").expect("a Link header");
    for rel in ["prev", "next", "last", "first"] {
        assert!(link.contains(&format!("rel=\"{rel}\"")), "{rel} in {link}");
    }
    assert_eq!(
        response.json::<Value>().expect("JSON")[0]["email"],
        "mona@work.example"
    );
    assert!(header(&api(&url, "/user/emails?per_page=100", &token), "link").is_none());
}

#[test]
fn faults_and_rate_limits_answer_like_github() {
    let (server, handle) = github::spawn(GithubConfig {
        rate_limit: 3,
        ..GithubConfig::default()
    });
    let url = server.url();
    let token = handle
        .issue_token("octocat", &["read:user"])
        .expect("octocat");
    handle
        .traffic()
        .fail_next(GithubEndpoint::User, 1, Fault::Status(500));
    handle.traffic().fail_next(
        GithubEndpoint::User,
        1,
        Fault::RateLimited { retry_after: 30 },
    );
    let response = api(&url, "/user", &token);
    assert_eq!(response.status(), 500);
    assert_eq!(response.json::<Value>().expect("JSON")["status"], "500");
    let response = api(&url, "/user", &token);
    assert_eq!(response.status(), 403);
    assert_eq!(header(&response, "retry-after").as_deref(), Some("30"));
    assert_eq!(
        header(&response, "x-ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(api(&url, "/user", &token).status(), 200);
    let response = api(&url, "/user", &token);
    assert_eq!(response.status(), 403);
    assert_eq!(
        header(&response, "x-ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert!(
        response.json::<Value>().expect("JSON")["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("API rate limit exceeded"))
    );
    handle.advance_clock(Duration::from_secs(3600));
    assert_eq!(api(&url, "/user", &token).status(), 200);

    handle
        .traffic()
        .fail_next(GithubEndpoint::AccessToken, 1, Fault::Status(502));
    let response = client()
        .post(format!("{url}/login/oauth/access_token"))
        .form(&[("code", "x")])
        .send()
        .expect("post");
    assert_eq!(response.status(), 502);
    let recorded = handle.traffic().requests_to(GithubEndpoint::AccessToken);
    assert_eq!(recorded[0].param("code").as_deref(), Some("x"));
}

#[test]
fn the_app_revokes_a_users_grant_with_its_basic_credentials() {
    let config = GithubConfig::default();
    let (server, handle) = github::spawn(config.clone());
    let url = server.url();
    let login = config.users[0].login.clone();
    let token = handle.issue_token(&login, &["read:user"]).expect("a token");
    let other = handle
        .issue_token(&login, &["user:email"])
        .expect("a token");
    let grant = format!("{url}/applications/{}/grant", config.client_id);
    let revoke = |id: &str, secret: &str, body: Value| {
        client()
            .delete(&grant)
            .basic_auth(id, Some(secret))
            .header("user-agent", UA)
            .json(&body)
            .send()
            .expect("revoke")
    };
    let unauthenticated = client()
        .delete(&grant)
        .json(&json!({}))
        .send()
        .expect("revoke");
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(
        revoke(&config.client_id, "wrong", json!({ "access_token": token })).status(),
        404
    );
    assert_eq!(
        revoke(&config.client_id, &config.client_secret, json!({})).status(),
        422
    );
    assert!(handle.token_is_valid(&token));
    let done = revoke(
        &config.client_id,
        &config.client_secret,
        json!({ "access_token": token }),
    );
    assert_eq!(done.status(), 204);
    assert_eq!(done.text().expect("body"), "");
    // The grant goes, and every token of that user for the app with it.
    assert!(!handle.token_is_valid(&token));
    assert!(!handle.token_is_valid(&other));
    assert_eq!(
        revoke(
            &config.client_id,
            &config.client_secret,
            json!({ "access_token": token }),
        )
        .status(),
        404
    );
    assert_eq!(handle.traffic().calls(GithubEndpoint::DeleteGrant), 5);
}
