//! What the app tells the hub when access ends (`POST /internal/revoke` on the hub): sign-ins
//! that ended, a deleted VPS, an ended session. The hub closes the affected sockets with a named
//! close code and refuses tickets for them for as long as a ticket lives.

use serde::{Deserialize, Serialize};

/// Largest revocation body the hub reads.
pub const MAX_REVOCATION_BYTES: usize = 1024 * 1024;

/// One revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Revocation {
    /// Sign-ins of a user ended (logout: one; logout everywhere: all of them). Their
    /// terminals close with `signed_out` (4001).
    Logins {
        /// The user.
        user_id: String,
        /// The sign-ins ([`crate::login::login_ref`]).
        logins: Vec<String>,
    },
    /// A VPS was deleted: its browsers and its gateway's socket close with `vps_deleted`
    /// (4003), and the hub forgets the gateway's cached authentication.
    Vps {
        /// The VPS.
        vps_id: String,
        /// Its gateway.
        gateway_id: String,
    },
    /// A terminal session was ended: its browsers close with `session_ended` (4002).
    Session {
        /// The gateway it runs on.
        gateway_id: String,
        /// The session.
        session_id: String,
    },
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wire_shape() {
        let cases = [
            (
                Revocation::Logins {
                    user_id: "usr-1".into(),
                    logins: vec!["a".into(), "b".into()],
                },
                json!({"kind": "logins", "user_id": "usr-1", "logins": ["a", "b"]}),
            ),
            (
                Revocation::Vps {
                    vps_id: "vps-1".into(),
                    gateway_id: "gw-1".into(),
                },
                json!({"kind": "vps", "vps_id": "vps-1", "gateway_id": "gw-1"}),
            ),
            (
                Revocation::Session {
                    gateway_id: "gw-1".into(),
                    session_id: "ses-1".into(),
                },
                json!({"kind": "session", "gateway_id": "gw-1", "session_id": "ses-1"}),
            ),
        ];
        for (revocation, wire) in cases {
            assert_eq!(serde_json::to_value(&revocation).unwrap(), wire);
            assert_eq!(
                serde_json::from_value::<Revocation>(wire).unwrap(),
                revocation
            );
        }
    }
}
