//! The command lines of `relance-bench` and `relance-seed` (clap): `--help` and `--version`,
//! one subcommand per benchmark, and only the options each one reads, so a mistyped option is
//! an error with the usage instead of a silently ignored default. Defaults live in each
//! module (its doc comment lists them).

use clap::{Args as ClapArgs, Parser, Subcommand};

use crate::args::Args;

/// Declares an option set: each field is `--kebab-name VALUE`, optional, read by name.
macro_rules! options {
    ($(#[$meta:meta])* $name:ident { $($(#[$doc:meta])* $field:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(ClapArgs, Debug, Default)]
        pub struct $name {
            $($(#[$doc])* #[arg(long, value_name = "VALUE")] pub $field: Option<String>,)*
        }

        impl $name {
            pub fn into_args(self) -> Args {
                let mut pairs = Vec::new();
                $(if let Some(value) = self.$field {
                    pairs.push((stringify!($field).replace('_', "-"), value));
                })*
                Args::from_pairs(pairs)
            }
        }
    };
}

options!(IngestOptions {
    /// Gateway base URL (http://127.0.0.1:8080).
    gateway,
    /// Ingest token (RELANCE__GATEWAY__INGEST_TOKEN, else the dev token).
    token,
    /// Database scoring writes to (postgres://postgres@127.0.0.1:5432/relance).
    database_url,
    /// NATS URL (nats://127.0.0.1:4222).
    nats,
    /// Events to post (10000).
    events,
    /// Events per request; 1 posts one event object per request (100).
    batch,
    /// Requests in flight (4).
    concurrency,
    /// Distinct recipients (500).
    people,
    /// Open loop: requests per second (unset: as fast as possible).
    rate,
});

options!(InboxOptions {
    /// Inbox base URL (http://127.0.0.1:8081).
    inbox,
    /// The seeded database (postgres://postgres@127.0.0.1:5432/relance_bench).
    database_url,
    /// Secret to mint tokens with (RELANCE__AUTH__JWT_SECRET).
    jwt_secret,
    /// Requests per filter (300).
    requests,
    /// Print the query plans: yes or no (yes).
    explain,
    /// One-click PATCHes with the history off and on: yes or no (yes).
    patches,
});

options!(SoakOptions {
    /// Length of the run in seconds, half without and half with the hostile clients (30).
    seconds,
    /// Healthy ingest, events per second (50).
    ingest_rate,
    /// Healthy inbox reads, requests per second (20).
    inbox_rate,
    /// The hostile flood on one provider credential, requests per second (200).
    flood_rate,
    /// Below this p99 (ms), under attack counts as within bounds whatever the ratio (20).
    p99_floor_ms,
    /// Interactions seeded, so searches and exports cost something (20000).
    interactions,
    /// PostgreSQL server URL, without a database (postgres://postgres@127.0.0.1:5432).
    server_url,
    /// NATS URL (nats://127.0.0.1:4222).
    nats,
});

options!(ReminderOptions {
    /// PostgreSQL server URL, without a database (postgres://postgres@127.0.0.1:5432).
    server_url,
    /// The benchmark's own database, recreated (relance_bench_reminder).
    database,
    /// NATS URL (nats://127.0.0.1:4222).
    nats,
    /// Due interactions (100000).
    due,
    /// Rows per transaction (500).
    batch,
});

options!(RetentionOptions {
    /// Expired rows to delete (1000000).
    rows,
    /// Rows per delete (retention.batch_size, 1000).
    batch,
    /// PostgreSQL server URL, without a database (postgres://postgres@127.0.0.1:5432).
    server_url,
    /// The benchmark's own database, recreated (relance_bench_retention).
    database,
});

options!(SlaOptions {
    /// Untouched hot leads past their deadline for the SLA pass (100000).
    leads,
    /// Hot leads per assignment batch and rows per SLA batch (500).
    batch,
    /// Assignment batches measured (200).
    rounds,
    /// PostgreSQL server URL, without a database (postgres://postgres@127.0.0.1:5432).
    server_url,
    /// The benchmark's own database, recreated (relance_bench_sla).
    database,
});

options!(BaselineOptions {
    /// PostgreSQL server URL, without a database (postgres://postgres@127.0.0.1:5432).
    server_url,
    /// The benchmark's own database, recreated (relance_bench_baseline).
    database,
    /// NATS URL (nats://127.0.0.1:4222).
    nats,
    /// Events per measure (20000).
    events,
    /// Events per batched transaction (scoring.batch_size, 500).
    batch,
    /// Concurrent batches (4).
    concurrency,
    /// Print the plans of scoring's batch statements (auto_explain): yes or no (no).
    explain,
});

options!(
    /// `relance-seed`'s options.
    SeedOptions {
        /// Database to fill, created when missing (postgres://postgres@127.0.0.1:5432/relance_bench).
        database_url,
        /// Empty a database that already holds data: yes or no (no).
        reset,
        /// Random seed, between -1 and 1 (0.42).
        seed,
        /// Users (1000).
        users,
        /// Organisations (5000).
        organisations,
        /// People (50000).
        people,
        /// Interactions (1000000).
        interactions,
        /// NATS URL of the inbox that takes the directory (nats://127.0.0.1:4222).
        nats,
    }
);

options!(DirectoryOptions {
    /// People to load (1000000).
    people,
    /// Versions per request (1000).
    batch,
    /// Requests in flight (4).
    concurrency,
    /// PostgreSQL server URL, without a database (postgres://postgres@127.0.0.1:5432).
    server_url,
    /// NATS URL (nats://127.0.0.1:4222).
    nats,
    /// The benchmark's own database, recreated (relance_bench_directory).
    database,
});

options!(AllOptions {
    /// PostgreSQL server URL, without a database (postgres://postgres@127.0.0.1:5432).
    server_url,
    /// NATS URL (nats://127.0.0.1:4222).
    nats,
    /// Prefix of the benchmark's own databases (relance_bench).
    database_prefix,
    /// Events per ingest run (100000).
    events,
    /// Fixed request rate of the open-loop runs (2000).
    rate,
    /// Seconds of each open-loop run (10).
    seconds,
    /// Seconds of each step of the open-loop ladder (--seconds).
    ladder_seconds,
    /// Requests in flight (4).
    concurrency,
    /// Events per baseline measure (20000).
    baseline_events,
    /// Interactions the inbox benchmark runs at (1000000).
    interactions,
    /// Users seeded (1000).
    users,
    /// People seeded (50000).
    people,
    /// Organisations seeded (5000).
    organisations,
    /// Inbox requests per filter (500).
    requests,
    /// Print the inbox query plans: yes or no (no).
    explain,
    /// Inbox section: one-click PATCHes with the history off and on: yes or no (yes).
    patches,
    /// Due interactions of the reminder pass (100000).
    due,
    /// Scoring's batch size (scoring.batch_size, 500).
    scoring_batch,
    /// Scoring's batches in flight (scoring.in_flight, 4).
    scoring_in_flight,
    /// Sections to run, comma-separated: ingest, limits, inbox, mixed, reminder (all five).
    sections,
    /// Ingest section: the interactions' history triggers, on or off (on), to measure their
    /// cost.
    history,
    /// Mixed section: inbox requests per second, open loop (1000).
    inbox_rate,
    /// Mixed section: events per second posted meanwhile (2000).
    ingest_rate,
    /// Mixed section: seconds of each load (10).
    mixed_seconds,
});

/// Relance benchmarks: figures printed, never asserted. Each needs PostgreSQL and NATS;
/// `all` starts its own services, the others run against a running stack.
#[derive(Parser)]
#[command(name = "relance-bench", version)]
pub struct BenchCli {
    #[command(subcommand)]
    pub command: Bench,
}

#[derive(Subcommand)]
// Parsed once at start: the size of the largest options set does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Bench {
    /// Everything in one run, on a pipeline of its own, with the ratios to the machine's limits.
    All(AllOptions),
    /// Events through a running gateway to scoring: events/s, latencies, consumer lag.
    Ingest(IngestOptions),
    /// Inbox API latencies per filter, p50/p99, on a seeded database.
    Inbox(InboxOptions),
    /// One reminder pass over due interactions.
    Reminder(ReminderOptions),
    /// The minimal and scoring's per-event transactions, the same SQL batched, and raw JetStream publish.
    Baseline(BaselineOptions),
    /// Realistic data at scale (as relance-seed).
    Seed(SeedOptions),
    /// The initial load of a CRM's directory through the API: people/s.
    Directory(DirectoryOptions),
    /// The stack under mixed load, then with hostile clients; ends with an exact account.
    Soak(SoakOptions),
    /// The retention chore deleting expired rows beside scoring's and the inbox's writes.
    Retention(RetentionOptions),
    /// Speed to lead: the assignment step at scoring's batch size and the SLA pass.
    Sla(SlaOptions),
}

/// Realistic data at scale for benchmarks: users, organisations, people and interactions.
#[derive(Parser)]
#[command(name = "relance-seed", version)]
pub struct SeedCli {
    #[command(flatten)]
    pub options: SeedOptions,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_lines_are_consistent() {
        BenchCli::command().debug_assert();
        SeedCli::command().debug_assert();
    }

    #[test]
    fn an_unknown_option_is_an_error_and_known_ones_are_kept() {
        assert!(BenchCli::try_parse_from(["relance-bench", "all", "--evnts", "3"]).is_err());
        let cli =
            BenchCli::try_parse_from(["relance-bench", "all", "--baseline-events", "3"]).unwrap();
        let Bench::All(options) = cli.command else {
            panic!("all expected")
        };
        assert_eq!(options.into_args().get("baseline-events", "0"), "3");
    }
}
