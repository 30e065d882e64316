//! Test helpers: build the components once, start real processes on port 0,
//! and stop them when the test ends.
//!
//! A process is started the way Spin's own test framework starts `spin up`:
//! `--listen 127.0.0.1:0`, its `Serving http://ADDR` line is read from stdout,
//! and it gets SIGTERM (then SIGKILL) when the handle drops.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, OnceLock, mpsc},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

mod browser;
mod chrome;
pub mod fault_proxy;
pub mod redis;

pub use browser::{Browser, session_cookie};
pub use chrome::Chrome;
pub use fault_proxy::{Direction, FaultProxy};

/// How long a process may take to print its `Serving` line (compiling
/// components on a cold cache takes a while on two cores).
const STARTUP_DEADLINE: Duration = Duration::from_secs(180);

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives one level below the workspace root")
        .to_path_buf()
}

/// A compile cache shared by every test process, so each `.wasm` is
/// compiled once per test run rather than once per test.
pub fn shared_cache_dir() -> PathBuf {
    workspace_root().join("target").join("test-compile-cache")
}

/// Builds the app's components and the probe fixture, once per test binary.
///
/// Panics with the build's error: every test that needs a `.wasm` is
/// meaningless without it.
pub fn ensure_components_built() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let result = BUILT.get_or_init(|| {
        let root = workspace_root();
        chatcode_runtime::builder::build_components(&root.join("spin.toml"))
            .and_then(|()| chatcode_runtime::builder::build_components(&probe_fixture()))
            .map_err(|e| format!("{e:#}"))
    });
    if let Err(e) = result {
        panic!("building the components failed: {e}");
    }
}

fn probe_fixture() -> PathBuf {
    workspace_root().join("tests/fixtures/probe/spin.toml")
}

/// The built probe component.
pub fn probe_wasm() -> PathBuf {
    workspace_root().join("target/wasm32-wasip2/release/probe.wasm")
}

/// Writes the probe fixture manifest into `dir` with the component path
/// filled in, and returns its path.
pub fn write_probe_manifest(dir: &Path) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(probe_fixture())?;
    let text = text.replace("@PROBE_WASM@", &probe_wasm().display().to_string());
    let path = dir.join("spin.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The token encryption key tests run the app with.
pub const TEST_ENCRYPTION_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// `chatcode up` (the binary at `chatcode`) on port 0 with data in `data`,
/// the prebuilt components, and fixed test secrets. In the Redis key-value mode
/// ([`redis::REDIS_URL_VARIABLE`]) its key-value store is on Redis.
pub fn chatcode_up(chatcode: &str, data: &Path, environment: &str) -> Command {
    chatcode_up_with(
        chatcode,
        data,
        environment,
        redis::runtime_config_for(data).as_deref(),
    )
}

/// [`chatcode_up`] with the given runtime config file (none: Spin's files in `data`).
pub fn chatcode_up_with(
    chatcode: &str,
    data: &Path,
    environment: &str,
    runtime_config: Option<&Path>,
) -> Command {
    let mut command = Command::new(chatcode);
    command
        .current_dir(workspace_root())
        .args([
            "up",
            "--no-build",
            "--listen",
            "127.0.0.1:0",
            "--hub-listen",
            "127.0.0.1:0",
            "--environment",
            environment,
        ])
        .arg("--data-dir")
        .arg(data)
        .env("SPIN_VARIABLE_HUB_SECRET", "test-hub-secret")
        .env("SPIN_VARIABLE_PUBLIC_URL", "https://chatcode.test")
        .env("SPIN_VARIABLE_TOKEN_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
        .env("SPIN_VARIABLE_HUB_PUBLIC_URL", "https://hub.chatcode.test")
        .env(
            "SPIN_VARIABLE_GATEWAY_TOKEN_SALT",
            "test-gateway-token-salt",
        );
    if let Some(path) = runtime_config {
        command.arg("--runtime-config-file").arg(path);
    }
    command
}

/// The release checksum tests give the app (`sha256("test")`); cloud-init checks the gateway
/// binary against it.
pub const TEST_GATEWAY_SHA256: &str =
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Where tests say the gateway binary is (`{version}` becomes `gateway_version`). Nothing
/// downloads it: cloud-init runs on no droplet of the fake.
pub const TEST_GATEWAY_DOWNLOAD_URL: &str =
    "https://downloads.chatcode.test/gateway/{version}/chatcode-gateway-linux-amd64";

/// Points a [`chatcode_up`] command at the DigitalOcean fake served at `url` (OAuth and API),
/// with the fake's client credentials, [`TEST_GATEWAY_DOWNLOAD_URL`] and
/// [`TEST_GATEWAY_SHA256`], so VPSes can be created.
pub fn use_digitalocean_fake<'c>(command: &'c mut Command, url: &str) -> &'c mut Command {
    command
        .env("SPIN_VARIABLE_DO_CLIENT_ID", "fake-do-client-id")
        .env("SPIN_VARIABLE_DO_CLIENT_SECRET", "fake-do-client-secret")
        .env("SPIN_VARIABLE_DO_OAUTH_BASE", url)
        .env("SPIN_VARIABLE_DO_API_BASE", url)
        .env(
            "SPIN_VARIABLE_GATEWAY_DOWNLOAD_URL",
            TEST_GATEWAY_DOWNLOAD_URL,
        )
        .env("SPIN_VARIABLE_GATEWAY_SHA256", TEST_GATEWAY_SHA256)
}

/// A running child process that printed `Serving http://ADDR` (or, for the hub alone,
/// `Hub listening on http://ADDR`).
pub struct Process {
    child: Child,
    addr: SocketAddr,
    output: Arc<Mutex<String>>,
}

impl Process {
    /// Starts `command` (which must include `--listen 127.0.0.1:0` or an
    /// equivalent) and waits for its `Serving http://ADDR` line.
    pub fn start(mut command: Command) -> anyhow::Result<Self> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("spawning {command:?}"))?;
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        {
            let output = output.clone();
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    // `chatcode hub` says only the second; `chatcode up` says both, the
                    // first first.
                    let serving = line
                        .strip_prefix("Serving http://")
                        .or_else(|| line.strip_prefix("Hub listening on http://"));
                    if let Some(addr) = serving {
                        let _ = tx.send(addr.trim().to_string());
                    }
                    push(&output, &line);
                }
            });
        }
        {
            let output = output.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut buf = String::new();
                while reader.read_line(&mut buf).map(|n| n > 0).unwrap_or(false) {
                    push(&output, buf.trim_end());
                    buf.clear();
                }
            });
        }
        let started = Instant::now();
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(100)) {
                let addr = addr
                    .parse()
                    .with_context(|| format!("bad Serving address {addr}"))?;
                return Ok(Self {
                    child,
                    addr,
                    output,
                });
            }
            if let Some(status) = child.try_wait()? {
                thread::sleep(Duration::from_millis(100));
                bail!(
                    "process exited ({status}) before serving:\n{}",
                    snapshot(&output)
                );
            }
            if started.elapsed() > STARTUP_DEADLINE {
                let _ = child.kill();
                bail!(
                    "process did not serve within {STARTUP_DEADLINE:?}:\n{}",
                    snapshot(&output)
                );
            }
        }
    }

    /// Runs `command` to completion expecting it to fail before serving;
    /// returns its exit code and combined output.
    pub fn run_to_failure(mut command: Command) -> anyhow::Result<(i32, String)> {
        let out = command.stdin(Stdio::null()).output()?;
        if out.status.success() {
            bail!("expected failure, got success");
        }
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok((out.status.code().unwrap_or(-1), text))
    }

    /// Where it serves.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything it printed so far (stdout and stderr interleaved by line).
    pub fn output(&self) -> String {
        snapshot(&self.output)
    }

    /// Kills it at once (SIGKILL), as a crash would, and waits for it to go.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Freezes it (SIGSTOP): it keeps its sockets and answers nothing until [`Process::resume`].
    pub fn pause(&self) {
        signal(&self.child, "-STOP");
    }

    /// Lets a paused process go on (SIGCONT).
    pub fn resume(&self) {
        signal(&self.child, "-CONT");
    }

    /// Sends SIGTERM and waits (up to 15 s) for a clean exit; returns its status code.
    pub fn stop(mut self) -> anyhow::Result<Option<i32>> {
        terminate(&self.child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.code());
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        bail!("process ignored SIGTERM:\n{}", self.output())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            terminate(&self.child);
            thread::sleep(Duration::from_millis(50));
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn terminate(child: &Child) {
    signal(child, "-TERM");
}

fn signal(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .arg(signal)
        .arg(child.id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn push(output: &Mutex<String>, line: &str) {
    if let Ok(mut o) = output.lock() {
        o.push_str(line);
        o.push('\n');
    }
}

fn snapshot(output: &Mutex<String>) -> String {
    output.lock().map(|o| o.clone()).unwrap_or_default()
}

/// Makes the one key-value record whose key starts with `prefix` (of the app whose Spin state
/// folder is `data`, on Spin's file or on Redis) expired, as if its time had passed: Spin's
/// key-value has no TTL, so expiry lives in the record. Returns the key.
pub fn expire_key_value_record(data: &Path, prefix: &str) -> String {
    if let Some(url) = redis::url_of(data) {
        return redis::update_record(&url, prefix, |record| {
            record["expires_at"] = serde_json::json!(1);
        });
    }
    let kv =
        rusqlite::Connection::open(data.join("sqlite_key_value.db")).expect("opening key-value");
    let (key, value): (String, Vec<u8>) = kv
        .query_row(
            "SELECT key, value FROM spin_key_value WHERE key LIKE ? || '%'",
            [prefix],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("exactly one record with that prefix");
    let mut record: serde_json::Value = serde_json::from_slice(&value).expect("a JSON record");
    record["expires_at"] = serde_json::json!(1);
    let value = serde_json::to_vec(&record).expect("serializing");
    kv.execute(
        "UPDATE spin_key_value SET value = ? WHERE key = ?",
        (value, &key),
    )
    .expect("updating the record");
    key
}

/// The keys starting with `prefix` in the key-value store of the app whose Spin state folder is
/// `data` (Spin's file, or Redis in the key-value mode), sorted.
pub fn key_value_keys(data: &Path, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = match redis::url_of(data) {
        Some(url) => redis::keys(&url, prefix),
        None => rusqlite::Connection::open(data.join("sqlite_key_value.db"))
            .expect("opening key-value")
            .prepare("SELECT key FROM spin_key_value WHERE key LIKE ? || '%'")
            .expect("preparing")
            .query_map([prefix], |r| r.get(0))
            .expect("listing keys")
            .map(|key| key.expect("a key"))
            .collect(),
    };
    keys.sort();
    keys
}

/// A blocking HTTP client for tests.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("building an HTTP client")
}

/// The `GATEWAY_*=value` lines cloud-init writes to `/etc/chatcode/gateway.env`, read from a
/// droplet's user data the way the gateway will read its environment.
pub fn gateway_env(user_data: &str) -> std::collections::BTreeMap<String, String> {
    user_data
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("GATEWAY_"))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// Stores a DigitalOcean connection for `user_id` the way the auth component does (tokens
/// sealed with [`TEST_ENCRYPTION_KEY`]), in the app's database under `data`.
///
/// # Panics
/// If the database cannot be written (the test cannot go on).
pub fn connect_digitalocean(
    data: &Path,
    user_id: &str,
    account_uuid: &str,
    access_token: &str,
    refresh_token: &str,
) {
    let cipher = chatcode_core::crypto::TokenCipher::from_base64_key(TEST_ENCRYPTION_KEY)
        .expect("the test key is valid");
    rusqlite::Connection::open(data.join("sqlite_db.db"))
        .expect("opening the app's database")
        .execute(
            "INSERT INTO do_connections (user_id, do_account_uuid, access_token_encrypted, \
             refresh_token_encrypted, expires_at, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, 4102444800000, 0, 0)",
            rusqlite::params![
                user_id,
                account_uuid,
                cipher.seal(access_token, &format!("do_access_token:{user_id}")),
                cipher.seal(refresh_token, &format!("do_refresh_token:{user_id}")),
            ],
        )
        .expect("storing the DigitalOcean connection");
}
