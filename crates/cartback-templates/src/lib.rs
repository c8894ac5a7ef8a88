#![doc = include_str!("../README.md")]

mod branding;
mod builtin;
mod choice;
mod context;
mod copy;
mod custom;
mod design;
mod error;
mod escape;
mod experience;
mod locale;
mod markup;
mod mjml;
mod money;
mod preview;
mod step;
mod text;
mod url;
mod variables;
mod view;

pub use branding::{BrandColor, Branding, StepCopy};
pub use builtin::render_builtin;
pub use choice::{StepTemplate, custom_in_locale, custom_template_of, template_for_step};
pub use context::{Coupon, EmailContext, RenderedEmail, sample_context};
pub use copy::{BUILTIN_LOCALES, default_copy};
pub use custom::{
    CustomTemplate, FUEL, MAX_OUTPUT_BYTES, MAX_SUBJECT_CHARS, MAX_TEMPLATE_BYTES, render_custom,
    validate_custom,
};
pub use design::Design;
pub use error::{ErrorKind, Part, TemplateError, TemplateErrors};
pub use experience::Experience;
pub use locale::resolve_locale;
pub use money::format_money;
pub use preview::{Preview, PreviewOf, preview_context, render_preview};
pub use step::{Fallback, RenderedStep, render_step};
