//! Custom templates: validation errors that point at a line, the sandbox and
//! its limits, escaping.

use crate::common;

use std::time::{Duration, Instant};

use cartback_templates::{
    CustomTemplate, ErrorKind, MAX_TEMPLATE_BYTES, Part, TemplateError, render_custom,
    validate_custom,
};

/// The two links every email needs, in plain HTML.
const LINKS: &str =
    "<a href=\"{{ recovery_url }}\">Back</a> <a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>";

const MJML: &str = r#"<mjml>
<mj-body>
  <mj-section>
    <mj-column>
      <mj-text>{{ greeting }}</mj-text>
      {% for item in items %}
      <mj-text>{{ item.quantity }} × {{ item.name }}: {{ item.line_total }}</mj-text>
      {% endfor %}
      <mj-text>{{ copy.total }}: {{ total }}</mj-text>
      {% if coupon %}<mj-text>{{ coupon.line }}</mj-text>{% endif %}
      <mj-button href="{{ recovery_url }}" background-color="{{ brand_color }}" color="{{ brand_text_color }}">{{ copy.button_text }}</mj-button>
      <mj-text><a href="{{ unsubscribe_url }}">{{ copy.unsubscribe }}</a></mj-text>
    </mj-column>
  </mj-section>
</mj-body>
</mjml>
"#;

const TEXT: &str = "{{ greeting }}

{% for item in items %}
- {{ item.name }} ({{ copy.quantity }}: {{ item.quantity }}) {{ item.line_total }}
{% endfor %}

{{ copy.total }}: {{ total }}
{% if coupon %}{{ coupon.line }}{% endif %}

{{ recovery_url }}
{{ copy.unsubscribe }}: {{ unsubscribe_url }}
";

fn good() -> CustomTemplate {
    CustomTemplate {
        subject: "{{ customer_name | default('Hey') }}, your {{ shop_name }} cart".into(),
        html: MJML.into(),
        text: TEXT.into(),
    }
}

/// Every problem `validate_custom` finds.
fn errors_of(template: CustomTemplate) -> Vec<TemplateError> {
    validate_custom(&template)
        .expect_err("the template should be rejected")
        .errors
}

/// The first problem `validate_custom` finds.
fn error_of(template: CustomTemplate) -> TemplateError {
    errors_of(template).remove(0)
}

#[test]
fn a_good_template_validates_and_renders() {
    validate_custom(&good()).unwrap();
    let ctx = common::context("nl-NL", "EUR");
    let email = render_custom(&good(), &common::branding(), &ctx).unwrap();
    assert_eq!(email.subject, "Sam, your Acme Outfitters cart");
    assert!(email.html.starts_with("<!doctype html>"));
    assert!(!email.html.contains("<mj-"));
    assert!(email.html.contains(common::RECOVERY_URL_ESCAPED));
    assert!(
        email.html.contains("Trail boots: €\u{a0}1.299,00"),
        "{}",
        email.html
    );
    assert!(
        email
            .html
            .contains("Gebruik code WELCOME10 bij het afrekenen")
    );
    assert!(email.html.contains("background:#0f766e"));
    // trim_blocks: the loop leaves no blank lines in the text part.
    assert!(
        email
            .text
            .contains("- Linen shirt (Aantal: 2) €\u{a0}90,00\n- Trail boots"),
        "{}",
        email.text
    );
    assert!(email.text.contains(common::RECOVERY_URL));
}

#[test]
fn plain_html_is_used_as_is_and_escaped() {
    let template = CustomTemplate {
        html: format!(
            "<p>{{{{ greeting }}}}</p>{{% for item in items %}}<li>{{{{ item.name }}}}</li>{{% endfor %}}{LINKS}"
        ),
        ..good()
    };
    let mut ctx = common::context("en", "USD");
    ctx.customer_name = Some("<script>x</script>".into());
    ctx.items[0].name = "</li><img src=x onerror=alert(1)>".into();
    let email = render_custom(&template, &common::branding(), &ctx).unwrap();
    // A fragment is wrapped in a document with the language and the subject.
    assert!(
        email
            .html
            .contains("<body>\n<p>Hi &lt;script&gt;x&lt;/script&gt;,</p>"),
        "{}",
        email.html
    );
    assert!(
        email
            .html
            .starts_with("<!doctype html>\n<html lang=\"en\">")
    );
    assert!(
        email
            .html
            .contains("<title>&lt;script&gt;x&lt;/script&gt;, your Acme Outfitters cart</title>"),
        "{}",
        email.html
    );
    assert!(!email.html.contains("<img"));
    // The text part is not HTML: no escaping there.
    assert!(email.text.starts_with("Hi <script>x</script>,"));
}

#[test]
fn hostile_values_cannot_break_custom_mjml() {
    let mut ctx = common::context("en", "USD");
    ctx.items[0].name = "</mj-text></mj-column><mj-raw><script>alert(1)</script></mj-raw>".into();
    let email = render_custom(&good(), &common::branding(), &ctx).unwrap();
    assert!(!email.html.contains("<script"));
    assert!(email.html.contains("&lt;script&gt;"));
}

#[test]
fn missing_optional_values_print_as_nothing() {
    let template = CustomTemplate {
        subject: "Hi{{ customer_name }}!".into(),
        html: format!(
            "<p>[{{{{ coupon }}}}][{{{{ payment_link }}}}][{{{{ logo_url }}}}]</p>{LINKS}"
        ),
        text: "{{ items[0].image_url }}|{{ recovery_url }} {{ unsubscribe_url }}".into(),
    };
    let mut ctx = common::context("en", "USD");
    ctx.customer_name = None;
    ctx.coupon = None;
    ctx.payment_link = None;
    ctx.items[0].image_url = None;
    let email = render_custom(&template, &cartback_templates::Branding::new("A"), &ctx).unwrap();
    assert_eq!(email.subject, "Hi!");
    assert!(email.html.contains("<p>[][][]</p>"), "{}", email.html);
    assert!(email.text.starts_with("|https://"), "{}", email.text);
}

#[test]
fn the_subject_is_one_line() {
    let template = CustomTemplate {
        subject: "  {{ shop_name }}\n\n   says\thello  ".into(),
        ..good()
    };
    let email = render_custom(
        &template,
        &common::branding(),
        &common::context("en", "USD"),
    )
    .unwrap();
    assert_eq!(email.subject, "Acme Outfitters says hello");
    let empty = CustomTemplate {
        subject: "{{ customer_name }}".into(),
        ..good()
    };
    // The bare sample has no customer name, so the subject would be empty.
    assert_eq!(error_of(empty).part, Part::Subject);
}

#[test]
fn syntax_errors_name_the_part_and_line() {
    let err = error_of(CustomTemplate {
        html: "<p>\n{{ greeting }}\n{% if coupon %}\n<b>x</b>\n".into(),
        ..good()
    });
    assert_eq!((err.part, err.kind), (Part::Html, ErrorKind::Syntax));
    assert!(err.line.is_some_and(|l| (3..=5).contains(&l)), "{err:?}");
    assert!(err.message.contains("syntax error"), "{err}");

    let err = error_of(CustomTemplate {
        subject: "{{ shop_name ".into(),
        ..good()
    });
    assert_eq!(
        (err.part, err.kind, err.line),
        (Part::Subject, ErrorKind::Syntax, Some(1))
    );

    let err = error_of(CustomTemplate {
        text: "one\ntwo\n{{ total | }}\n".into(),
        ..good()
    });
    assert_eq!((err.part, err.line), (Part::Text, Some(3)));
    // Formatted for a 422 body.
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!(json["part"], "text");
    assert_eq!(json["kind"], "syntax");
    assert_eq!(json["line"], 3);
    assert!(err.column.is_some(), "{err:?}");
    assert!(err.to_string().starts_with("text line 3, column "), "{err}");
    assert!(err.message.starts_with("syntax error"), "{err}");
}

#[test]
fn unknown_variables_are_named_with_their_line_and_a_suggestion() {
    let err = error_of(CustomTemplate {
        text: "Hello\n\n  {{ custmer_name }}\n".into(),
        ..good()
    });
    assert_eq!(
        (err.part, err.kind, err.line, err.column),
        (Part::Text, ErrorKind::UnknownVariable, Some(3), Some(6))
    );
    assert_eq!(
        err.to_string(),
        "text line 3, column 6: unknown variable `custmer_name` (did you mean `customer_name`?)"
    );

    // Caught in a branch the samples never take, in a loop's item, in a field
    // of an object, each once, each at its own line; names the template sets
    // itself and the engine's functions are fine.
    let html = format!(
        "<mjml><mj-body><mj-section><mj-column>\n\
         {{% if false %}}<mj-text>{{{{ shop_nme }}}}</mj-text>{{% endif %}}\n\
         {{% for item in items %}}<mj-text>{{{{ item.nme }}}} {{{{ loop.index }}}}</mj-text>{{% endfor %}}\n\
         {{% if coupon %}}<mj-text>{{{{ coupon.cod }}}}</mj-text>{{% endif %}}\n\
         {{% set greeting_line = greeting ~ '!' %}}<mj-text>{{{{ greeting_line }}}} {{{{ shop_nme }}}}</mj-text>\n\
         {{% for n in range(2) %}}<mj-text>{{{{ n }}}} {{{{ banana }}}}</mj-text>{{% endfor %}}\n\
         <mj-text>{{{{ items.name }}}} {{{{ copy.button_txt }}}}</mj-text>\n\
         <mj-text>{LINKS}</mj-text></mj-column></mj-section></mj-body></mjml>"
    );
    let errors = errors_of(CustomTemplate { html, ..good() });
    let found: Vec<(Option<u32>, &str)> = errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                Some(2),
                "unknown variable `shop_nme` (did you mean `shop_name`?)"
            ),
            (Some(3), "`item` has no field `nme` (did you mean `name`?)"),
            (
                Some(4),
                "`coupon` has no field `cod` (did you mean `code`?)"
            ),
            (Some(6), "unknown variable `banana`"),
            (
                Some(7),
                "`items` is a list and has no field `name`: loop over it (`{% for item in items %}…{{ item.name }}…{% endfor %}`)"
            ),
            (
                Some(7),
                "`copy` has no field `button_txt` (did you mean `button_text`?)"
            ),
        ],
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .all(|e| e.part == Part::Html && e.kind == ErrorKind::UnknownVariable)
    );

    let err = error_of(CustomTemplate {
        html: format!("<p>\n{{{{ total | shout }}}}</p>{LINKS}"),
        ..good()
    });
    assert_eq!((err.part, err.line), (Part::Html, Some(2)));
    assert!(
        err.message.contains("shout") || err.message.contains("filter"),
        "{err}"
    );
}

#[test]
fn every_failing_part_is_reported_at_once() {
    let errors = errors_of(CustomTemplate {
        subject: "{{ shop_nme }}".into(),
        html: "<p>{{ greeting }}</p><a href=\"{{ recovery_url }}\">Back</a>".into(),
        text: "{{ greeting }}\n{% if coupon %}".into(),
    });
    let parts: Vec<(Part, ErrorKind)> = errors.iter().map(|e| (e.part, e.kind)).collect();
    assert_eq!(
        parts,
        vec![
            (Part::Subject, ErrorKind::UnknownVariable),
            (Part::Html, ErrorKind::MissingLink),
            (Part::Text, ErrorKind::Syntax),
        ],
        "{errors:?}"
    );
    let all = validate_custom(&CustomTemplate {
        subject: "{{ shop_nme }}".into(),
        ..good()
    })
    .unwrap_err();
    assert_eq!(all.errors.len(), 1);
}

#[test]
fn the_recovery_and_unsubscribe_links_are_required() {
    let message_of = |html: &str, text: &str| -> Vec<(Part, String)> {
        match validate_custom(&CustomTemplate {
            html: html.into(),
            text: text.into(),
            ..good()
        }) {
            Ok(()) => Vec::new(),
            Err(all) => all
                .errors
                .into_iter()
                .map(|e| {
                    assert_eq!(e.kind, ErrorKind::MissingLink, "{e}");
                    (e.part, e.to_string())
                })
                .collect(),
        }
    };
    let text = "{{ recovery_url }} {{ unsubscribe_url }}";
    assert_eq!(message_of(&format!("<p>x</p>{LINKS}"), text), vec![]);
    // Neither link in either part: four problems, each named.
    let missing = message_of("<p>{{ greeting }}</p>", "{{ greeting }}");
    assert_eq!(missing.len(), 4, "{missing:?}");
    assert_eq!(
        missing[1],
        (
            Part::Html,
            "html: the unsubscribe link is missing: every recovery email needs a visible <a href=\"{{ unsubscribe_url }}\">…</a> (or an mj-button with that href)".to_owned()
        )
    );
    assert_eq!(
        missing[3],
        (
            Part::Text,
            "text: the unsubscribe link is missing: every recovery email needs {{ unsubscribe_url }} in its text".to_owned()
        )
    );
    // The URL as text only, a link with nothing to click, a link in a comment.
    for (html, says) in [
        (
            "<a href=\"{{ recovery_url }}\">Back</a> {{ unsubscribe_url }}",
            "`{{ unsubscribe_url }}` is there but not as a link",
        ),
        (
            "<a href=\"{{ recovery_url }}\">Back</a> <a href=\"{{ unsubscribe_url }}\"> &nbsp;</a>",
            "the unsubscribe link has no visible text",
        ),
        (
            "<a href=\"{{ recovery_url }}\">Back</a> <!-- <a href=\"{{ unsubscribe_url }}\">x</a> -->",
            "the unsubscribe link is missing",
        ),
    ] {
        let found = message_of(html, text);
        assert_eq!(found.len(), 1, "{html}: {found:?}");
        assert!(found[0].1.contains(says), "{html}: {found:?}");
    }
    // Only shown with a coupon: the sample without one catches it.
    let found = message_of(
        "<a href=\"{{ recovery_url }}\">Back</a>{% if coupon %}<a href=\"{{ unsubscribe_url }}\">Stop</a>{% endif %}",
        text,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .1
            .ends_with("(for a cart without a customer name, coupon or payment link)"),
        "{found:?}"
    );
    // An MJML button, a picture as the link, a query added: all fine.
    assert_eq!(
        message_of(
            "<mjml><mj-body><mj-section><mj-column><mj-button href=\"{{ recovery_url }}\">Back</mj-button>\
             <mj-image src=\"https://x.test/u.png\" href=\"{{ unsubscribe_url }}&utm_source=email\" alt=\"Unsubscribe\" />\
             </mj-column></mj-section></mj-body></mjml>",
            text
        ),
        vec![]
    );
    // Rendering checks them too: a template saved before the rule is refused.
    let err = render_custom(
        &CustomTemplate {
            html: "<p>{{ greeting }}</p>".into(),
            ..good()
        },
        &common::branding(),
        &common::context("en", "USD"),
    )
    .unwrap_err();
    assert_eq!((err.part, err.kind), (Part::Html, ErrorKind::MissingLink));
}

#[test]
fn the_html_gets_lang_and_title_unless_it_has_its_own() {
    let ctx = common::context("nl-NL", "EUR");
    let subject = "{{ shop_name }} & jij".to_owned();
    let render = |html: String| {
        render_custom(
            &CustomTemplate {
                subject: subject.clone(),
                html,
                ..good()
            },
            &common::branding(),
            &ctx,
        )
        .unwrap()
        .html
    };
    let mjml = render(MJML.to_owned());
    assert!(mjml.contains("<html lang=\"nl-NL\""), "{mjml}");
    assert!(
        mjml.contains("<title>Acme Outfitters &amp; jij</title>"),
        "{mjml}"
    );
    let own = render(MJML.replace(
        "<mjml>",
        "<mjml lang=\"nl-BE\"><mj-head><mj-title>Mijn titel</mj-title></mj-head>",
    ));
    assert!(own.contains("<html lang=\"nl-BE\""), "{own}");
    assert!(own.contains("<title>Mijn titel</title>"), "{own}");
    let document = render(format!(
        "<!doctype html><html lang=\"fy\"><head></head><body>{LINKS}</body></html>"
    ));
    assert!(
        document
            .contains("<html lang=\"fy\"><head><title>Acme Outfitters &amp; jij</title></head>"),
        "{document}"
    );
    let fragment = render(format!("<p>Hoi</p>{LINKS}"));
    assert!(
        fragment.starts_with("<!doctype html>\n<html lang=\"nl-NL\">"),
        "{fragment}"
    );
    assert!(
        fragment.contains("<title>Acme Outfitters &amp; jij</title>"),
        "{fragment}"
    );
}

#[test]
fn invalid_mjml_points_at_the_template_line() {
    // An element left open.
    let html = "<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-text>{{ greeting }}\n</mj-column>\n</mj-section>\n</mj-body>\n</mjml>\n";
    let err = error_of(CustomTemplate {
        html: html.into(),
        ..good()
    });
    assert_eq!((err.part, err.kind), (Part::Html, ErrorKind::Markup));
    assert_eq!(err.line, Some(5), "{err}");
    assert_eq!(err.message, "invalid MJML: <mj-text> is never closed");

    // The line is that of the template, even after a loop made the output
    // longer than the source.
    let html = "<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n{% for i in items %}\n<mj-text>{{ i.name }}</mj-text>\n{% endfor %}\n<mj-column>\n</mj-section>\n</mj-body>\n</mjml>\n";
    let err = error_of(CustomTemplate {
        html: html.into(),
        ..good()
    });
    assert_eq!((err.kind, err.line), (ErrorKind::Markup, Some(8)), "{err}");

    // A broken attribute, after expanded variables.
    let html = "<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-text>{{ copy.body }}</mj-text>\n<mj-button href=\"{{ recovery_url }}>Go</mj-button>\n</mj-column>\n</mj-section>\n</mj-body>\n</mjml>\n";
    let err = error_of(CustomTemplate {
        html: html.into(),
        ..good()
    });
    assert_eq!(err.kind, ErrorKind::Markup, "{err}");
    assert!(err.message.contains("malformed markup"), "{err}");
    assert!(err.line.is_some_and(|l| l >= 6), "{err}");
}

#[test]
fn nothing_outside_the_template_can_be_reached() {
    for (html, what) in [
        ("{% include 'secrets.html' %}", "include"),
        ("{% extends 'base.html' %}", "extends"),
        ("{% import 'macros.html' as m %}", "import"),
        ("{% macro x() %}{% endmacro %}", "macro"),
    ] {
        let err = error_of(CustomTemplate {
            html: html.into(),
            ..good()
        });
        assert_eq!(
            (err.part, err.kind),
            (Part::Html, ErrorKind::Syntax),
            "{what}: {err}"
        );
    }
    let err = error_of(CustomTemplate {
        html: "<mjml><mj-body><mj-include path=\"/etc/passwd\" /></mj-body></mjml>".into(),
        ..good()
    });
    assert_eq!(
        (err.part, err.kind),
        (Part::Html, ErrorKind::Markup),
        "{err}"
    );
    assert!(err.message.contains("mj-include"), "{err}");
}

#[test]
fn oversized_parts_are_rejected_before_compiling() {
    let big = "x".repeat(MAX_TEMPLATE_BYTES + 1);
    for part in [Part::Subject, Part::Html, Part::Text] {
        let mut template = good();
        match part {
            Part::Subject => template.subject = big.clone(),
            Part::Html => template.html = big.clone(),
            _ => template.text = big.clone(),
        }
        let err = error_of(template.clone());
        assert_eq!((err.part, err.kind), (part, ErrorKind::Limit));
        let err = render_custom(
            &template,
            &common::branding(),
            &common::context("en", "USD"),
        )
        .unwrap_err();
        assert_eq!((err.part, err.kind), (part, ErrorKind::Limit));
    }
    let at_limit = CustomTemplate {
        text: format!("{TEXT}{}", "x".repeat(MAX_TEMPLATE_BYTES - TEXT.len())),
        ..good()
    };
    assert!(validate_custom(&at_limit).is_ok());
}

/// A small MJML source can render to megabytes of HTML (every section becomes
/// nested tables): refused at save, and at render time with a real cart whose
/// many lines the samples did not have.
#[test]
fn mjml_that_renders_too_large_is_refused() {
    let section =
        "<mj-section><mj-column><mj-text>{{ greeting }}</mj-text></mj-column></mj-section>";
    let many = |count: usize| -> String {
        format!(
            "<mjml><mj-body>{}<mj-section><mj-column><mj-text><a href=\"{{{{ recovery_url }}}}\">x</a> \
             <a href=\"{{{{ unsubscribe_url }}}}\">y</a></mj-text></mj-column></mj-section></mj-body></mjml>",
            section.repeat(count)
        )
    };
    // Inside the source limit, and inside the limit before MJML.
    let source = many(600);
    assert!(source.len() < MAX_TEMPLATE_BYTES, "{}", source.len());
    let err = error_of(CustomTemplate {
        html: source,
        ..good()
    });
    assert_eq!(
        (err.part, err.kind),
        (Part::Html, ErrorKind::Limit),
        "{err}"
    );
    assert!(err.message.contains("rendered from the MJML"), "{err}");

    // A loop per line passes with the samples' few lines, not with 400.
    let per_line = format!(
        "<mjml><mj-body>{{% for item in items %}}{}{{% endfor %}}<mj-section><mj-column><mj-text>\
         <a href=\"{{{{ recovery_url }}}}\">x</a> <a href=\"{{{{ unsubscribe_url }}}}\">y</a>\
         </mj-text></mj-column></mj-section></mj-body></mjml>",
        section.repeat(2)
    );
    let template = CustomTemplate {
        html: per_line,
        ..good()
    };
    validate_custom(&template).unwrap();
    let mut ctx = common::context("en", "USD");
    let line = ctx.items[0].clone();
    ctx.items = (0..400)
        .map(|i| {
            let mut item = line.clone();
            item.id = format!("sku-{i}");
            item
        })
        .collect();
    ctx.total_minor = 400 * line.unit_price_minor * i64::from(line.quantity);
    let err = render_custom(&template, &common::branding(), &ctx).unwrap_err();
    assert_eq!(
        (err.part, err.kind),
        (Part::Html, ErrorKind::Limit),
        "{err}"
    );
}

#[test]
fn runaway_templates_stop_quickly() {
    let cases = [
        // Ten billion iterations.
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}",
        // Output that doubles until it is huge.
        "{% set s = 'xxxxxxxxxxxxxxxx' %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{{ s }}",
        // One huge repetition.
        "{{ 'x' * 100000000 }}",
        // Lots of output.
        "{% for i in range(100000) %}{{ 'abcdefghij' * 10 }}{% endfor %}",
    ];
    for source in cases {
        let started = Instant::now();
        let err = error_of(CustomTemplate {
            text: source.into(),
            ..good()
        });
        assert_eq!(
            (err.part, err.kind),
            (Part::Text, ErrorKind::Limit),
            "{source}: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{source} took {:?}",
            started.elapsed()
        );
    }
    let err = error_of(CustomTemplate {
        text: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
            .into(),
        ..good()
    });
    assert!(err.message.contains("too much work"), "{err}");
}

#[test]
fn rendering_checks_the_context_too() {
    let mut ctx = common::context("en", "USD");
    ctx.unsubscribe_url = "javascript:void(0)".into();
    let err = render_custom(&good(), &common::branding(), &ctx).unwrap_err();
    assert_eq!((err.part, err.kind), (Part::Context, ErrorKind::Invalid));
}

#[test]
fn custom_templates_round_trip_as_camel_case_json() {
    let json = serde_json::to_value(good()).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 3);
    assert!(json["html"].as_str().unwrap().starts_with("<mjml>"));
    let back: CustomTemplate = serde_json::from_value(json).unwrap();
    assert_eq!(back, good());
    assert!(good().is_mjml());
    assert!(
        !CustomTemplate {
            html: "<p>hi</p>".into(),
            ..good()
        }
        .is_mjml()
    );
}

/// `step` counts from 1, as the merchant reads "email 1, 2, 3": the first
/// email of the sequence (index 0 of the policy's steps) shows 1.
#[test]
fn the_step_variable_counts_from_one() {
    let numbered = CustomTemplate {
        subject: "Reminder {{ step }}{% if step == 1 %} (first){% endif %}".into(),
        ..good()
    };
    validate_custom(&numbered).unwrap();
    let mut ctx = common::context("en", "EUR");
    let subjects: Vec<String> = (0..3)
        .map(|index| {
            ctx.step = index;
            render_custom(&numbered, &common::branding(), &ctx)
                .unwrap()
                .subject
        })
        .collect();
    assert_eq!(subjects, ["Reminder 1 (first)", "Reminder 2", "Reminder 3"]);
}
