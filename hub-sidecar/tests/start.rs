//! The hub's start against a stand-in app: it has the app apply its migrations, then tells the
//! app it started, and only then records events. A migration that fails (500) is asked once:
//! the hub goes on rather than never recording an event.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use chatcode_hub::HubConfig;
use serde_json::{Value, json};

type Calls = Arc<Mutex<Vec<&'static str>>>;

#[tokio::test]
async fn a_failing_migration_is_asked_once_and_the_hub_starts_anyway() {
    let calls = Calls::default();
    let app = Router::new()
        .route(
            "/internal/migrate",
            post(|State(calls): State<Calls>| async move {
                calls.lock().unwrap().push("migrate");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({"error": {"code": "internal", "message": "internal error"}})),
                )
            }),
        )
        .route(
            "/internal/sweep",
            post(
                |State(calls): State<Calls>, Json(body): Json<Value>| async move {
                    assert_eq!(body, json!({"hub_started": true}));
                    calls.lock().unwrap().push("sweep");
                    Json(json!({}))
                },
            ),
        )
        .with_state(calls.clone());
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", app_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(app_listener, app).await });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub = chatcode_hub::serve(HubConfig::new(app_url, "start-test-secret"), listener).unwrap();
    tokio::time::timeout(Duration::from_secs(30), hub.app_ready())
        .await
        .expect("the hub never became ready");
    assert_eq!(*calls.lock().unwrap(), ["migrate", "sweep"]);
    hub.shutdown().await;
}
