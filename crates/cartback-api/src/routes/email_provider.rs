//! `/api/v1/email-provider`: the tenant's own provider. Settings are validated,
//! sealed with the master key, and only ever shown masked.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cartback_domain::EmailAddress;
use cartback_email::{
    ProviderSettings, ShopSender, TestAnswer, TestSendError, provider_test_message, send_test,
    vet_tenant_settings,
};
use cartback_store::email_providers::{delete_provider, find_provider, set_provider};

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::body::json_body;
use crate::routes::Done;
use crate::state::AppState;

/// The stored settings with every secret replaced by a hint, as
/// `ProviderSettings::masked` writes them.
#[derive(Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub(crate) enum MaskedProvider {
    Smtp {
        /// The URL with its password hidden.
        url: String,
        #[serde(rename = "hasCaCertificate")]
        has_ca_certificate: bool,
    },
    Resend {
        #[serde(rename = "apiKeyHint")]
        api_key_hint: String,
        #[serde(rename = "baseUrl")]
        #[schema(required = true)]
        base_url: Option<String>,
    },
    Sendgrid {
        #[serde(rename = "apiKeyHint")]
        api_key_hint: String,
        #[serde(rename = "baseUrl")]
        #[schema(required = true)]
        base_url: Option<String>,
    },
    Ses {
        region: String,
        #[serde(rename = "accessKeyId")]
        #[schema(required = true)]
        access_key_id: Option<String>,
        #[serde(rename = "secretAccessKeyHint")]
        #[schema(required = true)]
        secret_access_key_hint: Option<String>,
        #[serde(rename = "defaultCredentialChain")]
        default_credential_chain: bool,
        #[serde(rename = "endpointUrl")]
        #[schema(required = true)]
        endpoint_url: Option<String>,
    },
    Mailgun {
        #[serde(rename = "apiKeyHint")]
        api_key_hint: String,
        domain: String,
        region: String,
        #[serde(rename = "baseUrl")]
        #[schema(required = true)]
        base_url: Option<String>,
    },
    /// Operator-configured only (writes messages to a directory).
    File { dir: String },
}

impl MaskedProvider {
    fn of(settings: &ProviderSettings) -> Result<MaskedProvider, ApiError> {
        serde_json::from_value(settings.masked()).map_err(ApiError::internal)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmailProviderSaved {
    success: bool,
    email_provider: MaskedProvider,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmailProviderShown {
    success: bool,
    /// Null when the stored hints cannot be read.
    #[schema(required = true)]
    email_provider: Option<MaskedProvider>,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// What the provider answered a test send.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum TestEmailResult {
    Delivered(TestDelivered),
    NotDelivered(TestNotDelivered),
}

/// The provider took the message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TestDelivered {
    success: bool,
    /// Always true.
    delivered: bool,
    provider: &'static str,
    #[schema(required = true)]
    provider_message_id: Option<String>,
}

/// The provider refused or failed; the answer is still a 200.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TestNotDelivered {
    success: bool,
    /// Always false.
    delivered: bool,
    provider: &'static str,
    provider_error: ProviderError,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ProviderError {
    /// `EmailError::class()`: one of [`ProviderErrorClass`]'s names.
    #[schema(value_type = ProviderErrorClass)]
    class: &'static str,
    message: String,
}

/// The classes of `EmailError::class()` (documentation only: the answer
/// carries the email crate's own name).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[expect(
    dead_code,
    reason = "the schema of the names EmailError::class() returns"
)]
pub(crate) enum ProviderErrorClass {
    Transient,
    RateLimited,
    Permanent,
    /// The request may or may not have reached the provider.
    Unknown,
    InvalidMessage,
    Refused,
}

#[utoipa::path(
    put,
    path = "/api/v1/email-provider",
    tag = "email provider",
    operation_id = "putEmailProvider",
    summary = "Use the tenant's own email provider",
    description = "Credentials are validated, sealed under the server's master key and only ever shown masked.",
    request_body = request::ProviderSettings,
    responses(
        (status = 200, description = "Stored; the masked settings", body = EmailProviderSaved),
        (status = 400, description = "BAD_REQUEST: the body is not JSON", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: the server has no CARTBACK_MASTER_KEY", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: unknown fields, a missing key, an invalid domain or URL (field `provider`); a `baseUrl`, SMTP `url` host or SES `endpointUrl` on a private, loopback or reserved address, literal or resolved (that field)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn put(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&state, &request, payload).await?;
    let settings: ProviderSettings = serde_json::from_slice(&body).map_err(|e| {
        ApiError::validation(vec![FieldError {
            field: "provider".into(),
            message: format!("invalid provider settings: {e}"),
        }])
    })?;
    if let Err(refused) = vet_tenant_settings(&settings, state.allow_private_targets).await {
        return Err(ApiError::validation(vec![FieldError {
            field: refused.field.into(),
            message: refused.message,
        }]));
    }
    if !state.master_keys.is_configured() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the server has no CARTBACK_MASTER_KEY, so it cannot store provider credentials",
        ));
    }
    let masked = MaskedProvider::of(&settings)?;
    let plain = serde_json::to_string(&settings).map_err(ApiError::internal)?;
    let (keys, tenant_id, kind, masked_text) = (
        state.master_keys.clone(),
        caller.tenant.id.clone(),
        settings.kind(),
        settings.masked().to_string(),
    );
    state
        .db(move |conn| {
            set_provider(
                conn,
                &keys,
                &tenant_id,
                kind,
                &plain,
                &masked_text,
                Utc::now(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(EmailProviderSaved {
        success: true,
        email_provider: masked,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/email-provider",
    tag = "email provider",
    operation_id = "getEmailProvider",
    summary = "The masked settings of the tenant's provider",
    responses(
        (status = 200, description = "The masked settings", body = EmailProviderShown),
        (status = 404, description = "NOT_FOUND: none configured; the server default is used", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .db(move |conn| find_provider(conn, &caller.tenant.id))
        .await?;
    let row = row.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "no email provider configured: the server default is used",
        )
    })?;
    Ok(HttpResponse::Ok().json(EmailProviderShown {
        success: true,
        email_provider: serde_json::from_str(&row.masked).ok(),
        updated_at: row.updated_at.and_utc().to_rfc3339(),
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/email-provider",
    tag = "email provider",
    operation_id = "deleteEmailProvider",
    summary = "Back to the server's default provider",
    responses(
        (status = 200, description = "Removed", body = Done),
        (status = 404, description = "NOT_FOUND: none was configured", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    let removed = state
        .db(move |conn| delete_provider(conn, &caller.tenant.id))
        .await?;
    if !removed {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "no email provider configured",
        ));
    }
    Ok(HttpResponse::Ok().json(Done::SUCCESS))
}

#[derive(Deserialize)]
struct TestRequest {
    to: String,
}

/// Sends a real email through the stored provider and reports its answer.
#[utoipa::path(
    post,
    path = "/api/v1/email-provider/test",
    tag = "email provider",
    operation_id = "testEmailProvider",
    summary = "Send a real test email through the stored provider",
    request_body = request::TestEmailRequest,
    responses(
        (status = 200, description = "What the provider answered (`delivered` false with `providerError` when it refused)",
            body = TestEmailResult),
        (status = 400, description = "BAD_REQUEST: the body is not JSON", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no provider configured", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: the stored settings cannot be opened with this server's master key, or no longer build", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `to` missing or not an address; or the stored provider points at a private, loopback or reserved address (field `baseUrl`, `url` or `endpointUrl`), which was not contacted", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn test(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&state, &request, payload).await?;
    let test: TestRequest = serde_json::from_slice(&body).map_err(|_| {
        ApiError::validation(vec![FieldError {
            field: "to".into(),
            message: "is required".into(),
        }])
    })?;
    let to = EmailAddress::parse(&test.to).map_err(|e| {
        ApiError::validation(vec![FieldError {
            field: "to".into(),
            message: e.to_string(),
        }])
    })?;
    let (keys, tenant_id) = (state.master_keys.clone(), caller.tenant.id.clone());
    let row = state
        .db(move |conn| find_provider(conn, &tenant_id))
        .await?;
    let row =
        row.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no email provider configured"))?;
    let plain = row
        .open(&keys)
        .map_err(|e| ApiError::new(ErrorCode::Conflict, e.to_string()))?;
    let tenant = &caller.tenant;
    let message = provider_test_message(
        ShopSender {
            shop_name: &tenant.name,
            from_email: &tenant.from_email,
            from_name: tenant.from_name.as_deref(),
            reply_to: tenant.reply_to.as_deref(),
        },
        to.as_str(),
        cartback_store::ids::random_id("test_", 16),
    );
    let answer = match send_test(&plain, state.allow_private_targets, &message).await {
        Ok(TestAnswer::Delivered {
            provider,
            provider_message_id,
        }) => TestEmailResult::Delivered(TestDelivered {
            success: true,
            delivered: true,
            provider,
            provider_message_id,
        }),
        Ok(TestAnswer::Failed {
            provider,
            class,
            message,
        }) => TestEmailResult::NotDelivered(TestNotDelivered {
            success: true,
            delivered: false,
            provider,
            provider_error: ProviderError { class, message },
        }),
        Err(error @ TestSendError::Refused { field, .. }) => {
            return Err(ApiError::validation(vec![FieldError {
                field: field.into(),
                message: error.to_string(),
            }]));
        }
        Err(error @ TestSendError::Unusable(_)) => {
            return Err(ApiError::new(ErrorCode::Conflict, error.to_string()));
        }
    };
    Ok(HttpResponse::Ok().json(answer))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
#[expect(
    dead_code,
    reason = "schema-only types: the document describes them, nothing builds them"
)]
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// A provider and its credentials, by `provider`. Unknown fields are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(tag = "provider", rename_all = "lowercase", deny_unknown_fields)]
    pub enum ProviderSettings {
        Smtp {
            /// `smtp://user:pass@host:587?tls=starttls` or `smtps://…`.
            #[schema(schema_with = crate::input::shapes::smtp_url)]
            url: String,
            /// Extra trusted roots (PEM).
            #[serde(rename = "caCertificate")]
            ca_certificate: Option<String>,
        },
        Resend {
            /// 1–4096 visible ASCII characters (it travels in a header).
            #[serde(rename = "apiKey")]
            #[schema(min_length = 1, max_length = 4096, pattern = "^[!-~]*$")]
            api_key: String,
            #[serde(rename = "baseUrl")]
            #[schema(schema_with = crate::input::shapes::provider_url)]
            base_url: Option<String>,
        },
        Sendgrid {
            /// 1–4096 visible ASCII characters (it travels in a header).
            #[serde(rename = "apiKey")]
            #[schema(min_length = 1, max_length = 4096, pattern = "^[!-~]*$")]
            api_key: String,
            #[serde(rename = "baseUrl")]
            #[schema(schema_with = crate::input::shapes::provider_url)]
            base_url: Option<String>,
        },
        /// Without both keys, AWS's default credential chain.
        /// A tenant gives both keys (the server's own AWS credentials are not
        /// lent out).
        Ses {
            /// An AWS region such as `eu-west-1`.
            #[schema(pattern = "^[a-z0-9-]{1,32}$")]
            region: String,
            #[serde(rename = "accessKeyId")]
            #[schema(schema_with = crate::input::shapes::provider_secret)]
            access_key_id: String,
            #[serde(rename = "secretAccessKey")]
            #[schema(schema_with = crate::input::shapes::provider_secret)]
            secret_access_key: String,
            #[serde(rename = "endpointUrl")]
            #[schema(schema_with = crate::input::shapes::provider_url)]
            endpoint_url: Option<String>,
        },
        Mailgun {
            /// 1–4096 visible ASCII characters (it travels in a header).
            #[serde(rename = "apiKey")]
            #[schema(min_length = 1, max_length = 4096, pattern = "^[!-~]*$")]
            api_key: String,
            /// The sending domain: letters, digits, `.` and `-`.
            #[schema(pattern = "^[A-Za-z0-9.-]+$")]
            domain: String,
            /// `us` (default) or `eu`.
            #[serde(skip_serializing_if = "Option::is_none")]
            #[schema(value_type = String, pattern = "^(us|eu)$")]
            region: Option<String>,
            #[serde(rename = "baseUrl")]
            #[schema(schema_with = crate::input::shapes::provider_url)]
            base_url: Option<String>,
        },
    }

    #[derive(Serialize, ToSchema)]
    pub struct TestEmailRequest {
        pub to: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed answer carries exactly what the email crate masks, for every
    /// provider: same fields, same nulls.
    #[test]
    fn the_masked_answer_is_what_the_email_crate_masks() {
        let every: Vec<ProviderSettings> = [
            r#"{"provider": "smtp", "url": "smtp://user:secret@mail.example:587"}"#,
            r#"{"provider": "smtp", "url": "smtps://mail.example", "caCertificate": "PEM"}"#,
            r#"{"provider": "resend", "apiKey": "re_1234567890abcdef"}"#,
            r#"{"provider": "resend", "apiKey": "re_1234567890abcdef", "baseUrl": "https://resend.example"}"#,
            r#"{"provider": "sendgrid", "apiKey": "SG.1234567890abcdef"}"#,
            r#"{"provider": "ses", "region": "eu-west-1"}"#,
            r#"{"provider": "ses", "region": "eu-west-1", "accessKeyId": "AKIA123", "secretAccessKey": "abcdefghijklmnop", "endpointUrl": "https://ses.example"}"#,
            r#"{"provider": "mailgun", "apiKey": "key-1234567890abcdef", "domain": "mg.example"}"#,
            r#"{"provider": "mailgun", "apiKey": "key-1234567890abcdef", "domain": "mg.example", "region": "eu", "baseUrl": "https://mailgun.example"}"#,
            r#"{"provider": "file", "dir": "/var/mail"}"#,
        ]
        .iter()
        .map(|text| serde_json::from_str(text).unwrap())
        .collect();
        for settings in every {
            let typed = serde_json::to_value(MaskedProvider::of(&settings).unwrap()).unwrap();
            assert_eq!(typed, settings.masked());
            let stored = settings.masked().to_string();
            let read: MaskedProvider = serde_json::from_str(&stored).unwrap();
            assert_eq!(read, MaskedProvider::of(&settings).unwrap());
        }
    }
}
