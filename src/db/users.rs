//! Queries on user accounts and their roles.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{user_roles, users};
use super::{Db, DbConnection};
use crate::domain::role::Role;
use crate::error::ApiError;

/// A user account as stored, without the password hash.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub unit_code: Option<String>,
    pub active: bool,
    pub roles: Vec<Role>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
struct UserRow {
    id: i64,
    username: String,
    password_hash: String,
    full_name: String,
    unit_code: Option<String>,
    active: bool,
    _search_key: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl UserRow {
    fn with_roles(self, roles: Vec<Role>) -> User {
        User {
            id: self.id,
            username: self.username,
            full_name: self.full_name,
            unit_code: self.unit_code,
            active: self.active,
            roles,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A new account; `password_hash` is already an Argon2id PHC string.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub full_name: String,
    pub unit_code: Option<String>,
    pub roles: Vec<Role>,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub full_name: Option<String>,
    pub unit_code: Option<Option<String>>,
    pub roles: Option<Vec<Role>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub search_key: Option<String>,
    pub unit_code: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

fn roles_of(conn: &mut DbConnection, ids: &[i64]) -> Result<HashMap<i64, Vec<Role>>, ApiError> {
    let rows: Vec<(i64, String)> = user_roles::table
        .filter(super::any_of(user_roles::user_id, ids))
        .order((user_roles::user_id, user_roles::role))
        .load(conn)?;
    let mut map: HashMap<i64, Vec<Role>> = HashMap::new();
    for (id, role) in rows {
        if let Some(role) = Role::parse(&role) {
            map.entry(id).or_default().push(role);
        }
    }
    for roles in map.values_mut() {
        roles.sort();
    }
    Ok(map)
}

fn attach_roles(conn: &mut DbConnection, rows: Vec<UserRow>) -> Result<Vec<User>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut roles = roles_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let r = roles.remove(&row.id).unwrap_or_default();
            row.with_roles(r)
        })
        .collect())
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<User>, ApiError> {
    let row: Option<UserRow> = super::find_by_key!(conn, users::table, id)?;
    Ok(attach_roles(conn, row.into_iter().collect())?.pop())
}

/// The account behind a token, if it still exists and is active.
/// It is read on every authenticated request, so the account and its roles come in one query.
pub fn find_active(conn: &mut DbConnection, id: i64) -> Result<Option<User>, ApiError> {
    let rows: Vec<(UserRow, Option<String>)> = users::table
        .left_join(user_roles::table)
        .filter(users::id.eq(id))
        .filter(users::active.eq(true))
        .select((users::all_columns, user_roles::role.nullable()))
        .load(conn)?;
    let mut roles: Vec<Role> = rows
        .iter()
        .filter_map(|(_, role)| role.as_deref().and_then(Role::parse))
        .collect();
    roles.sort();
    Ok(rows
        .into_iter()
        .next()
        .map(|(row, _)| row.with_roles(roles)))
}

/// The account and its password hash, for a login.
pub fn find_for_login(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<(User, String)>, ApiError> {
    let row: Option<UserRow> = users::table
        .filter(users::username.eq(username))
        .first(conn)
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let hash = row.password_hash.clone();
    Ok(attach_roles(conn, vec![row])?.pop().map(|u| (u, hash)))
}

pub fn count(conn: &mut DbConnection) -> Result<i64, ApiError> {
    Ok(users::table.count().get_result(conn)?)
}

fn filtered<'a>(filter: &'a UserFilter) -> users::BoxedQuery<'a, Db> {
    let mut query = users::table.into_boxed();
    if let Some(key) = &filter.search_key {
        query = query.filter(
            users::search_key
                .like(super::contains_pattern(key))
                .escape('\\'),
        );
    }
    if let Some(unit) = &filter.unit_code {
        query = query.filter(users::unit_code.eq(unit));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(role) = filter.role {
        query = query.filter(
            users::id.eq_any(
                user_roles::table
                    .filter(user_roles::role.eq(role.as_str()))
                    .select(user_roles::user_id),
            ),
        );
    }
    query
}

/// One page of accounts matching `filter`, and how many match in all.
pub fn list(
    conn: &mut DbConnection,
    filter: &UserFilter,
    page: &super::PageRequest,
) -> Result<(Vec<User>, i64), ApiError> {
    let mut query = filtered(filter);
    query = match (page.sort, page.descending) {
        ("username", false) => query.order(users::username.asc()),
        ("username", true) => query.order(users::username.desc()),
        ("full_name", false) => query.order((users::search_key.asc(), users::id.asc())),
        ("full_name", true) => query.order((users::search_key.desc(), users::id.desc())),
        ("created_at", false) => query.order((users::created_at.asc(), users::id.asc())),
        ("created_at", true) => query.order((users::created_at.desc(), users::id.desc())),
        (_, false) => query.order(users::id.asc()),
        (_, true) => query.order(users::id.desc()),
    };
    let rows: Vec<UserRow> = query.limit(page.limit).offset(page.offset).load(conn)?;
    let (rows, total) = super::counted(page, rows, || filtered(filter).count().get_result(conn))?;
    Ok((attach_roles(conn, rows)?, total))
}

fn replace_roles(conn: &mut DbConnection, id: i64, roles: &[Role]) -> Result<(), ApiError> {
    diesel::delete(user_roles::table.filter(user_roles::user_id.eq(id))).execute(conn)?;
    // One insert per role: batch inserts do not compile through the multi-backend connection.
    for role in roles {
        diesel::insert_into(user_roles::table)
            .values((
                user_roles::user_id.eq(id),
                user_roles::role.eq(role.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn user_search_key(username: &str, full_name: &str) -> String {
    crate::domain::text::search_key(&format!("{full_name} | {username}"))
}

pub fn insert(conn: &mut DbConnection, new: &NewUser) -> Result<User, ApiError> {
    let now = super::now();
    let id: i64 = diesel::insert_into(users::table)
        .values((
            users::username.eq(&new.username),
            users::password_hash.eq(&new.password_hash),
            users::full_name.eq(&new.full_name),
            users::unit_code.eq(&new.unit_code),
            users::active.eq(true),
            users::search_key.eq(user_search_key(&new.username, &new.full_name)),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::id)
        .get_result(conn)?;
    replace_roles(conn, id, &new.roles)?;
    find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("user {id}")))
}

pub fn update(conn: &mut DbConnection, id: i64, changes: &UserChanges) -> Result<User, ApiError> {
    let current = find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("user {id}")))?;
    let full_name = changes
        .full_name
        .clone()
        .unwrap_or(current.full_name.clone());
    let unit_code = changes
        .unit_code
        .clone()
        .unwrap_or(current.unit_code.clone());
    diesel::update(users::table.find(id))
        .set((
            users::full_name.eq(&full_name),
            users::unit_code.eq(&unit_code),
            users::active.eq(changes.active.unwrap_or(current.active)),
            users::search_key.eq(user_search_key(&current.username, &full_name)),
            users::updated_at.eq(super::now()),
        ))
        .execute(conn)?;
    if let Some(hash) = &changes.password_hash {
        diesel::update(users::table.find(id))
            .set(users::password_hash.eq(hash))
            .execute(conn)?;
    }
    if let Some(roles) = &changes.roles {
        replace_roles(conn, id, roles)?;
    }
    find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("user {id}")))
}
