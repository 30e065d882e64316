//! `fermyon:spin/variables@2.0.0`: a component reads only its own variables.

use super::{
    RequestState,
    bindings::variables::{self, Error},
};

impl variables::Host for RequestState {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if !crate::manifest::is_variable_name(&name) {
            return Ok(Err(Error::InvalidName(format!(
                "invalid variable name '{name}'"
            ))));
        }
        Ok(self
            .component
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::Undefined(format!("no variable for '{name}'"))))
    }
}
