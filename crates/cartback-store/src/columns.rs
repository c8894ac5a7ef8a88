//! Typed text columns. Statuses, kinds and JSON documents are stored as TEXT on
//! both backends; the row structs read them as their Rust types through
//! [`Stored`] and [`Json`], so a value no variant or type accepts fails the
//! read as [`CorruptValue`] (surfaced as [`crate::StoreError::Corrupt`])
//! instead of turning into some default.

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Nullable, Text};
use serde::de::DeserializeOwned;

use cartback_domain::{Attributes, CartItem, CartStatus, MatchedBy, OrderAttribution, OrderSource};

/// A value read from the database that its column's type does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptValue {
    /// `table.column`, or the Rust type of a JSON column.
    pub column: &'static str,
    /// Why it was refused; the text of a status or kind, never a JSON document
    /// (those may hold personal data).
    pub detail: String,
}

impl fmt::Display for CorruptValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.column, self.detail)
    }
}

impl std::error::Error for CorruptValue {}

/// A closed set of values stored as their text name.
pub trait TextEnum: Sized + Copy + 'static {
    /// The column it is stored in, for error messages.
    const COLUMN: &'static str;
    fn as_text(self) -> &'static str;
    fn from_text(text: &str) -> Option<Self>;
}

/// A [`TextEnum`] as a TEXT column: read with
/// `#[diesel(deserialize_as = Stored<Kind>)]` on a row's field, written as
/// `column.eq(Stored(kind))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Stored<T: TextEnum>(pub T);

impl<T, DB> FromSql<Text, DB> for Stored<T>
where
    T: TextEnum + fmt::Debug,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        T::from_text(&text).map(Stored).ok_or_else(|| {
            let shown: String = text.chars().take(40).collect();
            CorruptValue {
                column: T::COLUMN,
                detail: format!("unknown value {shown:?}"),
            }
            .into()
        })
    }
}

impl<T, DB> ToSql<Text, DB> for Stored<T>
where
    T: TextEnum + fmt::Debug,
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.0.as_text().to_sql(out)
    }
}

/// A nullable TEXT column of a [`TextEnum`]: read with
/// `#[diesel(deserialize_as = StoredOption<Kind>)]` on an `Option<Kind>` field
/// (NULL is `None`; a text no variant accepts is corrupt, as for [`Stored`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct StoredOption<T: TextEnum>(pub Option<T>);

impl<T, DB> FromSql<Nullable<Text>, DB> for StoredOption<T>
where
    T: TextEnum + fmt::Debug,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let Stored(value) = <Stored<T> as FromSql<Text, DB>>::from_sql(bytes)?;
        Ok(StoredOption(Some(value)))
    }

    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        match bytes {
            Some(bytes) => Self::from_sql(bytes),
            None => Ok(StoredOption(None)),
        }
    }
}

impl<T: TextEnum> From<StoredOption<T>> for Option<T> {
    fn from(stored: StoredOption<T>) -> Option<T> {
        stored.0
    }
}

/// A JSON document in a TEXT column, read with
/// `#[diesel(deserialize_as = Json<Type>)]`.
#[derive(Debug, Clone, PartialEq, Eq, FromSqlRow)]
pub struct Json<T>(pub T);

impl<T, DB> FromSql<Text, DB> for Json<T>
where
    T: DeserializeOwned,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        serde_json::from_str(&text).map(Json).map_err(|error| {
            CorruptValue {
                column: std::any::type_name::<T>(),
                // Where, not what: serde's message may quote the data.
                detail: format!(
                    "not the expected JSON ({:?} error at line {} column {})",
                    error.classify(),
                    error.line(),
                    error.column()
                ),
            }
            .into()
        })
    }
}

/// A nullable JSON document in a TEXT column: NULL reads as None.
#[derive(Debug, Clone, PartialEq, Eq, FromSqlRow)]
pub struct JsonOrNull<T>(pub Option<T>);

impl<T, DB> FromSql<diesel::sql_types::Nullable<Text>, DB> for JsonOrNull<T>
where
    T: DeserializeOwned,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let Json(value) = <Json<T> as FromSql<Text, DB>>::from_sql(bytes)?;
        Ok(JsonOrNull(Some(value)))
    }

    fn from_nullable_sql(bytes: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        match bytes {
            Some(bytes) => Self::from_sql(bytes),
            None => Ok(JsonOrNull(None)),
        }
    }
}

/// A value as the JSON text its column stores.
pub(crate) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> crate::StoreResult<String> {
    serde_json::to_string(value).map_err(|e| crate::StoreError::Corrupt(e.to_string()))
}

/// Declares how a type is stored: `text_enum!(Type, "table.column", ...)`
/// gives it [`TextEnum`] through its `as_str`/`parse` and lets a row field of
/// that type read it through [`Stored`].
macro_rules! text_enum {
    ($ty:ty, $column:literal, $parse:expr) => {
        impl $crate::columns::TextEnum for $ty {
            const COLUMN: &'static str = $column;
            fn as_text(self) -> &'static str {
                self.as_str()
            }
            fn from_text(text: &str) -> Option<Self> {
                ($parse)(text)
            }
        }

        impl From<$crate::columns::Stored<$ty>> for $ty {
            fn from(stored: $crate::columns::Stored<$ty>) -> $ty {
                stored.0
            }
        }
    };
}
pub(crate) use text_enum;

/// Lets a row field of this type read its JSON column through [`Json`]:
/// `json_column!(Type)`.
macro_rules! json_column {
    ($ty:ty) => {
        impl From<$crate::columns::Json<$ty>> for $ty {
            fn from(json: $crate::columns::Json<$ty>) -> $ty {
                json.0
            }
        }
    };
}
pub(crate) use json_column;

text_enum!(CartStatus, "carts.status", |text| CartStatus::parse(text)
    .ok());
text_enum!(OrderAttribution, "orders.attribution", |text| {
    OrderAttribution::parse(text).ok()
});
text_enum!(MatchedBy, "orders.matched_by", MatchedBy::parse);
text_enum!(OrderSource, "orders.source", OrderSource::parse);
json_column!(Vec<CartItem>);
json_column!(Attributes);
json_column!(Vec<String>);
