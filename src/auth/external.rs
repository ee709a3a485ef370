//! A caller from a trusted external issuer: verify the token, map its claims, and find the
//! unit it names among this service's units.

use super::caller::Identity;
use super::issuers::{UnitKey, UnitRef};
use super::jwks::TrustedIssuer;
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::startup::AppState;

/// The caller behind an external token: 401 when the token is not valid, 403 when it is but
/// names no role or no usable unit of this service, 503 while the issuer's keys cannot be
/// fetched.
pub async fn authenticate(
    state: &AppState,
    issuer: &TrustedIssuer,
    token: &str,
) -> Result<(Identity, Option<String>, Vec<Role>), ApiError> {
    let claims = issuer.verify(token).await?;
    let user = issuer.config.map_claims(&claims)?;
    let unit_code = match user.unit {
        Some(unit) => Some(resolve_unit(state, &issuer.config.issuer, unit).await?),
        None => None,
    };
    Ok((
        Identity::External {
            issuer: issuer.config.issuer.clone(),
            subject: user.subject,
            name: user.name,
        },
        unit_code,
        user.roles,
    ))
}

/// The code of the unit a token names, if that unit exists and is valid today.
async fn resolve_unit(state: &AppState, issuer: &str, unit: UnitRef) -> Result<String, ApiError> {
    let lookup = unit.clone();
    let row = db::run(&state.pool, move |conn| match lookup.key {
        UnitKey::Code => db::units::find(conn, &lookup.value),
        UnitKey::GovCode => db::units::find_by_gov_code(conn, &lookup.value),
    })
    .await?;
    let named = match unit.key {
        UnitKey::Code => format!("unit code {}", unit.value),
        UnitKey::GovCode => format!("electronic agency code {}", unit.value),
    };
    let row = row.ok_or_else(|| {
        ApiError::Forbidden(format!(
            "the token of issuer {issuer} names the {named}, which is no unit of this service"
        ))
    })?;
    // Units cease at a date of the province's calendar, not UTC's.
    let today = crate::domain::timeliness::local_date(chrono::Utc::now());
    if row.valid_to.is_some_and(|to| to < today) || row.valid_from.is_some_and(|from| from > today)
    {
        let successor = row
            .successor_code
            .as_deref()
            .map(|s| format!("; its successor is {s}"))
            .unwrap_or_default();
        return Err(ApiError::Forbidden(format!(
            "the token names the unit {} ({named}), which is not valid today{successor}",
            row.code
        )));
    }
    Ok(row.code)
}
