//! The whole system in this process, as `chatcode up` runs it: the app on the embedded
//! runtime, the hub, the DigitalOcean fake and a simulated gateway, with one signed-in user
//! whose VPS (created through the app, its gateway started from the cloud-init) runs one
//! session.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use chatcode_fakes::{
    FakeServer,
    digitalocean::{self, DoConfig, DoHandle},
};
use chatcode_gateway_sim::{GatewaySim, SimConfig, SimHandle};
use chatcode_hub::HubConfig;
use chatcode_runtime::{Runtime, RuntimeOptions};
use chatcode_testkit::{
    TEST_ENCRYPTION_KEY, TEST_GATEWAY_DOWNLOAD_URL, gateway_env, workspace_root,
};
use serde_json::{Value, json};

/// The app's `hub_secret`, shared with the hub.
pub const HUB_SECRET: &str = "bench-hub-secret";
/// The SHA-256 the app writes into cloud-init for the gateway release.
const RELEASE_SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
/// Longest the set-up waits for the gateway to link and the VPS to turn active.
const SETTLE: Duration = Duration::from_secs(30);

/// The running system and the ids a benchmark needs.
pub struct Stack {
    /// Where the app answers.
    pub app: SocketAddr,
    /// Where the hub answers.
    pub hub: SocketAddr,
    /// The signed-in user's `Cookie` header.
    pub cookie: String,
    /// The VPS.
    pub vps_id: String,
    /// Its gateway.
    pub gateway_id: String,
    /// The running session.
    pub session_id: String,
    runtime: chatcode_runtime::Serving,
    hub_serving: chatcode_hub::Serving,
    gateway: SimHandle,
    _do: (FakeServer, DoHandle),
    _data: tempfile::TempDir,
}

impl Stack {
    /// Starts everything and walks a user from sign-in to a running session.
    pub async fn start() -> anyhow::Result<Self> {
        chatcode_testkit::ensure_components_built();
        let (do_server, fake) = digitalocean::spawn(DoConfig::default());
        let data = tempfile::tempdir()?;
        let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let hub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let app = app_listener.local_addr()?;
        let hub = hub_listener.local_addr()?;

        let options = runtime_options(data.path(), &do_server.url(), hub);
        let runtime = tokio::task::spawn_blocking(move || Runtime::load(&options))
            .await?
            .context("loading the app")?;
        let runtime = runtime.serve(app_listener)?;
        let http = reqwest::Client::new();
        let migrated = http
            .post(format!("http://{app}/internal/migrate"))
            .bearer_auth(HUB_SECRET)
            .send()
            .await?;
        anyhow::ensure!(
            migrated.status().is_success(),
            "migrate: {}",
            migrated.status()
        );

        let mut config = HubConfig::new(format!("http://{app}"), HUB_SECRET);
        // Thousands of distinct request ids; forget answers sooner than the 10 min default so a
        // long run stays under the hub's cap of remembered answers.
        config.timers.relay_memory = Duration::from_secs(10);
        let hub_serving = chatcode_hub::serve(config, hub_listener)?;

        let (cookie, user_id) = sign_in(&http, app).await?;
        let account = DoConfig::default().accounts[0].uuid.clone();
        let tokens = fake
            .issue_token(&account, "read write")
            .context("the fake issues a token")?;
        chatcode_testkit::connect_digitalocean(
            &data.path().join("app"),
            &user_id,
            &account,
            &tokens.access_token,
            &tokens.refresh_token,
        );
        let call = Call {
            http: &http,
            app,
            cookie: &cookie,
        };
        let created = call
            .expect(
                201,
                "POST",
                "/vps",
                Some(json!({"region": "ams3", "size": "s-1vcpu-1gb"})),
            )
            .await?;
        let vps_id = text(&created, "vps_id")?;
        let droplet = created["droplet_id"]
            .as_u64()
            .and_then(|id| fake.droplet(id))
            .context("the droplet at the fake")?;
        let env = gateway_env(droplet.user_data.as_deref().unwrap_or_default());
        let mut sim = SimConfig::from_vars(env.clone())?;
        // Echoes go out at once rather than in the real gateway's 50 ms batches, so latency
        // figures time the system, not the batching.
        sim.output_batch = Duration::from_millis(1);
        let gateway = GatewaySim::start(sim);
        gateway.wait_connected(SETTLE).await?;
        call.wait_active(&vps_id).await?;
        let session = call
            .expect(
                201,
                "POST",
                &format!("/vps/{vps_id}/sessions"),
                Some(json!({"title": "bench", "agent_type": "none", "workdir": "/root"})),
            )
            .await?;
        Ok(Self {
            app,
            hub,
            vps_id,
            gateway_id: env.get("GATEWAY_ID").cloned().context("GATEWAY_ID")?,
            session_id: text(&session, "id")?,
            cookie,
            runtime,
            hub_serving,
            gateway,
            _do: (do_server, fake),
            _data: data,
        })
    }

    /// Stops the gateway, the hub and the app.
    pub async fn stop(self) {
        self.gateway.stop().await;
        self.hub_serving.shutdown().await;
        self.runtime.shutdown().await;
    }
}

fn runtime_options(data: &std::path::Path, do_url: &str, hub: SocketAddr) -> RuntimeOptions {
    let mut options = RuntimeOptions::new(workspace_root().join("spin.toml"));
    options.data_dir = Some(data.join("app"));
    let hub_url = format!("http://{hub}");
    for (name, value) in [
        ("environment", "development"),
        ("hub_secret", HUB_SECRET),
        ("public_url", "http://127.0.0.1"),
        ("token_encryption_key", TEST_ENCRYPTION_KEY),
        ("gateway_token_salt", "bench-gateway-token-salt"),
        ("gateway_download_url", TEST_GATEWAY_DOWNLOAD_URL),
        ("gateway_sha256", RELEASE_SHA),
        ("hub_url", &hub_url),
        ("hub_public_url", &hub_url),
        ("do_client_id", "fake-do-client-id"),
        ("do_client_secret", "fake-do-client-secret"),
        ("do_oauth_base", do_url),
        ("do_api_base", do_url),
    ] {
        options.variables.insert(name.into(), value.into());
    }
    options
}

/// Signs in through the development login: the `Cookie` header and the user id.
async fn sign_in(http: &reqwest::Client, app: SocketAddr) -> anyhow::Result<(String, String)> {
    let login = http
        .post(format!("http://{app}/auth/dev/login"))
        .json(&json!({ "username": "bench" }))
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .context("the development login sets a cookie")?
        .to_owned();
    let profile: Value = login.json().await?;
    Ok((cookie, text(&profile, "id")?))
}

/// A signed-in user's requests to the app.
struct Call<'a> {
    http: &'a reqwest::Client,
    app: SocketAddr,
    cookie: &'a str,
}

impl Call<'_> {
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self
            .http
            .request(method, format!("http://{}{path}", self.app))
            .header("cookie", self.cookie);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let (got, answer) = self.send(method, path, body).await?;
        anyhow::ensure!(got == status, "{method} {path} answered {got}: {answer}");
        Ok(answer)
    }

    async fn wait_active(&self, vps_id: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + SETTLE;
        loop {
            let detail = self
                .expect(200, "GET", &format!("/vps/{vps_id}"), None)
                .await?;
            if detail["status"] == "active" && detail["gateway"]["connected"] == true {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the VPS never turned active: {detail}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn text(value: &Value, field: &str) -> anyhow::Result<String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {field} in {value}"))
}
