//! A tenant's own email templates, one per name and locale. The api validates
//! them before they get here; the worker picks the locale that fits the cart.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use crate::connection::DbConn;
use crate::error::StoreResult;
use crate::schema::custom_templates;
use crate::sql::dialect;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = custom_templates)]
pub struct TemplateRow {
    pub tenant_id: String,
    pub name: String,
    pub locale: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

const SAVE_SQL: &str = "\
INSERT INTO custom_templates (tenant_id, name, locale, subject, html, text, created_at, updated_at) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
ON CONFLICT (tenant_id, name, locale) DO UPDATE SET \
    subject = excluded.subject, html = excluded.html, text = excluded.text, updated_at = excluded.updated_at";

/// The parts of a template as saved.
#[derive(Debug, Clone, Copy)]
pub struct TemplateParts<'a> {
    pub subject: &'a str,
    pub html: &'a str,
    pub text: &'a str,
}

/// Creates or replaces `name` in `locale`.
pub fn save_template(
    conn: &mut DbConn,
    tenant_id: &str,
    name: &str,
    locale: &str,
    parts: TemplateParts<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::sql_query(dialect(conn, SAVE_SQL))
        .bind::<Text, _>(tenant_id)
        .bind::<Text, _>(name)
        .bind::<Text, _>(locale)
        .bind::<Text, _>(parts.subject)
        .bind::<Text, _>(parts.html)
        .bind::<Text, _>(parts.text)
        .bind::<Timestamp, _>(now.naive_utc())
        .execute(conn)?;
    Ok(())
}

/// Every locale of the tenant's templates called one of `names`.
pub fn templates_named(
    conn: &mut DbConn,
    tenant_id: &str,
    names: &[&str],
) -> StoreResult<Vec<TemplateRow>> {
    Ok(custom_templates::table
        .filter(custom_templates::tenant_id.eq(tenant_id))
        .filter(custom_templates::name.eq_any(names))
        .order((custom_templates::name.asc(), custom_templates::locale.asc()))
        .select(TemplateRow::as_select())
        .load(conn)?)
}

/// All of the tenant's templates, by name and locale.
pub fn list_templates(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Vec<TemplateRow>> {
    Ok(custom_templates::table
        .filter(custom_templates::tenant_id.eq(tenant_id))
        .order((custom_templates::name.asc(), custom_templates::locale.asc()))
        .select(TemplateRow::as_select())
        .load(conn)?)
}

/// Removes `name` in `locale`; false when there was none.
pub fn delete_template(
    conn: &mut DbConn,
    tenant_id: &str,
    name: &str,
    locale: &str,
) -> StoreResult<bool> {
    Ok(diesel::delete(
        custom_templates::table
            .filter(custom_templates::tenant_id.eq(tenant_id))
            .filter(custom_templates::name.eq(name))
            .filter(custom_templates::locale.eq(locale)),
    )
    .execute(conn)?
        == 1)
}
