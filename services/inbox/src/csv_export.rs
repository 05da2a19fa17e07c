//! CSV exports, streamed: rows go out as PostgreSQL returns them, in chunks, so an export of a
//! million rows holds one chunk in memory, not the file.
//!
//! Format decisions: RFC 4180 (comma, CRLF, quotes doubled), UTF-8 with a byte-order mark so
//! spreadsheet programs read the accents right, a header row, times as RFC 3339 in the caller's
//! time zone. Text cells starting with `=`, `+`, `-`, `@`, tab or CR get a leading `'`, so a
//! crafted title cannot run as a spreadsheet formula (OWASP "CSV injection").
//!
//! A database failure before the first chunk is an ordinary error response (503/500); after it
//! the body is cut short, which the client sees as an incomplete download, never as a complete
//! but truncated file.
//!
//! One user cannot starve the others through exports: each user runs at most
//! `inbox.max_exports_per_user` at once (one more is a 429), and an export whose client stops
//! taking chunks is cut short after `inbox.export_stall_secs`. The inbox export reads a page of
//! rows at a time by keyset ([`InboxPages`]), so a slow client holds no database connection
//! between pages; a row changed meanwhile may appear on either side of the change.

use std::fmt::Write as _;

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use futures::stream::BoxStream;
use futures::StreamExt;
use sqlx::PgPool;

use relance_shared::http::ApiError;

const CHUNK_BYTES: usize = 64 * 1024;

/// What bounds one user's exports.
#[derive(Clone)]
pub struct ExportLimits {
    pub slots: std::sync::Arc<crate::slots::UserSlots>,
    pub stall: std::time::Duration,
}

impl ExportLimits {
    /// A place for one more export of `user`, or the 429 that says to wait.
    pub fn take(&self, user: i64) -> Result<crate::slots::UserSlot, ApiError> {
        self.slots
            .take(user)
            .ok_or_else(|| ApiError::TooManyRequests {
                detail: format!(
                    "at most {} exports at once per user: wait for one to finish",
                    self.slots.max
                ),
                retry_after_secs: 10,
            })
    }
}

/// Rows of the inbox export read per query: each page is its own short statement.
const EXPORT_PAGE: i64 = 1_000;

/// The inbox's rows for a filter, a page at a time in inbox order (the page query and its
/// keyset), so no connection is held while the client downloads.
pub struct InboxPages(pub crate::filters::InboxFilter);

impl ExportSource for InboxPages {
    type Row = crate::interactions::Interaction;
    fn rows<'a>(&'a mut self, pool: &'a PgPool) -> BoxStream<'a, Result<Self::Row, sqlx::Error>> {
        use futures::TryStreamExt;
        let filter = &self.0;
        futures::stream::try_unfold(
            Some(None),
            move |after: Option<Option<crate::cursor::Position>>| async move {
                let Some(after) = after else {
                    return Ok::<_, sqlx::Error>(None);
                };
                let (items, more) =
                    crate::query::page(pool, filter, after.as_ref(), EXPORT_PAGE).await?;
                let next = match items.last() {
                    Some(last) if more => Some(Some(crate::cursor::Position {
                        next_action_at: last.next_action_at,
                        created_at: last.created_at,
                        id: last.id,
                    })),
                    _ => None,
                };
                Ok(Some((
                    futures::stream::iter(items.into_iter().map(Ok::<_, sqlx::Error>)),
                    next,
                )))
            },
        )
        .try_flatten()
        .boxed()
    }
}

/// One CSV line per row.
pub trait CsvRow: Send + Unpin + 'static {
    const HEADER: &'static [&'static str];
    fn write(&self, tz: Tz, line: &mut CsvLine);
}

/// A line being written, cell by cell.
pub struct CsvLine<'a> {
    out: &'a mut String,
    first: bool,
}

/// What makes a spreadsheet read a cell as a formula (OWASP's "CSV injection" list).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

impl CsvLine<'_> {
    fn separator(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    /// Free text: quoted when needed, defused when it looks like a formula. Spreadsheets in a
    /// French locale split on `;`: a `;` is quoted too, and a value any of whose `;`-parts
    /// starts like a formula is defused, so `x;=1+1;` stays text there as well.
    pub fn text(&mut self, value: Option<&str>) {
        self.separator();
        let value = value.unwrap_or("");
        let defuse = value
            .split(';')
            .any(|part| part.trim_start_matches(' ').starts_with(FORMULA_STARTS));
        let quote = defuse || value.contains([',', ';', '"', '\n', '\r']);
        if quote {
            self.out.push('"');
            if defuse {
                self.out.push('\'');
            }
            self.out.push_str(&value.replace('"', "\"\""));
            self.out.push('"');
        } else {
            self.out.push_str(value);
        }
    }

    pub fn number(&mut self, value: Option<i64>) {
        self.separator();
        if let Some(value) = value {
            let _ = write!(self.out, "{value}");
        }
    }

    pub fn time(&mut self, value: Option<DateTime<Utc>>, tz: Tz) {
        self.separator();
        if let Some(at) = value {
            self.out.push_str(
                &at.with_timezone(&tz)
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
            );
        }
    }
}

fn write_row<R: CsvRow>(row: &R, tz: Tz, out: &mut String) {
    let mut line = CsvLine { out, first: true };
    row.write(tz, &mut line);
    out.push_str("\r\n");
}

/// Where an export's rows come from: a query, run in the export's own task.
pub trait ExportSource: Send + 'static {
    type Row: CsvRow;
    fn rows<'a>(&'a mut self, pool: &'a PgPool) -> BoxStream<'a, Result<Self::Row, sqlx::Error>>;
}

/// Streams the rows of `source` as `filename`, holding the user's export `slot` until done;
/// cut short when the client has not taken a chunk for `stall`.
pub async fn stream<S: ExportSource>(
    pool: PgPool,
    mut source: S,
    tz: Tz,
    filename: &str,
    (slot, stall): (crate::slots::UserSlot, std::time::Duration),
) -> Result<Response, ApiError> {
    type R<S> = <S as ExportSource>::Row;
    // `None` says the export is complete: a channel that closes without it (the task gave up
    // on a stalled client, or died) ends the body with an error, never as a whole file.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Option<Result<Bytes, sqlx::Error>>>(4);
    tokio::spawn(async move {
        let _slot = slot;
        let mut rows = source.rows(&pool);
        let mut buffer = String::from("\u{feff}");
        buffer.push_str(&R::<S>::HEADER.join(","));
        buffer.push_str("\r\n");
        while let Some(row) = rows.next().await {
            match row {
                Ok(row) => {
                    write_row(&row, tz, &mut buffer);
                    if buffer.len() >= CHUNK_BYTES {
                        let chunk = Bytes::from(std::mem::take(&mut buffer));
                        match tokio::time::timeout(stall, tx.send(Some(Ok(chunk)))).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => return, // the client went away
                            Err(_) => {
                                metrics::counter!("inbox_exports_stalled_total").increment(1);
                                tracing::warn!("export cut short: its client stopped reading");
                                return;
                            }
                        }
                    }
                }
                Err(error) => {
                    let _ = tx.send(Some(Err(error))).await;
                    return;
                }
            }
        }
        if !buffer.is_empty() {
            let _ = tx.send(Some(Ok(Bytes::from(buffer)))).await;
        }
        let _ = tx.send(None).await;
    });
    let first = match rx.recv().await {
        Some(Some(Ok(chunk))) => chunk,
        Some(Some(Err(error))) => return Err(error.into()),
        Some(None) | None => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "export task ended early"
            )))
        }
    };
    let rest = futures::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(Some(Ok(chunk))) => Some((Ok(chunk), Some(rx))),
            Some(None) => None,
            Some(Some(Err(error))) => {
                tracing::error!(%error, "export cut short");
                Some((Err(std::io::Error::other(error)), None))
            }
            None => Some((Err(std::io::Error::other("export cut short")), None)),
        }
    });
    let body = futures::stream::once(async { Ok::<_, std::io::Error>(first) }).chain(rest);
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(f: impl FnOnce(&mut CsvLine)) -> String {
        let mut out = String::new();
        let mut line = CsvLine {
            out: &mut out,
            first: true,
        };
        f(&mut line);
        out
    }

    #[test]
    fn quoting_and_formula_defusing() {
        assert_eq!(cells(|l| l.text(Some("plain"))), "plain");
        assert_eq!(
            cells(|l| l.text(Some("Dupont, \"SARL\""))),
            "\"Dupont, \"\"SARL\"\"\""
        );
        assert_eq!(cells(|l| l.text(Some("a\nb"))), "\"a\nb\"");
        assert_eq!(
            cells(|l| l.text(Some("=HYPERLINK(\"x\")"))),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(cells(|l| l.text(Some("-1+2"))), "\"'-1+2\"");
        // Read with `;` as the separator (French-locale spreadsheets).
        assert_eq!(cells(|l| l.text(Some("x;=1+1;"))), "\"'x;=1+1;\"");
        assert_eq!(cells(|l| l.text(Some("a; @SUM(1)"))), "\"'a; @SUM(1)\"");
        assert_eq!(cells(|l| l.text(Some("Dupont; SARL"))), "\"Dupont; SARL\"");
        assert_eq!(
            cells(|l| {
                l.number(Some(-3));
                l.text(None);
                l.number(None);
                l.text(Some("é"))
            }),
            "-3,,,é"
        );
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let at: DateTime<Utc> = "2026-06-10T21:30:00Z".parse().unwrap();
        assert_eq!(
            cells(|l| l.time(Some(at), paris)),
            "2026-06-10T23:30:00+02:00"
        );
    }
}
