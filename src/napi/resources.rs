//! What the process holds for its routes, for tests and operators: how many credential caches
//! and connection pools are alive.

use napi_derive::napi;

#[napi(object)]
pub struct LiveResources {
    /// Credential caches held by route tables or the signer.
    pub credential_caches: u32,
    /// Pooled HTTP clients held by route tables.
    pub connection_pools: u32,
}

/// How many credential caches and connection pools are alive now. A config reload that drops a
/// route releases what only that route used once the old route table is collected.
#[napi]
pub fn live_resources() -> LiveResources {
    LiveResources {
        credential_caches: crate::credentials::live_caches() as u32,
        connection_pools: crate::forward::live_clients() as u32,
    }
}
