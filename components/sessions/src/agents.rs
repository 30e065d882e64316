//! `POST /vps/:id/agents/install`, `GET /vps/:id/agents` and `GET /vps/:id/workspace`: the
//! agents installed on the VPS and the folders it works in, as its gateway reports them.

use chatcode_core::{
    ApiError,
    protocol::{Agent, AgentsInstall, Command, Query},
};
use chatcode_kit::{Reply, respond};
use serde::Deserialize;
use spin_sdk::http::Request;

use crate::{gateway, manage::owned_vps};

/// Largest accepted body.
const MAX_BODY: usize = 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Install {
    agent: String,
}

/// Installs an agent; 200 with `{agent, version}`.
pub async fn install(req: &Request, vps_id: &str) -> Reply {
    let (_, vps, _conn) = owned_vps(req, vps_id)?;
    let body: Install = respond::parse_body(req.body(), MAX_BODY)?;
    let agent = Agent::from_name(&body.agent)
        .filter(|a| *a != Agent::None)
        .ok_or_else(|| ApiError::unprocessable("agent: claude-code, codex, gemini or opencode"))?;
    let command = Command::AgentsInstall(AgentsInstall {
        request_id: gateway::request_id("agents-install"),
        agent: agent.as_str().to_owned(),
    });
    respond::json(200, &gateway::ask(&vps.gateway_id, &command, true).await?)
}

/// The agents and their versions.
pub async fn list(req: &Request, vps_id: &str) -> Reply {
    answer_field(req, vps_id, "agents-list", Command::AgentsList, "agents").await
}

/// The workspace folders.
pub async fn workspace(req: &Request, vps_id: &str) -> Reply {
    answer_field(
        req,
        vps_id,
        "workspace-list",
        Command::WorkspaceList,
        "folders",
    )
    .await
}

async fn answer_field(
    req: &Request,
    vps_id: &str,
    what: &str,
    command: fn(Query) -> Command,
    field: &str,
) -> Reply {
    let (_, vps, _conn) = owned_vps(req, vps_id)?;
    let command = command(Query {
        request_id: gateway::request_id(what),
    });
    let answer = gateway::ask(&vps.gateway_id, &command, false).await?;
    let mut body = serde_json::Map::new();
    body.insert(field.to_owned(), gateway::list(&answer, field));
    respond::json(200, &body)
}
