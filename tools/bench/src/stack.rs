//! What the benchmarks need to start services of their own: settings with a database and a
//! NATS namespace of their own, and the clean-up of that namespace.

use secrecy::SecretString;

use relance_shared::Settings;

pub const BENCH_TOKEN: &str = "bench-ingest-token";
pub const BENCH_JWT_SECRET: &str = "bench-jwt-secret-0123456789-0123456789";

/// Settings of a service the benchmarks start: its own database and NATS namespace, port 0.
pub fn settings(database_url: &str, nats: &str) -> Settings {
    let mut s = Settings::default();
    s.database.url = SecretString::from(database_url.to_owned());
    s.nats.url = SecretString::from(nats.to_owned());
    s.nats.namespace = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    s.gateway.listen = ([127, 0, 0, 1], 0).into();
    s.gateway.ingest_token = Some(SecretString::from(BENCH_TOKEN));
    s.auth.jwt_secret = Some(SecretString::from(BENCH_JWT_SECRET));
    s.scoring.listen = ([127, 0, 0, 1], 0).into();
    s.inbox.listen = ([127, 0, 0, 1], 0).into();
    s
}

pub async fn delete_streams(settings: &Settings) {
    let url = secrecy::ExposeSecret::expose_secret(&settings.nats.url).to_owned();
    if let Ok(client) = async_nats::connect(url).await {
        let js = async_nats::jetstream::new(client);
        let names = relance_shared::nats::Names::new(&settings.nats.namespace);
        for stream in names.all_streams() {
            let _ = js.delete_stream(stream).await;
        }
    }
}
