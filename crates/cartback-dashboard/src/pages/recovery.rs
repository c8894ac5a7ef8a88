//! `/dashboard/recovery`: the recovery policy (`PUT /api/v1/settings/recovery`'s
//! `policy`) as a form, checked by the domain's own rules, with a preview of
//! every step in every language the shop writes in.
//!
//! Steps are added and removed by the server (the form is posted and shown
//! again, unsaved), so everything works without script; `dashboard.js` only
//! refreshes the previews as the form changes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};

use cartback_domain::{
    AttributionMode, BUILTIN_DESIGNS, CouponRule, QuietHours, RecoveryPolicy, RecoveryStep,
    StepSettings, TemplateChoice, parse_locale,
};
use cartback_store::templates::{TemplateRow, list_templates, templates_named};
use cartback_store::tenants::set_policy;
use cartback_templates::{
    Experience, PreviewOf, custom_template_of, preview_context, render_preview,
};

use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Page, csrf_field};
use crate::pages::duration::Duration;
use crate::pages::fields::{FieldErrors, Fields, Input, fields_of};
use crate::pages::{frame, html, language_name, see_other, signed_change, stored_experience};
use crate::session::{SignedIn, signed_in};

/// A step as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct StepForm {
    delay: Duration,
    /// `""` (the shop's design), a built-in design, or `custom:<name>`.
    template: String,
    /// `none`, `static` or `generated`.
    coupon_kind: String,
    /// The static code or the generated pattern.
    coupon: String,
}

/// The policy as typed: values stay text, so a bad one is shown back as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PolicyForm {
    steps: Vec<StepForm>,
    max_emails_per_cart: String,
    max_emails_per_address_per_day: String,
    min_cart_value_minor: String,
    expire_after: Duration,
    attribution_window: Duration,
    attribution_mode: String,
    cooldown: Duration,
    quiet: bool,
    quiet_start: String,
    quiet_end: String,
    time_zone: String,
    require_consent: bool,
}

/// Most steps a posted form may carry (the policy allows 10; more is refused
/// by the domain, and far more is not worth reading).
const MAX_FORM_STEPS: usize = 20;

impl PolicyForm {
    fn of(policy: &RecoveryPolicy) -> PolicyForm {
        let steps = policy
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let settings = policy.settings_for(i as u32);
                let (coupon_kind, coupon) = match &settings.coupon {
                    None => ("none", String::new()),
                    Some(CouponRule::Static { code }) => ("static", code.clone()),
                    Some(CouponRule::Generated { pattern }) => ("generated", pattern.clone()),
                };
                StepForm {
                    delay: Duration::of_ms(step.delay_ms),
                    template: settings.template.clone().unwrap_or_default(),
                    coupon_kind: coupon_kind.to_owned(),
                    coupon,
                }
            })
            .collect();
        let (quiet, quiet_start, quiet_end) = match &policy.quiet_hours {
            Some(q) => (true, q.start.clone(), q.end.clone()),
            None => (false, "22:00".to_owned(), "08:00".to_owned()),
        };
        PolicyForm {
            steps,
            max_emails_per_cart: policy.max_emails_per_cart.to_string(),
            max_emails_per_address_per_day: policy.max_emails_per_address_per_day.to_string(),
            min_cart_value_minor: policy.min_cart_value_minor.to_string(),
            expire_after: Duration::of_ms(policy.expire_after_ms),
            attribution_window: Duration::of_ms(policy.attribution_window_ms),
            attribution_mode: match policy.attribution_mode {
                AttributionMode::Sent => "sent",
                AttributionMode::Clicked => "clicked",
            }
            .to_owned(),
            cooldown: Duration::of_ms(policy.customer_cooldown_ms),
            quiet,
            quiet_start,
            quiet_end,
            time_zone: policy.time_zone.clone(),
            require_consent: policy.require_consent,
        }
    }

    fn from_fields(fields: &Fields) -> PolicyForm {
        let text = |name: &str| fields.get(name).cloned().unwrap_or_default();
        let duration = |name: &str| Duration {
            amount: text(name),
            unit: text(&format!("{name}_unit")),
        };
        let mut indexes: Vec<usize> = fields
            .keys()
            .filter_map(|k| {
                k.strip_prefix("step.")?
                    .strip_suffix(".delay")?
                    .parse()
                    .ok()
            })
            .collect();
        indexes.sort_unstable();
        indexes.truncate(MAX_FORM_STEPS);
        let steps = indexes
            .into_iter()
            .map(|i| {
                let field = |part: &str| text(&format!("step.{i}.{part}"));
                StepForm {
                    delay: Duration {
                        amount: field("delay"),
                        unit: field("delay_unit"),
                    },
                    template: field("template"),
                    coupon_kind: field("coupon_kind"),
                    coupon: field("coupon"),
                }
            })
            .collect();
        PolicyForm {
            steps,
            max_emails_per_cart: text("max_emails_per_cart"),
            max_emails_per_address_per_day: text("max_emails_per_address_per_day"),
            min_cart_value_minor: text("min_cart_value_minor"),
            expire_after: duration("expire_after"),
            attribution_window: duration("attribution_window"),
            attribution_mode: text("attribution_mode"),
            cooldown: duration("cooldown"),
            quiet: fields.contains_key("quiet"),
            quiet_start: text("quiet_start"),
            quiet_end: text("quiet_end"),
            time_zone: text("time_zone"),
            require_consent: fields.contains_key("require_consent"),
        }
    }

    /// The form as a query string of its fields (renumbered, so a removed step
    /// leaves no gap): an unsaved form's preview frames render it.
    fn to_query(&self) -> String {
        let mut pairs: Vec<(String, &str)> = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            pairs.push((format!("step.{i}.delay"), &step.delay.amount));
            pairs.push((format!("step.{i}.delay_unit"), &step.delay.unit));
            pairs.push((format!("step.{i}.template"), &step.template));
            pairs.push((format!("step.{i}.coupon_kind"), &step.coupon_kind));
            pairs.push((format!("step.{i}.coupon"), &step.coupon));
        }
        let durations = [
            ("expire_after", &self.expire_after),
            ("attribution_window", &self.attribution_window),
            ("cooldown", &self.cooldown),
        ];
        for (name, duration) in durations {
            pairs.push((name.to_owned(), &duration.amount));
            pairs.push((format!("{name}_unit"), &duration.unit));
        }
        let texts = [
            ("max_emails_per_cart", &self.max_emails_per_cart),
            (
                "max_emails_per_address_per_day",
                &self.max_emails_per_address_per_day,
            ),
            ("min_cart_value_minor", &self.min_cart_value_minor),
            ("attribution_mode", &self.attribution_mode),
            ("quiet_start", &self.quiet_start),
            ("quiet_end", &self.quiet_end),
            ("time_zone", &self.time_zone),
        ];
        pairs.extend(
            texts
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.as_str())),
        );
        if self.quiet {
            pairs.push(("quiet".to_owned(), "on"));
        }
        if self.require_consent {
            pairs.push(("require_consent".to_owned(), "on"));
        }
        pairs
            .iter()
            .map(|(name, value)| {
                format!(
                    "{}={}",
                    format::query_escape(name),
                    format::query_escape(value)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The policy the form describes, or the problems beside their controls:
    /// first what the form itself cannot read (a word where a number goes),
    /// then every rule of the domain's [`RecoveryPolicy::problems`].
    fn to_policy(&self) -> Result<RecoveryPolicy, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut number = |control: &str, text: &str| -> i64 {
            match text.trim().parse::<i64>() {
                Ok(value) => value,
                Err(_) => {
                    errors.add(control, "Enter a whole number.");
                    0
                }
            }
        };
        let max_emails_per_cart = number("max-emails-per-cart", &self.max_emails_per_cart);
        let per_address = number(
            "max-emails-per-address-per-day",
            &self.max_emails_per_address_per_day,
        );
        let min_cart_value_minor = number("min-cart-value", &self.min_cart_value_minor);
        let mut millis = |control: &str, duration: &Duration| match duration.to_ms() {
            Ok(ms) => ms,
            Err(message) => {
                errors.add(control, message);
                0
            }
        };
        let steps: Vec<RecoveryStep> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| RecoveryStep::after(millis(&format!("step-{i}-delay"), &step.delay)))
            .collect();
        let expire_after_ms = millis("expire-after", &self.expire_after);
        let attribution_window_ms = millis("attribution-window", &self.attribution_window);
        let customer_cooldown_ms = millis("cooldown", &self.cooldown);
        let step_settings = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let template = Some(step.template.trim().to_owned()).filter(|t| !t.is_empty());
                let value = step.coupon.trim().to_owned();
                let coupon = match step.coupon_kind.as_str() {
                    "static" => Some(CouponRule::Static { code: value }),
                    "generated" => Some(CouponRule::Generated { pattern: value }),
                    "" | "none" => None,
                    _ => {
                        errors.add(format!("step-{i}-coupon-kind"), "Pick a kind of coupon.");
                        None
                    }
                };
                StepSettings { template, coupon }
            })
            .collect::<Vec<_>>();
        let attribution_mode = match self.attribution_mode.as_str() {
            "clicked" => AttributionMode::Clicked,
            "sent" => AttributionMode::Sent,
            _ => {
                errors.add("attribution-mode", "Pick sent or clicked.");
                AttributionMode::Sent
            }
        };
        let count = |value: i64, control: &str, errors: &mut FieldErrors| {
            u32::try_from(value).unwrap_or_else(|_| {
                errors.add(control, "Enter a number from 0 up.");
                0
            })
        };
        let policy = RecoveryPolicy {
            steps,
            step_settings: trim_default_settings(step_settings),
            max_emails_per_cart: count(max_emails_per_cart, "max-emails-per-cart", &mut errors),
            max_emails_per_address_per_day: count(
                per_address,
                "max-emails-per-address-per-day",
                &mut errors,
            ),
            min_cart_value_minor,
            expire_after_ms,
            attribution_window_ms,
            attribution_mode,
            customer_cooldown_ms,
            quiet_hours: self.quiet.then(|| QuietHours {
                start: self.quiet_start.trim().to_owned(),
                end: self.quiet_end.trim().to_owned(),
            }),
            time_zone: self.time_zone.trim().to_owned(),
            require_consent: self.require_consent,
        };
        for problem in policy.problems() {
            let control = problem
                .field
                .as_deref()
                .and_then(control_of)
                .unwrap_or_default();
            if control.is_empty() {
                errors.add_general(problem.to_string());
            } else if !errors.has(&control) {
                errors.add(control, sentence(&problem.message));
            }
        }
        if errors.is_empty() {
            Ok(policy)
        } else {
            Err(errors)
        }
    }
}

/// Step settings that say nothing are left out at the end, as the API would
/// store a policy written without them.
fn trim_default_settings(mut settings: Vec<StepSettings>) -> Vec<StepSettings> {
    while settings.last() == Some(&StepSettings::default()) {
        settings.pop();
    }
    settings
}

/// `must be at least 1 ms` → `Must be at least 1 ms.`
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The form control of a domain field path (`steps[1].delayMs` → `step-1-delay`).
fn control_of(path: &str) -> Option<String> {
    let indexed = |prefix: &str| -> Option<(usize, &str)> {
        let rest = path.strip_prefix(prefix)?;
        let (index, rest) = rest.split_once(']')?;
        Some((index.parse().ok()?, rest))
    };
    if let Some((i, rest)) = indexed("steps[") {
        return Some(match rest {
            ".delayMs" | "" => format!("step-{i}-delay"),
            _ => return None,
        });
    }
    if let Some((i, rest)) = indexed("stepSettings[") {
        return Some(if rest.starts_with(".coupon") {
            format!("step-{i}-coupon")
        } else {
            format!("step-{i}-template")
        });
    }
    let control = match path {
        "steps" | "stepSettings" => "steps",
        "maxEmailsPerCart" => "max-emails-per-cart",
        "maxEmailsPerAddressPerDay" => "max-emails-per-address-per-day",
        "minCartValueMinor" => "min-cart-value",
        "expireAfterMs" => "expire-after",
        "attributionWindowMs" => "attribution-window",
        "attributionMode" => "attribution-mode",
        "customerCooldownMs" => "cooldown",
        "timeZone" => "time-zone",
        "quietHours" | "quietHours.start" => "quiet-start",
        "quietHours.end" => "quiet-end",
        _ => return None,
    };
    Some(control.to_owned())
}

/// What the shop's emails can be written in: its default language, the
/// languages of its own words, and those of the custom templates its steps use.
fn languages(
    experience: &Experience,
    templates: &[TemplateRow],
    policy: &RecoveryPolicy,
) -> Vec<String> {
    let used: Vec<&str> = (0..policy.steps.len() as u32)
        .filter_map(|step| custom_template_of(policy, step))
        .collect();
    let mut out = vec![
        experience
            .default_locale
            .clone()
            .unwrap_or_else(|| "en".to_owned()),
    ];
    let more = experience.copy.keys().cloned().chain(
        templates
            .iter()
            .filter(|t| used.contains(&t.name.as_str()))
            .map(|t| t.locale.clone()),
    );
    for locale in more {
        if !out.contains(&locale) && out.len() < 8 {
            out.push(locale);
        }
    }
    out
}

/// Everything the page shows besides the form.
struct View<'a> {
    signed: &'a SignedIn,
    saved: &'a RecoveryPolicy,
    experience: &'a Experience,
    templates: &'a [TemplateRow],
    notice: Option<&'a str>,
    /// The form shown is not the saved policy (posted back): previews render it.
    draft: bool,
}

fn template_options(form: &StepForm, templates: &[TemplateRow], experience: &Experience) -> Markup {
    let mut names: Vec<&str> = templates.iter().map(|t| t.name.as_str()).collect();
    names.dedup();
    let current_custom = match TemplateChoice::parse(&form.template) {
        Ok(TemplateChoice::Custom(name)) if !names.contains(&name) => Some(name),
        _ => None,
    };
    html! {
        option value="" selected[form.template.is_empty()] { "Shop default: " (design_label(experience.design.as_str())) }
        optgroup label="Built-in designs" {
            @for design in BUILTIN_DESIGNS {
                option value=(design) selected[form.template == design] { (design_label(design)) }
            }
        }
        @if !names.is_empty() || current_custom.is_some() {
            optgroup label="Your templates" {
                @for name in &names {
                    @let value = format!("custom:{name}");
                    option value=(value) selected[form.template == value] { (name) }
                }
                @if let Some(name) = current_custom {
                    option value={ "custom:" (name) } selected { (name) " (not saved yet)" }
                }
            }
        }
    }
}

pub fn design_label(design: &str) -> &'static str {
    match design {
        "minimal" => "Minimal",
        "product_grid" => "Product grid",
        "bold_banner" => "Bold banner",
        "text_first" => "Text first (a letter)",
        _ => "Custom",
    }
}

fn duration_field(
    control: &str,
    name: &str,
    label: &str,
    duration: &Duration,
    hint: Option<&str>,
    errors: &FieldErrors,
) -> Markup {
    html! {
        div.field {
            label for=(control) { (label) }
            div.with-unit {
                input id=(control) type="text" inputmode="numeric" name=(name) value=(duration.amount)
                    aria-invalid=[errors.invalid(control)] aria-describedby=[errors.described_by(control)];
                label.visually-hidden for={ (control) "-unit" } { (label) ", unit" }
                select id={ (control) "-unit" } name={ (name) "_unit" } { (duration.unit_options()) }
            }
            @if let Some(hint) = hint { p.hint { (hint) } }
            (errors.beside(control))
        }
    }
}

fn number_field(
    control: &str,
    name: &str,
    label: &str,
    value: &str,
    hint: &str,
    errors: &FieldErrors,
) -> Markup {
    errors.input(Input {
        hint: Some(hint),
        numeric: true,
        ..Input::new(control, name, label, value)
    })
}

fn step_card(
    i: usize,
    step: &StepForm,
    count: usize,
    view: &View<'_>,
    errors: &FieldErrors,
    editable: bool,
) -> Markup {
    let n = i + 1;
    let delay = format!("step-{i}-delay");
    let template = format!("step-{i}-template");
    let coupon = format!("step-{i}-coupon");
    let coupon_kind = format!("step-{i}-coupon-kind");
    let coupon_name = format!("step.{i}.coupon");
    html! {
        li.step-card data-step=(n) {
            div.step-head {
                h3 { span.step-number { (n) } "Email " (n) }
                @if editable && count > 1 {
                    button.button.small.danger type="submit" name="action" value={ "remove-step-" (i) }
                        aria-label={ "Remove email " (n) } { "Remove" }
                }
            }
            div.step-fields {
                div.field {
                    label for=(delay) { "Send after" }
                    div.with-unit {
                        input id=(delay) type="text" inputmode="numeric" name={ "step." (i) ".delay" } value=(step.delay.amount)
                            aria-invalid=[errors.invalid(&delay)] aria-describedby=[errors.described_by(&delay)];
                        label.visually-hidden for={ (delay) "-unit" } { "Email " (n) " delay unit" }
                        select id={ (delay) "-unit" } name={ "step." (i) ".delay_unit" } { (step.delay.unit_options()) }
                    }
                    p.hint { "of no cart activity" }
                    (errors.beside(&delay))
                }
                div.field {
                    label for=(template) { "Template" }
                    select id=(template) name={ "step." (i) ".template" }
                        aria-invalid=[errors.invalid(&template)] aria-describedby=[errors.described_by(&template)] {
                        (template_options(step, view.templates, view.experience))
                    }
                    (errors.beside(&template))
                }
                div.field {
                    label for=(coupon_kind) { "Coupon" }
                    select id=(coupon_kind) name={ "step." (i) ".coupon_kind" }
                        aria-invalid=[errors.invalid(&coupon_kind)] aria-describedby=[errors.described_by(&coupon_kind)] {
                        option value="none" selected[step.coupon_kind == "none" || step.coupon_kind.is_empty()] { "No coupon" }
                        option value="static" selected[step.coupon_kind == "static"] { "The same code for everyone" }
                        option value="generated" selected[step.coupon_kind == "generated"] { "A code per cart, from a pattern" }
                    }
                    (errors.beside(&coupon_kind))
                }
                (errors.input(Input {
                    placeholder: Some("e.g. WELCOME10"),
                    hint: Some("A-Z, 0-9, - and _; a pattern holds {random} once."),
                    ..Input::new(&coupon, &coupon_name, "Code or pattern", &step.coupon)
                }))
            }
        }
    }
}

fn render(view: &View<'_>, form: &PolicyForm, errors: &FieldErrors) -> Markup {
    let signed = view.signed;
    let editable = signed.role.may_change_settings();
    let languages = languages(view.experience, view.templates, view.saved);
    let draft = if view.draft {
        format!("&draft=1&{}", form.to_query())
    } else {
        String::new()
    };
    let steps_count = form.steps.len();
    let body = html! {
        div.page-header {
            div {
                h1 { "Recovery" }
                p.muted { "When recovery emails go out, what each one offers, and when to hold back." }
            }
        }
        @if let Some(notice) = view.notice {
            p.alert.success role="status" #saved-notice { (notice) }
        }
        @if !editable {
            p.alert.info { "Your role (viewer) can look but not change anything." }
        }
        (errors.summary())
        form.policy-form.settings-form #policy-form method="post" action="/dashboard/recovery" novalidate {
            (csrf_field(signed))
            // The form's default button: Enter in a field saves rather than
            // removing the first step.
            @if editable {
                button.visually-hidden type="submit" name="action" value="save" tabindex="-1" aria-hidden="true" { "Save" }
            }
            fieldset.plain disabled[!editable] {
                legend.visually-hidden { "Recovery policy" }
                section.card aria-labelledby="steps-title" {
                    div.card-header {
                        h2 #steps-title { "Emails" }
                        p.muted { "Up to " (RecoveryPolicy::MAX_STEPS) ", each later than the one before. The first one's delay is when a cart counts as abandoned." }
                    }
                    (errors.beside("steps"))
                    ol.steps #steps {
                        @for (i, step) in form.steps.iter().enumerate() {
                            (step_card(i, step, steps_count, view, errors, editable))
                        }
                    }
                    @if editable && steps_count < RecoveryPolicy::MAX_STEPS {
                        button.button type="submit" name="action" value="add-step" { "Add an email" }
                    }
                }
                div.grid-2.even {
                    section.card aria-labelledby="limits-title" {
                        h2 #limits-title { "Limits" }
                        div.stack {
                            (number_field("max-emails-per-cart", "max_emails_per_cart", "Most emails per cart", &form.max_emails_per_cart, "1 to 10, per shopping round.", errors))
                            (number_field("max-emails-per-address-per-day", "max_emails_per_address_per_day", "Most emails per address in a day", &form.max_emails_per_address_per_day, "Across all of a shopper's carts; 0 for no cap.", errors))
                            (duration_field("cooldown", "cooldown", "Cooldown between sequences", &form.cooldown, Some("A shopper emailed within this time gets no new sequence; 0 turns it off."), errors))
                            (number_field("min-cart-value", "min_cart_value_minor", "Minimum cart value, in cents", &form.min_cart_value_minor, "In the currency's smallest unit (2500 is 25.00); smaller carts get no email.", errors))
                            (duration_field("expire-after", "expire_after", "Stop after", &form.expire_after, Some("A cart this old expires; must come after the last email."), errors))
                        }
                    }
                    section.card aria-labelledby="timing-title" {
                        h2 #timing-title { "Timing, consent and attribution" }
                        div.stack {
                            (errors.input(Input {
                                hint: Some("An IANA name such as Europe/Amsterdam; quiet hours and the overview's days use it."),
                                ..Input::new("time-zone", "time_zone", "Time zone", &form.time_zone)
                            }))
                            div.check {
                                input #quiet type="checkbox" name="quiet" value="on" checked[form.quiet];
                                label for="quiet" { "Quiet hours: send nothing between" }
                            }
                            div.inline-fields {
                                (errors.input(Input { kind: "time", ..Input::new("quiet-start", "quiet_start", "From", &form.quiet_start) }))
                                (errors.input(Input { kind: "time", ..Input::new("quiet-end", "quiet_end", "Until", &form.quiet_end) }))
                            }
                            div.check {
                                input #require-consent type="checkbox" name="require_consent" value="on" checked[form.require_consent];
                                label for="require-consent" { "Email only shoppers who consented (carts tracked with consent)" }
                            }
                            div.field {
                                label for="attribution-mode" { "Count an order as recovered when it follows" }
                                select #attribution-mode name="attribution_mode"
                                    aria-invalid=[errors.invalid("attribution-mode")] aria-describedby=[errors.described_by("attribution-mode")] {
                                    option value="sent" selected[form.attribution_mode == "sent"] { "an email that was sent" }
                                    option value="clicked" selected[form.attribution_mode == "clicked"] { "a click in an email" }
                                }
                                (errors.beside("attribution-mode"))
                            }
                            (duration_field("attribution-window", "attribution_window", "Within", &form.attribution_window, Some("Orders later than this after the email are not counted."), errors))
                        }
                    }
                }
                @if editable {
                    div.form-actions {
                        button.button.primary type="submit" name="action" value="save" { "Save policy" }
                        a.button href="/dashboard/recovery" { "Discard changes" }
                    }
                }
            }
        }
        section.card #preview aria-labelledby="preview-title" {
            div.card-header {
                h2 #preview-title { "Preview" }
                p.muted { "Every email with a sample cart, as the policy on this page would send it." }
            }
            @for (index, locale) in languages.iter().enumerate() {
                details.preview-language open[index == 0] {
                    summary { (language_name(locale)) " " span.muted { "(" (locale) ")" } }
                    div.preview-grid {
                        @for (i, step) in form.steps.iter().enumerate() {
                            @let base = format!("/dashboard/recovery/preview?step={}&locale={locale}", i + 1);
                            @let src = format!("{base}{draft}");
                            figure.preview {
                                figcaption { "Email " (i + 1) " · after " (step.delay.describe()) }
                                iframe.preview-frame.js-live-preview sandbox="" loading=(if index == 0 { "eager" } else { "lazy" }) src=(src) data-src=(base) data-form="policy-form"
                                    title={ "Preview of email " (i + 1) " in " (language_name(locale)) } {}
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(
        Page {
            title: "Recovery",
            section: "recovery",
            signed,
            chart: false,
        },
        body,
    )
}

/// What the page shows besides the form, read for `signed`'s shop.
struct Loaded {
    saved: RecoveryPolicy,
    experience: Experience,
    templates: Vec<TemplateRow>,
}

impl Loaded {
    async fn of(dashboard: &Dashboard, signed: &SignedIn) -> Result<Loaded, PageError> {
        let tenant_id = signed.tenant.id.clone();
        let templates = dashboard
            .db(move |conn| list_templates(conn, &tenant_id))
            .await?;
        Ok(Loaded {
            saved: signed.tenant.recovery_policy()?,
            experience: stored_experience(&signed.tenant),
            templates,
        })
    }

    fn view<'a>(&'a self, signed: &'a SignedIn, notice: Option<&'a str>, draft: bool) -> View<'a> {
        View {
            signed,
            saved: &self.saved,
            experience: &self.experience,
            templates: &self.templates,
            notice,
            draft,
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    saved: Option<String>,
}

/// `GET /dashboard/recovery`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let loaded = Loaded::of(&dashboard, &signed).await?;
    let notice = query
        .saved
        .as_ref()
        .map(|_| "Saved. New emails follow this policy.");
    let view = loaded.view(&signed, notice, false);
    let form = PolicyForm::of(&loaded.saved);
    Ok(html(
        StatusCode::OK,
        render(&view, &form, &FieldErrors::default()),
    ))
}

/// `POST /dashboard/recovery`: save, or add or remove a step (shown again, unsaved).
pub async fn submit(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (signed, fields) = signed_change(&dashboard, &request, form.into_inner()).await?;
    let mut form = PolicyForm::from_fields(&fields);
    let loaded = Loaded::of(&dashboard, &signed).await?;
    let view = loaded.view(&signed, None, true);
    let action = fields.get("action").map(String::as_str).unwrap_or("save");
    if action == "add-step" {
        if form.steps.len() < RecoveryPolicy::MAX_STEPS {
            let next = form
                .steps
                .last()
                .map_or(Duration::of_ms(3_600_000), |last| last.delay.doubled());
            form.steps.push(StepForm {
                delay: next,
                coupon_kind: "none".to_owned(),
                ..StepForm::default()
            });
        }
        return Ok(html(
            StatusCode::OK,
            render(&view, &form, &FieldErrors::default()),
        ));
    }
    if let Some(index) = action.strip_prefix("remove-step-") {
        if let Ok(index) = index.parse::<usize>()
            && index < form.steps.len()
            && form.steps.len() > 1
        {
            form.steps.remove(index);
        }
        return Ok(html(
            StatusCode::OK,
            render(&view, &form, &FieldErrors::default()),
        ));
    }
    let policy = match form.to_policy() {
        Ok(policy) => policy,
        Err(errors) => {
            return Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&view, &form, &errors),
            ));
        }
    };
    let tenant_id = signed.tenant.id.clone();
    dashboard
        .db(move |conn| set_policy(conn, &tenant_id, &policy, Utc::now().naive_utc()))
        .await?;
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, "dashboard: recovery policy saved");
    Ok(see_other("/dashboard/recovery?saved=1"))
}

/// `GET /dashboard/recovery/preview?step=…&locale=…[&draft=1&<the form's fields>]`:
/// one email of the saved policy, or of the form as it stands (the script
/// sends it while the merchant types), for a preview frame. `step` counts
/// from 1, as everywhere (default 1).
pub async fn preview(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let fields = fields_of(query.into_inner());
    let Some(step) = fields
        .get("step")
        .map_or(Ok(1), |s| s.parse::<u32>())
        .ok()
        .and_then(|number| number.checked_sub(1))
    else {
        return Ok(frame::note(
            StatusCode::UNPROCESSABLE_ENTITY,
            "No such email in the sequence.",
        ));
    };
    let Ok(locale) = parse_locale(fields.get("locale").map_or("en", String::as_str)) else {
        return Ok(frame::note(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not a language tag.",
        ));
    };
    let policy = if fields.contains_key("draft") {
        match PolicyForm::from_fields(&fields).to_policy() {
            Ok(policy) => policy,
            Err(_) => {
                return Ok(frame::note(
                    StatusCode::OK,
                    "The preview comes back once the form's problems are fixed.",
                ));
            }
        }
    } else {
        signed.tenant.recovery_policy()?
    };
    if step as usize >= policy.steps.len() {
        return Ok(frame::note(
            StatusCode::NOT_FOUND,
            "No such email in the sequence.",
        ));
    }
    let experience = stored_experience(&signed.tenant);
    let custom = match custom_template_of(&policy, step) {
        None => Vec::new(),
        Some(name) => {
            let (tenant_id, name) = (signed.tenant.id.clone(), name.to_owned());
            dashboard
                .db(move |conn| templates_named(conn, &tenant_id, &[name.as_str()]))
                .await?
                .into_iter()
                .map(crate::pages::custom_of_row)
                .collect()
        }
    };
    let of = PreviewOf {
        shop_name: &signed.tenant.name,
        policy: &policy,
        experience: &experience,
        step,
        design: None,
    };
    match render_preview(of, preview_context(&locale, &dashboard.public_url), &custom) {
        Ok(preview) => Ok(frame::email(
            &preview.email,
            &format!(
                "{} · {}",
                template_caption(&preview.template),
                language_name(&locale)
            ),
        )),
        Err(error) => Ok(frame::note(
            StatusCode::OK,
            &format!("This email does not render: {error}"),
        )),
    }
}

/// `minimal` → `Minimal design`, `custom:spring` → `Your template spring`.
pub fn template_caption(template: &str) -> String {
    match template.strip_prefix("custom:") {
        Some(name) => format!("Your template {name}"),
        None => format!("{} design", design_label(template)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::fields::fields;

    #[test]
    fn the_default_policy_survives_the_form() {
        let policy = RecoveryPolicy::default();
        let form = PolicyForm::of(&policy);
        assert_eq!(form.to_policy().ok(), Some(policy));
    }

    #[test]
    fn a_posted_form_becomes_a_policy() {
        let posted = fields(&[
            ("csrf", "x"),
            ("step.0.delay", "30"),
            ("step.0.delay_unit", "minutes"),
            ("step.0.template", ""),
            ("step.0.coupon_kind", "none"),
            ("step.1.delay", "2"),
            ("step.1.delay_unit", "days"),
            ("step.1.template", "bold_banner"),
            ("step.1.coupon_kind", "generated"),
            ("step.1.coupon", "SAVE-{random}"),
            ("max_emails_per_cart", "2"),
            ("max_emails_per_address_per_day", "0"),
            ("min_cart_value_minor", "2500"),
            ("expire_after", "14"),
            ("expire_after_unit", "days"),
            ("attribution_window", "3"),
            ("attribution_window_unit", "days"),
            ("attribution_mode", "clicked"),
            ("cooldown", "0"),
            ("cooldown_unit", "days"),
            ("quiet", "on"),
            ("quiet_start", "21:30"),
            ("quiet_end", "07:00"),
            ("time_zone", "Europe/Amsterdam"),
        ]);
        let policy = PolicyForm::from_fields(&posted).to_policy().unwrap();
        assert_eq!(
            policy.steps,
            [
                RecoveryStep::after(1_800_000),
                RecoveryStep::after(172_800_000)
            ]
        );
        assert_eq!(policy.step_settings.len(), 2);
        assert_eq!(
            policy.settings_for(1).template.as_deref(),
            Some("bold_banner")
        );
        assert_eq!(policy.attribution_mode, AttributionMode::Clicked);
        assert_eq!(
            policy.quiet_hours.as_ref().map(|q| q.end.as_str()),
            Some("07:00")
        );
        assert!(!policy.require_consent);
        assert_eq!(PolicyForm::of(&policy).to_policy().ok(), Some(policy));
    }

    #[test]
    fn the_form_reads_back_from_its_query() {
        let mut form = PolicyForm::of(&RecoveryPolicy::default());
        form.steps[2].coupon = "A&B=C {random}".into();
        form.quiet = true;
        let query = form.to_query();
        let pairs = web::Query::<Vec<(String, String)>>::from_query(&query)
            .unwrap()
            .into_inner();
        assert_eq!(PolicyForm::from_fields(&fields_of(pairs)), form);
    }

    #[test]
    fn problems_land_beside_their_controls() {
        let mut form = PolicyForm::of(&RecoveryPolicy::default());
        form.steps[1].delay = Duration {
            amount: "30".into(),
            unit: "minutes".into(),
        };
        form.steps[2].coupon_kind = "static".into();
        form.steps[2].coupon = "lower".into();
        form.time_zone = "Mars/Base".into();
        form.max_emails_per_cart = "many".into();
        let errors = form.to_policy().unwrap_err();
        for control in [
            "step-1-delay",
            "step-2-coupon",
            "time-zone",
            "max-emails-per-cart",
        ] {
            assert!(errors.has(control), "{control}: {errors:?}");
        }
        assert_eq!(control_of("quietHours.end").as_deref(), Some("quiet-end"));
        assert_eq!(
            control_of("stepSettings[3].template").as_deref(),
            Some("step-3-template")
        );
        assert_eq!(control_of("nonsense"), None);
    }
}
