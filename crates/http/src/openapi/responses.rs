//! The error responses and headers every operation shares, added to the generated
//! document from what each operation is (secured, with a body, a path id, a query, a
//! write), so no annotation can forget one.

use serde_json::{Map, Value, json};

/// The schema of every error body.
const PROBLEM: &str = "#/components/schemas/Problem";

/// The media type of every error body (RFC 9457).
const PROBLEM_JSON: &str = "application/problem+json";

/// Completes every operation of `document` (the generated OpenAPI document as JSON).
pub(super) fn complete(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            if let Some(operation) = operation.as_object_mut() {
                complete_operation(path, method, operation);
            }
        }
    }
}

/// What decides which errors an operation can answer.
struct Facts {
    api: bool,
    secured: bool,
    body: bool,
    path_id: bool,
    query: bool,
    limited: bool,
}

impl Facts {
    fn of(path: &str, method: &str, operation: &Map<String, Value>) -> Self {
        let api = path.starts_with("/api/v1/");
        let write = matches!(method, "post" | "put" | "patch" | "delete");
        let parameters = operation.get("parameters").and_then(Value::as_array);
        Self {
            api,
            secured: operation.contains_key("security"),
            body: operation.contains_key("requestBody"),
            path_id: path.contains('{'),
            query: parameters.is_some_and(|p| p.iter().any(|p| p["in"] == "query")),
            limited: api && write,
        }
    }

    /// The error statuses the operation can answer besides its own, with the codes.
    fn errors(&self) -> Vec<(&'static str, &'static str)> {
        let mut errors = vec![];
        if self.body {
            errors.push((
                "400",
                "`malformed_json`: the body is not JSON; `bad_request`",
            ));
            errors.push((
                "408",
                "`request_timeout`: the body did not arrive within 10 s",
            ));
            errors.push(("413", "`payload_too_large`: the body is over 64 KiB"));
            errors.push((
                "415",
                "`unsupported_media_type`: the body is not sent as JSON",
            ));
        }
        if self.secured {
            errors.push(("401", "`unauthorized`: no valid bearer token"));
        }
        if self.path_id {
            errors.push(("404", "`not_found`"));
        }
        if self.body || self.query {
            errors.push(("422", "`validation_failed`: `errors` names each field"));
        }
        if self.limited {
            errors.push(("429", "`rate_limited`: retry after `Retry-After` seconds"));
        }
        errors.push(("500", "`internal_error`"));
        if self.api {
            errors.push((
                "503",
                "`service_unavailable`: a store is unreachable; retry after `Retry-After` seconds",
            ));
        }
        errors
    }
}

fn complete_operation(path: &str, method: &str, operation: &mut Map<String, Value>) {
    let facts = Facts::of(path, method, operation);
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else {
        return;
    };
    for (status, detail) in facts.errors() {
        responses
            .entry(status)
            .or_insert_with(|| json!({"description": detail}));
    }
    for (status, response) in responses.iter_mut() {
        if let Some(response) = response.as_object_mut() {
            complete_response(status, response);
            if facts.limited {
                describe_rate_limit(response);
            }
        }
    }
}

/// The IETF draft's headers that every rate-limited answer carries.
fn describe_rate_limit(response: &mut Map<String, Value>) {
    let headers = response.entry("headers").or_insert_with(|| json!({}));
    headers["RateLimit-Policy"] = json!({
        "description": "The limit that applied: `\"writes\";q=60;w=60` (its name, hits per window, window in seconds).",
        "schema": {"type": "string"}
    });
    headers["RateLimit"] = json!({
        "description": "Where the client stands: `\"writes\";r=59;t=42` (hits left, seconds until the window resets).",
        "schema": {"type": "string"}
    });
}

fn complete_response(status: &str, response: &mut Map<String, Value>) {
    let error = status.starts_with('4') || status.starts_with('5');
    let description = response.get("description").and_then(Value::as_str);
    if description.is_none_or(str::is_empty) {
        response.insert("description".into(), json!(reason(status)));
    }
    if error {
        response.insert(
            "content".into(),
            json!({PROBLEM_JSON: {"schema": {"$ref": PROBLEM}}}),
        );
    }
    let headers = response
        .entry("headers")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(headers) = headers else {
        return;
    };
    headers.entry("X-Request-Id").or_insert_with(|| {
        json!({
            "description": "The request's id (the client's own when it sent a short printable one); logs carry it.",
            "schema": {"type": "string"}
        })
    });
    if matches!(status, "429" | "503") {
        headers.entry("Retry-After").or_insert_with(|| {
            json!({
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1}
            })
        });
    }
    if status == "401" {
        headers
            .entry("WWW-Authenticate")
            .or_insert_with(|| json!({"description": "`Bearer`.", "schema": {"type": "string"}}));
    }
}

/// The reason phrase of `status`.
fn reason(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Response")
}
