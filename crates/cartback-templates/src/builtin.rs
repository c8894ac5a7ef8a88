//! Rendering a built-in design.

use crate::branding::{Branding, StepCopy};
use crate::context::{EmailContext, RenderedEmail};
use crate::design::Design;
use crate::error::{ErrorKind, Part, TemplateError};
use crate::mjml::{self, HeadDefaults, MjmlError};
use crate::text::plain_text;
use crate::view::View;

/// Renders `design` for `ctx` with the tenant's `branding` and, when given, the
/// merchant's words for this step (`copy`), which win over the built-in copy.
///
/// Fails only on bad input: an invalid branding (see [`Branding::validate`]), a
/// recovery or unsubscribe URL that is not http(s), a line total that
/// overflows. Every shopper and merchant value is escaped.
pub fn render_builtin(
    design: Design,
    branding: &Branding,
    copy: Option<&StepCopy>,
    ctx: &EmailContext,
) -> Result<RenderedEmail, TemplateError> {
    let view = View::build(branding, copy, ctx)?;
    let source = design.mjml(&view);
    // The designs set both already; the defaults are the same values.
    let defaults = HeadDefaults {
        lang: &view.lang,
        title: &view.subject,
    };
    let html = mjml::to_html(&source, defaults).map_err(|e| {
        // The designs are ours and every value in them is escaped, so this is a
        // bug, not bad input; say so rather than blame the caller.
        let detail = match e {
            MjmlError::Parse { message, .. } => message,
            MjmlError::Render(message) => message,
        };
        TemplateError::new(
            Part::Html,
            ErrorKind::Markup,
            format!("built-in design {design} produced invalid MJML: {detail}"),
        )
    })?;
    Ok(RenderedEmail {
        subject: view.subject.clone(),
        html,
        text: plain_text(&view, design != Design::TextFirst),
    })
}
