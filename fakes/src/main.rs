//! `chatcode-fakes`: serve one fake for manual use and print `Serving http://ADDR`.

use std::{io::Write, net::SocketAddr, time::Duration};

use chatcode_fakes::{
    digitalocean::{self, DoConfig},
    github::{self, GithubConfig},
    libsql::LibsqlConfig,
    stripe::{self, StripeConfig},
};
use clap::{Parser, Subcommand};

/// Serve a fake of a third-party service.
#[derive(Debug, Parser)]
#[command(name = "chatcode-fakes", version)]
struct Args {
    #[command(subcommand)]
    service: Service,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, global = true, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The OAuth client id the fake accepts.
    #[arg(long, global = true)]
    client_id: Option<String>,
    /// The OAuth client secret the fake accepts.
    #[arg(long, global = true)]
    client_secret: Option<String>,
    /// The registered OAuth callback URL.
    #[arg(long, global = true)]
    redirect_uri: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Service {
    /// DigitalOcean OAuth (/v1/oauth) and API v2 (/v2).
    Digitalocean {
        /// An API token accepted as-is (repeatable).
        #[arg(long = "token")]
        tokens: Vec<String>,
        /// Seconds before a new droplet turns active.
        #[arg(long, default_value_t = 3)]
        active_after: u64,
    },
    /// GitHub OAuth (/login/oauth) and REST (/user, /user/emails).
    Github,
    /// Stripe API v1 (/v1) and signed webhooks.
    Stripe {
        /// A secret key the API accepts (repeatable; default: the fake's test key).
        #[arg(long = "secret-key")]
        secret_keys: Vec<String>,
        /// Where events are POSTed.
        #[arg(long, requires = "webhook_secret")]
        webhook_url: Option<String>,
        /// The endpoint's signing secret (`whsec_…`).
        #[arg(long)]
        webhook_secret: Option<String>,
    },
    /// A libSQL server (Hrana 3 over HTTP) over a SQLite file.
    Libsql {
        /// The SQLite file it serves.
        #[arg(long)]
        path: std::path::PathBuf,
        /// The bearer token it requires (none when empty).
        #[arg(long, default_value = "")]
        token: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = match args.service {
        Service::Digitalocean {
            tokens,
            active_after,
        } => {
            let mut config = DoConfig {
                static_tokens: tokens,
                active_after: Some(Duration::from_secs(active_after)),
                ..DoConfig::default()
            };
            if let Some(v) = args.client_id {
                config.client_id = v;
            }
            if let Some(v) = args.client_secret {
                config.client_secret = v;
            }
            if let Some(v) = args.redirect_uri {
                config.redirect_uri = v;
            }
            digitalocean::spawn_on(config, args.listen)?.0
        }
        Service::Github => {
            let mut config = GithubConfig::default();
            if let Some(v) = args.client_id {
                config.client_id = v;
            }
            if let Some(v) = args.client_secret {
                config.client_secret = v;
            }
            if let Some(v) = args.redirect_uri {
                config.redirect_uri = v;
            }
            github::spawn_on(config, args.listen)?.0
        }
        Service::Stripe {
            secret_keys,
            webhook_url,
            webhook_secret,
        } => {
            let mut config = StripeConfig {
                webhook_url,
                ..StripeConfig::default()
            };
            if !secret_keys.is_empty() {
                config.secret_keys = secret_keys;
            }
            if let Some(v) = webhook_secret {
                config.webhook_secret = v;
            }
            stripe::spawn_on(config, args.listen)?.0
        }
        Service::Libsql { path, token } => {
            chatcode_fakes::libsql::spawn_on(LibsqlConfig::new(path, token), args.listen)?.0
        }
    };
    println!("Serving {}", server.url());
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    drop(server);
    Ok(())
}
