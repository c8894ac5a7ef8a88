//! The editor of one of the shop's own templates: source, preview, test send,
//! delete.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};

use cartback_domain::{EmailAddress, parse_locale, parse_template_name};
use cartback_store::templates::{
    TemplateParts, TemplateRow, delete_template, save_template, templates_named,
};
use cartback_store::tenants::Tenant;
use cartback_templates::{
    CustomTemplate, Part, RenderedEmail, TemplateErrors, preview_context, render_custom,
    validate_custom,
};

use super::test_send::{TestResult, send_test_email, test_result};
use crate::Dashboard;
use crate::error::PageError;
use crate::layout::{self, Page, csrf_field};
use crate::pages::fields::{FieldErrors, Fields, Input, text};
use crate::pages::recovery::sentence;
use crate::pages::{frame, html, language_name, see_other, signed_change, stored_experience};
use crate::session::{SignedIn, signed_in};

// ---------------------------------------------------------------- templates

const STARTER_SUBJECT: &str = "{{ shop_name }}: your cart is waiting";
const STARTER_HTML: &str = r##"<mjml>
  <mj-body background-color="#f4f5f7">
    <mj-section background-color="#ffffff" padding="24px">
      <mj-column>
        <mj-text font-size="20px" font-weight="600">{{ greeting }}</mj-text>
        <mj-text>You left something behind at {{ shop_name }}.</mj-text>
        {% for item in items %}
        <mj-text>{{ item.quantity }} × {{ item.name }}: {{ item.line_total }}</mj-text>
        {% endfor %}
        <mj-text font-weight="600">Total: {{ total }}</mj-text>
        {% if coupon %}<mj-text>Use code <b>{{ coupon.code }}</b> at checkout.</mj-text>{% endif %}
        <mj-button background-color="{{ brand_color }}" href="{{ recovery_url }}">Back to my cart</mj-button>
        <mj-text font-size="12px" color="#6b7280"><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"##;
const STARTER_TEXT: &str = "{{ greeting }}\n\nYou left something behind at {{ shop_name }}.\n{% for item in items %}\n{{ item.quantity }} x {{ item.name }}: {{ item.line_total }}\n{% endfor %}\nTotal: {{ total }}\n\nBack to your cart: {{ recovery_url }}\n\nUnsubscribe: {{ unsubscribe_url }}\n";

/// The editor's values.
struct Draft {
    name: String,
    locale: String,
    subject: String,
    html: String,
    text: String,
}

impl Draft {
    fn posted(fields: &Fields) -> Draft {
        let value = |name: &str| text(fields, name).replace("\r\n", "\n");
        Draft {
            name: value("name").trim().to_owned(),
            locale: value("locale").trim().to_owned(),
            subject: value("subject"),
            html: value("html"),
            text: value("text"),
        }
    }

    fn template(&self) -> CustomTemplate {
        CustomTemplate {
            subject: self.subject.clone(),
            html: self.html.clone(),
            text: self.text.clone(),
        }
    }

    /// Name and locale by the API's rules, each problem beside its control.
    fn address(&self, errors: &mut FieldErrors) -> Option<(String, String)> {
        let name = parse_template_name(&self.name)
            .map_err(|e| errors.add("template-name", sentence(&e.message)))
            .ok();
        let locale = parse_locale(&self.locale)
            .map_err(|e| errors.add("template-locale", sentence(&e.message)))
            .ok();
        Some((name?.to_owned(), locale?))
    }
}

struct EditorView<'a> {
    signed: &'a SignedIn,
    draft: &'a Draft,
    /// The template's stored name and locale; None for a new one.
    existing: Option<(&'a str, &'a str)>,
    errors: FieldErrors,
    test: Option<TestResult>,
    test_to: String,
    notice: Option<&'a str>,
}

fn render_editor(view: EditorView<'_>) -> Markup {
    let signed = view.signed;
    let editable = signed.role.may_change_settings();
    let draft = view.draft;
    let errors = &view.errors;
    let title = match view.existing {
        Some((name, locale)) => format!("Template {name} ({locale})"),
        None => "New template".to_owned(),
    };
    let preview_src = match view.existing {
        Some((name, locale)) => format!("/dashboard/emails/templates/{name}/{locale}/preview"),
        None => "/dashboard/emails/templates/new/preview".to_owned(),
    };
    let part_error = |control: &str| errors.beside(control);
    let body = html! {
        div.page-header {
            div {
                p.breadcrumb { a href="/dashboard/emails" { "Emails" } " / " }
                h1 { (title) }
            }
        }
        @if let Some(notice) = view.notice { p.alert.success role="status" #saved-notice { (notice) } }
        (errors.summary())
        div.editor-layout {
            section.card aria-labelledby="source-title" {
                h2 #source-title { "Source" }
                form.stack.settings-form #template-form method="post" action="/dashboard/emails/templates" novalidate {
                    (csrf_field(signed))
                    @if editable {
                        button.visually-hidden type="submit" name="action" value="save" tabindex="-1" aria-hidden="true" { "Save" }
                    }
                    fieldset.plain.stack disabled[!editable] {
                        legend.visually-hidden { "Template source" }
                        div.inline-fields {
                            (errors.input(Input {
                                placeholder: Some("spring-sale"),
                                readonly: view.existing.is_some(),
                                grow: true,
                                ..Input::new("template-name", "name", "Name", &draft.name)
                            }))
                            (errors.input(Input {
                                placeholder: Some("en"),
                                readonly: view.existing.is_some(),
                                ..Input::new("template-locale", "locale", "Language", &draft.locale)
                            }))
                        }
                        (errors.input(Input::new("template-subject", "subject", "Subject", &draft.subject)))
                        div.field {
                            label for="template-html" { "HTML or MJML" }
                            textarea.code #template-html name="html" rows="18" spellcheck="false"
                                aria-invalid=[errors.invalid("template-html")] aria-describedby=[errors.described_by("template-html")] { (draft.html) }
                            p.hint { "MJML when it starts with " code { "<mjml>" } "; variables such as " code { "{{ greeting }}" } " and " code { "{% for item in items %}" } ". Needs a visible link to " code { "{{ recovery_url }}" } " and one to " code { "{{ unsubscribe_url }}" } "." }
                            (part_error("template-html"))
                        }
                        div.field {
                            label for="template-text" { "Plain text" }
                            textarea.code #template-text name="text" rows="8" spellcheck="false"
                                aria-invalid=[errors.invalid("template-text")] aria-describedby=[errors.described_by("template-text")] { (draft.text) }
                            p.hint { "Needs " code { "{{ recovery_url }}" } " and " code { "{{ unsubscribe_url }}" } "." }
                            (part_error("template-text"))
                        }
                        @if editable {
                            div.form-actions {
                                button.button.primary type="submit" name="action" value="save" { "Save template" }
                                button.button type="submit" formaction="/dashboard/emails/templates/preview" formtarget="template-preview" { "Preview changes" }
                            }
                            div.test-row {
                                (errors.input(Input { kind: "email", grow: true, ..Input::new("test-to", "to", "Send this version to", &view.test_to) }))
                                button.button type="submit" name="action" value="test" { "Send test" }
                            }
                            @if let Some(result) = &view.test { (test_result(result)) }
                        }
                    }
                }
                @if let (true, Some((name, locale))) = (editable, view.existing) {
                    details.danger-zone {
                        summary { "Delete this template" }
                        p { "Steps that use it fall back to the shop's design in this language." }
                        form method="post" action={ "/dashboard/emails/templates/" (name) "/" (locale) "/delete" } {
                            (csrf_field(signed))
                            button.button.danger type="submit" { "Delete " (name) " (" (locale) ")" }
                        }
                    }
                }
            }
            section.card aria-labelledby="template-preview-title" {
                div.card-header {
                    h2 #template-preview-title { "Preview" }
                    p.muted { "With a sample cart and the shop's branding." }
                }
                iframe.preview-frame.tall #template-preview name="template-preview" sandbox="" src=(preview_src)
                    title="Preview of the template" {}
            }
        }
    };
    layout::page(
        Page {
            title: "Email template",
            section: "emails",
            signed,
            chart: false,
        },
        body,
    )
}

/// `GET /dashboard/emails/templates/new`.
pub async fn new_template(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let experience = stored_experience(&signed.tenant);
    let draft = Draft {
        name: String::new(),
        locale: experience
            .default_locale
            .clone()
            .unwrap_or_else(|| "en".to_owned()),
        subject: STARTER_SUBJECT.to_owned(),
        html: STARTER_HTML.to_owned(),
        text: STARTER_TEXT.to_owned(),
    };
    let view = EditorView {
        signed: &signed,
        draft: &draft,
        existing: None,
        errors: FieldErrors::default(),
        test: None,
        test_to: signed.user.email.clone(),
        notice: None,
    };
    Ok(html(StatusCode::OK, render_editor(view)))
}

/// The stored template `name` in `locale`, if the path names one of this shop's.
async fn stored_template(
    dashboard: &Dashboard,
    tenant_id: &str,
    name: &str,
    locale: &str,
) -> Result<TemplateRow, PageError> {
    let (Ok(name), Ok(locale)) = (parse_template_name(name), parse_locale(locale)) else {
        return Err(PageError::NotFound);
    };
    let (tenant_id, name) = (tenant_id.to_owned(), name.to_owned());
    let rows = dashboard
        .db(move |conn| templates_named(conn, &tenant_id, &[name.as_str()]))
        .await?;
    rows.into_iter()
        .find(|row| row.locale == locale)
        .ok_or(PageError::NotFound)
}

#[derive(Debug, serde::Deserialize)]
pub struct EditorQuery {
    saved: Option<String>,
}

/// `GET /dashboard/emails/templates/{name}/{locale}`.
pub async fn edit_template(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<EditorQuery>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let (name, locale) = path.into_inner();
    let row = stored_template(&dashboard, &signed.tenant.id, &name, &locale).await?;
    let draft = Draft {
        name: row.name.clone(),
        locale: row.locale.clone(),
        subject: row.subject,
        html: row.html,
        text: row.text,
    };
    let view = EditorView {
        signed: &signed,
        draft: &draft,
        existing: Some((&row.name, &row.locale)),
        errors: FieldErrors::default(),
        test: None,
        test_to: signed.user.email.clone(),
        notice: query
            .saved
            .is_some()
            .then_some("Saved. Steps using this template send this version."),
    };
    Ok(html(StatusCode::OK, render_editor(view)))
}

/// A template rendered for a preview or a test: the sample cart in its
/// language, the shop's branding.
fn render_template(
    tenant: &Tenant,
    template: &CustomTemplate,
    locale: &str,
    public_url: &str,
) -> Result<RenderedEmail, cartback_templates::TemplateError> {
    let experience = stored_experience(tenant);
    let mut context = preview_context(locale, public_url);
    context.default_locale = experience.default_locale.clone();
    render_custom(template, &experience.branding(&tenant.name), &context)
}

/// The control of a template part's error.
fn part_control(part: Part) -> &'static str {
    match part {
        Part::Subject => "template-subject",
        Part::Text => "template-text",
        _ => "template-html",
    }
}

/// Every problem of the template beside its part's field (the API's rules:
/// the same check), several of one part in one message.
fn add_template_errors(errors: &mut FieldErrors, invalid: &TemplateErrors) {
    for part in [Part::Subject, Part::Html, Part::Text] {
        let messages: Vec<String> = invalid.of(part).map(ToString::to_string).collect();
        if !messages.is_empty() {
            errors.add(part_control(part), messages.join("; "));
        }
    }
    let others: Vec<String> = invalid
        .errors
        .iter()
        .filter(|e| !matches!(e.part, Part::Subject | Part::Html | Part::Text))
        .map(ToString::to_string)
        .collect();
    if !others.is_empty() {
        errors.add_general(others.join("; "));
    }
}

/// `POST /dashboard/emails/templates`: save, or send a test of the form's version.
pub async fn submit_template(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (signed, fields) = signed_change(&dashboard, &request, form.into_inner()).await?;
    let draft = Draft::posted(&fields);
    let mut errors = FieldErrors::default();
    let address = draft.address(&mut errors);
    let template = draft.template();
    if let Err(invalid) = validate_custom(&template) {
        add_template_errors(&mut errors, &invalid);
    }
    let test_to = text(&fields, "to").trim().to_owned();
    let mut test = None;
    if text(&fields, "action") == "test" {
        match EmailAddress::parse(&test_to) {
            Err(error) => errors.add("test-to", sentence(&error.message)),
            Ok(to) if errors.is_empty() => {
                let locale = address.as_ref().map_or("en", |(_, locale)| locale.as_str());
                let experience = stored_experience(&signed.tenant);
                test = Some(
                    match render_template(&signed.tenant, &template, locale, &dashboard.public_url)
                    {
                        Ok(email) => {
                            send_test_email(&dashboard, &signed.tenant, &experience, &to, email)
                                .await?
                        }
                        Err(error) => {
                            TestResult::NotSent(format!("The template does not render: {error}"))
                        }
                    },
                );
            }
            Ok(_) => {}
        }
    } else if let (Some((name, locale)), true) = (&address, errors.is_empty()) {
        let tenant_id = signed.tenant.id.clone();
        let (saved_name, saved_locale) = (name.clone(), locale.clone());
        dashboard
            .db(move |conn| {
                save_template(
                    conn,
                    &tenant_id,
                    &saved_name,
                    &saved_locale,
                    TemplateParts {
                        subject: &template.subject,
                        html: &template.html,
                        text: &template.text,
                    },
                    Utc::now(),
                )
            })
            .await?;
        tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, template = %name, %locale, "dashboard: template saved");
        return Ok(see_other(&format!(
            "/dashboard/emails/templates/{name}/{locale}?saved=1"
        )));
    }
    // An existing template keeps its address (its fields are read-only).
    let existing = match &address {
        Some((name, locale)) => {
            let (tenant_id, wanted) = (signed.tenant.id.clone(), name.clone());
            let rows = dashboard
                .db(move |conn| templates_named(conn, &tenant_id, &[wanted.as_str()]))
                .await?;
            rows.iter()
                .any(|row| &row.locale == locale)
                .then_some((name.as_str(), locale.as_str()))
        }
        None => None,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let view = EditorView {
        signed: &signed,
        draft: &draft,
        existing,
        errors,
        test,
        test_to,
        notice: None,
    };
    Ok(html(status, render_editor(view)))
}

/// `POST /dashboard/emails/templates/preview`: the form's version, into the
/// preview frame (the form's "Preview changes" button targets it).
pub async fn preview_draft(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (signed, fields) = signed_change(&dashboard, &request, form.into_inner()).await?;
    let draft = Draft::posted(&fields);
    let locale = parse_locale(&draft.locale).unwrap_or_else(|_| "en".to_owned());
    let template = draft.template();
    Ok(template_frame(
        &signed.tenant,
        &template,
        &locale,
        &dashboard.public_url,
    ))
}

fn template_frame(
    tenant: &Tenant,
    template: &CustomTemplate,
    locale: &str,
    public_url: &str,
) -> HttpResponse {
    let checked = validate_custom(template)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            render_template(tenant, template, locale, public_url).map_err(|e| e.to_string())
        });
    match checked {
        Ok(email) => frame::email(
            &email,
            &format!("Your template · {}", language_name(locale)),
        ),
        Err(problems) => frame::note(
            StatusCode::OK,
            &format!("This template cannot be sent: {problems}"),
        ),
    }
}

/// `GET /dashboard/emails/templates/{name}/{locale}/preview`: as saved.
pub async fn template_preview(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let (name, locale) = path.into_inner();
    let row = stored_template(&dashboard, &signed.tenant.id, &name, &locale).await?;
    let (locale, template) = crate::pages::custom_of_row(row);
    Ok(template_frame(
        &signed.tenant,
        &template,
        &locale,
        &dashboard.public_url,
    ))
}

/// `GET /dashboard/emails/templates/new/preview`: the new template's starting point.
pub async fn starter_preview(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let starter = CustomTemplate {
        subject: STARTER_SUBJECT.to_owned(),
        html: STARTER_HTML.to_owned(),
        text: STARTER_TEXT.to_owned(),
    };
    let locale = stored_experience(&signed.tenant)
        .default_locale
        .unwrap_or_else(|| "en".to_owned());
    Ok(template_frame(
        &signed.tenant,
        &starter,
        &locale,
        &dashboard.public_url,
    ))
}

/// `POST /dashboard/emails/templates/{name}/{locale}/delete`.
pub async fn delete(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (signed, _) = signed_change(&dashboard, &request, form.into_inner()).await?;
    let (name, locale) = path.into_inner();
    let row = stored_template(&dashboard, &signed.tenant.id, &name, &locale).await?;
    let tenant_id = signed.tenant.id.clone();
    let (name, locale) = (row.name, row.locale);
    let removed = dashboard
        .db(move |conn| delete_template(conn, &tenant_id, &name, &locale))
        .await?;
    if !removed {
        return Err(PageError::NotFound);
    }
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, "dashboard: template deleted");
    Ok(see_other("/dashboard/emails?deleted=1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_template_is_valid() {
        let starter = CustomTemplate {
            subject: STARTER_SUBJECT.to_owned(),
            html: STARTER_HTML.to_owned(),
            text: STARTER_TEXT.to_owned(),
        };
        assert_eq!(validate_custom(&starter), Ok(()));
    }
}
