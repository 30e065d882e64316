//! Stripe, as chatcode speaks to it: the form encoding of requests, the objects it reads, what
//! a failed call means for the client, webhook signatures, and what each event asks for.
//! Pure code; the `billing` component sends the requests.

pub mod events;
pub mod failure;
pub mod form;
pub mod objects;
pub mod signature;

/// The API version every request pins with `Stripe-Version`, so an account upgrade never
/// changes the shapes chatcode reads.
pub const API_VERSION: &str = "2025-06-30.basil";
