//! Form problems shown beside their controls: each keyed by the control's id,
//! announced by a summary at the top that links to each control.

use std::collections::BTreeMap;

use maud::{Markup, html};

/// Form fields as posted: `name → value`, the last value of a name winning
/// (forms of variable shape, such as a policy's list of steps, are read as
/// pairs rather than into a struct).
pub type Fields = BTreeMap<String, String>;

pub fn fields_of(pairs: Vec<(String, String)>) -> Fields {
    pairs.into_iter().collect()
}

/// A field's value; empty when it was not sent.
pub fn text<'f>(fields: &'f Fields, name: &str) -> &'f str {
    fields.get(name).map(String::as_str).unwrap_or_default()
}

/// A field's trimmed value; None when it was not sent or is blank.
pub fn optional(fields: &Fields, name: &str) -> Option<String> {
    Some(text(fields, name).trim().to_owned()).filter(|v| !v.is_empty())
}

/// Fields from literal pairs, for tests.
#[cfg(test)]
pub fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A one-line input of a form: see [`FieldErrors::input`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Input<'a> {
    /// The control's id, which problems are keyed by.
    pub control: &'a str,
    pub name: &'a str,
    pub label: &'a str,
    /// `text`, `url`, `email`, `color`, `time`.
    pub kind: &'a str,
    pub value: &'a str,
    pub placeholder: Option<&'a str>,
    pub hint: Option<&'a str>,
    pub readonly: bool,
    /// A whole number: phones show the number pad.
    pub numeric: bool,
    /// Takes the free width of an inline row.
    pub grow: bool,
}

impl<'a> Input<'a> {
    pub fn new(control: &'a str, name: &'a str, label: &'a str, value: &'a str) -> Input<'a> {
        Input {
            control,
            name,
            label,
            kind: "text",
            value,
            ..Input::default()
        }
    }
}

/// Problems of one form submission, by control id (the first one per control).
#[derive(Debug, Default, Clone)]
pub struct FieldErrors {
    by_control: BTreeMap<String, String>,
    /// Problems no single control owns.
    general: Vec<String>,
}

impl FieldErrors {
    pub fn add(&mut self, control: impl Into<String>, message: impl Into<String>) {
        self.by_control
            .entry(control.into())
            .or_insert_with(|| message.into());
    }

    pub fn add_general(&mut self, message: impl Into<String>) {
        self.general.push(message.into());
    }

    pub fn has(&self, control: &str) -> bool {
        self.by_control.contains_key(control)
    }

    pub fn is_empty(&self) -> bool {
        self.by_control.is_empty() && self.general.is_empty()
    }

    /// `aria-describedby` of a control: its error when it has one.
    pub fn described_by(&self, control: &str) -> Option<String> {
        self.has(control).then(|| format!("{control}-error"))
    }

    /// `aria-invalid` of a control.
    pub fn invalid(&self, control: &str) -> Option<&'static str> {
        self.has(control).then_some("true")
    }

    /// The error under a control, if it has one.
    pub fn beside(&self, control: &str) -> Markup {
        html! {
            @if let Some(message) = self.by_control.get(control) {
                p.field-error id={ (control) "-error" } { (message) }
            }
        }
    }

    /// A labelled one-line input with its hint and its problem.
    pub fn input(&self, input: Input<'_>) -> Markup {
        let control = input.control;
        html! {
            div.field.grow[input.grow] {
                label for=(control) { (input.label) }
                input id=(control) type=(input.kind) name=(input.name) value=(input.value)
                    placeholder=[input.placeholder] readonly[input.readonly]
                    inputmode=[(input.kind == "text" && input.numeric).then_some("numeric")]
                    autocomplete="off"
                    aria-invalid=[self.invalid(control)] aria-describedby=[self.described_by(control)];
                @if let Some(hint) = input.hint { p.hint { (hint) } }
                (self.beside(control))
            }
        }
    }

    /// Every problem at the top of the form, each linking to its control.
    pub fn summary(&self) -> Markup {
        let count = self.by_control.len() + self.general.len();
        html! {
            @if count > 0 {
                div.alert.error role="alert" #form-errors {
                    p {
                        strong {
                            @if count == 1 { "One problem stopped the save:" }
                            @else { (count) " problems stopped the save:" }
                        }
                    }
                    ul.error-list {
                        @for message in &self.general { li { (message) } }
                        @for (control, message) in &self.by_control {
                            li { a href={ "#" (control) } { (message) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_problem_of_a_control_is_kept_and_linked() {
        let mut errors = FieldErrors::default();
        assert!(errors.is_empty());
        errors.add("step-1-delay", "must be longer");
        errors.add("step-1-delay", "second");
        assert_eq!(
            errors.described_by("step-1-delay").as_deref(),
            Some("step-1-delay-error")
        );
        assert_eq!(errors.invalid("time-zone"), None);
        let beside = errors.beside("step-1-delay").into_string();
        assert!(beside.contains("must be longer") && !beside.contains("second"));
        assert!(
            errors
                .summary()
                .into_string()
                .contains("href=\"#step-1-delay\"")
        );
    }
}
