//! WebSocket close codes the hub sends, to gateways and browsers, and what a client should do
//! on each (`protocol/README.md` lists them for the web console).

/// Normal closure: the hub closed an idle browser (no message for 10 minutes).
pub const NORMAL: u16 = 1000;
/// The hub is shutting down: reconnect (resume with `last_seq`).
pub const GOING_AWAY: u16 = 1001;
/// A message that breaks the protocol's rules (binary from a browser, another session's id, a
/// malformed frame, a hello naming another gateway, events past a gateway's cap): do not
/// retry the same thing.
pub const POLICY: u16 = 1008;
/// A message over the size limit.
pub const TOO_BIG: u16 = 1009;
/// The hub that owned the terminal's gateway changed or went away (several hubs): reconnect
/// (resume with `last_seq`), and the connection is routed to the gateway's new hub.
pub const SERVICE_RESTART: u16 = 1012;
/// The peer cannot keep up, or the hub is at a limit: reconnect (resume with `last_seq`).
pub const TRY_AGAIN_LATER: u16 = 1013;
/// A newer connection of the same gateway replaced this one.
pub const REPLACED: u16 = 4000;
/// The browser's sign-in ended (logout, or logout everywhere): sign in again, then attach.
pub const SIGNED_OUT: u16 = 4001;
/// The terminal session ended (ended through the app, or 60 s after the gateway said so):
/// there is nothing to reconnect to.
pub const SESSION_ENDED: u16 = 4002;
/// The VPS was deleted (sent to its browsers and to its gateway): there is nothing to
/// reconnect to.
pub const VPS_DELETED: u16 = 4003;

/// Every code above with its name, for documentation and tests.
pub const ALL: [(u16, &str); 10] = [
    (NORMAL, "normal"),
    (GOING_AWAY, "going_away"),
    (POLICY, "policy"),
    (TOO_BIG, "too_big"),
    (SERVICE_RESTART, "service_restart"),
    (TRY_AGAIN_LATER, "try_again_later"),
    (REPLACED, "replaced"),
    (SIGNED_OUT, "signed_out"),
    (SESSION_ENDED, "session_ended"),
    (VPS_DELETED, "vps_deleted"),
];
