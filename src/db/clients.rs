//! Queries on API clients (server-to-server callers of the client-credentials grant).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::api_clients;
use super::{Db, DbConnection, PageRequest};
use crate::domain::role::Role;
use crate::domain::text::search_key;
use crate::error::ApiError;

/// An API client as stored, without its secret hash.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: i64,
    pub name: String,
    pub unit_code: Option<String>,
    pub roles: Vec<Role>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
struct ClientRow {
    id: i64,
    name: String,
    secret_hash: String,
    unit_code: Option<String>,
    /// JSON array of role names.
    roles: String,
    active: bool,
    _search_key: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl ClientRow {
    fn into_client(self) -> Client {
        let names: Vec<String> = serde_json::from_str(&self.roles).unwrap_or_default();
        let mut roles: Vec<Role> = names.iter().filter_map(|r| Role::parse(r)).collect();
        roles.sort();
        Client {
            id: self.id,
            name: self.name,
            unit_code: self.unit_code,
            roles,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// What a client's writer decides; the secret hash is already an Argon2id PHC string.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub secret_hash: String,
    pub unit_code: Option<String>,
    pub roles: Vec<Role>,
}

/// Changes to a client; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub unit_code: Option<Option<String>>,
    pub roles: Option<Vec<Role>>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct ClientFilter {
    pub search_key: Option<String>,
    pub active: Option<bool>,
}

fn roles_json(roles: &[Role]) -> String {
    serde_json::to_string(&roles.iter().map(|r| r.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Client>, ApiError> {
    let row: Option<ClientRow> = super::find_by_key!(conn, api_clients::table, id)?;
    Ok(row.map(ClientRow::into_client))
}

/// The client and its secret hash, for the client-credentials grant.
pub fn find_for_grant(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<(Client, String)>, ApiError> {
    let row: Option<ClientRow> = super::find_by_key!(conn, api_clients::table, id)?;
    Ok(row.map(|r| {
        let hash = r.secret_hash.clone();
        (r.into_client(), hash)
    }))
}

pub fn name_taken(conn: &mut DbConnection, name: &str, except: i64) -> Result<bool, ApiError> {
    let n: i64 = api_clients::table
        .filter(api_clients::name.eq(name))
        .filter(api_clients::id.ne(except))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

fn filtered<'a>(filter: &'a ClientFilter) -> api_clients::BoxedQuery<'a, Db> {
    let mut query = api_clients::table.into_boxed();
    if let Some(key) = &filter.search_key {
        query = query.filter(
            api_clients::search_key
                .like(super::contains_pattern(key))
                .escape('\\'),
        );
    }
    if let Some(active) = filter.active {
        query = query.filter(api_clients::active.eq(active));
    }
    query
}

/// One page of clients matching `filter`, and how many match in all.
pub fn list(
    conn: &mut DbConnection,
    filter: &ClientFilter,
    page: &PageRequest,
) -> Result<(Vec<Client>, i64), ApiError> {
    let query = match (page.sort, page.descending) {
        ("name", false) => filtered(filter).order((api_clients::name.asc(), api_clients::id.asc())),
        ("name", true) => {
            filtered(filter).order((api_clients::name.desc(), api_clients::id.desc()))
        }
        (_, false) => filtered(filter).order(api_clients::id.asc()),
        (_, true) => filtered(filter).order(api_clients::id.desc()),
    };
    let rows: Vec<ClientRow> = query.limit(page.limit).offset(page.offset).load(conn)?;
    let (rows, total) = super::counted(page, rows, || filtered(filter).count().get_result(conn))?;
    Ok((
        rows.into_iter().map(ClientRow::into_client).collect(),
        total,
    ))
}

pub fn insert(conn: &mut DbConnection, new: &NewClient) -> Result<Client, ApiError> {
    let now = super::now();
    let id: i64 = diesel::insert_into(api_clients::table)
        .values((
            api_clients::name.eq(&new.name),
            api_clients::secret_hash.eq(&new.secret_hash),
            api_clients::unit_code.eq(&new.unit_code),
            api_clients::roles.eq(roles_json(&new.roles)),
            api_clients::active.eq(true),
            api_clients::search_key.eq(search_key(&new.name)),
            api_clients::created_at.eq(now),
            api_clients::updated_at.eq(now),
        ))
        .returning(api_clients::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("API client {id}")))
}

/// Applies `changes` to the client `current`.
pub fn update(
    conn: &mut DbConnection,
    current: &Client,
    changes: &ClientChanges,
) -> Result<Client, ApiError> {
    let name = changes.name.clone().unwrap_or(current.name.clone());
    let unit_code = changes
        .unit_code
        .clone()
        .unwrap_or(current.unit_code.clone());
    let roles = changes.roles.clone().unwrap_or(current.roles.clone());
    diesel::update(api_clients::table.find(current.id))
        .set((
            api_clients::name.eq(&name),
            api_clients::unit_code.eq(&unit_code),
            api_clients::roles.eq(roles_json(&roles)),
            api_clients::active.eq(changes.active.unwrap_or(current.active)),
            api_clients::search_key.eq(search_key(&name)),
            api_clients::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    find(conn, current.id)?.ok_or_else(|| ApiError::not_found(format!("API client {}", current.id)))
}
