//! List parameters shared by every collection: paging, sorting and Vietnamese-aware search.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::PageRequest;
use crate::domain::text::search_key;
use crate::error::{ApiError, FieldError};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Paging, sorting and search, accepted by every list endpoint.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// How many items to return: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500, example = 50)]
    pub limit: Option<i64>,
    /// How many items to skip, default 0.
    #[param(minimum = 0, example = 0)]
    pub offset: Option<i64>,
    /// Sort field, `-field` for descending. Each list documents its own `sort` parameter with
    /// the fields it accepts; ties break by id.
    #[param(ignore)]
    pub sort: Option<String>,
    /// Search text, case- and diacritic-insensitive for Vietnamese: "dong thap" finds
    /// "Đồng Tháp", "khoi nghiep" finds "khởi nghiệp" (đ counts as d). Matches anywhere in the
    /// names and codes.
    #[param(max_length = 200, example = "khoi nghiep")]
    pub q: Option<String>,
}

/// Validated list parameters.
#[derive(Debug, Clone)]
pub struct Listing {
    pub page: PageRequest,
    /// The folded form of `q`, to match against stored search keys.
    pub search_key: Option<String>,
}

impl ListParams {
    /// Checks the parameters against the list's sortable fields (the first is the default).
    pub fn resolve(&self, sortable: &[&'static str]) -> Result<Listing, ApiError> {
        let mut errors = Vec::new();
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            errors.push(FieldError::new("offset", "must not be negative"));
        }
        let requested = self.sort.as_deref().unwrap_or(sortable[0]);
        let (name, descending) = match requested.strip_prefix('-') {
            Some(name) => (name, true),
            None => (requested, false),
        };
        let sort = sortable.iter().copied().find(|s| *s == name);
        if sort.is_none() {
            errors.push(FieldError::new(
                "sort",
                format!(
                    "must be one of {} (with - for descending)",
                    sortable.join(", ")
                ),
            ));
        }
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > 200) {
            errors.push(FieldError::new("q", "must be at most 200 characters"));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Listing {
            page: PageRequest {
                limit,
                offset,
                sort: sort.unwrap_or(sortable[0]),
                descending,
            },
            search_key: q.map(search_key).filter(|k| !k.is_empty()),
        })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match the filters in all.
    #[schema(example = 1)]
    pub total: i64,
    /// The page size used.
    #[schema(example = 50)]
    pub limit: i64,
    /// The offset used.
    #[schema(example = 0)]
    pub offset: i64,
}

impl<T> Page<T> {
    /// The page of `rows` (converted to wire items) out of `total`.
    pub fn of<R: Into<T>>(rows: Vec<R>, total: i64, page: &PageRequest) -> Self {
        Page {
            items: rows.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_descending_sort() {
        let listing = ListParams::default().resolve(&["code", "name"]).unwrap();
        let p = &listing.page;
        assert_eq!(
            (p.limit, p.offset, p.sort, p.descending),
            (50, 0, "code", false)
        );
        let listing = ListParams {
            sort: Some("-name".into()),
            q: Some("  Đồng  Tháp ".into()),
            ..Default::default()
        }
        .resolve(&["code", "name"])
        .unwrap();
        assert_eq!((listing.page.sort, listing.page.descending), ("name", true));
        assert_eq!(listing.search_key.as_deref(), Some("dong thap"));
    }

    #[test]
    fn rejects_out_of_range_and_unknown_sort() {
        let bad = ListParams {
            limit: Some(501),
            offset: Some(-1),
            sort: Some("password".into()),
            q: None,
        };
        match bad.resolve(&["code"]) {
            Err(ApiError::Validation(errors)) => assert_eq!(errors.len(), 3),
            other => panic!("{other:?}"),
        }
    }
}
