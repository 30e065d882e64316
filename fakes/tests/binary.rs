//! The `chatcode-fakes` binary prints `Serving http://ADDR` and serves.

pub mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

#[test]
fn the_binary_serves_and_says_where() {
    for service in ["digitalocean", "github", "stripe"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chatcode-fakes"))
            .args([service, "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the binary");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("a line");
        let url = line
            .trim()
            .strip_prefix("Serving ")
            .expect("a Serving line")
            .to_owned();
        let (path, unauthorized) = match service {
            "github" => ("/user", 403),
            "stripe" => ("/v1/customers/cus_1", 401),
            _ => ("/v2/droplets", 401),
        };
        let status = common::client()
            .get(format!("{url}{path}"))
            .send()
            .map(|r| r.status().as_u16());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(status.expect("a response"), unauthorized);
    }
}

#[test]
fn the_stripe_fake_takes_its_keys_and_webhook_endpoint_from_flags() {
    let receiver = common::stripe::Receiver::start();
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatcode-fakes"))
        .args([
            "stripe",
            "--secret-key",
            "sk_test_from_the_command_line",
            "--webhook-url",
            receiver.url(),
            "--webhook-secret",
            "whsec_from_the_command_line",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("a line");
    let url = line.trim().strip_prefix("Serving ").map(str::to_owned);
    let status = url.as_ref().map(|url| {
        common::client()
            .post(format!("{url}/v1/customers"))
            .bearer_auth("sk_test_from_the_command_line")
            .send()
            .map(|r| r.status().as_u16())
    });
    let mut delivered = Vec::new();
    for _ in 0..200 {
        delivered = receiver.received();
        if !delivered.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status.expect("a Serving line").expect("a response"), 200);
    let hook = delivered.first().expect("a webhook");
    assert!(common::stripe::verify(
        hook.header("stripe-signature"),
        &hook.body,
        "whsec_from_the_command_line",
        common::stripe::now(),
        300
    ));
}
