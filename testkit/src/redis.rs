//! Redis for system tests: a real `redis-server` (Debian's, installed by `scripts/setup`) on a
//! free port, stopped on drop; and the key-value mode that runs every `chatcode up` of a test
//! run on Redis instead of Spin's SQLite file.
//!
//! With `CHATCODE_TEST_REDIS_URL=redis://host:port` set (`.ci/run` does, for a second pass of
//! the system tests), [`crate::chatcode_up`] gives each app a runtime config that puts its
//! key-value store on that server, in a database of its own (flushed first), so the tests run
//! unchanged on Redis.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use anyhow::{Context, bail};

/// The variable that turns on the Redis key-value mode.
pub const REDIS_URL_VARIABLE: &str = "CHATCODE_TEST_REDIS_URL";
/// Databases the shared server must offer (`--databases`); each app takes the next one.
pub const DATABASES: u32 = 4096;

/// A `redis-server` of a test's own.
pub struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port, with nothing saved to disk.
    pub fn start() -> anyhow::Result<Self> {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            if let Some((child, dir)) = spawn(port)? {
                return Ok(Self {
                    child,
                    port,
                    _dir: dir,
                });
            }
        }
        bail!("redis-server did not start on any free port")
    }

    /// Starts the server again on its port after [`RedisServer::kill`], empty, as a Redis
    /// without persistence comes back from a crash.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        let (child, dir) = spawn(self.port)?
            .with_context(|| format!("redis-server did not restart on {}", self.port))?;
        self.child = child;
        self._dir = dir;
        Ok(())
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server at once, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `redis-server` on `port`, once it accepts connections; `None` if it did not (the port was
/// taken).
fn spawn(port: u16) -> anyhow::Result<Option<(Child, tempfile::TempDir)>> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no", "--databases", &DATABASES.to_string()])
        .arg("--dir")
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting redis-server (install it with scripts/setup)")?;
    let stdout = child.stdout.take().context("redis-server has no stdout")?;
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("Ready to accept connections"));
    if ready {
        return Ok(Some((child, dir)));
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(None)
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The shared Redis of the key-value mode, if it is on.
fn shared_url() -> Option<String> {
    std::env::var(REDIS_URL_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty())
}

/// Where an app's runtime config goes: next to its data folder, never inside it.
fn config_path(data: &Path) -> PathBuf {
    data.with_extension("runtime-config.toml")
}

/// In the key-value mode, writes a runtime config putting `data`'s app on a fresh database of
/// the shared Redis, and returns its path.
///
/// # Panics
/// If the shared Redis cannot be reached or the file cannot be written: the test cannot run.
pub(crate) fn runtime_config_for(data: &Path) -> Option<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = shared_url()?;
    // Test binaries run one after another; each starts at a spread-out database and flushes
    // the ones it takes, so nothing of an earlier binary's apps is seen.
    let start = std::process::id() % DATABASES;
    let database = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % DATABASES;
    let url = format!("{}/{database}", base.trim_end_matches('/'));
    let client = redis::Client::open(url.as_str()).expect("the shared Redis URL is valid");
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{REDIS_URL_VARIABLE}={base} is unreachable: {e}"));
    redis::cmd("FLUSHDB")
        .exec(&mut conn)
        .expect("flushing the test's Redis database");
    let path = config_path(data);
    let text = format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n");
    std::fs::write(&path, text).expect("writing the test's runtime config");
    Some(path)
}

/// The Redis URL of `data`'s app, when its key-value store is on Redis.
pub(crate) fn url_of(data: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config_path(data)).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table
        .get("key_value_store")?
        .get("default")?
        .get("url")?
        .as_str()
        .map(str::to_owned)
}

fn connect(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .expect("a valid Redis URL")
        .get_connection_with_timeout(Duration::from_secs(5))
        .expect("reaching the app's Redis")
}

/// The keys starting with `prefix` in the Redis database at `url`.
pub fn keys(url: &str, prefix: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut connect(url))
        .expect("listing keys")
}

/// Rewrites the one record under a key starting with `prefix` in `data`'s Redis database.
pub(crate) fn update_record(
    url: &str,
    prefix: &str,
    change: impl FnOnce(&mut serde_json::Value),
) -> String {
    let keys = keys(url, prefix);
    let mut conn = connect(url);
    let [key] = keys.as_slice() else {
        panic!("expected exactly one record with prefix {prefix}, found {keys:?}");
    };
    let value: Vec<u8> = redis::cmd("GET")
        .arg(key)
        .query(&mut conn)
        .expect("reading");
    let mut record: serde_json::Value = serde_json::from_slice(&value).expect("a JSON record");
    change(&mut record);
    redis::cmd("SET")
        .arg(key)
        .arg(serde_json::to_vec(&record).expect("serializing"))
        .exec(&mut conn)
        .expect("writing");
    key.clone()
}
