//! Idempotency-Key records (IETF httpapi draft "The Idempotency-Key HTTP Header Field"): the
//! first request with a key runs; a retry with the same key and body gets the first answer.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::DbConnection;
use crate::error::ApiError;

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;

/// What to do with a request carrying a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First use of the key: run the request, then `finish`.
    Started,
    /// The key was used with this same body: answer as the first time.
    Replay {
        status: u16,
        location: Option<String>,
        body: String,
    },
    /// The key was used with another body.
    Mismatch,
    /// The first request with the key is still running.
    InProgress,
}

type Stored = (
    String,
    String,
    Option<i32>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

/// Claims `key` of the caller `owner` (its subject, `user:<id>` …) for this request, or says
/// how the earlier use of it answers.
pub fn begin(
    conn: &mut DbConnection,
    owner: &str,
    key: &str,
    request_hash: &str,
) -> Result<Begin, ApiError> {
    conn.transaction(|conn| {
        let expired = super::now() - Duration::hours(RETENTION_HOURS);
        diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::owner.eq(owner))
                .filter(idempotency_keys::key.eq(key))
                .filter(idempotency_keys::created_at.lt(expired)),
        )
        .execute(conn)?;
        // In a savepoint: on PostgreSQL a failed statement would otherwise abort the whole
        // transaction, and the read below with it.
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::owner.eq(owner),
                    idempotency_keys::key.eq(key),
                    idempotency_keys::request_hash.eq(request_hash),
                    idempotency_keys::state.eq("in_progress"),
                    idempotency_keys::created_at.eq(super::now()),
                ))
                .execute(conn)
        });
        match inserted {
            Ok(_) => return Ok(Begin::Started),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {}
            Err(other) => return Err(other.into()),
        }
        let (hash, state, status, location, body, _): Stored = idempotency_keys::table
            .find((owner, key))
            .select((
                idempotency_keys::request_hash,
                idempotency_keys::state,
                idempotency_keys::status_code,
                idempotency_keys::location,
                idempotency_keys::body,
                idempotency_keys::created_at,
            ))
            .first(conn)?;
        Ok(if hash != request_hash {
            Begin::Mismatch
        } else if state == "in_progress" {
            Begin::InProgress
        } else {
            Begin::Replay {
                status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                location,
                body: body.unwrap_or_default(),
            }
        })
    })
}

/// Stores the answer to replay for the key.
pub fn finish(
    conn: &mut DbConnection,
    owner: &str,
    key: &str,
    status: u16,
    location: Option<&str>,
    body: &str,
) -> Result<(), ApiError> {
    diesel::update(idempotency_keys::table.find((owner, key)))
        .set((
            idempotency_keys::state.eq("done"),
            idempotency_keys::status_code.eq(i32::from(status)),
            idempotency_keys::location.eq(location),
            idempotency_keys::body.eq(body),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets the key, so a retry runs again (after a failure worth retrying).
pub fn abandon(conn: &mut DbConnection, owner: &str, key: &str) -> Result<(), ApiError> {
    diesel::delete(idempotency_keys::table.find((owner, key))).execute(conn)?;
    Ok(())
}
