//! Who is calling: passwords, sessions, API keys, and the extractors that yield the caller.

pub mod caller;
pub mod password;
pub mod tokens;

pub use caller::{Caller, Session, UserCaller};
