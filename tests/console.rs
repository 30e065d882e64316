//! The web console in a real browser (Debian's Chromium through chromedriver), against the
//! real system: `chatcode up`, the DigitalOcean fake and the gateway simulator. A person signs
//! in with the development form, connects DigitalOcean, creates a VPS, watches it turn active,
//! starts a session, types in its terminal, lives through a cut link, and cannot reach another
//! user's VPS. Every page is saved as a PNG under `target/screenshots/`.

use std::time::Duration;

use chatcode_fakes::digitalocean::{self, DoConfig, DoHandle};
use chatcode_gateway_sim::{Backoff, GatewaySim, SimConfig, SimHandle};
use chatcode_testkit::{Chrome, Process, ensure_components_built, gateway_env};
use fantoccini::{Locator, key::Key};
use serde_json::Value;
use tokio::task::block_in_place;

/// How long any one step may take on a loaded CI machine; a wait, never a timing assertion.
const STEP: Duration = Duration::from_secs(30);

/// Whether the page named `page` has rendered and loaded its data.
fn page_ready(page: &str) -> String {
    format!(
        "return document.body.dataset.page === '{page}' && document.body.dataset.ready === 'true'"
    )
}

/// The text of the first element matching `selector`, or null.
fn text_of(selector: &str) -> String {
    format!(
        "const e = document.querySelector({selector:?}); return e ? e.textContent.trim() : null"
    )
}

async fn lines(chrome: &Chrome) -> Vec<String> {
    let script = format!("{TERMINAL_LINES} return lines();");
    let value = chrome.eval(&script, Vec::new()).await.unwrap();
    serde_json::from_value(value).unwrap()
}

/// Counts the lines that are exactly `line`.
fn count(lines: &[String], line: &str) -> usize {
    lines.iter().filter(|l| l.as_str() == line).count()
}

/// Types `text` into the focused terminal the way a keyboard does, then Enter.
async fn type_line(chrome: &Chrome, text: &str) {
    let input = chrome
        .client
        .find(Locator::Css(".xterm-helper-textarea"))
        .await
        .unwrap();
    input
        .send_keys(&format!("{text}{}", char::from(Key::Enter)))
        .await
        .unwrap();
}

fn sim_config(fake: &DoHandle) -> SimConfig {
    let droplet = fake
        .droplets()
        .pop()
        .expect("the console created a droplet");
    let env = gateway_env(&droplet.user_data.expect("cloud-init user data"));
    let env_file: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let mut config = SimConfig::from_env_file(&env_file).unwrap();
    config.backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(500),
    };
    config.health_interval = Duration::from_secs(1);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_drives_a_terminal_from_sign_in_to_a_cut_link() {
    ensure_components_built();
    let (do_server, fake) = digitalocean::spawn(DoConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut command =
        chatcode_testkit::chatcode_up(env!("CARGO_BIN_EXE_chatcode"), &data, "development");
    // The browser reaches the app, its OAuth callback and the hub where `chatcode up` listens.
    chatcode_testkit::use_digitalocean_fake(&mut command, &do_server.url())
        .env_remove("SPIN_VARIABLE_PUBLIC_URL")
        .env_remove("SPIN_VARIABLE_HUB_PUBLIC_URL");
    let app = block_in_place(|| Process::start(command)).unwrap();
    fake.set_redirect_uri(&app.url("/auth/do/callback"));
    let chrome = Chrome::start(1280, 800).await.unwrap();
    let browser = &chrome.client;

    // Sign in through the development form.
    sign_in(&chrome, &app, "alice").await;

    // Connect DigitalOcean: through the fake's OAuth and back to the dashboard.
    click(browser, "#connect-digitalocean").await;
    chrome
        .wait_until(
            "DigitalOcean connected",
            "return document.body.dataset.ready === 'true' && !!document.querySelector('#disconnect-digitalocean')",
            STEP,
        )
        .await
        .unwrap();

    // Create a VPS with the region and size pickers.
    chrome
        .wait_until(
            "the region picker filled",
            "return !!document.querySelector('#create-vps select[name=region] option[value=ams3]')",
            STEP,
        )
        .await
        .unwrap();
    choose(browser, "#create-vps select[name=region]", "ams3").await;
    chrome
        .wait_until(
            "the size picker filled",
            "return !!document.querySelector('#create-vps select[name=size] option[value=\"s-1vcpu-1gb\"]')",
            STEP,
        )
        .await
        .unwrap();
    choose(browser, "#create-vps select[name=size]", "s-1vcpu-1gb").await;
    fill(browser, "#create-vps input[name=name]", "workbench").await;
    click(browser, "#create-vps button[type=submit]").await;
    let vps_id = chrome
        .wait_until(
            "the new VPS listed",
            "const row = document.querySelector('[data-vps-id]'); return row ? row.dataset.vpsId : null",
            STEP,
        )
        .await
        .unwrap();
    let vps_id = vps_id.as_str().unwrap().to_owned();
    let droplet = fake.droplets().pop().unwrap();
    assert_eq!(droplet.name, "workbench");
    assert_eq!(droplet.region, "ams3");

    // The gateway starts with the credentials from cloud-init; the list shows it without a
    // reload.
    let mut sim: SimHandle = GatewaySim::start(sim_config(&fake));
    let row = format!("[data-vps-id=\"{vps_id}\"]");
    chrome
        .wait_until(
            "the VPS active with its gateway connected",
            &format!(
                "const row = document.querySelector('{row}'); return !!row && \
                 row.querySelector('[data-field=status]').textContent.trim() === 'active' && \
                 row.querySelector('[data-field=gateway]').textContent.trim() === 'connected'"
            ),
            STEP,
        )
        .await
        .unwrap();
    chrome.screenshot("dashboard").await.unwrap();

    // The VPS page: start a session.
    browser
        .goto(&app.url(&format!("/dashboard/vps/{vps_id}")))
        .await
        .unwrap();
    chrome
        .wait_until("the VPS page", &page_ready("vps"), STEP)
        .await
        .unwrap();
    fill(browser, "#new-session input[name=title]", "demo").await;
    click(browser, "#new-session button[type=submit]").await;
    chrome
        .wait_until(
            "the session running",
            "const row = document.querySelector('[data-session-id]'); return !!row && \
             row.querySelector('[data-field=status]').textContent.trim() === 'running'",
            STEP,
        )
        .await
        .unwrap();
    chrome.screenshot("vps").await.unwrap();
    let terminal_path = chrome
        .eval(
            "return document.querySelector('[data-session-id] a.open-terminal').getAttribute('href')",
            Vec::new(),
        )
        .await
        .unwrap();
    let terminal_path = terminal_path.as_str().unwrap().to_owned();

    // The terminal: type, read the echo back from xterm's buffer.
    click(browser, "[data-session-id] a.open-terminal").await;
    let input_enabled = "return !!window.chatcode && window.chatcode.wire.state === 'open' && \
        document.querySelector('#terminal').dataset.input === 'enabled'";
    chrome
        .wait_until("the terminal attached", input_enabled, STEP)
        .await
        .unwrap();
    type_line(&chrome, "echo hi").await;
    wait_for_line(&chrome, "hi").await;
    chrome.screenshot("terminal").await.unwrap();
    let latency = chrome
        .wait_until("a round-trip latency figure", &text_of("#latency"), STEP)
        .await
        .unwrap();
    assert!(latency.as_str().unwrap().ends_with("ms"), "{latency}");

    // Cut the gateway's link: the banner says so and input is disabled.
    let state = sim.stop_keep_sessions().await;
    chrome
        .wait_until(
            "the reconnecting banner",
            "const banner = document.querySelector('#terminal-banner'); \
             return banner.textContent.includes('reconnecting') && \
             document.querySelector('#terminal').dataset.input === 'disabled' && \
             window.chatcode.terminal.options.disableStdin === true",
            STEP,
        )
        .await
        .unwrap();
    chrome.screenshot("terminal-reconnecting").await.unwrap();
    let away = lines(&chrome).await;
    assert_eq!(
        count(&away, "hi"),
        1,
        "the screen is kept while away: {away:#?}"
    );
    // Restore it: the output continues, nothing doubled.
    sim = GatewaySim::start_with(sim_config(&fake), state);
    chrome
        .wait_until("input enabled again", input_enabled, STEP)
        .await
        .unwrap();
    type_line(&chrome, "echo again").await;
    wait_for_line(&chrome, "again").await;
    let after = lines(&chrome).await;
    assert_eq!(count(&after, "$ echo hi"), 1, "{after:#?}");
    assert_eq!(count(&after, "hi"), 1, "{after:#?}");
    assert_eq!(count(&after, "$ echo again"), 1, "{after:#?}");
    assert_eq!(count(&after, "again"), 1, "{after:#?}");

    // A read-only attach cannot type.
    browser
        .goto(&app.url(&format!("{terminal_path}?mode=ro")))
        .await
        .unwrap();
    chrome
        .wait_until(
            "the read-only terminal",
            "return !!window.chatcode && window.chatcode.wire.state === 'open' && \
             document.querySelector('#terminal-banner').textContent.includes('read-only')",
            STEP,
        )
        .await
        .unwrap();
    wait_for_line(&chrome, "again").await;
    assert_eq!(
        chrome
            .eval(
                "return window.chatcode.terminal.options.disableStdin",
                Vec::new()
            )
            .await
            .unwrap(),
        Value::Bool(true)
    );
    // Key events are handled as they are dispatched: had the page sent input, the count would
    // already show it when the driver returns.
    let _ = chrome
        .client
        .find(Locator::Css(".xterm-helper-textarea"))
        .await
        .unwrap()
        .send_keys("echo nope")
        .await;
    assert_eq!(
        chrome
            .eval("return window.chatcode.wire.inputsSent", Vec::new())
            .await
            .unwrap(),
        Value::from(0),
        "a read-only terminal sent input"
    );
    assert_eq!(count(&lines(&chrome).await, "$ echo nope"), 0);
    chrome.screenshot("terminal-read-only").await.unwrap();

    // On a 360 px phone: the dashboard fits, and the terminal has its row of special keys.
    browser.set_window_size(360, 740).await.unwrap();
    browser.goto(&app.url("/dashboard")).await.unwrap();
    chrome
        .wait_until("the dashboard on a phone", &page_ready("dashboard"), STEP)
        .await
        .unwrap();
    assert_eq!(
        chrome
            .eval(
                "return document.documentElement.scrollWidth <= window.innerWidth",
                Vec::new()
            )
            .await
            .unwrap(),
        Value::Bool(true),
        "nothing overflows sideways"
    );
    chrome.screenshot("dashboard-phone").await.unwrap();
    browser.goto(&app.url(&terminal_path)).await.unwrap();
    chrome
        .wait_until("the terminal on a phone", input_enabled, STEP)
        .await
        .unwrap();
    chrome
        .wait_until(
            "the key bar shown",
            "const bar = document.querySelector('.keybar'); \
             return !!bar && getComputedStyle(bar).display !== 'none' && bar.offsetHeight > 0",
            STEP,
        )
        .await
        .unwrap();
    chrome.screenshot("terminal-phone").await.unwrap();
    browser.set_window_size(1280, 800).await.unwrap();

    // The account page: a new API key is shown once, then listed by its prefix only.
    browser.goto(&app.url("/dashboard/account")).await.unwrap();
    chrome
        .wait_until("the account page", &page_ready("account"), STEP)
        .await
        .unwrap();
    fill(browser, "#new-api-key input[name=name]", "laptop").await;
    click(browser, "#new-api-key button[type=submit]").await;
    let key = chrome
        .wait_until("the new key shown", &text_of("#new-key-value"), STEP)
        .await
        .unwrap();
    let key = key.as_str().unwrap().to_owned();
    assert!(key.starts_with("cck_"), "{key}");
    let listed = chrome
        .wait_until(
            "the key listed",
            &text_of("[data-key-id] [data-field=prefix]"),
            STEP,
        )
        .await
        .unwrap();
    assert!(key.starts_with(listed.as_str().unwrap().trim_end_matches('…')));
    chrome.screenshot("account").await.unwrap();

    // Another user sees "not found" for alice's VPS.
    browser.delete_all_cookies().await.unwrap();
    sign_in(&chrome, &app, "mallory").await;
    browser
        .goto(&app.url(&format!("/dashboard/vps/{vps_id}")))
        .await
        .unwrap();
    chrome
        .wait_until(
            "not found",
            "return document.body.innerText.toLowerCase().includes('not found')",
            STEP,
        )
        .await
        .unwrap();
    chrome.screenshot("not-found").await.unwrap();

    chrome.close().await;
    sim.stop().await;
}

/// Signs `username` in through the sign-in page's development form (a screenshot of the page
/// is kept), and waits for the dashboard.
async fn sign_in(chrome: &Chrome, app: &Process, username: &str) {
    chrome.client.goto(&app.url("/")).await.unwrap();
    chrome
        .wait_until("the sign-in page", &page_ready("signin"), STEP)
        .await
        .unwrap();
    chrome.screenshot("sign-in").await.unwrap();
    fill(&chrome.client, "#dev-login input[name=username]", username).await;
    click(&chrome.client, "#dev-login button[type=submit]").await;
    chrome
        .wait_until("the dashboard", &page_ready("dashboard"), STEP)
        .await
        .unwrap();
}

/// Types `text` into the element `selector` names.
async fn fill(browser: &fantoccini::Client, selector: &str, text: &str) {
    browser
        .find(Locator::Css(selector))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Picks `value` in the `<select>` that `selector` names.
async fn choose(browser: &fantoccini::Client, selector: &str, value: &str) {
    browser
        .find(Locator::Css(selector))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

/// Clicks the element `selector` names.
async fn click(browser: &fantoccini::Client, selector: &str) {
    browser
        .find(Locator::Css(selector))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits until the terminal shows a line that is exactly `line`.
async fn wait_for_line(chrome: &Chrome, line: &str) {
    let script = format!("{TERMINAL_LINES} return lines().includes({line:?});");
    chrome
        .wait_until(&format!("the line {line:?}"), &script, STEP)
        .await
        .unwrap();
}

/// A script function `lines()`: the lines of the terminal's active buffer, right-trimmed.
const TERMINAL_LINES: &str = "function lines() { const b = window.chatcode.terminal.buffer.active; \
    const out = []; for (let i = 0; i < b.length; i++) { out.push(b.getLine(i).translateToString(true)); } \
    return out; }";

/// The billing page against the Stripe fake (Stripe.js is not loaded outside production): a card
/// is added (the fake completes the SetupIntent the page shows), credits are bought, and the
/// balance and activity show them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_billing_page_saves_a_card_and_buys_credits() {
    use chatcode_fakes::stripe::{self, DEFAULT_SECRET_KEY, StripeConfig, TestCard};

    ensure_components_built();
    let (stripe_server, stripe) = stripe::spawn(StripeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let mut command = chatcode_testkit::chatcode_up(
        env!("CARGO_BIN_EXE_chatcode"),
        &dir.path().join("data"),
        "development",
    );
    command
        .env("SPIN_VARIABLE_STRIPE_API_BASE", stripe_server.url())
        .env("SPIN_VARIABLE_STRIPE_SECRET_KEY", DEFAULT_SECRET_KEY)
        .env("SPIN_VARIABLE_STRIPE_WEBHOOK_SECRET", "whsec_consoletest")
        .env("SPIN_VARIABLE_STRIPE_PUBLISHABLE_KEY", "pk_test_console");
    let app = block_in_place(|| Process::start(command)).unwrap();
    stripe.set_webhook_endpoint(&app.url("/webhooks/stripe"), "whsec_consoletest");
    let chrome = Chrome::start(1280, 1000).await.unwrap();
    let browser = &chrome.client;

    sign_in(&chrome, &app, "alice").await;
    click(browser, "#nav-billing").await;
    chrome
        .wait_until("the billing page", &page_ready("billing"), STEP)
        .await
        .unwrap();
    // Figures are in the browser's locale: compare their digits.
    let digits = |selector: &str| {
        format!("return document.querySelector({selector:?}).textContent.replace(/[^0-9]/g, '')")
    };
    assert_eq!(
        chrome
            .eval(&digits("#balance-total"), Vec::new())
            .await
            .unwrap(),
        Value::from("100000")
    );
    let loaded: Value = chrome
        .eval(
            "return !!document.querySelector('script[src*=\"js.stripe.com\"]')",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(loaded, Value::from(false), "no Stripe.js in development");

    // Add a card: the page shows the SetupIntent; the fake plays Stripe.js.
    click(browser, "#add-card").await;
    chrome
        .wait_until(
            "the SetupIntent",
            "return document.querySelector('#setup-intent') !== null",
            STEP,
        )
        .await
        .unwrap();
    let seti = chrome
        .eval(
            "return document.querySelector('#setup-intent').dataset.setupIntentId",
            Vec::new(),
        )
        .await
        .unwrap();
    stripe
        .complete_setup_intent(seti.as_str().unwrap(), TestCard::Visa)
        .unwrap();
    chrome
        .wait_until(
            "the saved card",
            "return document.querySelectorAll('[data-payment-method-id]').length === 1",
            STEP,
        )
        .await
        .unwrap();

    // Buy the smallest package: the balance and the activity show it.
    click(browser, "button[data-package-id]").await;
    chrome
        .wait_until(
            "the new balance",
            &format!("{} === '600000'", digits("#balance-total")),
            STEP,
        )
        .await
        .unwrap();
    chrome
        .wait_until(
            "the purchase in the activity",
            "return document.querySelector('[data-entry-kind=\"purchase\"]') !== null",
            STEP,
        )
        .await
        .unwrap();
    chrome.screenshot("billing").await.unwrap();
    chrome.close().await;
}
