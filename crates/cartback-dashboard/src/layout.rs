//! The page shell: head with the hashed assets, the navigation of every
//! section, the shop and the signed-in person.

use maud::{DOCTYPE, Markup, html};

use crate::assets;
use crate::session::SignedIn;

/// A section of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub slug: &'static str,
    pub title: &'static str,
    /// One line on what the section is for, shown while it is not built yet.
    pub purpose: &'static str,
    pub built: bool,
}

/// Every section of the dashboard, in navigation order.
pub const SECTIONS: &[Section] = &[
    Section {
        slug: "",
        title: "Overview",
        purpose: "Abandoned carts and recovered revenue at a glance.",
        built: true,
    },
    Section {
        slug: "carts",
        title: "Carts",
        purpose: "Every cart with filters and search, each with its items, customer and full timeline, and the actions: stop recovery, erase, copy the restore link, create a payment link.",
        built: true,
    },
    Section {
        slug: "recovery",
        title: "Recovery",
        purpose: "The recovery steps, caps, cooldown, minimum value, quiet hours, consent and attribution, with a live preview of every step.",
        built: true,
    },
    Section {
        slug: "emails",
        title: "Emails",
        purpose: "Branding and custom templates per language, with preview and a test send.",
        built: true,
    },
    Section {
        slug: "sending",
        title: "Sending",
        purpose: "The shop's name, sender, recovery URL and time zone, and the email provider with a test send.",
        built: true,
    },
    Section {
        slug: "webhooks",
        title: "Webhooks",
        purpose: "Webhook endpoints and their deliveries, with replay.",
        built: true,
    },
    Section {
        slug: "experiments",
        title: "Experiments",
        purpose: "Holdouts and A/B tests on the recovery flow, with each group's figures and the lift's interval.",
        built: true,
    },
    Section {
        slug: "suppressions",
        title: "Suppressions",
        purpose: "Addresses that never get a recovery email: list, search, add and remove.",
        built: true,
    },
    Section {
        slug: "developers",
        title: "Developers",
        purpose: "API keys, allowed origins, the tracker snippet and the Stripe integration.",
        built: true,
    },
    Section {
        slug: "team",
        title: "Team",
        purpose: "The people who can sign in to this shop's dashboard.",
        built: true,
    },
];

pub fn section(slug: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.slug == slug)
}

fn href(section: &Section) -> String {
    if section.slug.is_empty() {
        "/dashboard".to_owned()
    } else {
        format!("/dashboard/{}", section.slug)
    }
}

fn head(title: &str, with_chart: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="same-origin";
            title { (title) " · cartback" }
            link rel="icon" type="image/svg+xml" href=(assets::url("icon.svg"));
            link rel="stylesheet" href=(assets::url("modern-normalize.css"));
            @if with_chart {
                link rel="stylesheet" href=(assets::url("uPlot.min.css"));
            }
            // Before the main stylesheet: the browser test finds that one last.
            link rel="stylesheet" href=(assets::url("records.css"));
            link rel="stylesheet" href=(assets::url("dashboard.css"));
            @if with_chart {
                script src=(assets::url("uPlot.iife.min.js")) defer {}
            }
            script src=(assets::url("dashboard.js")) defer {}
            script src=(assets::url("copy.js")) defer {}
        }
    }
}

fn brand() -> Markup {
    html! {
        span.brand {
            img.brand-mark src=(assets::url("icon.svg")) alt="" width="28" height="28";
            span.brand-name { "cartback" }
        }
    }
}

/// A page without navigation: sign-in, errors.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, false))
            body.bare {
                main #main {
                    div.bare-brand { (brand()) }
                    (body)
                }
            }
        }
    }
}

/// Options of a signed-in page.
pub struct Page<'a> {
    pub title: &'a str,
    /// The slug of the section the page belongs to.
    pub section: &'a str,
    pub signed: &'a SignedIn,
    /// Loads the chart library.
    pub chart: bool,
}

/// A signed-in page with the navigation.
pub fn page(options: Page<'_>, body: Markup) -> Markup {
    let signed = options.signed;
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(options.title, options.chart))
            body.app {
                a.skip-link href="#main" { "Skip to content" }
                header.topbar {
                    a.topbar-home href="/dashboard" aria-label="cartback overview" { (brand()) }
                    span.shop-name { (signed.tenant.name) }
                    div.account {
                        span.account-email { (signed.user.email) }
                        span.badge.role { (signed.role.as_str()) }
                        form.inline method="post" action="/dashboard/logout" {
                            input type="hidden" name="csrf" value=(signed.session.csrf_token);
                            button.link-button type="submit" { "Sign out" }
                        }
                    }
                }
                div.shell {
                    nav.sidebar aria-label="Dashboard sections" {
                        ul {
                            @for item in SECTIONS {
                                li {
                                    @if item.slug == options.section {
                                        a.nav-link.current href=(href(item)) aria-current="page" { (item.title) }
                                    } @else {
                                        a.nav-link href=(href(item)) { (item.title) }
                                    }
                                }
                            }
                        }
                    }
                    main #main.content tabindex="-1" {
                        (body)
                    }
                }
            }
        }
    }
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf_field(signed: &SignedIn) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed.session.csrf_token); }
}
