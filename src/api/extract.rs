//! Request extractors whose failures are problem+json: JSON bodies with the path of the bad
//! field, and the error handlers for actix's own path, query and payload extractors.

use std::future::Future;
use std::pin::Pin;

use actix_web::error::{PathError, PayloadError, QueryPayloadError};
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use super::strict::Strict;
use crate::error::{ApiError, FieldError};

/// A JSON request body. Unlike `web::Json`, a failure names the offending field (`basis[0].date`)
/// and tells syntax (400) from content (422) errors.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .mime_type()
            .ok()
            .flatten()
            .is_some_and(|m| m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"));
        let limit = max_body_bytes(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType(
                    "the request body must be JSON (Content-Type: application/json)".into(),
                ));
            }
            let bytes = body.await.map_err(|e| payload_error(&e, limit))?;
            parse_json(&bytes).map(ApiJson)
        })
    }
}

pub(crate) fn max_body_bytes(req: &HttpRequest) -> usize {
    req.app_data::<web::Data<crate::startup::AppState>>()
        .map(|s| s.settings.max_body_bytes)
        .unwrap_or(usize::MAX)
}

pub(crate) fn payload_error(error: &actix_web::Error, limit: usize) -> ApiError {
    match error.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => ApiError::PayloadTooLarge(limit),
        _ => ApiError::BadRequest {
            detail: "the request body could not be read".into(),
            errors: vec![],
        },
    }
}

/// Parses `bytes` as a `T`, naming the field that failed. Every struct, the body itself
/// included, must be a JSON object: see [`Strict`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(Strict(&mut deserializer)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        let inner = e.into_inner();
        let error = FieldError::new(field, inner.to_string());
        // A content error found before the end (a struct refused at its opening `[`) still
        // answers 400 when the body is not JSON at all.
        let syntax = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).err();
        if let (true, Some(syntax)) = (inner.is_data(), &syntax) {
            ApiError::BadRequest {
                detail: format!("the request body is not valid JSON: {syntax}"),
                errors: vec![],
            }
        } else if inner.is_data() {
            ApiError::Validation(vec![error])
        } else {
            ApiError::BadRequest {
                detail: format!("the request body is not valid JSON: {inner}"),
                errors: vec![error],
            }
        }
    })?;
    deserializer.end().map_err(|e| ApiError::BadRequest {
        detail: format!("the request body is not valid JSON: {e}"),
        errors: vec![],
    })?;
    Ok(value)
}

pub fn path_error(error: PathError, _req: &HttpRequest) -> actix_web::Error {
    let PathError::Deserialize(inner) = &error else {
        return ApiError::BadRequest {
            detail: "invalid path parameter".into(),
            errors: vec![],
        }
        .into();
    };
    ApiError::BadRequest {
        detail: format!("invalid path parameter: {inner}"),
        errors: vec![FieldError::new("path", inner.to_string())],
    }
    .into()
}

pub fn query_error(error: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let message = match &error {
        QueryPayloadError::Deserialize(inner) => inner.to_string(),
        other => other.to_string(),
    };
    ApiError::BadRequest {
        detail: format!("invalid query parameter: {message}"),
        errors: vec![FieldError::new("query", message)],
    }
    .into()
}

/// `Option<Option<T>>` for PATCH bodies: absent leaves a field unchanged, `null` clears it.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[allow(dead_code)]
        year: i32,
        #[serde(default, deserialize_with = "nullable")]
        note: Option<Option<String>>,
    }

    #[test]
    fn syntax_is_400_content_is_422_with_field() {
        assert!(matches!(
            parse_json::<Body>(b"{\"year\":"),
            Err(ApiError::BadRequest { .. })
        ));
        match parse_json::<Body>(b"{\"year\":\"2025\"}") {
            Err(ApiError::Validation(e)) => assert_eq!(e[0].field, "year"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Body>(b"{\"year\":2025,\"extra\":1}") {
            Err(ApiError::Validation(e)) => assert!(e[0].message.contains("unknown field")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<Body>(b"{\"year\":1} x"),
            Err(ApiError::BadRequest { .. })
        ));
        assert!(parse_json::<Body>(b"{\"year\":1e309}").is_err());
        match parse_json::<Body>(b" [2025, null]") {
            Err(ApiError::Validation(e)) => assert_eq!(e[0].field, "body"),
            other => panic!("an array is not an object: {other:?}"),
        }
        assert!(matches!(
            parse_json::<Body>(b"[2025,"),
            Err(ApiError::BadRequest { .. })
        ));
    }

    #[test]
    fn nullable_tells_absent_from_null() {
        let absent: Body = parse_json(b"{\"year\":1}").unwrap();
        assert_eq!(absent.note, None);
        let null: Body = parse_json(b"{\"year\":1,\"note\":null}").unwrap();
        assert_eq!(null.note, Some(None));
    }
}
