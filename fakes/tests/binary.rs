//! The `chatcode-fakes` binary prints `Serving http://ADDR` and serves.

pub mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

#[test]
fn the_binary_serves_and_says_where() {
    for service in ["digitalocean", "github"] {
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
        let path = if service == "github" {
            "/user"
        } else {
            "/v2/droplets"
        };
        let status = common::client()
            .get(format!("{url}{path}"))
            .send()
            .map(|r| r.status().as_u16());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            status.expect("a response"),
            if service == "github" { 403 } else { 401 }
        );
    }
}
