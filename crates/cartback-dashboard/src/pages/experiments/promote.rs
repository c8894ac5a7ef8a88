//! Promoting a group of an A/B test into the recovery policy, behind a
//! confirmation that says what the policy becomes. The rules are the
//! domain's `promotion`, which `POST /api/v1/experiments/{id}/promote` also
//! follows: a holdout has nothing to promote; a group that is not clearly
//! better than the control (its interval spans zero or lies below it) may be
//! promoted only when the merchant insists, as the API's `force`.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::html;

use cartback_domain::{
    GroupTally, PromotionRefusal, RecoveryPolicy, Variant, Verdict, experiment_report, promotion,
};
use cartback_store::experiments::{
    ExperimentRow, ExperimentStatus, PromotionBase, experiment_with_tallies, promote_winner,
};

use super::ab_test::{coupon_text, template_text};
use super::{DETECTABLE_LIFT, interval_text, points, refusal_text};
use crate::Dashboard;
use crate::error::PageError;
use crate::layout::csrf_field;
use crate::pages::duration::Duration;
use crate::pages::{checked_id, language_name, section_page, see_other, stored_experience};
use crate::session::{SignedIn, check_change, signed_in};

#[derive(Debug, serde::Deserialize)]
pub struct PromoteQuery {
    group: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct PromoteForm {
    csrf: Option<String>,
    #[serde(default)]
    group: String,
    /// Present when the merchant confirmed promoting a group that is not
    /// clearly better.
    force: Option<String>,
}

async fn load(
    dashboard: &Dashboard,
    signed: &SignedIn,
    id: &str,
) -> Result<(ExperimentRow, BTreeMap<String, GroupTally>), PageError> {
    let id = checked_id(id)?.to_owned();
    let window = signed.tenant.recovery_policy()?.attribution_window();
    let tenant_id = signed.tenant.id.clone();
    dashboard
        .db(move |conn| experiment_with_tallies(conn, &tenant_id, &id, window))
        .await?
        .ok_or(PageError::NotFound)
}

fn refused(refusal: PromotionRefusal) -> PageError {
    match refusal {
        PromotionRefusal::Holdout => PageError::Conflict(
            "A holdout has no emails of its own to promote: it measures the flow as it is."
                .to_owned(),
        ),
        PromotionRefusal::UnknownGroup => PageError::NotFound,
        PromotionRefusal::NoLongerFits(problem) => PageError::Conflict(format!(
            "This group's emails no longer fit the recovery policy as it is now ({problem}). Change the policy on the Recovery page instead."
        )),
    }
}

/// What the recovery policy becomes, email by email, in words.
fn policy_changes(old: &RecoveryPolicy, new: &RecoveryPolicy) -> Vec<String> {
    let mut changes = Vec::new();
    let after = |ms: u64| Duration::of_ms(ms).describe();
    for i in 0..old.steps.len().max(new.steps.len()) {
        let n = i + 1;
        let (was, will) = (old.settings_for(i as u32), new.settings_for(i as u32));
        match (old.steps.get(i), new.steps.get(i)) {
            (Some(before), Some(now)) => {
                if before.delay_ms != now.delay_ms {
                    changes.push(format!(
                        "Email {n} is sent after {} instead of {}.",
                        after(now.delay_ms),
                        after(before.delay_ms)
                    ));
                }
                if was.template != will.template {
                    changes.push(format!(
                        "Email {n} uses the {} instead of the {}.",
                        template_text(will.template.as_deref()),
                        template_text(was.template.as_deref())
                    ));
                }
                if was.coupon != will.coupon {
                    changes.push(format!(
                        "Email {n} offers {} instead of {}.",
                        coupon_text(will.coupon.as_ref()),
                        coupon_text(was.coupon.as_ref())
                    ));
                }
            }
            (None, Some(now)) => changes.push(format!(
                "A new email {n}, sent after {}, with the {} and {}.",
                after(now.delay_ms),
                template_text(will.template.as_deref()),
                coupon_text(will.coupon.as_ref())
            )),
            (Some(before), None) => changes.push(format!(
                "Email {n} (after {}) is no longer sent.",
                after(before.delay_ms)
            )),
            (None, None) => {}
        }
    }
    changes
}

/// The words the variant writes into the shop's own, in `locale`.
fn word_changes(variant: &Variant, locale: &str) -> Vec<String> {
    let language = language_name(locale);
    let mut changes = Vec::new();
    for change in &variant.steps {
        let Some(copy) = &change.copy else { continue };
        let n = change.step + 1;
        let words = [
            ("subject", &copy.subject),
            ("preview text", &copy.preheader),
            ("headline", &copy.headline),
            ("body", &copy.body),
            ("button text", &copy.button_text),
        ];
        for (label, word) in words {
            let Some(word) = word else { continue };
            let shown: String = word.chars().take(120).collect();
            let ellipsis = if word.chars().count() > 120 {
                "…"
            } else {
                ""
            };
            changes.push(format!(
                "Email {n}'s {label} in {language} becomes “{shown}{ellipsis}”."
            ));
        }
    }
    changes
}

/// `GET /dashboard/experiments/{id}/promote?group=…`: what promoting the
/// group changes, and whether it is a winner.
pub async fn promote_form(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    query: web::Query<PromoteQuery>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let (row, tallies) = load(&dashboard, &signed, &id).await?;
    let group = query.group.clone().unwrap_or_default();
    if row.status == ExperimentStatus::Draft {
        return Err(PageError::Conflict(
            "A draft has no results: start the test, and promote a group once it has run."
                .to_owned(),
        ));
    }
    let design = row.design()?;
    let policy = signed.tenant.recovery_policy()?;
    let plan = promotion(&design, &tallies, &group, &policy).map_err(refused)?;
    let control = design.control().name.clone();
    let lift = experiment_report(&design, &tallies, DETECTABLE_LIFT)
        .into_iter()
        .find(|r| r.group == group)
        .and_then(|r| r.comparison.conversion)
        .map(|c| c.absolute);
    let experience = stored_experience(&signed.tenant);
    let mut changes = policy_changes(&policy, &plan.policy);
    changes.extend(word_changes(plan.variant, experience.words_locale()));
    let may_change = signed.role.may_change_settings();
    let lift_text = lift.map(|l| {
        format!(
            "{} (95 % interval {})",
            points(l.estimate),
            interval_text(l.interval, points)
        )
    });
    let body = html! {
        div.page-header {
            div {
                p.breadcrumb {
                    a href="/dashboard/experiments" { "Experiments" } " / "
                    a href={ "/dashboard/experiments/" (row.id) } { (row.name) } " / "
                }
                h1 { "Promote " (group) "?" }
            }
        }
        section.card.narrow-left #promote-card aria-labelledby="promote-title" {
            h2 #promote-title { "What the result says" }
            @match plan.verdict {
                None => p #promote-verdict { strong { (group) } " is the reference: promoting it keeps the shop's emails as they are and closes the test." },
                Some(Verdict::Better) => p.alert.success #promote-verdict {
                    strong { (group) } " is clearly better than " (control) ": "
                    (lift_text.clone().unwrap_or_default()) ", the whole interval above zero."
                },
                Some(verdict) => div.alert.warning #promote-verdict role="alert" {
                    p { strong { "No winner: " (group) " is not clearly better than " (control) "." } }
                    p {
                        @match &lift_text {
                            Some(text) => { "Its lift is " (text) ", " (if verdict == Verdict::Worse { "below zero: it did worse." } else { "which spans zero: the data fit no difference at all, or a difference either way." }) },
                            None => "There is no interval yet: a group has no carts.",
                        }
                    }
                    p { "Promoting it now is a guess, not a finding. You can still do it, deliberately." }
                }
            }
            h2 { "What changes in the recovery policy" }
            @if changes.is_empty() {
                p #promote-changes { "Nothing: the emails stay as they are." }
            } @else {
                ul.plain-list #promote-changes {
                    @for change in &changes { li { (change) } }
                }
            }
            p.muted.small {
                @if row.status == ExperimentStatus::Running { "The test stops: carts abandoned from now on are not assigned. " }
                "Carts already in a group keep the emails of their group. Everything else in the policy stays; you can change it later on the Recovery page."
            }
            @if may_change {
                form.confirm-actions method="post" action={ "/dashboard/experiments/" (row.id) "/promote" } {
                    (csrf_field(&signed))
                    input type="hidden" name="group" value=(group);
                    @if plan.needs_force() {
                        input type="hidden" name="force" value="on";
                        button.button.danger.solid #confirm-promote type="submit" { "Promote anyway" }
                    } @else {
                        button.button.primary #confirm-promote type="submit" { "Promote " (group) }
                    }
                    a.button href={ "/dashboard/experiments/" (row.id) } { "Cancel" }
                }
            } @else {
                p.alert.info { "Your role (viewer) can look but not change experiments." }
            }
        }
    };
    Ok(section_page(
        StatusCode::OK,
        &signed,
        &format!("Promote {group}"),
        "experiments",
        body,
    ))
}

/// `POST /dashboard/experiments/{id}/promote`: the group's emails become the
/// shop's, and the test stops with it as the winner.
pub async fn promote(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<PromoteForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    check_change(&request, &dashboard, &signed, form.csrf.as_deref())?;
    let (row, tallies) = load(&dashboard, &signed, &id).await?;
    let design = row.design()?;
    let policy = signed.tenant.recovery_policy()?;
    let group = form.group.clone();
    let plan = promotion(&design, &tallies, &group, &policy).map_err(refused)?;
    let force = form.force.is_some();
    if plan.needs_force() && !force {
        return Err(PageError::Conflict(format!(
            "{group} is not clearly better than the control: confirm on the promotion page to promote it anyway."
        )));
    }
    let mut experience = stored_experience(&signed.tenant);
    let experience = if experience.adopt_variant_words(plan.variant) {
        Some(serde_json::to_string(&experience).map_err(|_| PageError::Internal)?)
    } else {
        None
    };
    let forced = plan.needs_force();
    let new_policy = plan.policy;
    let tenant_id = signed.tenant.id.clone();
    let experiment_id = row.id.clone();
    let winner = group.clone();
    let based_on = (
        signed.tenant.policy.clone(),
        signed.tenant.experience.clone(),
    );
    let row = dashboard
        .db(move |conn| {
            let base = PromotionBase {
                policy: &based_on.0,
                experience: &based_on.1,
            };
            promote_winner(
                conn,
                &tenant_id,
                &experiment_id,
                &winner,
                base,
                &new_policy,
                experience.as_deref(),
                Utc::now(),
            )
        })
        .await?
        .map_err(refusal_text)?;
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, experiment = %row.id, group = %group, forced, "dashboard: experiment winner promoted into the policy");
    Ok(see_other(&format!("/dashboard/experiments/{}", row.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartback_domain::{CouponRule, RecoveryStep, StepSettings, StepVariant, VariantCopy};

    #[test]
    fn the_changes_read_email_by_email() {
        let old = RecoveryPolicy::default();
        let mut new = old.clone();
        new.steps[0] = RecoveryStep::after(1_800_000);
        new.step_settings = vec![StepSettings {
            template: Some("bold_banner".into()),
            coupon: Some(CouponRule::Static {
                code: "BACK10".into(),
            }),
        }];
        new.steps.pop();
        let changes = policy_changes(&old, &new);
        assert_eq!(
            changes,
            [
                "Email 1 is sent after 30 minutes instead of 1 hour.",
                "Email 1 uses the Bold banner instead of the shop default design.",
                "Email 1 offers code BACK10 instead of no coupon.",
                "Email 3 (after 3 days) is no longer sent.",
            ]
        );
        assert!(policy_changes(&old, &old).is_empty());
        let variant = Variant {
            sequence: None,
            steps: vec![StepVariant {
                step: 1,
                copy: Some(VariantCopy {
                    subject: Some("Still there?".into()),
                    ..VariantCopy::default()
                }),
                ..StepVariant::default()
            }],
        };
        assert_eq!(
            word_changes(&variant, "nl"),
            ["Email 2's subject in Dutch becomes “Still there?”."]
        );
    }
}
