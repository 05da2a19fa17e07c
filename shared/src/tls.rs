//! TLS for outgoing HTTPS (the OpenID provider's keys, OTLP traces): rustls with the ring
//! provider, the one sqlx already uses, so the build carries one crypto library. Installed once
//! per process, before any HTTP client is built; calling it again is harmless.

pub fn install_crypto_provider() {
    // Err means a provider is installed already: keep it.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
