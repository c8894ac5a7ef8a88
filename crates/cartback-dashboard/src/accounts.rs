//! Making users and sign-in links: shared by the command line (`cartback user
//! create`, `cartback user invite`, `cartback dev`) and the dashboard's Team page.

use chrono::{NaiveDateTime, TimeDelta};

use cartback_domain::{EmailAddress, UserRole};
use cartback_store::users::{self, User};
use cartback_store::{DbConn, StoreError};

use crate::password::{self, PasswordError};

/// How long a sign-in link works.
pub const SIGN_IN_LINK_TTL: TimeDelta = TimeDelta::hours(24);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("email {0}")]
    InvalidEmail(String),
    #[error("this email already has an account")]
    EmailTaken,
    #[error("this email has an account in another shop")]
    OtherTenant,
    #[error("password {0}")]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn parse_email(email: &str) -> Result<EmailAddress, AccountError> {
    EmailAddress::parse(email.trim()).map_err(|e| AccountError::InvalidEmail(e.message))
}

/// Adds a user to `tenant_id`, with a password (hashed here) or without one
/// (they sign in with a link and may set one then).
pub fn create_user(
    conn: &mut DbConn,
    tenant_id: &str,
    email: &str,
    role: UserRole,
    password: Option<&str>,
    now: NaiveDateTime,
) -> Result<User, AccountError> {
    let email = parse_email(email)?;
    let hash = password.map(password::hash).transpose()?;
    users::create_user(conn, tenant_id, email.as_str(), role, hash.as_deref(), now).map_err(|e| {
        if e.is_unique_violation() {
            AccountError::EmailTaken
        } else {
            AccountError::Store(e)
        }
    })
}

/// The address of a sign-in link under the api's public URL.
pub fn sign_in_url(public_url: &str, token: &str) -> String {
    format!(
        "{}/dashboard/login/link/{token}",
        public_url.trim_end_matches('/')
    )
}

/// A one-time sign-in link, valid [`SIGN_IN_LINK_TTL`], for the user of
/// `email` in `tenant_id`, made first (without a password, as `role`) when
/// there is none. Returns the user and the link's address.
pub fn invite(
    conn: &mut DbConn,
    tenant_id: &str,
    email: &str,
    role: UserRole,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<(User, String), AccountError> {
    let address = parse_email(email)?;
    let user = match users::find_user_by_email(conn, address.as_str())? {
        Some(user) if user.tenant_id == tenant_id => user,
        Some(_) => return Err(AccountError::OtherTenant),
        None => create_user(conn, tenant_id, address.as_str(), role, None, now)?,
    };
    let token = users::create_sign_in_link(conn, &user, now, SIGN_IN_LINK_TTL)?;
    Ok((user, sign_in_url(public_url, &token)))
}
