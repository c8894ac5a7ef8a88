//! The Emails page itself: design and branding, their preview and test send,
//! and the list of the shop's own templates.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use cartback_domain::{EmailAddress, RecoveryPolicy, parse_locale};
use cartback_store::templates::{TemplateRow, list_templates};
use cartback_store::tenants::Tenant;
use cartback_templates::{
    BrandColor, Design, Experience, PreviewOf, RenderedEmail, preview_context, render_preview,
};

use super::save_experience;
use super::test_send::{TestResult, send_test_email, test_form, test_result};
use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Page, csrf_field};
use crate::pages::fields::{FieldErrors, Fields, Input, fields_of, optional, text};
use crate::pages::recovery::{design_label, sentence, template_caption};
use crate::pages::{frame, html, language_name, see_other, signed_change, stored_experience};
use crate::session::{SignedIn, signed_in};

// ---------------------------------------------------------------- branding

/// The email settings the branding form describes, over the stored ones (the
/// per-language words are kept as they are), or its problems by control.
fn experience_from(
    fields: &Fields,
    stored: &Experience,
    shop_name: &str,
) -> Result<Experience, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut experience = stored.clone();
    match text(fields, "design").parse::<Design>() {
        Ok(design) => experience.design = design,
        Err(_) => errors.add("design", "Pick one of the designs."),
    }
    experience.brand_color = match optional(fields, "brand_color") {
        None => None,
        Some(color) => match BrandColor::parse(&color) {
            Ok(color) => Some(color),
            Err(_) => {
                errors.add("brand-color", "Use a hex colour such as #1a73e8.");
                None
            }
        },
    };
    experience.default_locale = match optional(fields, "default_locale") {
        None => None,
        Some(tag) => match parse_locale(&tag) {
            Ok(tag) => Some(tag),
            Err(error) => {
                errors.add("default-locale", sentence(&error.message));
                None
            }
        },
    };
    experience.logo_url = optional(fields, "logo_url");
    experience.button_text = optional(fields, "button_text");
    experience.sender_name = optional(fields, "sender_name");
    experience.footer_address = optional(fields, "footer_address").map(|t| t.replace("\r\n", "\n"));
    // Each field checked on its own by the templates' rules, so each problem
    // shows beside its own control.
    let mut alone = |control: &str, set: &dyn Fn(&mut Experience)| {
        let mut single = Experience::default();
        set(&mut single);
        if let Err(error) = single.validate(shop_name) {
            errors.add(control, sentence(&error.message));
        }
    };
    alone("logo-url", &|e| e.logo_url = experience.logo_url.clone());
    alone("button-text", &|e| {
        e.button_text = experience.button_text.clone()
    });
    alone("sender-name", &|e| {
        e.sender_name = experience.sender_name.clone()
    });
    alone("footer-address", &|e| {
        e.footer_address = experience.footer_address.clone()
    });
    if errors.is_empty()
        && let Err(error) = experience.validate(shop_name)
    {
        errors.add_general(error.to_string());
    }
    if errors.is_empty() {
        Ok(experience)
    } else {
        Err(errors)
    }
}

/// The branding form's values: the posted ones, else the stored settings.
struct BrandingValues {
    design: String,
    logo_url: String,
    brand_color: String,
    button_text: String,
    sender_name: String,
    footer_address: String,
    default_locale: String,
}

impl BrandingValues {
    fn of(experience: &Experience) -> BrandingValues {
        BrandingValues {
            design: experience.design.as_str().to_owned(),
            logo_url: experience.logo_url.clone().unwrap_or_default(),
            brand_color: full_hex(experience.brand_color.clone().unwrap_or_default()),
            button_text: experience.button_text.clone().unwrap_or_default(),
            sender_name: experience.sender_name.clone().unwrap_or_default(),
            footer_address: experience.footer_address.clone().unwrap_or_default(),
            default_locale: experience.default_locale.clone().unwrap_or_default(),
        }
    }

    fn posted(fields: &Fields) -> BrandingValues {
        let value = |name: &str| text(fields, name).to_owned();
        BrandingValues {
            design: value("design"),
            logo_url: value("logo_url"),
            brand_color: value("brand_color"),
            button_text: value("button_text"),
            sender_name: value("sender_name"),
            footer_address: value("footer_address"),
            default_locale: value("default_locale"),
        }
    }
}

/// `#fc0` → `#ffcc00`: a colour picker takes only the long form.
fn full_hex(color: BrandColor) -> String {
    let (r, g, b) = color.rgb();
    format!("#{r:02x}{g:02x}{b:02x}")
}

// ---------------------------------------------------------------- the page

struct EmailsView<'a> {
    signed: &'a SignedIn,
    experience: &'a Experience,
    policy: &'a RecoveryPolicy,
    templates: &'a [TemplateRow],
    values: BrandingValues,
    errors: FieldErrors,
    test: Option<TestResult>,
    test_to: String,
    notice: Option<&'a str>,
}

fn used_by(policy: &RecoveryPolicy, name: &str) -> Vec<usize> {
    (0..policy.steps.len())
        .filter(|i| cartback_templates::custom_template_of(policy, *i as u32) == Some(name))
        .map(|i| i + 1)
        .collect()
}

fn render_page(view: EmailsView<'_>) -> Markup {
    let signed = view.signed;
    let editable = signed.role.may_change_settings();
    let errors = &view.errors;
    let values = &view.values;
    let zone = view.policy.zone();
    let locale = view
        .experience
        .default_locale
        .clone()
        .unwrap_or_else(|| "en".to_owned());
    let preview_src = format!("/dashboard/emails/preview?locale={locale}");
    let signer_example = format!("Maria from {}", signed.tenant.name);
    let body = html! {
        div.page-header {
            div {
                h1 { "Emails" }
                p.muted { "How the recovery emails look, and your own templates." }
            }
        }
        @if let Some(notice) = view.notice { p.alert.success role="status" #saved-notice { (notice) } }
        @if !editable { p.alert.info { "Your role (viewer) can look but not change anything." } }
        div.grid-2.even {
            section.card aria-labelledby="branding-title" {
                h2 #branding-title { "Branding" }
                (errors.summary())
                form.stack.settings-form #branding-form method="post" action="/dashboard/emails/branding" novalidate {
                    (csrf_field(signed))
                    fieldset.plain.stack disabled[!editable] {
                        legend.visually-hidden { "Branding" }
                        div.field {
                            label for="design" { "Design" }
                            select #design name="design" aria-invalid=[errors.invalid("design")] aria-describedby=[errors.described_by("design")] {
                                @for design in Design::ALL {
                                    option value=(design.as_str()) selected[values.design == design.as_str()] { (design_label(design.as_str())) }
                                }
                            }
                            p.hint { "For every email whose step picks no template of its own." }
                            (errors.beside("design"))
                        }
                        (errors.input(Input {
                            kind: "url",
                            placeholder: Some("https://shop.example/logo.png"),
                            hint: Some("Without one, the shop's name is shown."),
                            ..Input::new("logo-url", "logo_url", "Logo URL", &values.logo_url)
                        }))
                        (errors.input(Input { kind: "color", ..Input::new("brand-color", "brand_color", "Brand colour", &values.brand_color) }))
                        (errors.input(Input {
                            placeholder: Some("Back to my cart"),
                            hint: Some("Empty: the built-in words in the shopper's language."),
                            ..Input::new("button-text", "button_text", "Button text", &values.button_text)
                        }))
                        (errors.input(Input {
                            placeholder: Some(&signer_example),
                            ..Input::new("sender-name", "sender_name", "Signed by", &values.sender_name)
                        }))
                        div.field {
                            label for="footer-address" { "Postal address in the footer" }
                            textarea #footer-address name="footer_address" rows="3"
                                aria-invalid=[errors.invalid("footer-address")] aria-describedby=[errors.described_by("footer-address")] { (values.footer_address) }
                            p.hint { "Anti-spam laws often require one." }
                            (errors.beside("footer-address"))
                        }
                        (errors.input(Input {
                            placeholder: Some("en"),
                            hint: Some("For carts without a language of their own (built-in words: en, de, fr, es, nl)."),
                            ..Input::new("default-locale", "default_locale", "Default language", &values.default_locale)
                        }))
                        @if editable {
                            div.form-actions { button.button.primary type="submit" { "Save branding" } }
                        }
                    }
                }
            }
            section.card aria-labelledby="branding-preview-title" {
                div.card-header {
                    h2 #branding-preview-title { "Preview" }
                    p.muted { "The first email in " (language_name(&locale)) ", with a sample cart." }
                }
                iframe.preview-frame.tall.js-live-preview #branding-preview sandbox="" src=(preview_src) data-src=(preview_src)
                    data-form="branding-form" title="Preview of the first recovery email" {}
                @if editable {
                    @if let Some(result) = &view.test { (test_result(result)) }
                    (test_form(signed, "/dashboard/emails/test", &view.test_to, errors, "the first email"))
                }
            }
        }
        section.card aria-labelledby="words-title" {
            div.card-header {
                div {
                    h2 #words-title { "Your words" }
                    p.muted { "Replace the built-in subject, headline, text and button of each email, per language." }
                }
            }
            @if !view.experience.copy.is_empty() {
                ul.language-list {
                    @for locale in view.experience.copy.keys() {
                        li { a href={ "/dashboard/emails/words?locale=" (locale) } { (language_name(locale)) " (" (locale) ")" } }
                    }
                }
            }
            form.inline-form method="get" action="/dashboard/emails/words" {
                (errors.input(Input { placeholder: Some("en, nl, de-AT"), ..Input::new("words-locale", "locale", "Language", &locale) }))
                button.button type="submit" { @if editable { "Edit words" } @else { "Show words" } }
            }
        }
        section.card aria-labelledby="templates-title" {
            div.card-header {
                div {
                    h2 #templates-title { "Your templates" }
                    p.muted { "Written in MJML or HTML with " code { "{{ variables }}" } ", one per language. A step uses one when it picks it on the Recovery page." }
                }
                @if editable { a.button.primary href="/dashboard/emails/templates/new" { "New template" } }
            }
            @if view.templates.is_empty() {
                p.muted #no-templates { "No templates yet: every email uses a built-in design." }
            } @else {
                div.table-scroll {
                    table #templates {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Language" } th scope="col" { "Used by" } th scope="col" { "Changed" } th scope="col" { span.visually-hidden { "Actions" } } } }
                        tbody {
                            @for row in view.templates {
                                @let steps = used_by(view.policy, &row.name);
                                tr {
                                    td { code { (row.name) } }
                                    td { (language_name(&row.locale)) " " span.muted { "(" (row.locale) ")" } }
                                    td {
                                        @if steps.is_empty() { span.muted { "No step" } }
                                        @else { "Email " (steps.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                                    }
                                    td { (format::local_time(row.updated_at, zone)) }
                                    td.actions {
                                        a.button.small href={ "/dashboard/emails/templates/" (row.name) "/" (row.locale) }
                                            aria-label={ (if editable { "Edit " } else { "View " }) (row.name) " (" (row.locale) ")" } {
                                            @if editable { "Edit" } @else { "View" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(
        Page {
            title: "Emails",
            section: "emails",
            signed,
            chart: false,
        },
        body,
    )
}

async fn templates_of(
    dashboard: &Dashboard,
    tenant_id: &str,
) -> Result<Vec<TemplateRow>, PageError> {
    let tenant_id = tenant_id.to_owned();
    dashboard
        .db(move |conn| list_templates(conn, &tenant_id))
        .await
}

#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    saved: Option<String>,
    deleted: Option<String>,
}

/// `GET /dashboard/emails`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let experience = stored_experience(&signed.tenant);
    let policy = signed.tenant.recovery_policy()?;
    let templates = templates_of(&dashboard, &signed.tenant.id).await?;
    let notice = if query.saved.is_some() {
        Some("Saved. New emails use this branding.")
    } else if query.deleted.is_some() {
        Some("The template was deleted.")
    } else {
        None
    };
    let view = EmailsView {
        signed: &signed,
        experience: &experience,
        policy: &policy,
        templates: &templates,
        values: BrandingValues::of(&experience),
        errors: FieldErrors::default(),
        test: None,
        test_to: signed.user.email.clone(),
        notice,
    };
    Ok(html(StatusCode::OK, render_page(view)))
}

/// `POST /dashboard/emails/branding`.
pub async fn save_branding(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (signed, fields) = signed_change(&dashboard, &request, form.into_inner()).await?;
    let stored = stored_experience(&signed.tenant);
    let policy = signed.tenant.recovery_policy()?;
    match experience_from(&fields, &stored, &signed.tenant.name) {
        Ok(experience) => {
            save_experience(&dashboard, &signed.tenant.id, &experience).await?;
            tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, "dashboard: email branding saved");
            Ok(see_other("/dashboard/emails?saved=1"))
        }
        Err(errors) => {
            let templates = templates_of(&dashboard, &signed.tenant.id).await?;
            let view = EmailsView {
                signed: &signed,
                experience: &stored,
                policy: &policy,
                templates: &templates,
                values: BrandingValues::posted(&fields),
                errors,
                test: None,
                test_to: signed.user.email.clone(),
                notice: None,
            };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, render_page(view)))
        }
    }
}

/// The first email with `experience`, in `locale`, built-in design (what the
/// branding form shapes).
fn branding_email(
    tenant: &Tenant,
    policy: &RecoveryPolicy,
    experience: &Experience,
    locale: &str,
    public_url: &str,
) -> Result<(String, RenderedEmail), cartback_templates::TemplateError> {
    let of = PreviewOf {
        shop_name: &tenant.name,
        policy,
        experience,
        step: 0,
        design: Some(experience.design),
    };
    let preview = render_preview(of, preview_context(locale, public_url), &[])?;
    Ok((preview.template, preview.email))
}

/// `GET /dashboard/emails/preview?locale=…[&draft=1&<the branding form>]`.
pub async fn branding_preview(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let fields = fields_of(query.into_inner());
    let stored = stored_experience(&signed.tenant);
    let experience = if fields.contains_key("draft") {
        match experience_from(&fields, &stored, &signed.tenant.name) {
            Ok(experience) => experience,
            Err(_) => {
                return Ok(frame::note(
                    StatusCode::OK,
                    "The preview comes back once the form's problems are fixed.",
                ));
            }
        }
    } else {
        stored
    };
    let locale = match parse_locale(text(&fields, "locale")) {
        Ok(locale) => locale,
        Err(_) => experience
            .default_locale
            .clone()
            .unwrap_or_else(|| "en".to_owned()),
    };
    let policy = signed.tenant.recovery_policy()?;
    match branding_email(
        &signed.tenant,
        &policy,
        &experience,
        &locale,
        &dashboard.public_url,
    ) {
        Ok((template, email)) => Ok(frame::email(
            &email,
            &format!(
                "{} · {}",
                template_caption(&template),
                language_name(&locale)
            ),
        )),
        Err(error) => Ok(frame::note(
            StatusCode::OK,
            &format!("This email does not render: {error}"),
        )),
    }
}

/// `POST /dashboard/emails/test`: the first email, as saved, to an address.
pub async fn test_branding(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (signed, fields) = signed_change(&dashboard, &request, form.into_inner()).await?;
    let experience = stored_experience(&signed.tenant);
    let policy = signed.tenant.recovery_policy()?;
    let to_text = text(&fields, "to").trim().to_owned();
    let mut errors = FieldErrors::default();
    let test = match EmailAddress::parse(&to_text) {
        Err(error) => {
            errors.add("test-to", sentence(&error.message));
            None
        }
        Ok(to) => {
            let locale = experience
                .default_locale
                .clone()
                .unwrap_or_else(|| "en".to_owned());
            match branding_email(
                &signed.tenant,
                &policy,
                &experience,
                &locale,
                &dashboard.public_url,
            ) {
                Ok((_, email)) => Some(
                    send_test_email(&dashboard, &signed.tenant, &experience, &to, email).await?,
                ),
                Err(error) => Some(TestResult::NotSent(format!(
                    "The email does not render: {error}"
                ))),
            }
        }
    };
    let templates = templates_of(&dashboard, &signed.tenant.id).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let view = EmailsView {
        signed: &signed,
        experience: &experience,
        policy: &policy,
        templates: &templates,
        values: BrandingValues::of(&experience),
        errors,
        test,
        test_to: to_text,
        notice: None,
    };
    Ok(html(status, render_page(view)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::fields::fields;

    #[test]
    fn branding_problems_land_beside_their_fields() {
        let posted = fields(&[
            ("design", "bold_banner"),
            ("logo_url", "javascript:alert(1)"),
            ("brand_color", "#0f766e"),
            ("default_locale", "not a tag"),
        ]);
        let errors = experience_from(&posted, &Experience::default(), "Acme").unwrap_err();
        assert!(
            errors.has("logo-url") && errors.has("default-locale"),
            "{errors:?}"
        );
        assert!(!errors.has("brand-color"));
        let good = fields(&[
            ("design", "text_first"),
            ("brand_color", "#0F766E"),
            ("footer_address", "1 Main St\r\nTown"),
        ]);
        let experience = experience_from(&good, &Experience::default(), "Acme").unwrap();
        assert_eq!(experience.design, Design::TextFirst);
        assert_eq!(
            experience.brand_color.map(String::from).as_deref(),
            Some("#0f766e")
        );
        assert_eq!(
            experience.footer_address.as_deref(),
            Some("1 Main St\nTown")
        );
        assert_eq!(full_hex(BrandColor::parse("#fc0").unwrap()), "#ffcc00");
    }
}
