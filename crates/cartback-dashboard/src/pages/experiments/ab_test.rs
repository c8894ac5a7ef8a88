//! `/dashboard/experiments/new`: an A/B test made from a form. Each group has
//! a name, a share in percent, and either no email (the holdout) or the
//! shop's emails with what it changes: per email the delay, design, coupon
//! and words, or a whole other sequence. Blank fields keep the shop's policy.
//!
//! The form only turns text into the API's types (`ExperimentGroup`,
//! `Variant`); every rule is the domain's (`experiment_name`,
//! `ExperimentDesign::problems`), each problem shown beside its control.
//! Groups and emails are added and removed by the server (the form is posted
//! and shown again), so it works without script.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};

use cartback_domain::experiment::{BUCKETS, MAX_GROUPS};
use cartback_domain::{
    BUILTIN_DESIGNS, CouponRule, ExperimentDesign, ExperimentGroup, RecoveryPolicy, RecoveryStep,
    StepSettings, StepVariant, Variant, VariantCopy, VariantSequence, experiment_name,
};
use cartback_store::experiments::create_experiment;
use cartback_store::templates::list_templates;

use super::{basis_points, refusal_text};
use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::csrf_field;
use crate::pages::duration::Duration;
use crate::pages::fields::{FieldErrors, Fields, Input};
use crate::pages::recovery::{design_label, sentence};
use crate::pages::{section_page, see_other, signed_change};
use crate::session::{SignedIn, signed_in};

/// The words of an email a group may change: form name, control suffix,
/// label. The body is a text area, the others one line.
const WORDS: [(&str, &str, &str); 5] = [
    ("subject", "subject", "Subject"),
    ("preheader", "preheader", "Preview text"),
    ("headline", "headline", "Headline"),
    ("button_text", "button-text", "Button text"),
    ("body", "body", "Body"),
];

/// Most groups and emails a posted form may carry; more are refused by the
/// domain, and far more are not worth reading.
const MAX_FORM_GROUPS: usize = 2 * MAX_GROUPS;
const MAX_FORM_EMAILS: usize = 2 * RecoveryPolicy::MAX_STEPS;

/// One email of a group, as typed; blank parts keep the shop's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct EmailForm {
    /// A blank amount keeps the shop's delay for this email.
    delay: Duration,
    /// `""` keeps the shop's design; else a built-in design or `custom:<name>`.
    template: String,
    /// `keep`, `none`, `static` or `generated`.
    coupon_kind: String,
    coupon: String,
    /// In the order of [`WORDS`].
    words: [String; 5],
}

impl EmailForm {
    fn blank() -> EmailForm {
        EmailForm {
            delay: Duration {
                amount: String::new(),
                unit: "hours".to_owned(),
            },
            coupon_kind: "keep".to_owned(),
            ..EmailForm::default()
        }
    }

    fn delay_typed(&self) -> bool {
        !self.delay.amount.trim().is_empty()
    }

    /// The words the group sets, None when it sets none. Text areas post
    /// CRLF line ends; the shop's words use LF.
    fn copy(&self) -> Option<VariantCopy> {
        let word = |i: usize| {
            let text = self.words[i].replace("\r\n", "\n");
            let trimmed = if i == 4 { text.trim_end() } else { text.trim() };
            Some(trimmed.to_owned()).filter(|t| !t.trim().is_empty())
        };
        let copy = VariantCopy {
            subject: word(0),
            preheader: word(1),
            headline: word(2),
            button_text: word(3),
            body: word(4),
        };
        (copy != VariantCopy::default()).then_some(copy)
    }
}

/// One group, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct GroupForm {
    name: String,
    /// Percent, up to two decimals.
    share: String,
    holdout: bool,
    /// The emails replace the shop's whole sequence (and may be more or fewer).
    sequence: bool,
    emails: Vec<EmailForm>,
}

impl GroupForm {
    fn with_shop_emails(name: &str, share: &str, policy: &RecoveryPolicy) -> GroupForm {
        GroupForm {
            name: name.to_owned(),
            share: share.to_owned(),
            emails: vec![EmailForm::blank(); policy.steps.len()],
            ..GroupForm::default()
        }
    }

    fn changes_something(&self) -> bool {
        self.sequence || self.emails.iter().any(|e| *e != EmailForm::blank())
    }

    /// The group's variant, and for each of its `steps` entries the email
    /// (card) it came from; what the form cannot read goes to `errors`.
    fn variant(
        &self,
        g: usize,
        policy: &RecoveryPolicy,
        errors: &mut FieldErrors,
    ) -> (Variant, Vec<usize>) {
        let control = |j: usize, part: &str| format!("g{g}-e{j}-{part}");
        let typed_delay = |j: usize, email: &EmailForm, errors: &mut FieldErrors| {
            email
                .delay
                .to_ms()
                .map_err(|message| errors.add(control(j, "delay"), message))
                .ok()
        };
        let coupon_of = |j: usize, email: &EmailForm, errors: &mut FieldErrors| {
            let value = email.coupon.trim().to_owned();
            match email.coupon_kind.as_str() {
                "static" => Some(Some(CouponRule::Static { code: value })),
                "generated" => Some(Some(CouponRule::Generated { pattern: value })),
                "none" => Some(None),
                "keep" | "" => None,
                _ => {
                    errors.add(control(j, "coupon-kind"), "Pick a kind of coupon.");
                    None
                }
            }
        };
        let sequence = self.sequence.then(|| {
            let mut steps = Vec::new();
            let mut step_settings = Vec::new();
            for (j, email) in self.emails.iter().enumerate() {
                let shop_step = policy.steps.get(j);
                let delay = if email.delay_typed() {
                    typed_delay(j, email, errors).unwrap_or(0)
                } else if let Some(step) = shop_step {
                    step.delay_ms
                } else {
                    errors.add(
                        control(j, "delay"),
                        format!("Enter a delay: your policy has no email {} to keep.", j + 1),
                    );
                    0
                };
                steps.push(RecoveryStep::after(delay));
                let shop = if shop_step.is_some() {
                    policy.settings_for(j as u32).clone()
                } else {
                    StepSettings::default()
                };
                step_settings.push(StepSettings {
                    template: if email.template.is_empty() {
                        shop.template
                    } else {
                        Some(email.template.clone())
                    },
                    coupon: coupon_of(j, email, errors).unwrap_or(shop.coupon),
                });
            }
            while step_settings.last() == Some(&StepSettings::default()) {
                step_settings.pop();
            }
            VariantSequence {
                steps,
                step_settings,
            }
        });
        let mut entries = Vec::new();
        let mut cards = Vec::new();
        for (j, email) in self.emails.iter().enumerate() {
            let unchanged = StepVariant {
                step: j as u32,
                ..StepVariant::default()
            };
            let mut change = StepVariant {
                copy: email.copy(),
                ..unchanged.clone()
            };
            // A whole sequence carries its own delays, designs and coupons;
            // the entries then only change words.
            if !self.sequence {
                if email.delay_typed() {
                    change.delay_ms = typed_delay(j, email, errors);
                }
                change.template = Some(email.template.clone()).filter(|t| !t.is_empty());
                match coupon_of(j, email, errors) {
                    Some(Some(coupon)) => change.coupon = Some(coupon),
                    Some(None) => change.no_coupon = true,
                    None => {}
                }
            }
            if change != unchanged {
                entries.push(change);
                cards.push(j);
            }
        }
        (
            Variant {
                sequence,
                steps: entries,
            },
            cards,
        )
    }
}

/// The whole form, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TestForm {
    name: String,
    groups: Vec<GroupForm>,
}

impl TestForm {
    /// A fresh form: the shop's flow against one variant, half and half.
    fn new(policy: &RecoveryPolicy) -> TestForm {
        TestForm {
            name: String::new(),
            groups: vec![
                GroupForm::with_shop_emails("reference", "50", policy),
                GroupForm::with_shop_emails("variant", "50", policy),
            ],
        }
    }

    fn from_fields(fields: &Fields) -> TestForm {
        let text = |name: &str| fields.get(name).cloned().unwrap_or_default();
        let indexes = |prefix: &str, suffix: &str, most: usize| {
            let mut found: Vec<usize> = fields
                .keys()
                .filter_map(|k| k.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok())
                .collect();
            found.sort_unstable();
            found.truncate(most);
            found
        };
        let groups = indexes("g.", ".name", MAX_FORM_GROUPS)
            .into_iter()
            .map(|g| {
                let emails = indexes(&format!("g.{g}.e."), ".delay", MAX_FORM_EMAILS)
                    .into_iter()
                    .map(|j| {
                        let part = |name: &str| text(&format!("g.{g}.e.{j}.{name}"));
                        EmailForm {
                            delay: Duration {
                                amount: part("delay"),
                                unit: part("delay_unit"),
                            },
                            template: part("template"),
                            coupon_kind: part("coupon_kind"),
                            coupon: part("coupon"),
                            words: WORDS.map(|(name, ..)| part(name)),
                        }
                    })
                    .collect();
                GroupForm {
                    name: text(&format!("g.{g}.name")),
                    share: text(&format!("g.{g}.share")),
                    holdout: fields.contains_key(&format!("g.{g}.holdout")),
                    sequence: fields.contains_key(&format!("g.{g}.sequence")),
                    emails,
                }
            })
            .collect();
        TestForm {
            name: text("name"),
            groups,
        }
    }

    /// The experiment's name and groups, or every problem beside its control:
    /// first what the form cannot read, then the domain's rules.
    fn to_design(
        &self,
        policy: &RecoveryPolicy,
    ) -> Result<(String, ExperimentDesign), FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = experiment_name(&self.name)
            .map_err(|e| errors.add("test-name", sentence(&e.message)))
            .ok();
        let mut groups = Vec::new();
        let mut cards = Vec::new();
        let mut shares_read = true;
        for (g, group) in self.groups.iter().enumerate() {
            let basis_points = basis_points(&group.share).unwrap_or_else(|| {
                errors.add(
                    format!("g{g}-share"),
                    "Enter a share in percent, from 0.01 to 99.99.",
                );
                shares_read = false;
                0
            });
            let (variant, entry_cards) = group.variant(g, policy, &mut errors);
            groups.push(ExperimentGroup {
                name: group.name.trim().to_owned(),
                basis_points,
                holdout: group.holdout,
                variant,
            });
            cards.push(entry_cards);
        }
        let total: u32 = groups.iter().map(|g| g.basis_points).sum();
        for problem in ExperimentDesign::problems(&groups, policy) {
            let path = problem.field.as_deref().unwrap_or("groups");
            let control = control_of(path, &cards).unwrap_or_else(|| "groups".to_owned());
            if errors.has(&control) {
                continue;
            }
            if control == "groups" && !shares_read {
                // The sum of shares that could not all be read says nothing.
                continue;
            }
            let message = if path == "groups" && total != BUCKETS {
                format!(
                    "The shares add up to {}; together they must make 100 %.",
                    format::percent(f64::from(total) / f64::from(BUCKETS))
                )
            } else {
                sentence(&problem.message)
            };
            errors.add(control, message);
        }
        match name {
            Some(name) if errors.is_empty() => ExperimentDesign::new(groups, policy)
                .map(|design| (name, design))
                .map_err(|problem| {
                    let mut errors = FieldErrors::default();
                    errors.add_general(problem.to_string());
                    errors
                }),
            _ => Err(errors),
        }
    }
}

/// `steps[2]…` → `(2, "…")`.
fn indexed<'p>(path: &'p str, prefix: &str) -> Option<(usize, &'p str)> {
    let (index, rest) = path.strip_prefix(prefix)?.split_once(']')?;
    Some((index.parse().ok()?, rest))
}

/// The control of a policy path within group `g`'s variant (the shop's
/// policy with the variant applied, or the variant's whole sequence): the
/// index is the email's.
fn policy_control(g: usize, path: &str) -> Option<String> {
    if let Some((j, _)) = indexed(path, "steps[") {
        return Some(format!("g{g}-e{j}-delay"));
    }
    let (j, rest) = indexed(path, "stepSettings[")?;
    Some(if rest.starts_with(".coupon") {
        format!("g{g}-e{j}-coupon")
    } else {
        format!("g{g}-e{j}-template")
    })
}

/// The form control of a domain path (`groups[1].variant.steps[0].copy.subject`).
/// `cards[g][e]` is the email that entry `e` of group `g`'s `steps` came from.
fn control_of(path: &str, cards: &[Vec<usize>]) -> Option<String> {
    let (g, rest) = indexed(path, "groups[")?;
    let control = match rest {
        ".name" => format!("g{g}-name"),
        ".basisPoints" => format!("g{g}-share"),
        ".holdout" | ".variant" => format!("g{g}-holdout"),
        _ => {
            let rest = rest.strip_prefix(".variant.")?;
            if let Some(sequence) = rest.strip_prefix("sequence.") {
                return Some(policy_control(g, sequence).unwrap_or_else(|| format!("g{g}-emails")));
            }
            let Some((e, field)) = indexed(rest, "steps[") else {
                return Some(policy_control(g, rest).unwrap_or_else(|| format!("g{g}-emails")));
            };
            // Entry checks name the entry's own fields; the delays are checked
            // on the policy they make, whose index is the email's.
            if field == ".delayMs" || field.is_empty() {
                return Some(format!("g{g}-e{e}-delay"));
            }
            if field == ".step" {
                return Some(format!("g{g}-sequence"));
            }
            let j = *cards.get(g)?.get(e)?;
            let part = match field {
                ".noCoupon" => "coupon-kind",
                ".template" => "template",
                _ if field.starts_with(".coupon") => "coupon",
                ".copy.subject" => "subject",
                ".copy.preheader" => "preheader",
                ".copy.headline" => "headline",
                ".copy.body" => "body",
                ".copy.buttonText" => "button-text",
                _ => return Some(format!("g{g}-emails")),
            };
            format!("g{g}-e{j}-{part}")
        }
    };
    Some(control)
}

/// What the form's pickers offer beside the built-in designs.
struct Choices {
    policy: RecoveryPolicy,
    /// The shop's own templates, by name.
    custom: Vec<String>,
}

impl Choices {
    async fn of(dashboard: &Dashboard, signed: &SignedIn) -> Result<Choices, PageError> {
        let tenant_id = signed.tenant.id.clone();
        let mut custom: Vec<String> = dashboard
            .db(move |conn| list_templates(conn, &tenant_id))
            .await?
            .into_iter()
            .map(|row| row.name)
            .collect();
        custom.dedup();
        Ok(Choices {
            policy: signed.tenant.recovery_policy()?,
            custom,
        })
    }
}

pub(super) fn coupon_text(coupon: Option<&CouponRule>) -> String {
    match coupon {
        None => "no coupon".to_owned(),
        Some(CouponRule::Static { code }) => format!("code {code}"),
        Some(CouponRule::Generated { pattern }) => format!("a code per cart ({pattern})"),
    }
}

pub(super) fn template_text(template: Option<&str>) -> String {
    match template {
        None => "shop default design".to_owned(),
        Some(name) => match name.strip_prefix("custom:") {
            Some(custom) => format!("your template {custom}"),
            None => design_label(name).to_owned(),
        },
    }
}

fn email_card(
    g: usize,
    j: usize,
    email: &EmailForm,
    group: &GroupForm,
    choices: &Choices,
    errors: &FieldErrors,
) -> Markup {
    let n = j + 1;
    let id = |part: &str| format!("g{g}-e{j}-{part}");
    let name = |part: &str| format!("g.{g}.e.{j}.{part}");
    let shop_step = choices.policy.steps.get(j);
    let shop = choices.policy.settings_for(j as u32);
    let keep_delay = shop_step.map(|s| Duration::of_ms(s.delay_ms).describe());
    let (keep_design, keep_coupon) = match shop_step {
        Some(_) => (
            format!("As now: {}", template_text(shop.template.as_deref())),
            format!("As now: {}", coupon_text(shop.coupon.as_ref())),
        ),
        None => ("Shop default design".to_owned(), "No coupon".to_owned()),
    };
    let (delay, template, coupon_kind) = (id("delay"), id("template"), id("coupon-kind"));
    html! {
        li.step-card data-email=(n) {
            div.step-head {
                h4 { span.step-number { (n) } "Email " (n) }
                @if group.sequence && group.emails.len() > 1 {
                    button.button.small.danger type="submit" name="action" value={ "remove-email-" (g) "-" (j) }
                        aria-label={ "Remove email " (n) " of group " (g + 1) } { "Remove" }
                }
            }
            div.step-fields {
                div.field {
                    label for=(delay) { "Send after" }
                    div.with-unit {
                        input id=(delay) type="text" inputmode="numeric" name=(name("delay")) value=(email.delay.amount)
                            placeholder=[keep_delay.as_deref()]
                            aria-invalid=[errors.invalid(&delay)] aria-describedby=[errors.described_by(&delay)];
                        label.visually-hidden for={ (delay) "-unit" } { "Email " (n) " delay unit" }
                        select id={ (delay) "-unit" } name=(name("delay_unit")) { (email.delay.unit_options()) }
                    }
                    p.hint {
                        @match &keep_delay {
                            Some(now) => { "Blank keeps " (now) "." },
                            None => "Required: a new email.",
                        }
                    }
                    (errors.beside(&delay))
                }
                div.field {
                    label for=(template) { "Design" }
                    select id=(template) name=(name("template"))
                        aria-invalid=[errors.invalid(&template)] aria-describedby=[errors.described_by(&template)] {
                        option value="" selected[email.template.is_empty()] { (keep_design) }
                        optgroup label="Built-in designs" {
                            @for design in BUILTIN_DESIGNS {
                                option value=(design) selected[email.template == design] { (design_label(design)) }
                            }
                        }
                        @if !choices.custom.is_empty() {
                            optgroup label="Your templates" {
                                @for custom in &choices.custom {
                                    @let value = format!("custom:{custom}");
                                    option value=(value) selected[email.template == value] { (custom) }
                                }
                            }
                        }
                    }
                    (errors.beside(&template))
                }
                div.field {
                    label for=(coupon_kind) { "Coupon" }
                    select id=(coupon_kind) name=(name("coupon_kind"))
                        aria-invalid=[errors.invalid(&coupon_kind)] aria-describedby=[errors.described_by(&coupon_kind)] {
                        option value="keep" selected[email.coupon_kind == "keep" || email.coupon_kind.is_empty()] { (keep_coupon) }
                        // A new email keeps nothing: its "as now" is no coupon already.
                        @if shop_step.is_some() {
                            option value="none" selected[email.coupon_kind == "none"] { "No coupon" }
                        }
                        option value="static" selected[email.coupon_kind == "static"] { "The same code for everyone" }
                        option value="generated" selected[email.coupon_kind == "generated"] { "A code per cart, from a pattern" }
                    }
                    (errors.beside(&coupon_kind))
                }
                (errors.input(Input {
                    placeholder: Some("e.g. WELCOME10"),
                    hint: Some("A-Z, 0-9, - and _; a pattern holds {random} once."),
                    ..Input::new(&id("coupon"), &name("coupon"), "Code or pattern", &email.coupon)
                }))
            }
            div.word-fields {
                @for (i, (field, part, label)) in WORDS.iter().enumerate() {
                    @let control = id(part);
                    @if *field == "body" {
                        div.field.word-body {
                            label for=(control) { (label) }
                            textarea id=(control) name=(name(field)) rows="3"
                                aria-invalid=[errors.invalid(&control)] aria-describedby=[errors.described_by(&control)] { (email.words[i]) }
                            (errors.beside(&control))
                        }
                    } @else {
                        (errors.input(Input::new(&control, &name(field), label, &email.words[i])))
                    }
                }
                p.hint.word-hint { "Words left blank stay the shop's. They replace the shop's words in every language the email is sent in." }
            }
        }
    }
}

fn group_card(
    g: usize,
    group: &GroupForm,
    count: usize,
    choices: &Choices,
    errors: &FieldErrors,
) -> Markup {
    let n = g + 1;
    let emails_id = format!("g{g}-emails");
    let sequence_id = format!("g{g}-sequence");
    let holdout_id = format!("g{g}-holdout");
    let open = group.changes_something()
        || (0..group.emails.len()).any(|j| {
            ["delay", "template", "coupon-kind", "coupon"]
                .iter()
                .chain(WORDS.iter().map(|(_, part, _)| part))
                .any(|part| errors.has(&format!("g{g}-e{j}-{part}")))
        })
        || errors.has(&emails_id)
        || errors.has(&sequence_id);
    html! {
        li.step-card.group-card data-group=(n) {
            div.step-head {
                h3 { span.step-number { (n) } "Group " (n) }
                @if count > 2 {
                    button.button.small.danger type="submit" name="action" value={ "remove-group-" (g) }
                        aria-label={ "Remove group " (n) } { "Remove" }
                }
            }
            @if g == 0 && !group.holdout {
                p.hint.group-note { "The reference the others are measured against, unless another group is the holdout." }
            }
            div.inline-fields {
                (errors.input(Input {
                    hint: Some("a-z, 0-9, _ and -; shown in the figures and the API."),
                    grow: true,
                    ..Input::new(&format!("g{g}-name"), &format!("g.{g}.name"), "Group name", &group.name)
                }))
                (errors.input(Input {
                    hint: Some("Percent of shoppers."),
                    numeric: true,
                    ..Input::new(&format!("g{g}-share"), &format!("g.{g}.share"), "Share (%)", &group.share)
                }))
            }
            div.check {
                input id=(holdout_id) type="checkbox" name={ "g." (g) ".holdout" } value="on" checked[group.holdout]
                    aria-invalid=[errors.invalid(&holdout_id)] aria-describedby=[errors.described_by(&holdout_id)];
                label for=(holdout_id) { "No email (the holdout): measures what comes back without any" }
            }
            (errors.beside(&holdout_id))
            @if !group.holdout {
                details.group-changes id=(emails_id) open[open] {
                    summary { "What this group's emails change" span.muted { " — blank keeps the shop's policy" } }
                    (errors.beside(&emails_id))
                    div.check {
                        input id=(sequence_id) type="checkbox" name={ "g." (g) ".sequence" } value="on" checked[group.sequence]
                            aria-invalid=[errors.invalid(&sequence_id)] aria-describedby=[errors.described_by(&sequence_id)];
                        label for=(sequence_id) { "A whole other sequence: these emails replace the shop's (add or remove emails)" }
                    }
                    (errors.beside(&sequence_id))
                    ol.steps {
                        @for (j, email) in group.emails.iter().enumerate() {
                            (email_card(g, j, email, group, choices, errors))
                        }
                    }
                    @if group.emails.len() < RecoveryPolicy::MAX_STEPS {
                        button.button.small type="submit" name="action" value={ "add-email-" (g) } { "Add an email (a whole other sequence)" }
                    }
                }
            }
        }
    }
}

fn render(signed: &SignedIn, form: &TestForm, choices: &Choices, errors: &FieldErrors) -> Markup {
    let count = form.groups.len();
    html! {
        div.page-header {
            div {
                p.breadcrumb { a href="/dashboard/experiments" { "Experiments" } " / " }
                h1 { "New A/B test" }
                p.muted { "Split abandoned carts between versions of the recovery emails and see which brings more carts back. Each shopper stays in one group. A group can also get no email at all: a holdout, to measure what the emails add." }
            }
        }
        (errors.summary())
        @if !signed.role.may_change_settings() {
            p.alert.info { "Your role (viewer) can look but not change experiments." }
        } @else {
            form.settings-form #ab-form method="post" action="/dashboard/experiments/new" novalidate {
                (csrf_field(signed))
                // The form's default button: Enter in a field creates rather
                // than removing the first group.
                button.visually-hidden type="submit" name="action" value="create" tabindex="-1" aria-hidden="true" { "Create" }
                section.card aria-labelledby="test-title" {
                    h2 #test-title { "The test" }
                    (errors.input(Input {
                        hint: Some("For you: 1 to 100 characters."),
                        ..Input::new("test-name", "name", "Name", &form.name)
                    }))
                }
                section.card aria-labelledby="groups-title" {
                    div.card-header {
                        h2 #groups-title { "Groups" }
                        p.muted { "2 to " (MAX_GROUPS) " groups whose shares add up to 100 %. Every group is measured against the first one, or against the holdout when there is one." }
                    }
                    div #groups { (errors.beside("groups")) }
                    ol.steps.groups {
                        @for (g, group) in form.groups.iter().enumerate() {
                            (group_card(g, group, count, choices, errors))
                        }
                    }
                    @if count < MAX_GROUPS {
                        button.button type="submit" name="action" value="add-group" { "Add a group" }
                    }
                }
                div.form-actions {
                    button.button.primary #create-test type="submit" name="action" value="create" { "Create draft" }
                    a.button href="/dashboard/experiments" { "Cancel" }
                }
            }
        }
    }
}

fn answer(
    status: StatusCode,
    signed: &SignedIn,
    form: &TestForm,
    choices: &Choices,
    errors: &FieldErrors,
) -> HttpResponse {
    section_page(
        status,
        signed,
        "New A/B test",
        "experiments",
        render(signed, form, choices, errors),
    )
}

/// `GET /dashboard/experiments/new`.
pub async fn new_test(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let choices = Choices::of(&dashboard, &signed).await?;
    let form = TestForm::new(&choices.policy);
    Ok(answer(
        StatusCode::OK,
        &signed,
        &form,
        &choices,
        &FieldErrors::default(),
    ))
}

/// A name no group of the form has yet: `variant-2`, `variant-3`, …
fn free_group_name(form: &TestForm) -> String {
    (2..)
        .map(|n| format!("variant-{n}"))
        .find(|name| form.groups.iter().all(|g| g.name.trim() != name))
        .unwrap_or_default()
}

/// `POST /dashboard/experiments/new`: create the draft, or add or remove a
/// group or an email (shown again, unsaved).
pub async fn submit_test(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (signed, fields) = signed_change(&dashboard, &request, form.into_inner()).await?;
    let choices = Choices::of(&dashboard, &signed).await?;
    let mut form = TestForm::from_fields(&fields);
    let action = fields.get("action").map(String::as_str).unwrap_or("create");
    let edited = |form: &TestForm| {
        Ok(answer(
            StatusCode::OK,
            &signed,
            form,
            &choices,
            &FieldErrors::default(),
        ))
    };
    if action == "add-group" {
        if form.groups.len() < MAX_GROUPS {
            let name = free_group_name(&form);
            form.groups
                .push(GroupForm::with_shop_emails(&name, "", &choices.policy));
        }
        return edited(&form);
    }
    if let Some(g) = action
        .strip_prefix("remove-group-")
        .and_then(|g| g.parse::<usize>().ok())
    {
        if g < form.groups.len() && form.groups.len() > 2 {
            form.groups.remove(g);
        }
        return edited(&form);
    }
    if let Some(group) = action
        .strip_prefix("add-email-")
        .and_then(|g| g.parse::<usize>().ok())
        .and_then(|g| form.groups.get_mut(g))
    {
        if group.emails.len() < RecoveryPolicy::MAX_STEPS {
            let shop_last = choices.policy.steps.last().map(|s| s.delay_ms);
            let last = group.emails.last().and_then(|e| {
                if e.delay_typed() {
                    e.delay.to_ms().ok()
                } else {
                    choices
                        .policy
                        .steps
                        .get(group.emails.len() - 1)
                        .map(|s| s.delay_ms)
                }
            });
            let delay = Duration::of_ms(last.or(shop_last).unwrap_or(3_600_000)).doubled();
            group.sequence = true;
            group.emails.push(EmailForm {
                delay,
                ..EmailForm::blank()
            });
        }
        return edited(&form);
    }
    if let Some((g, j)) = action
        .strip_prefix("remove-email-")
        .and_then(|rest| rest.split_once('-'))
        .and_then(|(g, j)| Some((g.parse::<usize>().ok()?, j.parse::<usize>().ok()?)))
    {
        if let Some(group) = form.groups.get_mut(g)
            && j < group.emails.len()
            && group.emails.len() > 1
        {
            group.sequence = true;
            group.emails.remove(j);
        }
        return edited(&form);
    }
    let (name, design) = match form.to_design(&choices.policy) {
        Ok(made) => made,
        Err(errors) => {
            return Ok(answer(
                StatusCode::UNPROCESSABLE_ENTITY,
                &signed,
                &form,
                &choices,
                &errors,
            ));
        }
    };
    let tenant_id = signed.tenant.id.clone();
    let row = dashboard
        .db(move |conn| create_experiment(conn, &tenant_id, &name, &design, Utc::now()))
        .await?
        .map_err(refusal_text)?;
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, experiment = %row.id, kind = row.kind.as_str(), "dashboard: experiment created");
    Ok(see_other(&format!("/dashboard/experiments/{}", row.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::fields::fields;

    fn policy() -> RecoveryPolicy {
        RecoveryPolicy::default()
    }

    #[test]
    fn a_fresh_form_is_the_shop_flow_against_an_unchanged_variant() {
        let (name, design) = TestForm {
            name: "Subject test".into(),
            ..TestForm::new(&policy())
        }
        .to_design(&policy())
        .unwrap();
        assert_eq!(name, "Subject test");
        assert_eq!(design.groups().len(), 2);
        assert!(design.groups().iter().all(|g| g.variant.is_empty()));
        assert_eq!(design.control().name, "reference");
    }

    #[test]
    fn a_posted_form_becomes_the_api_groups() {
        let posted = fields(&[
            ("name", " Coupon or not "),
            ("g.0.name", "holdout"),
            ("g.0.share", "10"),
            ("g.0.holdout", "on"),
            ("g.1.name", "reference"),
            ("g.1.share", "45"),
            ("g.1.e.0.delay", ""),
            ("g.1.e.0.delay_unit", "hours"),
            ("g.1.e.0.coupon_kind", "keep"),
            ("g.2.name", "curious"),
            ("g.2.share", "45"),
            ("g.2.e.0.delay", "30"),
            ("g.2.e.0.delay_unit", "minutes"),
            ("g.2.e.0.coupon_kind", "none"),
            ("g.2.e.0.subject", "Still thinking it over?"),
            ("g.2.e.0.body", "Line one\r\n\r\nLine two\r\n"),
            ("g.2.e.1.delay", ""),
            ("g.2.e.1.delay_unit", "hours"),
            ("g.2.e.1.template", "bold_banner"),
            ("g.2.e.1.coupon_kind", "static"),
            ("g.2.e.1.coupon", "BACK10"),
            ("g.2.e.2.delay", ""),
            ("g.2.e.2.delay_unit", "hours"),
            ("g.2.e.2.coupon_kind", "keep"),
        ]);
        let (name, design) = TestForm::from_fields(&posted).to_design(&policy()).unwrap();
        assert_eq!(name, "Coupon or not");
        let json = serde_json::to_value(design.groups()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"name": "holdout", "basisPoints": 1000, "holdout": true},
                {"name": "reference", "basisPoints": 4500, "holdout": false},
                {"name": "curious", "basisPoints": 4500, "holdout": false, "variant": {"steps": [
                    {"step": 0, "delayMs": 1_800_000, "noCoupon": true,
                     "copy": {"subject": "Still thinking it over?", "body": "Line one\n\nLine two"}},
                    {"step": 1, "template": "bold_banner", "coupon": {"kind": "static", "code": "BACK10"}}
                ]}}
            ])
        );
        assert_eq!(design.control().name, "holdout");
    }

    #[test]
    fn a_whole_sequence_keeps_what_is_left_blank() {
        let base = policy();
        let mut form = TestForm::new(&base);
        form.name = "Two emails".into();
        let group = &mut form.groups[1];
        group.sequence = true;
        group.emails.truncate(2);
        group.emails[1].delay = Duration {
            amount: "2".into(),
            unit: "days".into(),
        };
        group.emails[1].words[0] = "Last call".into();
        group.emails.push(EmailForm {
            delay: Duration {
                amount: "5".into(),
                unit: "days".into(),
            },
            template: "text_first".into(),
            ..EmailForm::blank()
        });
        let (_, design) = form.to_design(&base).unwrap();
        let variant = &design.groups()[1].variant;
        let sequence = variant.sequence.as_ref().unwrap();
        let delays: Vec<u64> = sequence.steps.iter().map(|s| s.delay_ms).collect();
        assert_eq!(delays, [base.steps[0].delay_ms, 172_800_000, 432_000_000]);
        assert_eq!(
            variant.apply(&base).settings_for(2).template.as_deref(),
            Some("text_first")
        );
        assert_eq!(variant.steps.len(), 1);
        assert_eq!(variant.steps[0].step, 1);
        assert!(variant.steps[0].delay_ms.is_none());
    }

    #[test]
    fn problems_land_beside_their_controls() {
        let base = policy();
        let mut form = TestForm::new(&base);
        form.groups[0].name = "Reference".into();
        let errors = form.to_design(&base).unwrap_err();
        assert!(
            errors.has("test-name") && errors.has("g0-name"),
            "{errors:?}"
        );
        let mut form = TestForm::new(&base);
        form.name = "Shares".into();
        form.groups[1].share = "40".into();
        let errors = form.to_design(&base).unwrap_err();
        assert!(errors.has("groups"), "{errors:?}");
        // The domain names a variant's first problem; each fix shows the next.
        let mut form = TestForm::new(&base);
        form.name = "Bad emails".into();
        let emails = &mut form.groups[1].emails;
        emails[0].words[0] = "a\u{7}b".into();
        emails[0].words[3] = " ".into();
        emails[1].delay = Duration {
            amount: "2".into(),
            unit: "minutes".into(),
        };
        emails[2].coupon_kind = "static".into();
        emails[2].coupon = "lower case".into();
        let errors = form.to_design(&base).unwrap_err();
        assert!(errors.has("g1-e0-subject"), "{errors:?}");
        form.groups[1].emails[0].words[0] = String::new();
        // Email 1 no longer changes anything: email 3's coupon is entry 1.
        let errors = form.to_design(&base).unwrap_err();
        assert!(errors.has("g1-e2-coupon"), "{errors:?}");
        form.groups[1].emails[2].coupon = "BACK10".into();
        let errors = form.to_design(&base).unwrap_err();
        assert!(errors.has("g1-e1-delay"), "{errors:?}");
        let mut form = TestForm::new(&base);
        form.name = "Holdout with words".into();
        form.groups[0].holdout = true;
        form.groups[0].emails[0].words[0] = "Hello".into();
        form.groups[1].share = "abc".into();
        let errors = form.to_design(&base).unwrap_err();
        assert!(
            errors.has("g0-holdout") && errors.has("g1-share"),
            "{errors:?}"
        );
        assert!(!errors.has("groups"), "{errors:?}");
    }

    #[test]
    fn paths_map_to_controls() {
        let cards = vec![vec![], vec![2, 4]];
        for (path, control) in [
            ("groups[1].basisPoints", "g1-share"),
            (
                "groups[1].variant.steps[1].copy.buttonText",
                "g1-e4-button-text",
            ),
            ("groups[1].variant.steps[0].noCoupon", "g1-e2-coupon-kind"),
            ("groups[1].variant.steps[0].coupon.code", "g1-e2-coupon"),
            ("groups[1].variant.steps[3].delayMs", "g1-e3-delay"),
            (
                "groups[1].variant.stepSettings[2].coupon.code",
                "g1-e2-coupon",
            ),
            ("groups[1].variant.sequence.steps[5].delayMs", "g1-e5-delay"),
            ("groups[1].variant.sequence.expireAfterMs", "g1-emails"),
            ("groups[1].variant.expireAfterMs", "g1-emails"),
            ("groups[1].variant.steps[0].step", "g1-sequence"),
            ("groups[0].variant", "g0-holdout"),
        ] {
            assert_eq!(control_of(path, &cards).as_deref(), Some(control), "{path}");
        }
        assert_eq!(control_of("groups", &cards), None);
    }
}
