//! Custom templates: validation errors that point at a line, the sandbox and
//! its limits, escaping.

use crate::common;

use std::time::{Duration, Instant};

use cartback_templates::{
    CustomTemplate, ErrorKind, MAX_TEMPLATE_BYTES, Part, TemplateError, render_custom,
    validate_custom,
};

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

fn error_of(template: CustomTemplate) -> TemplateError {
    validate_custom(&template).expect_err("the template should be rejected")
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
        html: "<p>{{ greeting }}</p>{% for item in items %}<li>{{ item.name }}</li>{% endfor %}"
            .into(),
        ..good()
    };
    let mut ctx = common::context("en", "USD");
    ctx.customer_name = Some("<script>x</script>".into());
    ctx.items[0].name = "</li><img src=x onerror=alert(1)>".into();
    let email = render_custom(&template, &common::branding(), &ctx).unwrap();
    assert!(
        email
            .html
            .starts_with("<p>Hi &lt;script&gt;x&lt;/script&gt;,</p>"),
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
        html: "<p>[{{ coupon }}][{{ payment_link }}][{{ logo_url }}]</p>".into(),
        text: "{{ items[0].image_url }}|".into(),
    };
    let mut ctx = common::context("en", "USD");
    ctx.customer_name = None;
    ctx.coupon = None;
    ctx.payment_link = None;
    ctx.items[0].image_url = None;
    let email = render_custom(&template, &cartback_templates::Branding::new("A"), &ctx).unwrap();
    assert_eq!(email.subject, "Hi!");
    assert_eq!(email.html, "<p>[][][]</p>");
    assert_eq!(email.text, "|");
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
    assert!(
        err.to_string().starts_with("text, line 3: syntax error"),
        "{err}"
    );
}

#[test]
fn unknown_variables_and_filters_are_caught_with_their_line() {
    let err = error_of(CustomTemplate {
        text: "Hello\n\n{{ custmer_name }}\n".into(),
        ..good()
    });
    assert_eq!(
        (err.part, err.kind, err.line),
        (Part::Text, ErrorKind::Render, Some(3))
    );
    assert!(err.message.contains("undefined"), "{err}");

    let err = error_of(CustomTemplate {
        html: "<p>\n{{ total | shout }}</p>".into(),
        ..good()
    });
    assert_eq!((err.part, err.line), (Part::Html, Some(2)));
    assert!(
        err.message.contains("shout") || err.message.contains("filter"),
        "{err}"
    );
}

#[test]
fn unguarded_optional_values_fail_validation() {
    // Fine with a coupon, but the sample without one catches it.
    let err = error_of(CustomTemplate {
        text: "{{ greeting }}\nUse {{ coupon.code }}\n".into(),
        ..good()
    });
    assert_eq!((err.part, err.line), (Part::Text, Some(2)));
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
        let err = validate_custom(&template).unwrap_err();
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
        text: "x".repeat(MAX_TEMPLATE_BYTES),
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
