//! A real browser for system tests: Debian's `chromium`, headless with a fresh profile, driven
//! over WebDriver through Debian's `chromedriver` (both installed by `scripts/setup`; override
//! the paths with `CHATCODE_CHROMIUM` and `CHATCODE_CHROMEDRIVER`).
//!
//! chromedriver starts on a free port (`--port=0`) and names it; it starts Chromium with a
//! pipe, so the browser goes when the driver does.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// How long chromedriver may take to say where it listens.
const DRIVER_DEADLINE: Duration = Duration::from_secs(30);

/// A headless Chromium session and the chromedriver behind it; both end on drop.
pub struct Chrome {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn program(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

impl Chrome {
    /// Starts chromedriver and a headless Chromium with a window of `width` × `height`.
    pub async fn start(width: u32, height: u32) -> anyhow::Result<Self> {
        let driver_path = program("CHATCODE_CHROMEDRIVER", "/usr/bin/chromedriver");
        let mut driver = Command::new(&driver_path)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {driver_path} (install it with scripts/setup)"))?;
        let stdout = driver.stdout.take().context("chromedriver has no stdout")?;
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = tx.send(rest.trim_end_matches('.').trim().to_owned());
                }
            }
        });
        let port = match rx.recv_timeout(DRIVER_DEADLINE) {
            Ok(port) => port,
            Err(_) => {
                let _ = driver.kill();
                bail!("chromedriver did not say where it listens within {DRIVER_DEADLINE:?}");
            }
        };
        let profile = tempfile::tempdir()?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": program("CHATCODE_CHROMIUM", "/usr/bin/chromium"),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        let client = match client {
            Ok(client) => client,
            Err(e) => {
                let _ = driver.kill();
                bail!("starting Chromium through chromedriver: {e}");
            }
        };
        Ok(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its
    /// value.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        Ok(self.client.execute(script, args).await?)
    }

    /// Waits until `script` returns a truthy value, polling every 50 ms, for at most
    /// `deadline`; the error names `what` and the script's last value.
    pub async fn wait_until(
        &self,
        what: &str,
        script: &str,
        deadline: Duration,
    ) -> anyhow::Result<Value> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let value = self.eval(script, Vec::new()).await?;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(value);
            }
            if tokio::time::Instant::now() >= until {
                let body = self
                    .eval(
                        "return document.body ? document.body.innerText : ''",
                        Vec::new(),
                    )
                    .await
                    .unwrap_or_default();
                bail!("never {what} (last value {value}); the page shows:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG of the window as `target/screenshots/<name>.png`, once the page has painted
    /// two more frames (a canvas resized by the last change is drawn again by then).
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                Vec::new(),
            )
            .await?;
        let png = self.client.screenshot().await?;
        let dir = crate::workspace_root().join("target/screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the browser session, then the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
