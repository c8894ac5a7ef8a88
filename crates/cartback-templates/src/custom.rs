//! A tenant's own templates, rendered with minijinja in a sandbox.
//!
//! The sandbox: no loader, and the engine is built without `include`,
//! `extends`, `import` and macros, so a template can reach nothing but the
//! variables it is given. Each part is at most [`MAX_TEMPLATE_BYTES`], renders
//! at most [`MAX_OUTPUT_BYTES`] (the html part also once MJML made it HTML,
//! when the template is saved and whenever it is rendered), and every render runs on a fuel budget
//! ([`FUEL`]) that minijinja charges per instruction and per byte of data
//! produced, so loops and string blow-ups stop with an error instead of eating
//! the worker.
//!
//! Every email a template renders has the recovery link and the unsubscribe
//! link (checked on save and on every render), and its HTML says its language
//! and has the subject as its title.

use std::io;

use cartback_domain::CartItem;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, OutputSpanKind, Template, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::branding::Branding;
use crate::context::{EmailContext, RenderedEmail, sample_context};
use crate::error::{ErrorKind, Part, TemplateError, TemplateErrors};
use crate::escape::Html;
use crate::markup;
use crate::mjml::{self, HeadDefaults, MjmlError};
use crate::variables::{Shape, unknown_variables};
use crate::view::View;

/// Largest source of one part (subject, html or text): 64 KiB.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// Largest rendered output of one part: 512 KiB (Gmail clips at about 100 KB).
pub const MAX_OUTPUT_BYTES: usize = 512 * 1024;
/// Longest rendered subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 300;
/// Work budget of one part's render: one unit per instruction, one per 64
/// bytes of data produced. A typical email uses a few thousand.
pub const FUEL: u64 = 500_000;
const RECURSION_LIMIT: usize = 64;

/// Said of a problem only the sample without optional values shows.
const BARE_SAMPLE_NOTE: &str = " (for a cart without a customer name, coupon or payment link)";

/// A tenant's template for one locale. `html` is MJML when it starts with
/// `<mjml>`, else plain HTML. See the crate docs for the variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomTemplate {
    pub subject: String,
    pub html: String,
    pub text: String,
}

impl CustomTemplate {
    fn parts(&self) -> [(Part, &str); 3] {
        [
            (Part::Subject, self.subject.as_str()),
            (Part::Html, self.html.as_str()),
            (Part::Text, self.text.as_str()),
        ]
    }

    /// Whether the html part is MJML.
    pub fn is_mjml(&self) -> bool {
        self.html
            .trim_start()
            .get(..5)
            .is_some_and(|start| start.eq_ignore_ascii_case("<mjml"))
    }
}

/// Checks a template before it is saved, and reports every problem of every
/// part: each part compiles; names only variables (and fields) emails have,
/// in any branch; renders against two sample contexts (one with everything
/// set, one with no customer name, coupon, payment link or logo); the html
/// part is valid MJML when it claims to be; and the html part links to
/// `recovery_url` and `unsubscribe_url` with visible links while the text
/// part has both URLs. Each error names its part and, where it has one, the
/// line (and column) in that part's source.
///
/// ```
/// use cartback_templates::{CustomTemplate, ErrorKind, Part, validate_custom};
/// let ok = CustomTemplate {
///     subject: "{{ shop_name }}: your cart".into(),
///     html: "<p>{{ greeting }}</p><a href=\"{{ recovery_url }}\">Back</a>\n\
///            <a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>".into(),
///     text: "{{ greeting }}\n{{ recovery_url }}\nUnsubscribe: {{ unsubscribe_url }}".into(),
/// };
/// assert!(validate_custom(&ok).is_ok());
///
/// let broken = CustomTemplate {
///     subject: "{{ shop_nme }}".into(),
///     text: "line one\n{% for item in items %}".into(),
///     ..ok
/// };
/// let errors = validate_custom(&broken).unwrap_err().errors;
/// assert_eq!(errors[0].to_string(), "subject line 1, column 4: unknown variable `shop_nme` (did you mean `shop_name`?)");
/// assert_eq!((errors[1].part, errors[1].kind, errors[1].line), (Part::Text, ErrorKind::Syntax, Some(2)));
/// ```
pub fn validate_custom(template: &CustomTemplate) -> Result<(), TemplateErrors> {
    let env = environment();
    let (full, full_ctx) = full_sample();
    let known =
        known_variables(&full, &full_ctx).map_err(|e| TemplateErrors { errors: vec![e] })?;
    let mut errors = Vec::new();
    for (part, source) in template.parts() {
        if let Err(error) =
            check_size(part, source).and_then(|()| compile(&env, part, source).map(drop))
        {
            errors.push(error);
            continue;
        }
        errors.extend(unknown_variables(&env, part, source, &known));
    }
    let (bare, bare_ctx) = bare_sample();
    for (branding, ctx, note) in [(&full, &full_ctx, ""), (&bare, &bare_ctx, BARE_SAMPLE_NOTE)] {
        let Err(found) = render_all(&env, template, branding, ctx) else {
            continue;
        };
        // Once a part failed, the other sample's errors about it would only
        // repeat it; a missing link does not hide a render error, though.
        let fresh: Vec<TemplateError> = found
            .into_iter()
            .filter(|new| {
                !errors.iter().any(|old| {
                    old.part == new.part
                        && (old.kind != ErrorKind::MissingLink
                            || (new.kind == ErrorKind::MissingLink
                                && old.message.starts_with(&new.message)))
                })
            })
            .map(|mut error| {
                error.message.push_str(note);
                error
            })
            .collect();
        errors.extend(fresh);
    }
    // Subject, html, text: the order of the form.
    errors.sort_by_key(|e| match e.part {
        Part::Subject => 0,
        Part::Html => 1,
        Part::Text => 2,
        Part::Branding | Part::Context => 3,
    });
    if errors.is_empty() {
        Ok(())
    } else {
        Err(TemplateErrors { errors })
    }
}

/// Renders a tenant's template for `ctx`; the first problem when it cannot
/// (the same checks as [`validate_custom`], for this one cart).
pub fn render_custom(
    template: &CustomTemplate,
    branding: &Branding,
    ctx: &EmailContext,
) -> Result<RenderedEmail, TemplateError> {
    for (part, source) in template.parts() {
        check_size(part, source)?;
    }
    render_all(&environment(), template, branding, ctx).map_err(|mut errors| errors.remove(0))
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_debug(false);
    // Block tags on their own line leave no blank line behind, which keeps the
    // text part tidy. Building this config cannot fail (default delimiters).
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    // Printing a missing value fails; `{% if coupon %}` still works. (Names
    // no email has are caught before, on save.)
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_auto_escape_callback(|name| match name {
        "html" => AutoEscape::Html,
        _ => AutoEscape::None,
    });
    // A missing optional value prints as nothing rather than "none", and HTML
    // is escaped like in the built-in designs (minijinja would also turn every
    // "/" of a URL into "&#x2f;").
    env.set_formatter(|out, state, value| {
        if value.is_none() {
            Ok(())
        } else if matches!(state.auto_escape(), AutoEscape::Html) && !value.is_safe() {
            write!(out, "{}", Html(&value.to_string())).map_err(minijinja::Error::from)
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env
}

/// The variables every email has, and their fields: read off the sample with
/// everything set, so they cannot drift from [`Vars`].
fn known_variables(branding: &Branding, ctx: &EmailContext) -> Result<Shape, TemplateError> {
    let view = View::build(branding, None, ctx)?;
    Ok(Shape::of(&Value::from(Serde(Vars::new(&view, ctx)))))
}

fn check_size(part: Part, source: &str) -> Result<(), TemplateError> {
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateError::new(
            part,
            ErrorKind::Limit,
            format!(
                "the template is {} KiB; the limit is {} KiB",
                source.len().div_ceil(1024),
                MAX_TEMPLATE_BYTES / 1024
            ),
        ));
    }
    Ok(())
}

fn compile<'env, 's>(
    env: &'env Environment<'s>,
    part: Part,
    source: &'s str,
) -> Result<Template<'env, 's>, TemplateError> {
    env.template_from_named_str(part.as_str(), source)
        .map_err(|e| engine_error(part, source, &e))
}

/// A minijinja error as ours: its kind and detail, and where in `source`.
fn engine_error(part: Part, source: &str, error: &minijinja::Error) -> TemplateError {
    use minijinja::ErrorKind as Mk;
    let kind = match error.kind() {
        Mk::SyntaxError => ErrorKind::Syntax,
        Mk::OutOfFuel => ErrorKind::Limit,
        _ => ErrorKind::Render,
    };
    let failing = error
        .range()
        .and_then(|range| source.get(range))
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|text| !text.is_empty());
    let message = match (error.kind(), error.detail(), failing) {
        (Mk::OutOfFuel, _, _) => format!(
            "the template does too much work (stopped after a budget of {FUEL} steps); look for large or nested loops"
        ),
        (Mk::UndefinedError, _, Some(text)) => {
            format!("`{text}` has no value here; print an optional value inside {{% if … %}}")
        }
        (Mk::SyntaxError, Some(detail), _) => format!("{}: {detail}", Mk::SyntaxError),
        (kind, detail, failing) => {
            let what = detail.map_or_else(|| kind.to_string(), |d| format!("{kind}: {d}"));
            // The expression that failed, when it is short enough to quote.
            match failing.filter(|text| text.chars().count() <= 80) {
                Some(text) => format!("{what} (in `{text}`)"),
                None => what,
            }
        }
    };
    let located = TemplateError::new(part, kind, message);
    match error.range() {
        Some(range) if range.start <= source.len() => located.at_offset(source, range.start),
        _ => located.at_line(error.line()),
    }
}

/// An `io::Write` that refuses to grow past a limit.
struct Bounded {
    buf: Vec<u8>,
    overflowed: bool,
}

impl io::Write for Bounded {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buf.len() + bytes.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("output limit reached"));
        }
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn render_part(
    template: &Template<'_, '_>,
    part: Part,
    vars: &Value,
) -> Result<String, TemplateError> {
    let mut out = Bounded {
        buf: Vec::new(),
        overflowed: false,
    };
    if let Err(error) = template.render_captured_to(vars.clone(), &mut out) {
        if out.overflowed {
            return Err(TemplateError::new(
                part,
                ErrorKind::Limit,
                format!("the output is larger than {} KiB", MAX_OUTPUT_BYTES / 1024),
            ));
        }
        return Err(engine_error(part, template.source(), &error));
    }
    String::from_utf8(out.buf)
        .map_err(|_| TemplateError::new(part, ErrorKind::Render, "the output is not UTF-8"))
}

/// Renders every part for `ctx` and checks the result; every failing part's
/// problems when any fails.
fn render_all(
    env: &Environment<'_>,
    template: &CustomTemplate,
    branding: &Branding,
    ctx: &EmailContext,
) -> Result<RenderedEmail, Vec<TemplateError>> {
    let view = View::build(branding, None, ctx).map_err(|e| vec![e])?;
    let vars = Value::from(Serde(Vars::new(&view, ctx)));
    let subject = render_subject(env, &template.subject, &vars);
    let head = HeadDefaults {
        lang: &view.lang,
        // The built-in subject only stands in while the subject is broken
        // (and then nothing is sent).
        title: subject.as_deref().unwrap_or(&view.subject),
    };
    let html = render_html(env, template, &vars, head)
        .map_err(|e| vec![e])
        .and_then(|html| {
            let missing = missing_html_links(&html, ctx);
            if missing.is_empty() {
                Ok(html)
            } else {
                Err(missing)
            }
        });
    let text = compile(env, Part::Text, &template.text)
        .and_then(|compiled| render_part(&compiled, Part::Text, &vars))
        .map_err(|e| vec![e])
        .and_then(|text| {
            let missing = missing_text_links(&text, ctx);
            if missing.is_empty() {
                Ok(text)
            } else {
                Err(missing)
            }
        });
    match (subject, html, text) {
        (Ok(subject), Ok(html), Ok(text)) => Ok(RenderedEmail {
            subject,
            html,
            text,
        }),
        (subject, html, text) => Err(subject
            .err()
            .into_iter()
            .chain(html.err().into_iter().flatten())
            .chain(text.err().into_iter().flatten())
            .collect()),
    }
}

fn render_subject(
    env: &Environment<'_>,
    source: &str,
    vars: &Value,
) -> Result<String, TemplateError> {
    let compiled = compile(env, Part::Subject, source)?;
    let subject = render_part(&compiled, Part::Subject, vars)?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    if subject.is_empty() {
        return Err(TemplateError::new(
            Part::Subject,
            ErrorKind::Render,
            "the subject is empty",
        ));
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(TemplateError::new(
            Part::Subject,
            ErrorKind::Limit,
            format!("the subject is longer than {MAX_SUBJECT_CHARS} characters"),
        ));
    }
    Ok(subject)
}

/// The html part as a complete HTML document, with `head`'s language and
/// title where the template has none.
fn render_html(
    env: &Environment<'_>,
    template: &CustomTemplate,
    vars: &Value,
    head: HeadDefaults<'_>,
) -> Result<String, TemplateError> {
    let html_template = compile(env, Part::Html, &template.html)?;
    let rendered = render_part(&html_template, Part::Html, vars)?;
    let html = if template.is_mjml() {
        mjml::to_html(&rendered, head).map_err(|e| match e {
            MjmlError::Parse { message, position } => {
                let line = position.and_then(|p| source_line(&html_template, vars, p));
                TemplateError::new(Part::Html, ErrorKind::Markup, message).at_line(line)
            }
            MjmlError::Render(message) => TemplateError::new(
                Part::Html,
                ErrorKind::Markup,
                format!("MJML could not be rendered: {message}"),
            ),
        })?
    } else {
        markup::with_lang_and_title(&rendered, head.lang, head.title)
    };
    // MJML multiplies markup (a one-line section becomes a page of nested
    // tables), so a source well inside its limits can still render to
    // megabytes: the limit holds for what would be sent.
    if html.len() > MAX_OUTPUT_BYTES {
        return Err(TemplateError::new(
            Part::Html,
            ErrorKind::Limit,
            format!(
                "the HTML rendered from the MJML is {} KiB; the limit is {} KiB",
                html.len().div_ceil(1024),
                MAX_OUTPUT_BYTES / 1024
            ),
        ));
    }
    Ok(html)
}

/// The two links every recovery email has: (what, variable, URL in `ctx`).
fn required_links(ctx: &EmailContext) -> [(&'static str, &'static str, &str); 2] {
    [
        ("recovery", "recovery_url", ctx.recovery_url.as_str()),
        (
            "unsubscribe",
            "unsubscribe_url",
            ctx.unsubscribe_url.as_str(),
        ),
    ]
}

fn missing_link(part: Part, message: String) -> TemplateError {
    TemplateError::new(part, ErrorKind::MissingLink, message)
}

/// The required links `html` lacks: an `<a href>` (an `mj-button` or
/// `mj-image` with an href renders as one) to the URL, showing text or a
/// picture, outside comments.
fn missing_html_links(html: &str, ctx: &EmailContext) -> Vec<TemplateError> {
    let links = markup::links(html);
    let shown = markup::without_comments(html);
    required_links(ctx)
        .into_iter()
        .filter_map(|(what, variable, url)| {
            let to_url: Vec<&markup::Link> = links
                .iter()
                .filter(|link| markup::leads_to(&link.href, url))
                .collect();
            let message = if to_url.iter().any(|link| link.visible) {
                return None;
            } else if !to_url.is_empty() {
                format!(
                    "the {what} link has no visible text: put words between <a href=\"{{{{ {variable} }}}}\"> and </a>"
                )
            } else if shown.contains(url) || shown.contains(&Html(url).to_string()) {
                format!(
                    "`{{{{ {variable} }}}}` is there but not as a link: use it as the href, <a href=\"{{{{ {variable} }}}}\">…</a> (or an mj-button's href)"
                )
            } else {
                format!(
                    "the {what} link is missing: every recovery email needs a visible <a href=\"{{{{ {variable} }}}}\">…</a> (or an mj-button with that href)"
                )
            };
            Some(missing_link(Part::Html, message))
        })
        .collect()
}

/// The required links `text` lacks: the URL anywhere in it.
fn missing_text_links(text: &str, ctx: &EmailContext) -> Vec<TemplateError> {
    required_links(ctx)
        .into_iter()
        .filter(|(_, _, url)| !text.contains(url))
        .map(|(what, variable, _)| {
            missing_link(
                Part::Text,
                format!(
                    "the {what} link is missing: every recovery email needs {{{{ {variable} }}}} in its text"
                ),
            )
        })
        .collect()
}

/// The line of the template source that produced byte `position` of its output.
fn source_line(template: &Template<'_, '_>, vars: &Value, position: usize) -> Option<usize> {
    let (_, spans) = template.render_with_spans(vars.clone()).ok()?;
    let span = spans
        .iter()
        .find(|s| s.output_range().contains(&position))
        .or_else(|| {
            spans
                .iter()
                .rev()
                .find(|s| s.output_range().start <= position)
        })?;
    match span.kind() {
        OutputSpanKind::Raw => {
            let source = span.source_range();
            let offset = (source.start + (position - span.output_range().start)).min(source.end);
            let before = template.source().as_bytes().get(..offset)?;
            Some(1 + before.iter().filter(|b| **b == b'\n').count())
        }
        _ => Some(span.line()),
    }
}

/// The variables a custom template sees; documented in the README.
#[derive(Serialize)]
struct Vars<'a> {
    customer_name: Option<&'a str>,
    greeting: &'a str,
    items: Vec<ItemVars<'a>>,
    total: &'a str,
    total_minor: i64,
    currency: &'a str,
    coupon: Option<CouponVars<'a>>,
    recovery_url: &'a str,
    unsubscribe_url: &'a str,
    payment_link: Option<&'a str>,
    shop_name: &'a str,
    brand_color: &'a str,
    brand_text_color: &'a str,
    logo_url: Option<&'a str>,
    sender_name: &'a str,
    footer_address: Option<&'a str>,
    step: u32,
    locale: &'a str,
    copy: CopyVars<'a>,
}

#[derive(Serialize)]
struct ItemVars<'a> {
    id: &'a str,
    name: &'a str,
    quantity: u32,
    unit_price: &'a str,
    line_total: &'a str,
    unit_price_minor: i64,
    line_total_minor: i64,
    image_url: Option<&'a str>,
    url: Option<&'a str>,
}

#[derive(Serialize)]
struct CouponVars<'a> {
    code: &'a str,
    description: Option<&'a str>,
    /// "Use code X at checkout" in the shopper's language.
    line: String,
}

/// The built-in words, so custom templates can stay multilingual.
#[derive(Serialize)]
struct CopyVars<'a> {
    subject: &'a str,
    preheader: &'a str,
    headline: &'a str,
    body: String,
    button_text: &'a str,
    your_cart: &'a str,
    total: &'a str,
    quantity: &'a str,
    pay_now: &'a str,
    unsubscribe: &'a str,
    unsubscribe_lead: &'a str,
    reason: &'a str,
    signoff: &'a str,
}

impl<'a> Vars<'a> {
    fn new(view: &'a View, ctx: &'a EmailContext) -> Vars<'a> {
        Vars {
            customer_name: view.customer_name.as_deref(),
            greeting: &view.greeting,
            items: view
                .items
                .iter()
                .zip(&ctx.items)
                .map(|(item, source): (_, &'a CartItem)| ItemVars {
                    id: &source.id,
                    name: &item.name,
                    quantity: item.quantity,
                    unit_price: &item.unit_price,
                    line_total: &item.line_total,
                    unit_price_minor: item.unit_price_minor,
                    line_total_minor: item.line_total_minor,
                    image_url: item.image_url.as_deref(),
                    url: item.url.as_deref(),
                })
                .collect(),
            total: &view.total,
            total_minor: view.total_minor,
            currency: view.currency,
            coupon: view.coupon.as_ref().map(|c| CouponVars {
                code: &c.code,
                description: c.description.as_deref(),
                line: c.sentence(),
            }),
            recovery_url: &view.recovery_url,
            unsubscribe_url: &view.unsubscribe_url,
            payment_link: view.payment_link.as_deref(),
            shop_name: &view.shop_name,
            brand_color: view.brand.as_str(),
            brand_text_color: view.brand.text_color(),
            logo_url: view.logo_url.as_deref(),
            sender_name: &view.sender,
            footer_address: view.footer_address.as_deref(),
            // Counted from 1 like everywhere a merchant reads it ("email 1").
            step: view.step + 1,
            locale: &view.locale,
            copy: CopyVars {
                subject: &view.subject,
                preheader: &view.preheader,
                headline: &view.headline,
                body: view.paragraphs.join("\n\n"),
                button_text: &view.button,
                your_cart: view.labels.your_cart,
                total: view.labels.total,
                quantity: view.labels.quantity,
                pay_now: view.labels.pay_button,
                unsubscribe: view.labels.unsubscribe_link,
                unsubscribe_lead: view.labels.unsubscribe_lead,
                reason: &view.labels.reason,
                signoff: view.labels.signoff,
            },
        }
    }
}

/// Everything set: a name, a coupon, a payment link, a logo, pictures.
fn full_sample() -> (Branding, EmailContext) {
    let mut branding = Branding::new("Sample Shop");
    branding.logo_url = Some("https://shop.example/logo.png".to_owned());
    branding.sender_name = Some("Sam from Sample Shop".to_owned());
    branding.footer_address = Some("1 Example Street\n1000 Sampletown".to_owned());
    let mut ctx = sample_context("en-US");
    ctx.payment_link = Some("https://shop.example/pay/sample".to_owned());
    for item in &mut ctx.items {
        item.image_url = Some(format!("https://shop.example/images/{}.jpg", item.id));
    }
    (branding, ctx)
}

/// Nothing optional set, one item without links.
fn bare_sample() -> (Branding, EmailContext) {
    let mut ctx = sample_context("en-US");
    ctx.customer_name = None;
    ctx.coupon = None;
    ctx.payment_link = None;
    ctx.items.truncate(1);
    ctx.items[0].url = None;
    ctx.total_minor = ctx.items[0].unit_price_minor * i64::from(ctx.items[0].quantity);
    (Branding::new("Sample Shop"), ctx)
}
