//! A simulated terminal: a [`Shell`] reading input and a [`Screen`] showing output.

mod screen;
mod shell;

pub(crate) use screen::Screen;
pub(crate) use shell::{PROMPT, Shell};
