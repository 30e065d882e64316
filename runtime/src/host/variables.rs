//! `fermyon:spin/variables@2.0.0`: a component reads only its own variables.

use super::{
    RequestState,
    bindings::variables::{self, Error},
};
use crate::timing::HostCall;

impl variables::Host for RequestState {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        let since = self.call_began();
        let value = if crate::manifest::is_variable_name(&name) {
            self.component
                .variables
                .get(&name)
                .cloned()
                .ok_or_else(|| Error::Undefined(format!("no variable for '{name}'")))
        } else {
            Err(Error::InvalidName(format!(
                "invalid variable name '{name}'"
            )))
        };
        self.call_ended(HostCall::Variables, since);
        Ok(value)
    }
}
