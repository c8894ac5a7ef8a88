//! `GET/PUT /api/v1/settings/languages`: the shop's own language ids and the
//! locales they stand for. Reloadify-shaped clients name a language in their
//! paths (`/api/v2/languages/{language_id}/…`); a shop whose ids are not
//! locale codes (a store's number, `1`, or code, `default`) lists them here,
//! and a cart written under such an id gets its locale (docs/compat.md).

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use serde_json::Value;

use cartback_domain::{LanguageId, parse_language_ids};
use cartback_store::languages::{get_language_ids, set_language_ids};

use crate::auth::SecretCaller;
use crate::error::{ApiError, FieldError};
use crate::input::Problems;
use crate::input::body::object_body;
use crate::input::fields::unknown_fields;
use crate::state::AppState;

/// One language id and its locale.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ShopLanguage)]
pub(crate) struct Language {
    /// The id the shop's client puts in the path (`1`, `default`).
    id: String,
    /// The locale of carts written under it (BCP 47, normalised: `nl-NL`).
    locale: String,
}

/// The answer of both routes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ShopLanguagesAnswer)]
pub(crate) struct LanguagesAnswer {
    success: bool,
    /// In the order given; empty when the shop's ids are locale codes.
    languages: Vec<Language>,
}

fn answer(ids: Vec<LanguageId>) -> HttpResponse {
    HttpResponse::Ok().json(LanguagesAnswer {
        success: true,
        languages: ids
            .into_iter()
            .map(|l| Language {
                id: l.id,
                locale: l.locale,
            })
            .collect(),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/settings/languages",
    tag = "compat-reloadify",
    operation_id = "getShopLanguages",
    summary = "The shop's own language ids and their locales (for Reloadify's paths)",
    responses(
        (status = 200, description = "The list (empty: every language id is a locale code)", body = LanguagesAnswer),
        (status = 404, description = "NOT_FOUND: the tenant was deleted meanwhile", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    // Read afresh: the caller's tenant may be a few seconds old (auth cache).
    let ids = state
        .db(move |conn| get_language_ids(conn, &caller.tenant.id))
        .await?;
    Ok(answer(ids))
}

/// `{"id", "locale"}` of one entry, or the problems naming its fields.
fn entry(value: &Value, index: usize, problems: &mut Problems) -> Option<(String, String)> {
    let base = format!("languages[{index}]");
    let Some(object) = value.as_object() else {
        problems.add(
            base,
            "must be an object: {\"id\": \"1\", \"locale\": \"en\"}",
        );
        return None;
    };
    for key in object.keys() {
        if key != "id" && key != "locale" {
            let shown: String = key.chars().take(40).collect();
            problems.add(
                format!("{base}.{shown}"),
                "unknown field; expected id, locale",
            );
        }
    }
    let mut text = |field: &str| match object.get(field) {
        Some(Value::String(text)) => Some(text.clone()),
        None | Some(Value::Null) => {
            problems.add(format!("{base}.{field}"), "is required");
            None
        }
        Some(_) => {
            problems.add(format!("{base}.{field}"), "must be a string");
            None
        }
    };
    let id = text("id");
    let locale = text("locale");
    Some((id?, locale?))
}

#[utoipa::path(
    put,
    path = "/api/v1/settings/languages",
    tag = "compat-reloadify",
    operation_id = "putShopLanguages",
    summary = "Replace the shop's language ids (for Reloadify's paths)",
    description = "The whole list: `{\"languages\": [{\"id\": \"1\", \"locale\": \"en\"}]}`. An id \
        is 1 to 64 letters, digits, `-` or `_`; an id given twice means what its last entry says; \
        at most 100. A listed id is read as its locale in \
        `/api/v2/languages/{language_id}/shopping_carts…` from the next request on, even one \
        that looks like a locale code; any other id there must be a locale code.",
    request_body = request::ShopLanguagesUpdate,
    responses(
        (status = 200, description = "The list as stored (locales normalised)", body = LanguagesAnswer),
        (status = 400, description = "BAD_REQUEST: the body is not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: the tenant was deleted meanwhile", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: every bad field at once (`languages`, `languages[1].id`, `languages[1].locale`, or an unknown one)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn put(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = object_body(&state, &request, payload, false).await?;
    let mut problems = Problems::default();
    unknown_fields(&body, &["languages"], &mut problems);
    let pairs: Vec<(String, String)> = match body.get("languages") {
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .filter_map(|(index, value)| entry(value, index, &mut problems))
            .collect(),
        None | Some(Value::Null) => {
            problems.add("languages", "is required: a list of {id, locale}");
            Vec::new()
        }
        Some(_) => {
            problems.add("languages", "must be a list of {id, locale}");
            Vec::new()
        }
    };
    // The shape first: the entries' indexes are only meaningful once every
    // entry could be read.
    problems.check()?;
    let ids = parse_language_ids(&pairs).map_err(|invalid| {
        ApiError::validation(
            invalid
                .into_iter()
                .map(|e| FieldError {
                    field: e.field.unwrap_or_else(|| "languages".to_owned()),
                    message: e.message,
                })
                .collect(),
        )
    })?;
    let saved = ids.clone();
    state
        .db(move |conn| set_language_ids(conn, &caller.tenant.id, &saved, Utc::now().naive_utc()))
        .await?;
    Ok(answer(ids))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// The shop's whole list of language ids.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ShopLanguagesUpdate {
        /// At most 100; an id given twice means what its last entry says.
        #[schema(max_items = 100)]
        pub languages: Vec<ShopLanguageEntry>,
    }

    /// One language id and the locale it stands for.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ShopLanguageEntry {
        /// The id the shop's client puts in the path: 1 to 64 letters,
        /// digits, `-` or `_` (`1`, `default`).
        #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")]
        pub id: String,
        /// A BCP 47 language tag (`nl-NL`, `en`).
        #[schema(schema_with = crate::input::shapes::locale)]
        pub locale: String,
    }
}
