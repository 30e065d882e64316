//! The binary: settings from an env file and flags, and a clean stop on SIGTERM.

pub mod common;

use std::process::Stdio;

use chatcode_core::protocol::Event;
use common::{FakeHub, Got, TOKEN, WAIT};

#[tokio::test]
async fn the_binary_reads_its_env_file_and_stops_on_sigterm() {
    let mut hub = FakeHub::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let env_file = dir.path().join("gateway.env");
    let text = format!(
        "# cloud-init\nGATEWAY_ID=gw-from-file\nGATEWAY_AUTH_TOKEN={TOKEN}\nGATEWAY_CP_URL={}\n",
        hub.url()
    );
    std::fs::write(&env_file, text).expect("write the env file");

    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatcode-gateway-sim"));
    command
        .arg("--env-file")
        .arg(&env_file)
        .args(["--gateway-id", "gw-from-flag", "--hostname", "bin-host"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    for name in [
        "GATEWAY_ID",
        "GATEWAY_AUTH_TOKEN",
        "GATEWAY_CP_URL",
        "GATEWAY_HEALTH_INTERVAL",
        "GATEWAY_MAX_SESSIONS",
        "GATEWAY_LOG_LEVEL",
    ] {
        command.env_remove(name);
    }
    let mut child = command.spawn().expect("spawn the binary");

    let mut conn = hub.accept().await;
    let Got::Event(Event::GatewayHello(hello)) = conn.recv().await else {
        panic!("the first message is not gateway.hello");
    };
    assert_eq!(hello.gateway_id, "gw-from-flag", "a flag beats the file");
    assert_eq!(hello.hostname, "bin-host");
    let dials = hub.dials();
    let id_header = dials[0].headers.get("x-gateway-id");
    assert_eq!(
        id_header.and_then(|v| v.to_str().ok()),
        Some("gw-from-flag")
    );

    let pid = child.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("run kill");
    assert!(killed.success());
    assert_eq!(conn.until_closed().await, Some(1001));
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("the binary exits in time")
        .expect("wait for the binary");
    assert!(status.success(), "{status:?}");
}
