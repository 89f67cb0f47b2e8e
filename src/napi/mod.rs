//! Node bindings: a thin translation between JavaScript values and the core. No policy here.
//! Every entry point runs in `guard::guarded`, and every failure leaves through `error`.

mod arg;
mod completion;
mod error;
mod guard;
mod js_text;
mod observability;
mod proxy;
mod runtime;
mod signer;
mod temporary_credentials;
