//! The merchant dashboard's people: users, one-time sign-in links, server-side
//! sessions and the sign-in throttle. Tokens are random and only their SHA-256
//! is stored; password hashing is the caller's (the dashboard's argon2id).

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use cartback_domain::UserRole;

use crate::connection::{DbConn, lock_key, write_transaction};
use crate::error::{StoreError, StoreResult};
use crate::ids::{random_id, sha256_hex};
use crate::schema::{
    dashboard_sessions, dashboard_sign_in_links, dashboard_sign_in_throttle, dashboard_users,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dashboard_users)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    /// Lower-cased.
    pub email: String,
    /// argon2id in PHC form; None until an invited user sets a password.
    pub password_hash: Option<String>,
    pub role: String,
    pub created_at: NaiveDateTime,
    pub last_sign_in_at: Option<NaiveDateTime>,
}

impl User {
    pub fn role(&self) -> StoreResult<UserRole> {
        UserRole::parse(&self.role)
            .map_err(|_| StoreError::Corrupt(format!("user {} role {:?}", self.id, self.role)))
    }
}

/// Emails compare without case: one person, one account.
fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Adds a user. A unique violation ([`StoreError::is_unique_violation`]) means
/// the email already has an account, in this tenant or another.
pub fn create_user(
    conn: &mut DbConn,
    tenant_id: &str,
    email: &str,
    role: UserRole,
    password_hash: Option<&str>,
    now: NaiveDateTime,
) -> StoreResult<User> {
    let user = User {
        id: random_id("usr_", 16),
        tenant_id: tenant_id.to_owned(),
        email: normalize_email(email),
        password_hash: password_hash.map(str::to_owned),
        role: role.as_str().to_owned(),
        created_at: now,
        last_sign_in_at: None,
    };
    diesel::insert_into(dashboard_users::table)
        .values((
            dashboard_users::id.eq(&user.id),
            dashboard_users::tenant_id.eq(&user.tenant_id),
            dashboard_users::email.eq(&user.email),
            dashboard_users::password_hash.eq(&user.password_hash),
            dashboard_users::role.eq(&user.role),
            dashboard_users::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(user)
}

/// The account of `email`, whichever tenant it belongs to (sign-in knows no
/// tenant yet).
pub fn find_user_by_email(conn: &mut DbConn, email: &str) -> StoreResult<Option<User>> {
    Ok(dashboard_users::table
        .filter(dashboard_users::email.eq(normalize_email(email)))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_user(conn: &mut DbConn, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>> {
    Ok(dashboard_users::table
        .filter(dashboard_users::tenant_id.eq(tenant_id))
        .filter(dashboard_users::id.eq(user_id))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn list_users(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Vec<User>> {
    Ok(dashboard_users::table
        .filter(dashboard_users::tenant_id.eq(tenant_id))
        .order((dashboard_users::created_at.asc(), dashboard_users::id.asc()))
        .select(User::as_select())
        .load(conn)?)
}

/// Replaces the password hash; NotFound if the tenant has no such user.
pub fn set_password_hash(
    conn: &mut DbConn,
    tenant_id: &str,
    user_id: &str,
    password_hash: &str,
) -> StoreResult<()> {
    let changed = diesel::update(
        dashboard_users::table
            .filter(dashboard_users::tenant_id.eq(tenant_id))
            .filter(dashboard_users::id.eq(user_id)),
    )
    .set(dashboard_users::password_hash.eq(password_hash))
    .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Removes a user with their sessions and links (cascade); NotFound if the
/// tenant has no such user.
pub fn delete_user(conn: &mut DbConn, tenant_id: &str, user_id: &str) -> StoreResult<()> {
    write_transaction(conn, |conn| {
        delete_user_sessions(conn, tenant_id, user_id)?;
        diesel::delete(
            dashboard_sign_in_links::table
                .filter(dashboard_sign_in_links::tenant_id.eq(tenant_id))
                .filter(dashboard_sign_in_links::user_id.eq(user_id)),
        )
        .execute(conn)?;
        let changed = diesel::delete(
            dashboard_users::table
                .filter(dashboard_users::tenant_id.eq(tenant_id))
                .filter(dashboard_users::id.eq(user_id)),
        )
        .execute(conn)?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    })
}

/// Creates a one-time sign-in link for `user`, valid for `ttl`; returns the
/// token, which exists in clear only here.
pub fn create_sign_in_link(
    conn: &mut DbConn,
    user: &User,
    now: NaiveDateTime,
    ttl: TimeDelta,
) -> StoreResult<String> {
    let token = random_id("", 43);
    diesel::insert_into(dashboard_sign_in_links::table)
        .values((
            dashboard_sign_in_links::token_hash.eq(sha256_hex(&token)),
            dashboard_sign_in_links::tenant_id.eq(&user.tenant_id),
            dashboard_sign_in_links::user_id.eq(&user.id),
            dashboard_sign_in_links::created_at.eq(now),
            dashboard_sign_in_links::expires_at.eq(now + ttl),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Uses up the sign-in link `token`: its user if the link exists, is unused and
/// has not expired; a second use finds nothing, even when two race.
pub fn redeem_sign_in_link(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> StoreResult<Option<User>> {
    let hash = sha256_hex(token);
    write_transaction(conn, |conn| {
        let link: Option<(String, String)> = dashboard_sign_in_links::table
            .filter(dashboard_sign_in_links::token_hash.eq(&hash))
            .filter(dashboard_sign_in_links::used_at.is_null())
            .filter(dashboard_sign_in_links::expires_at.gt(now))
            .select((
                dashboard_sign_in_links::tenant_id,
                dashboard_sign_in_links::user_id,
            ))
            .first(conn)
            .optional()?;
        let Some((tenant_id, user_id)) = link else {
            return Ok(None);
        };
        // The conditional update is what makes the link one-time under races.
        let claimed = diesel::update(
            dashboard_sign_in_links::table
                .filter(dashboard_sign_in_links::token_hash.eq(&hash))
                .filter(dashboard_sign_in_links::used_at.is_null()),
        )
        .set(dashboard_sign_in_links::used_at.eq(now))
        .execute(conn)?;
        if claimed == 0 {
            return Ok(None);
        }
        find_user(conn, &tenant_id, &user_id)
    })
}

/// A signed-in browser.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dashboard_sessions)]
pub struct Session {
    pub id_hash: String,
    pub tenant_id: String,
    pub user_id: String,
    /// Echoed by every state-changing form of this session.
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// From sign-in, whatever the activity.
    pub absolute: TimeDelta,
    /// Without a request.
    pub idle: TimeDelta,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            absolute: TimeDelta::days(7),
            idle: TimeDelta::hours(12),
        }
    }
}

/// Opens a session for `user` and records the sign-in; returns the cookie
/// value (in clear only here) and the session.
pub fn create_session(
    conn: &mut DbConn,
    user: &User,
    now: NaiveDateTime,
    limits: SessionLimits,
) -> StoreResult<(String, Session)> {
    let token = random_id("", 43);
    let session = Session {
        id_hash: sha256_hex(&token),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        csrf_token: random_id("", 32),
        created_at: now,
        last_seen_at: now,
        expires_at: now + limits.absolute,
    };
    write_transaction(conn, |conn| {
        diesel::insert_into(dashboard_sessions::table)
            .values((
                dashboard_sessions::id_hash.eq(&session.id_hash),
                dashboard_sessions::tenant_id.eq(&session.tenant_id),
                dashboard_sessions::user_id.eq(&session.user_id),
                dashboard_sessions::csrf_token.eq(&session.csrf_token),
                dashboard_sessions::created_at.eq(now),
                dashboard_sessions::last_seen_at.eq(now),
                dashboard_sessions::expires_at.eq(session.expires_at),
            ))
            .execute(conn)?;
        diesel::update(
            dashboard_users::table
                .filter(dashboard_users::tenant_id.eq(&user.tenant_id))
                .filter(dashboard_users::id.eq(&user.id)),
        )
        .set(dashboard_users::last_sign_in_at.eq(now))
        .execute(conn)?;
        Ok::<_, StoreError>(())
    })?;
    Ok((token, session))
}

/// How stale `last_seen_at` may get before a request writes it again: one
/// write a minute per session, not one per page.
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

/// The live session of cookie value `token` with its user, refreshing its
/// last-seen time; None when unknown, expired or idle too long (and then
/// deleted).
pub fn resume_session(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
    limits: SessionLimits,
) -> StoreResult<Option<(Session, User)>> {
    let hash = sha256_hex(token);
    let found: Option<(Session, User)> = dashboard_sessions::table
        .inner_join(dashboard_users::table)
        .filter(dashboard_sessions::id_hash.eq(&hash))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()?;
    let Some((mut session, user)) = found else {
        return Ok(None);
    };
    if session.expires_at <= now || session.last_seen_at + limits.idle <= now {
        diesel::delete(dashboard_sessions::table.filter(dashboard_sessions::id_hash.eq(&hash)))
            .execute(conn)?;
        return Ok(None);
    }
    if now - session.last_seen_at >= TOUCH_EVERY {
        diesel::update(dashboard_sessions::table.filter(dashboard_sessions::id_hash.eq(&hash)))
            .set(dashboard_sessions::last_seen_at.eq(now))
            .execute(conn)?;
        session.last_seen_at = now;
    }
    Ok(Some((session, user)))
}

/// Signs the session of cookie value `token` out (nothing if there is none).
pub fn delete_session(conn: &mut DbConn, token: &str) -> StoreResult<()> {
    diesel::delete(
        dashboard_sessions::table.filter(dashboard_sessions::id_hash.eq(sha256_hex(token))),
    )
    .execute(conn)?;
    Ok(())
}

/// Signs a user out everywhere; returns how many sessions ended.
pub fn delete_user_sessions(
    conn: &mut DbConn,
    tenant_id: &str,
    user_id: &str,
) -> StoreResult<usize> {
    Ok(diesel::delete(
        dashboard_sessions::table
            .filter(dashboard_sessions::tenant_id.eq(tenant_id))
            .filter(dashboard_sessions::user_id.eq(user_id)),
    )
    .execute(conn)?)
}

/// Failed sign-ins allowed per subject within a window before it is locked.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleRule {
    pub max_failures: i32,
    pub window: TimeDelta,
    /// How long a subject stays locked once over the limit.
    pub lockout: TimeDelta,
}

/// The throttle subject of an account (its email is hashed: the table is no
/// place for addresses).
pub fn account_subject(email: &str) -> String {
    format!("account:{}", sha256_hex(&normalize_email(email)))
}

pub fn ip_subject(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Until when `subject` is locked out, if it is now.
pub fn locked_until(
    conn: &mut DbConn,
    subject: &str,
    now: NaiveDateTime,
) -> StoreResult<Option<NaiveDateTime>> {
    let until: Option<Option<NaiveDateTime>> = dashboard_sign_in_throttle::table
        .filter(dashboard_sign_in_throttle::subject.eq(subject))
        .select(dashboard_sign_in_throttle::locked_until)
        .first(conn)
        .optional()?;
    Ok(until.flatten().filter(|until| *until > now))
}

/// Counts one failed sign-in of `subject`; returns until when it is locked if
/// this failure crossed the limit.
pub fn record_failure(
    conn: &mut DbConn,
    subject: &str,
    now: NaiveDateTime,
    rule: ThrottleRule,
) -> StoreResult<Option<NaiveDateTime>> {
    write_transaction(conn, |conn| {
        // Two replicas counting the same subject must not both read, then
        // both write the same count.
        lock_key(conn, subject)?;
        let row: Option<(i32, NaiveDateTime)> = dashboard_sign_in_throttle::table
            .filter(dashboard_sign_in_throttle::subject.eq(subject))
            .select((
                dashboard_sign_in_throttle::failures,
                dashboard_sign_in_throttle::window_start,
            ))
            .first(conn)
            .optional()?;
        let (failures, window_start) = match row {
            Some((failures, start)) if start + rule.window > now => (failures + 1, start),
            _ => (1, now),
        };
        let locked = (failures >= rule.max_failures).then_some(now + rule.lockout);
        if row.is_some() {
            diesel::update(
                dashboard_sign_in_throttle::table
                    .filter(dashboard_sign_in_throttle::subject.eq(subject)),
            )
            .set((
                dashboard_sign_in_throttle::failures.eq(failures),
                dashboard_sign_in_throttle::window_start.eq(window_start),
                dashboard_sign_in_throttle::locked_until.eq(locked),
            ))
            .execute(conn)?;
        } else {
            diesel::insert_into(dashboard_sign_in_throttle::table)
                .values((
                    dashboard_sign_in_throttle::subject.eq(subject),
                    dashboard_sign_in_throttle::failures.eq(failures),
                    dashboard_sign_in_throttle::window_start.eq(window_start),
                    dashboard_sign_in_throttle::locked_until.eq(locked),
                ))
                .execute(conn)?;
        }
        Ok(locked)
    })
}

/// Forgets `subject`'s failures (after a successful sign-in).
pub fn clear_failures(conn: &mut DbConn, subject: &str) -> StoreResult<()> {
    diesel::delete(
        dashboard_sign_in_throttle::table.filter(dashboard_sign_in_throttle::subject.eq(subject)),
    )
    .execute(conn)?;
    Ok(())
}
