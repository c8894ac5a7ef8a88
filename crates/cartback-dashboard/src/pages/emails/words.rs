//! The shop's own words for its emails in one language (`email.copy` of `PUT
//! /api/v1/settings/recovery`): each email's subject, preview text, headline,
//! body and button text, the built-in words shown where none are set.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use cartback_domain::parse_locale;
use cartback_templates::{StepCopy, default_copy};

use super::save_experience;
use crate::Dashboard;
use crate::error::PageError;
use crate::layout::{self, Page, csrf_field};
use crate::pages::fields::{FieldErrors, Fields, text};
use crate::pages::{html, language_name, see_other, signed_change, stored_experience};
use crate::session::{SignedIn, signed_in};

/// The parts of a step's words: field name, label, several lines.
const PARTS: [(&str, &str, bool); 5] = [
    ("subject", "Subject", false),
    ("preheader", "Preview text", false),
    ("headline", "Headline", false),
    ("body", "Body (a blank line starts a paragraph)", true),
    ("button_text", "Button text", false),
];

fn part<'c>(copy: &'c mut StepCopy, name: &str) -> Option<&'c mut Option<String>> {
    Some(match name {
        "subject" => &mut copy.subject,
        "preheader" => &mut copy.preheader,
        "headline" => &mut copy.headline,
        "body" => &mut copy.body,
        "button_text" => &mut copy.button_text,
        _ => return None,
    })
}

fn get<'c>(copy: &'c StepCopy, name: &str) -> &'c str {
    let value = match name {
        "subject" => &copy.subject,
        "preheader" => &copy.preheader,
        "headline" => &copy.headline,
        "body" => &copy.body,
        "button_text" => &copy.button_text,
        _ => &None,
    };
    value.as_deref().unwrap_or_default()
}

/// The words the form holds for `steps` emails; trailing emails without any
/// word of their own are left out, as the API stores them.
fn words_of(fields: &Fields, steps: usize) -> Vec<StepCopy> {
    let mut words: Vec<StepCopy> = (0..steps)
        .map(|i| {
            let mut copy = StepCopy::default();
            for (name, ..) in PARTS {
                let value = text(fields, &format!("step.{i}.{name}")).replace("\r\n", "\n");
                let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
                if let Some(slot) = part(&mut copy, name) {
                    *slot = value;
                }
            }
            copy
        })
        .collect();
    while words.last() == Some(&StepCopy::default()) {
        words.pop();
    }
    words
}

fn render(
    signed: &SignedIn,
    locale: &str,
    steps: usize,
    words: &[StepCopy],
    errors: &FieldErrors,
    notice: Option<&str>,
) -> Markup {
    let editable = signed.role.may_change_settings();
    let language = language_name(locale);
    let body = html! {
        div.page-header {
            div {
                p.breadcrumb { a href="/dashboard/emails" { "Emails" } " / " }
                h1 { "Words in " (language) " " span.muted { "(" (locale) ")" } }
                p.muted { "Your own words replace the built-in ones (shown greyed) where you write any. " code { "{shop}" } " becomes the shop's name." }
            }
        }
        @if let Some(notice) = notice { p.alert.success role="status" #saved-notice { (notice) } }
        (errors.summary())
        form.settings-form #words-form method="post" action="/dashboard/emails/words" {
            (csrf_field(signed))
            input type="hidden" name="locale" value=(locale);
            fieldset.plain disabled[!editable] {
                legend.visually-hidden { "Words in " (language) }
                div.words-grid {
                    @for i in 0..steps {
                        @let builtin = default_copy(locale, i as u32);
                        @let own = words.get(i).cloned().unwrap_or_default();
                        section.card aria-labelledby={ "words-" (i) "-title" } {
                            h2 id={ "words-" (i) "-title" } { "Email " (i + 1) }
                            div.stack {
                                @for (name, label, multiline) in PARTS {
                                    @let id = format!("words-{i}-{}", name.replace('_', "-"));
                                    @let value = get(&own, name);
                                    @let placeholder = get(&builtin, name);
                                    div.field {
                                        label for=(id) { (label) }
                                        @if multiline {
                                            textarea id=(id) name={ "step." (i) "." (name) } rows="5" placeholder=(placeholder) { (value) }
                                        } @else {
                                            input id=(id) type="text" name={ "step." (i) "." (name) } value=(value) placeholder=(placeholder);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if editable {
                    div.form-actions {
                        button.button.primary type="submit" { "Save words" }
                        a.button href="/dashboard/emails" { "Back to Emails" }
                    }
                }
            }
        }
        section.card #preview aria-labelledby="preview-title" {
            div.card-header {
                h2 #preview-title { "Preview" }
                p.muted { "Each email in " (language) " as saved, with its template and a sample cart." }
            }
            div.preview-grid {
                @for i in 0..steps {
                    figure.preview {
                        figcaption { "Email " (i + 1) }
                        iframe.preview-frame sandbox="" src={ "/dashboard/recovery/preview?step=" (i + 1) "&locale=" (locale) }
                            title={ "Preview of email " (i + 1) " in " (language) } {}
                    }
                }
            }
        }
    };
    layout::page(
        Page {
            title: "Email words",
            section: "emails",
            signed,
            chart: false,
        },
        body,
    )
}

fn locale_of(fields: &Fields) -> Result<String, PageError> {
    parse_locale(text(fields, "locale")).map_err(|_| {
        PageError::BadRequest("Give a language tag such as en, nl or de-AT.".to_owned())
    })
}

/// `GET /dashboard/emails/words?locale=…`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let fields: Fields = query.into_inner().into_iter().collect();
    let locale = locale_of(&fields)?;
    let steps = signed.tenant.recovery_policy()?.steps.len();
    let experience = stored_experience(&signed.tenant);
    let words = experience.copy.get(&locale).cloned().unwrap_or_default();
    let notice = fields
        .contains_key("saved")
        .then_some("Saved. New emails in this language use these words.");
    Ok(html(
        StatusCode::OK,
        render(
            &signed,
            &locale,
            steps,
            &words,
            &FieldErrors::default(),
            notice,
        ),
    ))
}

/// `POST /dashboard/emails/words`.
pub async fn save(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (signed, fields) = signed_change(&dashboard, &request, form.into_inner()).await?;
    let locale = locale_of(&fields)?;
    let steps = signed.tenant.recovery_policy()?.steps.len();
    let words = words_of(&fields, steps);
    let mut experience = stored_experience(&signed.tenant);
    if words.is_empty() {
        experience.copy.remove(&locale);
    } else {
        experience.copy.insert(locale.clone(), words.clone());
    }
    if let Err(error) = experience.validate(&signed.tenant.name) {
        let mut errors = FieldErrors::default();
        errors.add_general(error.to_string());
        return Ok(html(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&signed, &locale, steps, &words, &errors, None),
        ));
    }
    save_experience(&dashboard, &signed.tenant.id, &experience).await?;
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, %locale, "dashboard: email words saved");
    Ok(see_other(&format!(
        "/dashboard/emails/words?locale={locale}&saved=1"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::fields::fields;

    #[test]
    fn words_are_read_per_step_and_empty_ones_left_out() {
        let posted = fields(&[
            ("locale", "nl"),
            ("step.0.subject", " Je mandje wacht "),
            ("step.0.body", "Een\r\n\r\nTwee"),
            ("step.1.subject", ""),
            ("step.2.headline", "  "),
        ]);
        let words = words_of(&posted, 3);
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].subject.as_deref(), Some("Je mandje wacht"));
        assert_eq!(words[0].body.as_deref(), Some("Een\n\nTwee"));
        assert_eq!(words[0].headline, None);
    }
}
