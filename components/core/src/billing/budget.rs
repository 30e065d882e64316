//! The budget guard, an opt-in setting: at zero credits new sessions are refused, and after an
//! optional grace the user's VPSes are powered off (once per stretch at zero).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// Longest grace before powering off: a week.
pub const MAX_GRACE_MINUTES: i64 = 7 * 24 * 60;

/// A user's budget guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct BudgetSettings {
    /// Refuse new sessions at zero credits.
    pub budget_guard: bool,
    /// With the guard on, power the VPSes off once the balance has been zero this long;
    /// none: never.
    pub power_off_grace_minutes: Option<i64>,
}

/// `PATCH /api/billing/settings`: each field present is changed;
/// `power_off_grace_minutes: null` turns powering off off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetUpdate {
    /// Turn the guard on or off.
    #[serde(default)]
    pub budget_guard: Option<bool>,
    /// The new grace (`Some(None)`: never power off).
    #[serde(default, deserialize_with = "present")]
    pub power_off_grace_minutes: Option<Option<i64>>,
}

/// Absent is `None`, `null` is `Some(None)`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(deserializer).map(Some)
}

impl BudgetUpdate {
    /// The settings after this update; the problems by field name.
    pub fn apply(
        &self,
        current: BudgetSettings,
    ) -> Result<BudgetSettings, BTreeMap<String, String>> {
        let mut bad = BTreeMap::new();
        if self.budget_guard.is_none() && self.power_off_grace_minutes.is_none() {
            bad.insert("body".into(), "name at least one field to change".into());
        }
        if let Some(Some(minutes)) = self.power_off_grace_minutes
            && !(0..=MAX_GRACE_MINUTES).contains(&minutes)
        {
            bad.insert(
                "power_off_grace_minutes".into(),
                format!("must be between 0 and {MAX_GRACE_MINUTES}, or null"),
            );
        }
        if !bad.is_empty() {
            return Err(bad);
        }
        Ok(BudgetSettings {
            budget_guard: self.budget_guard.unwrap_or(current.budget_guard),
            power_off_grace_minutes: self
                .power_off_grace_minutes
                .unwrap_or(current.power_off_grace_minutes),
        })
    }
}

/// Whether a user may start a new session.
pub fn may_start_session(budget_guard: bool, balance: i64) -> bool {
    !budget_guard || balance > 0
}

/// A user's state as the power-off sweep sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeroBalance {
    /// The guard and its grace.
    pub settings: BudgetSettings,
    /// Since when the balance has been zero (unix ms), if it is.
    pub zero_since: Option<i64>,
    /// When the sweep last powered the VPSes off for a zero balance (unix ms).
    pub powered_off_at: Option<i64>,
}

impl ZeroBalance {
    /// Whether the sweep at `now` powers the user's VPSes off: the guard is on with a grace,
    /// the balance has been zero longer than it, and this stretch at zero was not handled yet.
    pub fn power_off_due(&self, now: i64) -> bool {
        let (true, Some(grace), Some(since)) = (
            self.settings.budget_guard,
            self.settings.power_off_grace_minutes,
            self.zero_since,
        ) else {
            return false;
        };
        let handled = self.powered_off_at.is_some_and(|at| at >= since);
        !handled && now.saturating_sub(since) >= grace.saturating_mul(60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_change_what_they_name() {
        let on: BudgetUpdate =
            serde_json::from_str(r#"{"budget_guard":true,"power_off_grace_minutes":30}"#).unwrap();
        let settings = on.apply(BudgetSettings::default()).unwrap();
        assert_eq!(
            settings,
            BudgetSettings {
                budget_guard: true,
                power_off_grace_minutes: Some(30)
            }
        );
        let never: BudgetUpdate =
            serde_json::from_str(r#"{"power_off_grace_minutes":null}"#).unwrap();
        assert_eq!(
            never.apply(settings).unwrap(),
            BudgetSettings {
                budget_guard: true,
                power_off_grace_minutes: None
            }
        );
        let empty: BudgetUpdate = serde_json::from_str("{}").unwrap();
        assert!(empty.apply(settings).unwrap_err().contains_key("body"));
        let long: BudgetUpdate =
            serde_json::from_str(r#"{"power_off_grace_minutes":100000}"#).unwrap();
        assert!(
            long.apply(settings)
                .unwrap_err()
                .contains_key("power_off_grace_minutes")
        );
        assert!(serde_json::from_str::<BudgetUpdate>(r#"{"guard":true}"#).is_err());
    }

    #[test]
    fn sessions_stop_at_zero_only_with_the_guard() {
        assert!(may_start_session(false, 0));
        assert!(may_start_session(true, 1));
        assert!(!may_start_session(true, 0));
    }

    #[test]
    fn power_off_comes_after_the_grace_once_per_stretch() {
        let mut state = ZeroBalance {
            settings: BudgetSettings {
                budget_guard: true,
                power_off_grace_minutes: Some(10),
            },
            zero_since: Some(1_000),
            powered_off_at: None,
        };
        assert!(!state.power_off_due(1_000 + 599_999));
        assert!(state.power_off_due(1_000 + 600_000));
        state.powered_off_at = Some(700_000);
        assert!(!state.power_off_due(10_000_000), "handled already");
        state.zero_since = Some(800_000);
        assert!(state.power_off_due(1_400_000), "a new stretch at zero");
        state.settings.power_off_grace_minutes = None;
        assert!(!state.power_off_due(i64::MAX));
        state.settings = BudgetSettings {
            budget_guard: false,
            power_off_grace_minutes: Some(0),
        };
        assert!(!state.power_off_due(i64::MAX));
    }
}
