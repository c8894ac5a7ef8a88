//! `/api/v1/experiments`: holdouts and A/B tests on the recovery flow, and
//! what their groups' carts say (docs/api/experiments.md). Secret key only;
//! another tenant's experiment is a 404 like a missing one.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use serde_json::Value;

use cartback_domain::{
    Comparison, ExperimentDesign, ExperimentGroup, GroupTally, PromotionRefusal, RecoveryPolicy,
    SampleSize, Verdict, experiment_name, experiment_report, promotion,
};
use cartback_store::StoreError;
use cartback_store::experiments::{
    ExperimentRefusal, ExperimentRow, PromotionBase, create_experiment, experiment_with_tallies,
    list_experiments, promote_winner, start_experiment, stop_experiment,
};
use cartback_store::tenants::find_tenant;
use cartback_store::view::time;
use cartback_templates::Experience;

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::input::Problems;
use crate::input::body::object_body;
use crate::input::fields::{boolean, query_map, unknown_fields};
use crate::state::AppState;

/// The lift the sample size plans for when the request names none: two
/// percentage points.
const DEFAULT_DETECTABLE_LIFT: f64 = 0.02;

/// An experiment and where it stands.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ExperimentView)]
pub(crate) struct ExperimentView {
    id: String,
    name: String,
    /// `holdout` or `ab`.
    kind: String,
    /// `draft`, `running` or `stopped`.
    status: String,
    #[schema(value_type = Vec<request::ExperimentGroup>)]
    groups: Vec<ExperimentGroup>,
    /// The group compared against: the holdout, or the first group.
    control: String,
    /// The group whose variant was promoted into the policy.
    #[schema(required = true)]
    winner: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(required = true, format = DateTime)]
    started_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    stopped_at: Option<String>,
}

fn experiment_view(row: &ExperimentRow) -> ExperimentView {
    let control = row
        .groups
        .iter()
        .find(|g| g.holdout)
        .or(row.groups.first())
        .map(|g| g.name.clone())
        .unwrap_or_default();
    ExperimentView {
        id: row.id.clone(),
        name: row.name.clone(),
        kind: row.kind.as_str().to_owned(),
        status: row.status.as_str().to_owned(),
        groups: row.groups.clone(),
        control,
        winner: row.winner.clone(),
        created_at: time(row.created_at),
        started_at: row.started_at.map(time),
        stopped_at: row.stopped_at.map(time),
    }
}

/// One experiment: `success` beside its fields.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Experiment {
    success: bool,
    #[serde(flatten)]
    experiment: ExperimentView,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ExperimentList {
    success: bool,
    /// Newest first.
    data: Vec<ExperimentView>,
}

/// One group measured against the control group.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupResult {
    group: String,
    /// The figures of `compare` (docs/experiments.md): each group's carts,
    /// recovered carts, conversion rate and revenue per cart per currency;
    /// the absolute and relative lift, incremental recovered carts and
    /// revenue, each with its 95 % interval and verdict. Absent figures are
    /// null.
    #[schema(value_type = Object)]
    comparison: Comparison,
    /// `better`, `worse` or `inconclusive`: the absolute lift's verdict.
    /// No winner while it is inconclusive.
    #[schema(value_type = String)]
    verdict: Verdict,
    /// Carts each side needs to detect `detectableLift` (null when the
    /// control group has no rate yet, or the lift cannot be planned).
    #[schema(required = true, value_type = Option<Object>)]
    sample_size: Option<SampleSize>,
    /// What is still missing of `sampleSize`.
    #[schema(required = true, value_type = Option<Object>)]
    still_needed: Option<SampleSize>,
}

/// An experiment with its figures.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExperimentResults {
    success: bool,
    #[serde(flatten)]
    experiment: ExperimentView,
    /// The absolute lift the sample sizes plan for.
    detectable_lift: f64,
    /// Every group's carts and recoveries, by group name.
    #[schema(value_type = Object)]
    tallies: BTreeMap<String, GroupCounts>,
    /// Each group other than the control, against the control.
    results: Vec<GroupResult>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupCounts {
    carts: u64,
    recovered: u64,
}

fn no_experiment() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such experiment")
}

fn refused(refusal: ExperimentRefusal) -> ApiError {
    match refusal {
        ExperimentRefusal::NotFound => no_experiment(),
        ExperimentRefusal::TooMany => ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a tenant may have at most {} experiments",
                cartback_store::experiments::MAX_EXPERIMENTS
            ),
        ),
        ExperimentRefusal::AnotherRunning(id) => ApiError::new(
            ErrorCode::Conflict,
            format!("experiment {id} is running: stop it first (one experiment runs at a time)"),
        ),
        ExperimentRefusal::SettingsChanged => ApiError::new(
            ErrorCode::Conflict,
            "the recovery settings changed while the promotion was worked out: send it again",
        ),
        ExperimentRefusal::WrongStatus(status) => ApiError::new(
            ErrorCode::Conflict,
            format!("the experiment is {}", status.as_str()),
        ),
    }
}

fn name_field(body: &serde_json::Map<String, Value>, problems: &mut Problems) -> Option<String> {
    match body.get("name") {
        Some(Value::String(name)) => match experiment_name(name) {
            Ok(name) => Some(name),
            Err(error) => {
                problems.add("name", error.message);
                None
            }
        },
        None | Some(Value::Null) => {
            problems.add("name", "is required");
            None
        }
        Some(_) => {
            problems.add("name", "must be a string");
            None
        }
    }
}

fn design_field(
    body: &serde_json::Map<String, Value>,
    policy: &RecoveryPolicy,
    problems: &mut Problems,
) -> Option<ExperimentDesign> {
    let Some(groups) = body.get("groups").filter(|v| !v.is_null()) else {
        problems.add(
            "groups",
            "is required: 2 to 10 groups whose basisPoints add up to 10000",
        );
        return None;
    };
    let groups: Vec<ExperimentGroup> = match serde_json::from_value(groups.clone()) {
        Ok(groups) => groups,
        Err(error) => {
            problems.add("groups", format!("not a list of groups: {error}"));
            return None;
        }
    };
    let found = ExperimentDesign::problems(&groups, policy);
    if found.is_empty() {
        return ExperimentDesign::new(groups, policy).ok();
    }
    for error in found {
        problems.add(
            error.field.unwrap_or_else(|| "groups".into()),
            error.message,
        );
    }
    None
}

/// `POST /api/v1/experiments` → 201, a draft.
#[utoipa::path(
    post,
    path = "/api/v1/experiments",
    tag = "experiments",
    operation_id = "createExperiment",
    summary = "Make a draft holdout or A/B test",
    request_body = request::NewExperiment,
    responses(
        (status = 201, description = "The draft experiment", body = Experiment),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: the tenant has the most experiments it may have", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field (`groups[1].basisPoints`)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = object_body(&state, &request, payload, false).await?;
    let mut problems = Problems::default();
    unknown_fields(&body, &["name", "groups"], &mut problems);
    let policy = caller.tenant.recovery_policy()?;
    let name = name_field(&body, &mut problems);
    let design = design_field(&body, &policy, &mut problems);
    let (Some(name), Some(design), true) = (name, design, problems.is_empty()) else {
        return Err(ApiError::validation(problems.0));
    };
    let tenant_id = caller.tenant.id.clone();
    let row = state
        .db(move |conn| create_experiment(conn, &tenant_id, &name, &design, Utc::now()))
        .await?
        .map_err(refused)?;
    Ok(HttpResponse::Created().json(Experiment {
        success: true,
        experiment: experiment_view(&row),
    }))
}

/// `GET /api/v1/experiments`, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/experiments",
    tag = "experiments",
    operation_id = "listExperiments",
    summary = "Every experiment of the tenant, newest first",
    responses(
        (status = 200, description = "The experiments, without figures", body = ExperimentList),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .db(move |conn| list_experiments(conn, &caller.tenant.id))
        .await?;
    Ok(HttpResponse::Ok().json(ExperimentList {
        success: true,
        data: rows.iter().map(experiment_view).collect(),
    }))
}

/// The figures of every group against the control.
pub(crate) fn results(
    row: &ExperimentRow,
    tallies: &BTreeMap<String, GroupTally>,
    detectable_lift: f64,
) -> Result<Vec<GroupResult>, ApiError> {
    let design = row.design()?;
    Ok(experiment_report(&design, tallies, detectable_lift)
        .into_iter()
        .map(|report| GroupResult {
            group: report.group,
            comparison: report.comparison,
            verdict: report.verdict,
            sample_size: report.sample_size,
            still_needed: report.still_needed,
        })
        .collect())
}

/// `GET /api/v1/experiments/{id}` with its figures.
#[utoipa::path(
    get,
    path = "/api/v1/experiments/{id}",
    tag = "experiments",
    operation_id = "getExperiment",
    summary = "One experiment with each group's figures against the control",
    params(
        ("id" = String, Path, description = "The experiment id (`exp_…`)"),
        ("detectableLift" = Option<f64>, Query, description = "The absolute lift the sample sizes plan for, a fraction above 0 and at most 0.5 (default 0.02: two percentage points)", minimum = 0.0001, maximum = 0.5),
    ),
    responses(
        (status = 200, description = "The experiment and its figures", body = ExperimentResults),
        (status = 404, description = "NOT_FOUND: no such experiment for this tenant", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: a query parameter is out of range", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let query = query_map(request.query_string(), &mut problems);
    let detectable_lift = match query.get("detectableLift") {
        None => DEFAULT_DETECTABLE_LIFT,
        Some(text) => match text.parse::<f64>() {
            Ok(lift) if (0.0001..=0.5).contains(&lift) => lift,
            _ => {
                problems.add("detectableLift", "must be a number from 0.0001 to 0.5");
                DEFAULT_DETECTABLE_LIFT
            }
        },
    };
    problems.check()?;
    let id = id.into_inner();
    let window = caller.tenant.recovery_policy()?.attribution_window();
    let tenant_id = caller.tenant.id.clone();
    let (row, tallies) = state
        .db(move |conn| experiment_with_tallies(conn, &tenant_id, &id, window))
        .await?
        .ok_or_else(no_experiment)?;
    Ok(HttpResponse::Ok().json(ExperimentResults {
        success: true,
        experiment: experiment_view(&row),
        detectable_lift,
        results: results(&row, &tallies, detectable_lift)?,
        tallies: tallies
            .iter()
            .map(|(name, t)| {
                (
                    name.clone(),
                    GroupCounts {
                        carts: t.carts,
                        recovered: t.recovered,
                    },
                )
            })
            .collect(),
    }))
}

macro_rules! transition {
    ($name:ident, $store:ident, $path:literal, $op:literal, $summary:literal, $conflict:literal) => {
        #[utoipa::path(
            post,
            path = $path,
            tag = "experiments",
            operation_id = $op,
            summary = $summary,
            params(("id" = String, Path, description = "The experiment id (`exp_…`)")),
            responses(
                (status = 200, description = "The experiment", body = Experiment),
                (status = 404, description = "NOT_FOUND: no such experiment for this tenant", body = crate::error::ErrorEnvelope),
                (status = 409, description = $conflict, body = crate::error::ErrorEnvelope),
                crate::error::SecretKeyErrors,
            )
        )]
        pub async fn $name(
            state: web::Data<AppState>,
            SecretCaller(caller): SecretCaller,
            id: web::Path<String>,
        ) -> Result<HttpResponse, ApiError> {
            let id = id.into_inner();
            let row = state
                .db(move |conn| $store(conn, &caller.tenant.id, &id, Utc::now()))
                .await?
                .map_err(refused)?;
            tracing::info!(experiment = %row.id, status = row.status.as_str(), "experiment status changed");
            Ok(HttpResponse::Ok().json(Experiment {
                success: true,
                experiment: experiment_view(&row),
            }))
        }
    };
}

transition!(
    start,
    start_experiment,
    "/api/v1/experiments/{id}/start",
    "startExperiment",
    "Start a draft: carts abandoned from now on are assigned to its groups",
    "CONFLICT: the experiment is not a draft, or another experiment of the tenant runs"
);
transition!(
    stop,
    stop_experiment,
    "/api/v1/experiments/{id}/stop",
    "stopExperiment",
    "Stop a running experiment: no more carts are assigned; assigned carts keep their group",
    "CONFLICT: the experiment is not running"
);

/// `POST /api/v1/experiments/{id}/promote` `{"group": "b", "force": false}`.
#[utoipa::path(
    post,
    path = "/api/v1/experiments/{id}/promote",
    tag = "experiments",
    operation_id = "promoteExperimentWinner",
    summary = "Write a group's variant into the recovery policy and stop the experiment",
    params(("id" = String, Path, description = "The experiment id (`exp_…`)")),
    request_body = request::PromoteWinner,
    responses(
        (status = 200, description = "The experiment, stopped, with its winner", body = Experiment),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such experiment for this tenant", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: a draft, a holdout, or a group whose lift over the control is not clearly better (unless `force`)", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `group` is missing or not a group of the experiment, or the variant no longer fits the policy", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn promote(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = object_body(&state, &request, payload, false).await?;
    let mut problems = Problems::default();
    unknown_fields(&body, &["group", "force"], &mut problems);
    let force = boolean(&body, "force", &mut problems).unwrap_or(false);
    let group = match body.get("group") {
        Some(Value::String(group)) => Some(group.clone()),
        None | Some(Value::Null) => {
            problems.add("group", "is required");
            None
        }
        Some(_) => {
            problems.add("group", "must be a string");
            None
        }
    };
    let (Some(group), true) = (group, problems.is_empty()) else {
        return Err(ApiError::validation(problems.0));
    };
    let id = id.into_inner();
    // The settings as stored now, not as the auth cache holds them: the
    // promotion is worked out from them and written only if they still are.
    let tenant_id = caller.tenant.id.clone();
    let (tenant, found) = state
        .db(move |conn| -> Result<_, StoreError> {
            let tenant = find_tenant(conn, &tenant_id)?.ok_or(StoreError::NotFound)?;
            let window = tenant.recovery_policy()?.attribution_window();
            let found = experiment_with_tallies(conn, &tenant_id, &id, window)?;
            Ok((tenant, found))
        })
        .await?;
    let policy = tenant.recovery_policy()?;
    let (row, tallies) = found.ok_or_else(no_experiment)?;
    let design = row.design()?;
    let plan = promotion(&design, &tallies, &group, &policy).map_err(|refusal| match refusal {
        PromotionRefusal::Holdout => ApiError::new(ErrorCode::Conflict, refusal.to_string()),
        PromotionRefusal::UnknownGroup | PromotionRefusal::NoLongerFits(_) => {
            ApiError::validation(vec![crate::error::FieldError {
                field: "group".into(),
                message: refusal.to_string(),
            }])
        }
    })?;
    if plan.needs_force() && !force {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "{group} is not clearly better than the control (its interval spans zero or lies below): send \"force\": true to promote it anyway"
            ),
        ));
    }
    let forced = plan.needs_force();
    let mut experience: Experience =
        serde_json::from_str(&tenant.experience).map_err(ApiError::internal)?;
    let experience = if experience.adopt_variant_words(plan.variant) {
        Some(serde_json::to_string(&experience).map_err(ApiError::internal)?)
    } else {
        None
    };
    let new_policy = plan.policy;
    let tenant_id = caller.tenant.id.clone();
    let experiment_id = row.id.clone();
    let row = state
        .db(move |conn| {
            let base = PromotionBase {
                policy: &tenant.policy,
                experience: &tenant.experience,
            };
            promote_winner(
                conn,
                &tenant_id,
                &experiment_id,
                &group,
                base,
                &new_policy,
                experience.as_deref(),
                Utc::now(),
            )
        })
        .await?
        .map_err(refused)?;
    tracing::info!(experiment = %row.id, forced, "experiment winner promoted into the policy");
    Ok(HttpResponse::Ok().json(Experiment {
        success: true,
        experiment: experiment_view(&row),
    }))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    use crate::input::documented::{CouponRule, RecoveryStep, StepSettings};

    /// The words of one step's email an A/B variant replaces.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct VariantCopy {
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub subject: Option<String>,
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub preheader: Option<String>,
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub headline: Option<String>,
        /// Not blank; a blank line starts a paragraph.
        #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
        pub body: Option<String>,
        #[schema(
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub button_text: Option<String>,
    }

    /// What a variant changes in one step; what it leaves out stays the shop's.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct StepVariant {
        /// The step (0-based); the sequence must have it.
        #[schema(minimum = 0, maximum = 9)]
        pub step: u32,
        /// Must keep the sequence's delays increasing.
        #[schema(minimum = 1, maximum = 31_536_000_000_u64)]
        pub delay_ms: Option<u64>,
        #[schema(
            pattern = "^(minimal|product_grid|bold_banner|text_first|custom:[A-Za-z0-9_-]{1,64})$"
        )]
        pub template: Option<String>,
        pub coupon: Option<CouponRule>,
        /// No coupon in this step (not together with `coupon`).
        #[schema(nullable = false)]
        pub no_coupon: Option<bool>,
        pub copy: Option<VariantCopy>,
    }

    /// A whole sequence in place of the shop's.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct VariantSequence {
        #[schema(min_items = 1, max_items = 10)]
        pub steps: Vec<RecoveryStep>,
        #[schema(max_items = 10, nullable = false)]
        pub step_settings: Option<Vec<StepSettings>>,
    }

    /// What a group changes in the recovery flow; `{}` is the shop's own.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct Variant {
        pub sequence: Option<VariantSequence>,
        /// At most one entry per step.
        #[schema(max_items = 10, nullable = false)]
        pub steps: Option<Vec<StepVariant>>,
    }

    /// One group of an experiment.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct ExperimentGroup {
        /// Unique within the experiment.
        #[schema(pattern = "^[a-z0-9_-]{1,32}$")]
        pub name: String,
        /// Share of shoppers in hundredths of a percent; the groups' add up to 10000.
        #[schema(minimum = 1, maximum = 10000)]
        pub basis_points: u32,
        /// Gets no recovery email; at most one group, without a variant.
        #[schema(nullable = false)]
        pub holdout: Option<bool>,
        #[schema(nullable = false)]
        pub variant: Option<Variant>,
    }

    /// `name` and `groups` required; unknown fields are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct NewExperiment {
        #[schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub name: String,
        /// 2 to 10 groups whose `basisPoints` add up to 10000.
        #[schema(min_items = 2, max_items = 10)]
        pub groups: Vec<ExperimentGroup>,
    }

    /// Which group's variant becomes the policy.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct PromoteWinner {
        pub group: String,
        /// Promote even though the group is not clearly better than the control.
        pub force: Option<bool>,
    }
}
