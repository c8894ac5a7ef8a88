//! The layer every request passes through first: it names the request
//! (`X-Request-Id`, the caller's own when it is a sane token), applies the rate
//! limits (resolving a secret key first, so only real keys are counted per key
//! and failures are counted per client IP), runs the handler inside a `request` span so everything it logs
//! carries the id, then logs one line per request (method, route pattern,
//! status, duration, id: never a key, an email, a token-bearing path or a body),
//! counts it in the metrics, and echoes an allowed CORS origin.

use std::future::{Ready, ready};
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use tracing::Instrument;

use crate::auth::{Caller, resolve_key};
use crate::error::{ApiError, ErrorCode};
use crate::middleware::cors::AllowedOrigin;
use crate::middleware::metrics::{Metrics, UNMATCHED};
use crate::middleware::rate_limit::{
    Decision, RateLimiter, Subject, TrustedProxies, classify, client_ip, is_public_path,
};
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const MAX_REQUEST_ID: usize = 64;

/// The caller's id when it is 1–64 characters of letters, digits and `-_.:+/=`;
/// otherwise a fresh random one.
fn request_id(incoming: Option<&HeaderValue>) -> HeaderValue {
    if let Some(value) = incoming {
        let bytes = value.as_bytes();
        if !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:+/=".contains(b))
        {
            return value.clone();
        }
    }
    HeaderValue::from_str(&cartback_store::ids::random_id("req_", 22))
        .unwrap_or_else(|_| HeaderValue::from_static("req_unnamed"))
}

/// The middleware; wrap the whole app in it.
#[derive(Debug, Clone)]
pub struct RequestLayer {
    state: AppState,
}

impl RequestLayer {
    pub fn new(state: &AppState) -> RequestLayer {
        RequestLayer {
            state: state.clone(),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequestLayer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequestLayerService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestLayerService {
            service: Rc::new(service),
            state: self.state.clone(),
        }))
    }
}

pub struct RequestLayerService<S> {
    service: Rc<S>,
    state: AppState,
}

/// What the layer adds to every answer.
struct Finish {
    started: Instant,
    method: Method,
    id: HeaderValue,
    span: tracing::Span,
    decision: Option<Decision>,
    metrics: Arc<Metrics>,
    limiter: Arc<RateLimiter>,
    /// The client's address, as the rate limits see it.
    ip: IpAddr,
    /// This request's failed authentication was counted already.
    auth_counted: bool,
}

impl Finish {
    fn apply<B>(self, mut res: ServiceResponse<B>, route: Option<String>) -> ServiceResponse<B> {
        let origin = res
            .request()
            .extensions()
            .get::<AllowedOrigin>()
            .map(|o| o.0.clone());
        let headers = res.headers_mut();
        headers.insert(REQUEST_ID, self.id.clone());
        match &self.decision {
            Some(Decision::Allowed { limit, remaining }) => {
                headers.insert(LIMIT, limit.clone());
                headers.insert(REMAINING, remaining.clone());
            }
            Some(Decision::Limited {
                limit,
                retry_after_secs,
            }) => {
                headers.insert(LIMIT, limit.clone());
                headers.insert(REMAINING, HeaderValue::from_static("0"));
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            None => {}
        }
        if let Some(origin) = origin {
            add_cors(headers, origin);
        }
        let route = route.unwrap_or_else(|| UNMATCHED.to_owned());
        let status = res.status().as_u16();
        // No key, a wrong one, a bad metrics token: counted against the address.
        if status == 401 && !self.auth_counted {
            let _ = self.limiter.auth_failed(self.ip);
        }
        let elapsed = self.started.elapsed();
        let method = &self.method;
        self.metrics.observe(&route, method, status, elapsed);
        let id = self.id.to_str().unwrap_or_default();
        self.span.in_scope(|| {
            tracing::info!(
                method = %method,
                route = %route,
                status,
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                request_id = id,
                "request"
            );
        });
        res
    }
}

impl Finish {
    /// Counts and logs a request the framework failed with an error instead of
    /// an answer (it writes the error response itself, without our headers).
    fn unanswered(self, error: &Error) {
        let status = error.as_response_error().status_code().as_u16();
        let elapsed = self.started.elapsed();
        self.metrics
            .observe(UNMATCHED, &self.method, status, elapsed);
        let id = self.id.to_str().unwrap_or_default();
        self.span.in_scope(|| {
            tracing::info!(
                method = %self.method,
                route = UNMATCHED,
                status,
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                request_id = id,
                "request"
            );
        });
    }
}

fn add_cors(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

impl<S, B> Service<ServiceRequest> for RequestLayerService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let id = request_id(req.headers().get(REQUEST_ID));
        let span = tracing::info_span!("request", request_id = id.to_str().unwrap_or_default());
        let limiter = self.state.rate_limits.clone();
        let trusted = &limiter.config().trusted_proxies;
        // Only gathered when proxies are trusted: no allocation otherwise.
        let forwarded: Vec<&HeaderValue> = if *trusted == TrustedProxies::None {
            Vec::new()
        } else {
            req.headers().get_all("x-forwarded-for").collect()
        };
        let ip = client_ip(
            req.peer_addr().map(|a| a.ip()),
            forwarded.into_iter(),
            trusted,
        )
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let mut finish = Finish {
            started,
            method: req.method().clone(),
            id,
            span: span.clone(),
            decision: None,
            metrics: self.state.metrics.clone(),
            limiter: limiter.clone(),
            ip,
            auth_counted: false,
        };
        let path = req.path();
        let key = crate::auth::presented_key(req.request());
        match classify(req.method(), path, key, || Some(ip)) {
            Some(Subject::Key(key)) => {
                // The key is resolved before it is counted: a made-up key gets no
                // window of its own, and its failure counts against the address.
                let key = key.to_owned();
                let state = self.state.clone();
                let service = self.service.clone();
                Box::pin(
                    async move {
                        let caller = match state.auth_cache.get_good(&key) {
                            Some(caller) => Some(caller),
                            None => {
                                if !state.auth_cache.known_good(&key)
                                    && let Some(blocked) = limiter.auth_blocked(ip)
                                {
                                    return Ok(refuse(req, finish, blocked, Refusal::AuthFailures));
                                }
                                match resolve_key(&state, &key).await {
                                    Ok(caller) => Some(caller),
                                    Err(error) if error.code == ErrorCode::Unauthorized => {
                                        finish.auth_counted = true;
                                        finish.decision = limiter.auth_failed(ip);
                                        if let Some(limited) = take_limited(&mut finish.decision) {
                                            return Ok(refuse(
                                                req,
                                                finish,
                                                limited,
                                                Refusal::AuthFailures,
                                            ));
                                        }
                                        None
                                    }
                                    // The database is away: the handler asks again and
                                    // answers for it (503).
                                    Err(_) => None,
                                }
                            }
                        };
                        if let Some(caller) = caller {
                            finish.decision = limiter.check(Subject::Key(&key));
                            if let Some(limited) = take_limited(&mut finish.decision) {
                                return Ok(refuse(req, finish, limited, Refusal::Limit));
                            }
                            req.extensions_mut().insert::<Caller>(caller);
                        }
                        serve(service.call(req), finish).await
                    }
                    .instrument(span),
                )
            }
            subject => {
                // An address that keeps failing to authenticate is refused on the
                // API routes unless it brings a key known to be good.
                let guarded = path.starts_with("/api/")
                    && !is_public_path(path)
                    && !matches!(subject, Some(Subject::Stripe(_)))
                    && !key.is_some_and(|k| self.state.auth_cache.known_good(k));
                if guarded && let Some(blocked) = limiter.auth_blocked(ip) {
                    let res = refuse(req, finish, blocked, Refusal::AuthFailures);
                    return Box::pin(ready(Ok(res)));
                }
                finish.decision = subject.and_then(|subject| limiter.check(subject));
                if let Some(limited) = take_limited(&mut finish.decision) {
                    let res = refuse(req, finish, limited, Refusal::Limit);
                    return Box::pin(ready(Ok(res)));
                }
                // Never clone the request before the router ran: it needs it unshared.
                let call = {
                    let _entered = span.enter();
                    self.service.call(req)
                };
                Box::pin(serve(call, finish).instrument(span))
            }
        }
    }
}

/// The decision, taken out, when it refuses the request.
fn take_limited(decision: &mut Option<Decision>) -> Option<Decision> {
    match decision {
        Some(Decision::Limited { .. }) => decision.take(),
        _ => None,
    }
}

/// Why a request was refused with 429.
enum Refusal {
    /// Over its per-IP or per-key limit.
    Limit,
    /// Its address failed to authenticate too often.
    AuthFailures,
}

/// A 429 in the error envelope, with `Retry-After` (added by [`Finish::apply`]).
fn refuse<B>(
    req: ServiceRequest,
    mut finish: Finish,
    limited: Decision,
    why: Refusal,
) -> ServiceResponse<EitherBody<B>> {
    let (limit, retry_after_secs) = match &limited {
        Decision::Limited {
            limit,
            retry_after_secs,
        } => (
            limit.to_str().unwrap_or_default().to_owned(),
            *retry_after_secs,
        ),
        Decision::Allowed { limit, .. } => (limit.to_str().unwrap_or_default().to_owned(), 1),
    };
    let message = match why {
        Refusal::Limit => {
            format!("too many requests: at most {limit} per minute; retry in {retry_after_secs} s")
        }
        Refusal::AuthFailures => format!(
            "too many requests without a valid API key from this address: at most {limit} per \
             minute; retry in {retry_after_secs} s"
        ),
    };
    // Counted already (or never to be): a 429 is not another failure.
    finish.auth_counted = true;
    finish.decision = Some(limited);
    let route = req.request().resource_map().match_pattern(req.path());
    let response: HttpResponse = ApiError::new(ErrorCode::RateLimited, message).error_response();
    finish
        .apply(req.into_response(response), route)
        .map_into_right_body()
}

/// Awaits the handler's answer and finishes it.
async fn serve<B, F>(call: F, finish: Finish) -> Result<ServiceResponse<EitherBody<B>>, Error>
where
    F: std::future::Future<Output = Result<ServiceResponse<B>, Error>>,
{
    match call.await {
        Ok(res) => {
            let route = res.request().match_pattern();
            Ok(finish.apply(res, route).map_into_left_body())
        }
        // Handlers answer their errors themselves; this is what the
        // framework could not route or serve at all. It still counts.
        Err(error) => {
            finish.unanswered(&error);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_incoming_id_is_kept() {
        let id = HeaderValue::from_static("3f2a-9c.01:ab_CD");
        assert_eq!(request_id(Some(&id)), id);
        let uuid = HeaderValue::from_static("0b7c5e3e-8d1f-4b8a-9f3e-2a1c0d9e8f7a");
        assert_eq!(request_id(Some(&uuid)), uuid);
    }

    #[test]
    fn anything_else_gets_a_fresh_id() {
        let long = HeaderValue::from_str(&"a".repeat(65)).unwrap();
        for bad in [
            HeaderValue::from_static(""),
            HeaderValue::from_static("has space"),
            HeaderValue::from_static("quote\"d"),
            long,
        ] {
            let fresh = request_id(Some(&bad));
            assert_ne!(fresh, bad);
            assert!(fresh.to_str().unwrap().starts_with("req_"));
        }
        let a = request_id(None);
        let b = request_id(None);
        assert_ne!(a, b);
        assert_eq!(a.len(), 26);
    }
}
