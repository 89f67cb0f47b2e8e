//! Node bindings: a thin translation between JavaScript values and the core. No policy here.

mod completion;
mod error;
mod js_text;
mod observability;
mod proxy;
mod signer;
