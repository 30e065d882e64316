//! The `code`s of the hub's `error` messages to a browser (`protocol/hub/error.json`); the
//! socket stays open after each.

/// The message is not one a browser may send (not JSON, unknown type, bad fields).
pub const INVALID_MESSAGE: &str = "invalid_message";
/// Input or resize on a read-only ticket.
pub const READ_ONLY: &str = "read_only";
/// Another browser typed in this session in the last 30 s.
pub const WRITER_BUSY: &str = "writer_busy";
/// The session's gateway is not connected; the message was not delivered.
pub const GATEWAY_OFFLINE: &str = "gateway_offline";
/// Too many of this gateway's commands await an answer.
pub const BUSY: &str = "busy";
/// This browser sent more than its allowance (bytes of messages per second, with a burst):
/// the message was dropped. Only the browser that sent it is told.
pub const RATE_LIMITED: &str = "rate_limited";

/// Every code above, for documentation and tests.
pub const ALL: [&str; 6] = [
    INVALID_MESSAGE,
    READ_ONLY,
    WRITER_BUSY,
    GATEWAY_OFFLINE,
    BUSY,
    RATE_LIMITED,
];
