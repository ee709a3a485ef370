//! The OpenAPI document: the routes' own documentation, plus what holds for every operation
//! (security, error responses), added here once so no operation can forget it.

use actix_web::http::Method;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityRequirement,
    SecurityScheme,
};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};
use utoipa::OpenApi as _;
use utoipa_actix_web::AppExt;

use crate::error::PROBLEM_JSON;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "plan-tracker",
        description = include_str!("openapi_intro.md"),
        license(name = "MIT"),
        contact(name = "plan-tracker maintainers")
    ),
    tags(
        (name = "auth", description = "Logging in (đăng nhập) and the caller's own account. Callers are local accounts, API clients (OAuth 2.0 client credentials), or users of a trusted external issuer such as the portal's single sign-on, whose own JWTs are accepted as bearer tokens."),
        (name = "clients", description = "API clients for server-to-server use, admin only: each gets a secret, shown once, for the OAuth 2.0 client-credentials grant at `POST /api/v1/auth/token`."),
        (name = "users", description = "User accounts (tài khoản), admin only. Every user but an admin belongs to one unit."),
        (name = "units", description = "Organisational units (đơn vị): the department's divisions (phòng) and the outside agencies plans name."),
        (name = "plans", description = "Plans (kế hoạch), e.g. 1148/KH-SKHĐT of the Đồng Tháp Department of Planning and Investment."),
        (name = "indicators", description = "Indicators (chỉ tiêu) of a plan: baseline (thực hiện giai đoạn trước), target (mục tiêu), unit of measure (đơn vị tính), the unit that reports them (đơn vị theo dõi, báo cáo)."),
        (name = "tasks", description = "Tasks (nhiệm vụ) of a plan: lead unit (chủ trì), coordinating units (phối hợp), deadline (thời gian hoàn thành), output document (hình thức văn bản), deciding authority (cấp quyết định), progress and timeliness, deadline extensions (gia hạn)."),
        (name = "submissions", description = "Submissions (báo cáo): each unit's periodic report on a plan (indicator values, task progress, narrative), reviewed by the plan's consolidating unit (đơn vị tổng hợp); reporting schedules and deadlines."),
        (name = "progress", description = "Aggregates for leadership and the portal: progress against targets (tiến độ thực hiện chỉ tiêu), task timeliness, reporting compliance (tình hình báo cáo), dashboards, the consolidated report (báo cáo tổng hợp)."),
        (name = "webhooks", description = "Webhooks: the service POSTs signed JSON events (`EventPayload`) about submissions, tasks and plans to subscribers such as the provincial portal, with retries and a delivery log. Admin only."),
        (name = "audit", description = "The append-only audit trail (nhật ký thay đổi)."),
        (name = "operations", description = "Probes for orchestration and monitoring.")
    ),
    // Enums used only by query parameters are referenced, not inlined, so they are listed here.
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::api::reports::ReportFormat,
        crate::api::progress::SeriesBy,
        crate::domain::webhook::EventPayload
    ))
)]
struct ApiDoc;

const BEARER: &str = "bearer";
const OAUTH2: &str = "oauth2";
/// HTTP Basic with an API client's id and secret, accepted by the token endpoint only.
const CLIENT_BASIC: &str = "client_basic";

/// Operations anyone may call without a token.
const PUBLIC: &[&str] = &["/healthz", "/readyz", "/api/v1/auth/token"];

/// The standard error responses, by status: (component name, description).
const ERRORS: &[(&str, &str, &str)] = &[
    ("400", "BadRequest", "Malformed request: broken JSON or an unparsable path or query parameter (problem+json, `errors` names the field)."),
    ("401", "Unauthorized", "Missing, invalid or expired bearer token, a token of an issuer that is not trusted, or the account is deactivated or the API client revoked (problem+json; `WWW-Authenticate: Bearer`)."),
    ("403", "Forbidden", "Authenticated, but the caller's roles or unit do not allow this, or an external issuer's token names no role or unit this service knows; `detail` names the rule (problem+json)."),
    ("404", "NotFound", "The resource does not exist (problem+json)."),
    ("409", "Conflict", "The request conflicts with the current state (problem+json)."),
    ("413", "PayloadTooLarge", "The request body exceeds `MAX_BODY_BYTES` (problem+json)."),
    ("415", "UnsupportedMediaType", "The request body is not `application/json` (problem+json)."),
    ("422", "UnprocessableEntity", "Well-formed but invalid content; `errors` lists every invalid field (problem+json)."),
    ("500", "InternalServerError", "An unexpected failure; the cause is logged under the request id and never sent (problem+json)."),
    ("503", "ServiceUnavailable", "The database is unreachable or busy, or the signing keys of a trusted token issuer cannot be fetched; retry after `Retry-After` seconds (problem+json)."),
];

/// An error response: `application/problem+json` with the `Problem` schema.
pub fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

/// The operations of a path item with their HTTP methods.
fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<(Method, &mut Operation)> {
    [
        (Method::GET, item.get.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

/// utoipa puts a handler's first doc paragraph in `summary` and the paragraphs after it in
/// `description`. Clients show the summary as a one-line title, so it keeps the paragraph's
/// first sentence, and the description gets the whole text, first paragraph included.
fn split_summary(op: &mut Operation) {
    let Some(paragraph) = op.summary.take() else {
        return;
    };
    op.summary = Some(title(&paragraph));
    op.description = Some(match op.description.take() {
        Some(rest) if !rest.trim().is_empty() => format!("{paragraph}\n\n{rest}"),
        _ => paragraph,
    });
}

/// Titles longer than this are cut at their first clause.
const TITLE_MAX_CHARS: usize = 100;

/// The first sentence of `text` on one line; one longer than a title is cut before its first
/// `: `, `; ` or ` (` that follows at least three words.
fn title(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut sentence = text.split(". ").next().unwrap_or_default();
    if sentence.chars().count() > TITLE_MAX_CHARS {
        let clause = [": ", "; ", " ("]
            .iter()
            .filter_map(|mark| sentence.find(mark))
            .filter(|&at| sentence[..at].split(' ').count() >= 3)
            .min();
        if let Some(at) = clause {
            sentence = &sentence[..at];
        }
    }
    sentence.trim_end_matches(['.', ':']).to_owned()
}

/// Adds the bearer requirement and the applicable standard error responses to every operation.
fn finish(mut api: OpenApi) -> OpenApi {
    // Relative to wherever the document is served, so generated clients need no host baked in.
    api.servers = Some(vec![utoipa::openapi::Server::new("/")]);
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "An access token from `POST /api/v1/auth/token`, or a JWT of a trusted external \
                     issuer (`TRUSTED_ISSUERS`), sent as `Authorization: Bearer <token>`.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        CLIENT_BASIC,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Basic)
                .description(Some(
                    "`POST /api/v1/auth/token` only: an API client's id and secret, form-encoded \
                     then joined by `:` (RFC 6749 §2.3.1), for the client-credentials grant.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        OAUTH2,
        SecurityScheme::OAuth2(OAuth2::with_description(
            [Flow::ClientCredentials(ClientCredentials::new(
                "/api/v1/auth/token",
                Scopes::new(),
            ))],
            "An API client's id and secret (from `POST /api/v1/clients`) exchanged for a bearer \
             token with the client-credentials grant. The token's roles are the client's; \
             there are no scopes.",
        )),
    );
    for (_, name, description) in ERRORS {
        components
            .responses
            .insert(name.to_string(), RefOr::T(problem(description)));
    }
    refer_page_items(components);
    for (path, item) in api.paths.paths.iter_mut() {
        let public = PUBLIC.contains(&path.as_str());
        let has_path_params = path.contains('{');
        for (method, op) in operations(item) {
            split_summary(op);
            let has_body = op.request_body.is_some();
            if !public {
                op.security = Some(vec![
                    SecurityRequirement::new(BEARER, Vec::<String>::new()),
                    SecurityRequirement::new(OAUTH2, Vec::<String>::new()),
                ]);
            }
            for (status, name, _) in ERRORS {
                let applies = match *status {
                    "401" | "403" => !public,
                    "404" => has_path_params,
                    "409" => has_body || method == Method::DELETE,
                    "413" | "415" | "422" => {
                        has_body || (*status == "422" && method == Method::GET)
                    }
                    "400" | "500" | "503" => path != "/healthz",
                    _ => false,
                };
                if applies {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
                }
            }
        }
    }
    api
}

/// utoipa copies a generic's argument into each instance (`Page_UnitResponse.items` would
/// repeat all of `UnitResponse`): point each page's items at the item's own schema instead, so
/// that generated clients get one type per item rather than one per page.
fn refer_page_items(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for (name, schema) in components.schemas.iter_mut() {
        let Some(item) = name.strip_prefix("Page_") else {
            continue;
        };
        if !names.iter().any(|n| n == item) {
            continue;
        }
        if let RefOr::T(Schema::Object(page)) = schema {
            if let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items") {
                items.items =
                    ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
            }
        }
    }
}

/// The complete OpenAPI document of the service.
pub fn document() -> OpenApi {
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::api::configure)
        .split_for_parts();
    finish(api)
}

/// The document as served at `/api-docs/openapi.json` and committed in `openapi/openapi.json`:
/// the generated one plus OpenAPI 3.1's top-level `webhooks`, which utoipa cannot express.
/// Spliced into the text rather than merged as a `serde_json::Value`, whose maps would sort
/// every key and lose the documented order.
pub fn document_json() -> String {
    json_of(&document())
}

/// `api` as served, with the `webhooks` section (see [`document_json`]).
pub fn json_of(api: &OpenApi) -> String {
    let json = api.to_pretty_json().unwrap_or_default();
    let webhooks = serde_json::to_string_pretty(&webhooks())
        .unwrap_or_default()
        .replace('\n', "\n  ");
    match json.trim_end().strip_suffix('}') {
        Some(open) => format!("{},\n  \"webhooks\": {webhooks}\n}}\n", open.trim_end()),
        None => json,
    }
}

/// What a webhook receiver is sent: one signed POST per event (src/webhooks/worker.rs).
fn webhooks() -> serde_json::Value {
    let header = |name: &str, description: &str, example: &str| {
        serde_json::json!({
            "name": name, "in": "header", "required": true, "description": description,
            "schema": {"type": "string"}, "example": example
        })
    };
    serde_json::json!({
        "event": {
            "post": {
                "tags": ["webhooks"],
                "operationId": "receive_event",
                "summary": "An event, POSTed by the service to each webhook that wants it",
                "description": "Sent to the webhook's `url` when a report, task or plan event \
                    it subscribed to is committed. The body is signed as sent: verify \
                    `X-Signature` over the raw bytes (and reject an old `X-Timestamp`) before \
                    parsing it. Answer any 2xx within `WEBHOOK_TIMEOUT_MS` to acknowledge; any \
                    other answer, or none, is retried with exponential backoff for \
                    `WEBHOOK_RETRY_WINDOW_SECS`, with the same `X-Event-Id`, so drop an event \
                    already processed. Each attempt is listed at \
                    `GET /api/v1/webhooks/{id}/deliveries`.",
                "parameters": [
                    header("X-Event-Id", "The event's id, the same on every retry.",
                        "0b7e3f5c-8d1e-4c59-9a39-5a1f0f4f2b61"),
                    header("X-Event-Type", "The event's type, as in the body's `type`.",
                        "submission.accepted"),
                    header("X-Timestamp", "When this attempt was sent, in Unix seconds.",
                        "1764460800"),
                    header("X-Signature", "`sha256=` and the lower-case hex \
                        HMAC-SHA256, keyed with the webhook's secret, of \
                        `<X-Timestamp>.<raw body>`.",
                        "sha256=3b1f6a0e9d5c4b2a8f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a2918")
                ],
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/EventPayload"}
                    }}
                },
                "responses": {
                    "2XX": {"description": "Received: the delivery is recorded as delivered."},
                    "default": {"description": "Not received: the delivery is retried."}
                }
            }
        }
    })
}

/// For each documented path, its methods: lets the router tell 405 (known path, other method)
/// from 404.
#[derive(Debug, Default)]
pub struct MethodTable {
    routes: Vec<(actix_router::ResourceDef, Vec<Method>)>,
}

impl MethodTable {
    pub fn from_document(api: &OpenApi) -> Self {
        let mut api = api.clone();
        let routes = api
            .paths
            .paths
            .iter_mut()
            .map(|(path, item)| {
                let methods = operations(item).into_iter().map(|(m, _)| m).collect();
                (actix_router::ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        MethodTable { routes }
    }

    /// The methods `path` answers to, if it is a known path.
    pub fn allowed(&self, path: &str) -> Option<&[Method]> {
        self.routes
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protected_operation_requires_bearer_and_documents_errors() {
        let mut api = document();
        for (path, item) in api.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                let responses = &op.responses.responses;
                if path != "/healthz" {
                    assert!(responses.contains_key("500"), "{method} {path}");
                }
                if !PUBLIC.contains(&path.as_str()) {
                    assert!(op.security.is_some(), "{method} {path}");
                    assert!(responses.contains_key("401"), "{method} {path}");
                }
                assert!(
                    op.description.is_some() || op.summary.is_some(),
                    "{method} {path} is undocumented"
                );
                let summary = op.summary.as_deref().unwrap_or_default();
                assert!(
                    !summary.contains('\n') && summary.chars().count() <= TITLE_MAX_CHARS,
                    "{method} {path}: the summary is not a one-line title: {summary:?}"
                );
            }
        }
    }

    #[test]
    fn every_parameter_schema_and_property_is_described() {
        let doc = serde_json::to_value(document()).unwrap();
        let described = |v: &serde_json::Value| {
            v.get("description")
                .and_then(|d| d.as_str())
                .is_some_and(|d| !d.trim().is_empty())
        };
        // A reference or a composition takes its meaning from the schema it names.
        let composed = |v: &serde_json::Value| {
            ["$ref", "allOf", "oneOf", "anyOf"]
                .iter()
                .any(|k| v.get(k).is_some())
        };
        let mut bare = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for param in op["parameters"].as_array().into_iter().flatten() {
                    if !described(param) {
                        bare.push(format!("{method} {path} parameter {}", param["name"]));
                    }
                }
            }
        }
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            if !described(schema) && !composed(schema) {
                bare.push(format!("schema {name}"));
            }
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                if !described(property) && !composed(property) {
                    bare.push(format!("{name}.{field}"));
                }
            }
        }
        assert!(bare.is_empty(), "{} undocumented: {bare:#?}", bare.len());
    }

    #[test]
    fn every_reference_resolves() {
        fn walk(value: &serde_json::Value, doc: &serde_json::Value, dangling: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                        let pointer = target.strip_prefix('#').unwrap_or(target);
                        if doc.pointer(pointer).is_none() {
                            dangling.push(target.clone());
                        }
                    }
                    map.values().for_each(|v| walk(v, doc, dangling));
                }
                serde_json::Value::Array(items) => {
                    items.iter().for_each(|v| walk(v, doc, dangling))
                }
                _ => {}
            }
        }
        let doc = serde_json::to_value(document()).unwrap();
        let mut dangling = Vec::new();
        walk(&doc, &doc, &mut dangling);
        assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
    }

    #[test]
    fn every_page_refers_to_its_item_schema() {
        let doc = serde_json::to_value(document()).unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let pages: Vec<_> = schemas.keys().filter(|k| k.starts_with("Page_")).collect();
        assert!(pages.len() >= 10, "{pages:?}");
        for page in pages {
            let item = &page["Page_".len()..];
            assert_eq!(
                schemas[page]["properties"]["items"]["items"]["$ref"],
                format!("#/components/schemas/{item}"),
                "{page}"
            );
        }
    }

    #[test]
    fn titles_are_first_sentences_on_one_line() {
        for (text, expected) in [
            ("Lists units. Sortable by `code`.", "Lists units"),
            ("One unit.", "One unit"),
            (
                "A sentence wrapped\nover two lines. Then more.",
                "A sentence wrapped over two lines",
            ),
            (
                "Exchanges credentials for an access token:",
                "Exchanges credentials for an access token",
            ),
            (
                "The caller: who the token speaks for.",
                "The caller: who the token speaks for",
            ),
            ("", ""),
        ] {
            assert_eq!(title(text), expected, "{text:?}");
        }
        let long = format!(
            "Reporting compliance for a period: per unit, {}.",
            "its state, ".repeat(12)
        );
        assert_eq!(title(&long), "Reporting compliance for a period");
        let no_clause = "word ".repeat(30);
        assert_eq!(title(&no_clause), no_clause.trim());
    }

    #[test]
    fn summary_is_a_title_and_description_keeps_every_paragraph() {
        let mut op = Operation::new();
        op.summary = Some("First sentence. Second\nline.".into());
        op.description = Some("Later paragraph.".into());
        split_summary(&mut op);
        assert_eq!(op.summary.as_deref(), Some("First sentence"));
        assert_eq!(
            op.description.as_deref(),
            Some("First sentence. Second\nline.\n\nLater paragraph.")
        );
        let mut op = Operation::new();
        op.summary = Some("Only one.".into());
        split_summary(&mut op);
        assert_eq!(op.description.as_deref(), Some("Only one."));
    }

    #[test]
    fn method_table_knows_paths() {
        let table = MethodTable::from_document(&document());
        assert_eq!(
            table
                .allowed("/api/v1/plans/7")
                .map(|m| m.contains(&Method::PATCH)),
            Some(true)
        );
        assert!(table.allowed("/api/v1/nothing").is_none());
    }
}
