//! The OpenAPI document: every operation follows the conventions of SPEC §6, the schemas
//! carry their bounds and formats, the document lists exactly the routes the app serves,
//! and the errors it documents are the ones the app really gives.

use crate::helpers::{TestApp, spawn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Every operation the app serves, as `METHOD /path`.
const OPERATIONS: [&str; 51] = [
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "POST /v1/auth/register",
    "POST /v1/auth/login",
    "POST /v1/auth/logout",
    "GET /v1/me",
    "POST /v1/me/password",
    "POST /v1/users",
    "GET /v1/users",
    "POST /v1/users/{id}/disable",
    "POST /v1/api-keys",
    "GET /v1/api-keys",
    "DELETE /v1/api-keys/{id}",
    "POST /v1/brands",
    "GET /v1/brands",
    "GET /v1/brands/{id}",
    "POST /v1/brands/{id}/members",
    "GET /v1/brands/{id}/members",
    "DELETE /v1/brands/{id}/members/{user_id}",
    "POST /v1/brands/{id}/verification",
    "POST /v1/seasons",
    "GET /v1/seasons",
    "GET /v1/seasons/{id}",
    "PATCH /v1/seasons/{id}",
    "POST /v1/applications",
    "GET /v1/applications",
    "GET /v1/applications/{id}",
    "PATCH /v1/applications/{id}",
    "POST /v1/applications/{id}/submit",
    "POST /v1/applications/{id}/withdraw",
    "POST /v1/applications/{id}/appeal",
    "POST /v1/applications/{id}/claim",
    "POST /v1/applications/{id}/release",
    "POST /v1/applications/{id}/decision",
    "GET /v1/applications/{id}/events",
    "GET /v1/reason-codes",
    "GET /v1/review/queue",
    "GET /v1/whitelist",
    "GET /v1/whitelist/{id}",
    "POST /v1/whitelist/{id}/suspend",
    "POST /v1/whitelist/{id}/reinstate",
    "POST /v1/whitelist/{id}/revoke",
    "GET /v1/campaigns",
    "GET /v1/campaigns/{id}",
    "POST /v1/campaigns/{id}/pause",
    "POST /v1/campaigns/{id}/resume",
    "GET /v1/gate/campaigns/{id}",
    "POST /v1/gate/batch",
    "GET /v1/dashboard/summary",
    "GET /v1/audit",
];

/// The one path parameter that is not a UUID: a season is found by id or by code.
const NOT_UUID_PARAMS: [(&str, &str); 1] = [("/v1/seasons/{id}", "id")];

/// Lists answered whole, without paging: none (SPEC §6 pages every collection).
const UNPAGED_LISTS: [&str; 0] = [];

/// Request strings the code takes without a bound of its own (the body limit applies):
/// a login is answered 401 whatever it holds, and a time zone is checked against the tz
/// database.
const UNBOUNDED_STRINGS: [&str; 4] = [
    "LoginBody.password",
    "PasswordBody.current_password",
    "CreateSeasonBody.timezone",
    "UpdateSeasonBody.timezone",
];

/// Request arrays without a count bound of their own.
const UNBOUNDED_ARRAYS: [&str; 2] = ["CreateSeasonBody.phases", "UpdateSeasonBody.phases"];

struct Op<'a> {
    method: &'a str,
    path: &'a str,
    op: &'a Value,
}

impl Op<'_> {
    fn name(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }

    fn params(&self, place: &str) -> Vec<&Value> {
        self.op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter(|p| p["in"] == place).collect())
            .unwrap_or_default()
    }

    fn param(&self, place: &str, name: &str) -> Option<&Value> {
        self.params(place).into_iter().find(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }

    fn responses(&self) -> Vec<(u16, &Value)> {
        self.op["responses"]
            .as_object()
            .map(|r| {
                r.iter()
                    .map(|(s, v)| (s.parse().expect("numeric status"), v))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn response(&self, status: u16) -> Option<&Value> {
        self.op["responses"].get(status.to_string())
    }

    fn secured(&self) -> bool {
        self.op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()))
    }

    fn has_json_body(&self) -> bool {
        self.op["requestBody"]["content"]
            .get("application/json")
            .is_some()
    }

    /// The path with each parameter replaced by `value`.
    fn url(&self, value: &str) -> String {
        let mut out = String::new();
        let mut rest = self.path;
        while let Some(start) = rest.find('{') {
            let end = rest[start..].find('}').unwrap() + start;
            out.push_str(&rest[..start]);
            out.push_str(value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn http_method(&self) -> Method {
        Method::from_bytes(self.method.to_uppercase().as_bytes()).unwrap()
    }
}

fn operations(doc: &Value) -> Vec<Op<'_>> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if [
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                ops.push(Op { method, path, op });
            }
        }
    }
    ops
}

async fn document(app: &TestApp) -> Value {
    let res = app
        .req(Method::GET, "/openapi.json", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// `schema` with a `$ref` followed (once is enough: components are not aliases).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected $ref {r}"));
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Names a code the way the descriptions do: `` `some_code` ``.
fn names_a_code(description: &str) -> bool {
    description.split('`').skip(1).step_by(2).any(|c| {
        !c.is_empty()
            && c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
    })
}

fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn every_operation_follows_the_conventions() {
    let app = spawn().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    let mut bad: Vec<String> = Vec::new();
    let mut ids = BTreeSet::new();

    for op in operations(&doc) {
        let name = op.name();
        let mut fail = |what: &str| bad.push(format!("{name}: {what}"));

        match op.op["operationId"].as_str() {
            Some(id) if ids.insert(id.to_owned()) => {}
            Some(id) => fail(&format!("operationId {id} is not unique")),
            None => fail("no operationId"),
        }
        if op.op["summary"].as_str().is_none_or(str::is_empty) {
            fail("no summary (the handler's doc comment)");
        }

        for (status, res) in op.responses() {
            let description = res["description"].as_str().unwrap_or_default();
            if description.is_empty() {
                fail(&format!("{status} has no description"));
            }
            if status >= 400 {
                let content = res["content"].as_object();
                let types: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
                if types != ["application/problem+json"] {
                    fail(&format!("{status} is {types:?}, not problem+json"));
                }
                if res["content"]["application/problem+json"]["schema"] != problem {
                    fail(&format!("{status} is not the Problem schema"));
                }
                if !names_a_code(description) {
                    fail(&format!("{status} names no `code`: {description:?}"));
                }
            } else if (200..300).contains(&status) {
                match (status, res["content"].as_object()) {
                    (204, None) => {}
                    (204, Some(_)) => fail("204 with a body"),
                    (_, None) => fail(&format!("{status} has no content")),
                    (_, Some(content)) => {
                        for (media, c) in content {
                            if !c["schema"].is_object() {
                                fail(&format!("{status} {media} has no schema"));
                            }
                        }
                    }
                }
                // A resource with a version sends it as its ETag.
                let schema = resolve(&doc, &res["content"]["application/json"]["schema"]);
                if schema["properties"].get("version").is_some()
                    && res["headers"].get("ETag").is_none()
                {
                    fail(&format!("{status} carries a version but documents no ETag"));
                }
            }
        }
        for status in [429, 503] {
            if let Some(res) = op.response(status)
                && res["headers"].get("Retry-After").is_none()
            {
                fail(&format!("{status} without Retry-After"));
            }
        }

        let needs = |status: u16| op.response(status).is_some();
        if !needs(500) {
            fail("no 500");
        }
        if op.secured() {
            for s in [401, 403] {
                if !needs(s) {
                    fail(&format!("secured but no {s}"));
                }
            }
        }
        if op.path.starts_with("/v1/") && !needs(503) {
            fail("no 503");
        }
        if op.op.get("requestBody").is_some() {
            if !op.has_json_body() {
                fail("a request body that is not JSON");
            }
            if !op.op["requestBody"]["content"]["application/json"]["schema"].is_object() {
                fail("a request body without a schema");
            }
            for s in [400, 413, 415, 422] {
                if !needs(s) {
                    fail(&format!("a JSON body but no {s}"));
                }
            }
        }
        if !op.params("query").is_empty() && !needs(422) {
            fail("query parameters but no 422");
        }

        let declared: BTreeSet<&str> = op
            .params("path")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        let templated: BTreeSet<&str> = op
            .path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split('}').next())
            .collect();
        if declared != templated {
            fail(&format!("path parameters {declared:?} != {templated:?}"));
        }
        if !declared.is_empty() && !needs(404) {
            fail("path parameters but no 404");
        }
        for p in op.params("path") {
            let pname = p["name"].as_str().unwrap_or_default();
            if p["required"] != true {
                fail(&format!("path parameter {pname} not required"));
            }
            let exempt = NOT_UUID_PARAMS.contains(&(op.path, pname));
            if !exempt && p["schema"]["format"] != "uuid" {
                fail(&format!("path parameter {pname} is not a uuid"));
            }
        }
        for p in op.params("query") {
            if p["name"] == "limit" {
                let s = &p["schema"];
                if !types(s).contains(&"integer")
                    || s["minimum"] != 1
                    || s["maximum"] != 200
                    || s["default"] != 50
                {
                    fail(&format!("limit is not an integer 1..=200, default 50: {s}"));
                }
            }
        }
        let list = op
            .response(200)
            .and_then(|r| r["content"]["application/json"]["schema"]["$ref"].as_str())
            .is_some_and(|r| r.starts_with("#/components/schemas/List_"));
        if list && !UNPAGED_LISTS.contains(&op.path) {
            for p in ["limit", "cursor"] {
                if op.param("query", p).is_none() {
                    fail(&format!("a list without `{p}`"));
                }
            }
        }

        if op.method == "post" {
            match op.param("header", "Idempotency-Key") {
                None => fail("POST without Idempotency-Key"),
                Some(p) => {
                    if p["required"] != false
                        || p["schema"]["minLength"] != 1
                        || p["schema"]["maxLength"] != 255
                    {
                        fail(&format!("Idempotency-Key is not an optional 1..=255: {p}"));
                    }
                }
            }
        }
        if op.method == "patch" {
            if op
                .param("header", "If-Match")
                .is_none_or(|p| p["required"] != true)
            {
                fail("PATCH without a required If-Match");
            }
            for s in [412, 428] {
                if !needs(s) {
                    fail(&format!("PATCH without {s}"));
                }
            }
            if op
                .response(200)
                .is_none_or(|r| r["headers"].get("ETag").is_none())
            {
                fail("PATCH answer without ETag");
            }
        }
    }

    let csv = &doc["paths"]["/v1/whitelist"]["get"]["responses"]["200"]["content"];
    assert!(csv.get("text/csv").is_some(), "whitelist CSV: {csv}");
    assert!(csv.get("application/json").is_some());
    let login = &doc["paths"]["/v1/auth/login"]["post"]["responses"];
    assert!(
        login["429"]["description"]
            .as_str()
            .unwrap()
            .contains("`too_many_attempts`")
    );
    assert!(login["429"]["headers"].get("Retry-After").is_some());
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Walks every schema below `schema`, calling `f(path, name, property_schema, required)`
/// for each object property.
fn walk_properties<'a>(
    doc: &'a Value,
    at: String,
    schema: &'a Value,
    seen: &mut BTreeSet<String>,
    f: &mut dyn FnMut(&str, &str, &'a Value),
) {
    if let Some(r) = schema["$ref"].as_str() {
        if seen.insert(r.to_owned()) {
            let name = r.rsplit('/').next().unwrap().to_owned();
            walk_properties(doc, name, resolve(doc, schema), seen, f);
        }
        return;
    }
    if let Some(props) = schema["properties"].as_object() {
        for (name, p) in props {
            f(&at, name, p);
            walk_properties(doc, format!("{at}.{name}"), p, seen, f);
        }
    }
    for key in ["oneOf", "allOf", "anyOf"] {
        for s in schema[key].as_array().into_iter().flatten() {
            walk_properties(doc, at.clone(), s, seen, f);
        }
    }
    if schema.get("items").is_some() {
        walk_properties(doc, format!("{at}[]"), &schema["items"], seen, f);
    }
}

/// The schema a property's value has, past a nullable `oneOf: [X, null]`.
fn non_null<'a>(doc: &'a Value, p: &'a Value) -> &'a Value {
    if let Some(alts) = p["oneOf"].as_array() {
        let rest: Vec<&Value> = alts.iter().filter(|s| s["type"] != "null").collect();
        if rest.len() == 1 {
            return resolve(doc, rest[0]);
        }
    }
    resolve(doc, p)
}

fn every_ref<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|v| every_ref(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| every_ref(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn schemas_carry_bounds_and_formats() {
    let app = spawn().await;
    let doc = document(&app).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut bad: Vec<String> = Vec::new();

    let mut refs = Vec::new();
    every_ref(&doc, &mut refs);
    for r in refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
        if !schemas.contains_key(name) {
            bad.push(format!("$ref {r} points nowhere"));
        }
    }

    // Formats follow from the field's name, everywhere.
    for (name, schema) in schemas {
        let mut seen = BTreeSet::new();
        walk_properties(&doc, name.clone(), schema, &mut seen, &mut |at, prop, p| {
            let v = non_null(&doc, p);
            let format = v["format"].as_str().unwrap_or_default();
            let is_string = types(v).contains(&"string");
            let mut want = |cond: bool, what: &str| {
                if !cond {
                    bad.push(format!("{at}.{prop}: {what}, got {p}"));
                }
            };
            if prop == "email" {
                want(format == "email", "an email format");
            }
            // A deep link (`tmall://…`) is any visible ASCII after the scheme, which is not
            // always a URI (`tmall://%_V`): its pattern says what the server takes.
            if prop.ends_with("_url") && !(at == "Landing" && prop == "app_url") {
                want(is_string && format == "uri", "a uri format");
            }
            if prop.ends_with("_urls") {
                want(v["items"]["format"] == "uri", "uri items");
            }
            if (prop == "id" || prop.ends_with("_id")) && is_string {
                want(format == "uuid", "a uuid format");
            }
            if prop == "at" || prop.ends_with("_at") || prop.starts_with("valid_") {
                want(format == "date-time", "a date-time format");
            }
            if prop.ends_with("_fen") {
                want(
                    types(v).contains(&"integer") && v["minimum"].as_i64().is_some_and(|m| m >= 0),
                    "an integer number of fen with a minimum of 0 or more",
                );
            }
            if prop == "version" {
                want(v["minimum"] == 1, "a version of 1 or more");
            }
        });
    }

    // What a client sends is bounded: every string has a length bound, an enum or a
    // checked format; every array a count bound or unique enum items.
    let mut bodies = BTreeSet::new();
    for op in operations(&doc) {
        if let Some(r) =
            op.op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
        {
            bodies.insert(r.rsplit('/').next().unwrap().to_owned());
        }
    }
    assert!(bodies.len() >= 15, "{bodies:?}");
    for body in &bodies {
        let mut seen = BTreeSet::new();
        let schema = &schemas[body];
        if schema["additionalProperties"] != false {
            bad.push(format!("{body}: unknown fields are refused, say so"));
        }
        walk_properties(&doc, body.clone(), schema, &mut seen, &mut |at, prop, p| {
            let v = non_null(&doc, p);
            let key = format!("{at}.{prop}");
            let ts = types(v);
            if ts.contains(&"string") {
                let checked = ["email", "uuid", "date-time", "uri"]
                    .contains(&v["format"].as_str().unwrap_or_default());
                // A field the server trims bounds its core in its pattern (`{0,n}`); the
                // whitespace around it is trimmed, and the 1 MiB body bounds that.
                let bounded_pattern = v["pattern"].as_str().is_some_and(|p| p.contains("{0,"));
                if v.get("maxLength").is_none()
                    && !bounded_pattern
                    && v.get("enum").is_none()
                    && !checked
                    && !UNBOUNDED_STRINGS.contains(&key.as_str())
                {
                    bad.push(format!("{key}: an unbounded string {p}"));
                }
            }
            if ts.contains(&"array") {
                let unique_enum = v["uniqueItems"] == true && v["items"].get("enum").is_some();
                if v.get("maxItems").is_none()
                    && !unique_enum
                    && !UNBOUNDED_ARRAYS.contains(&key.as_str())
                {
                    bad.push(format!("{key}: an unbounded array {p}"));
                }
            }
        });
    }

    let p = &schemas["Problem"];
    assert_eq!(
        p["required"],
        json!(["type", "title", "status", "detail", "code"])
    );
    assert_eq!(
        p["properties"]["errors"]["items"],
        json!({"$ref": "#/components/schemas/FieldError"})
    );
    assert_eq!(p["properties"]["status"]["minimum"], 400);
    assert_eq!(
        schemas["FieldError"]["required"],
        json!(["field", "code", "message"])
    );
    for (name, schema) in schemas {
        if name.starts_with("List_") {
            let item = name.trim_start_matches("List_");
            assert_eq!(
                schema["properties"]["items"]["items"],
                json!({"$ref": format!("#/components/schemas/{item}")}),
                "{name} refers to {item}"
            );
        }
    }
    let budget = &schemas["Budget"]["properties"];
    assert_eq!(budget["total_fen"]["minimum"], 1);
    assert_eq!(budget["total_fen"]["format"], "int64");
    let batch = &schemas["BatchBody"]["properties"]["checks"];
    assert_eq!(
        (&batch["minItems"], &batch["maxItems"]),
        (&json!(1), &json!(1000))
    );
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[tokio::test]
async fn documents_exactly_the_routes_the_app_serves() {
    let app = spawn().await;
    let doc = document(&app).await;
    let ops = operations(&doc);
    let documented: BTreeSet<String> = ops.iter().map(Op::name).collect();
    let expected: BTreeSet<String> = OPERATIONS.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        documented
            .symmetric_difference(&expected)
            .collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "documented vs served"
    );
    assert_eq!(ops.len(), 51);
    for known in [
        "GET /v1/dashboard/summary",
        "GET /v1/audit",
        "POST /v1/gate/batch",
    ] {
        assert!(documented.contains(known), "{known}");
    }

    // Each documented operation is routed: without a token a secured one says 401
    // (a route that did not exist would say 404), the open ones answer.
    let mut bad = Vec::new();
    for op in &ops {
        let mut req = app.req(
            op.http_method(),
            &op.url(&uuid::Uuid::new_v4().to_string()),
            None,
        );
        if op.has_json_body() {
            req = req.json(&json!({}));
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        if op.secured() {
            let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
            let body: Value = res.json().await.unwrap_or_default();
            if status != 401 || ct != "application/problem+json" || body["code"] != "unauthorized" {
                bad.push(format!("{}: {status} {ct} {body}", op.name()));
            }
        } else if status == 404
            || status == 405
            || !op.op["responses"][status.to_string()].is_object()
        {
            bad.push(format!("{}: undocumented {status}", op.name()));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The answer as a problem with `status` and `code`, or what is wrong with it.
async fn problem(res: reqwest::Response, status: u16, code: &str) -> Result<Value, String> {
    let got = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = res.json().await.unwrap_or_default();
    if got == status && ct == "application/problem+json" && body["code"] == code {
        Ok(body)
    } else {
        Err(format!("{got} {ct} {body}, want {status} `{code}`"))
    }
}

#[tokio::test]
async fn the_documented_errors_are_the_ones_given() {
    let app = spawn().await;
    let doc = document(&app).await;
    let admin = app.admin().await;
    let res = app
        .post("/v1/api-keys", Some(&admin.token), json!({"name": "probe"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let service_key = res.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app.count("SELECT count(*) FROM audit_events").await;
    let big = format!("{{\"x\":\"{}\"}}", "x".repeat(1024 * 1024));
    let some_id = uuid::Uuid::new_v4().to_string();
    let mut checked = BTreeMap::<u16, usize>::new();
    let mut bad = Vec::new();

    for op in operations(&doc) {
        let token = op.secured().then_some(admin.token.as_str());
        let url = op.url(&some_id);
        // (what was sent, the status and code it must get, the answer)
        let mut probes: Vec<(&str, u16, &str, reqwest::Response)> = Vec::new();
        let send = |req: reqwest::RequestBuilder| async move { req.send().await.unwrap() };

        if op.has_json_body() {
            let req = app
                .req(op.http_method(), &url, token)
                .header("content-type", "application/json")
                .body("{");
            probes.push(("malformed JSON", 400, "malformed_body", send(req).await));
            let req = app
                .req(op.http_method(), &url, token)
                .header("content-type", "text/plain")
                .body("{}");
            probes.push(("text/plain", 415, "unsupported_media_type", send(req).await));
        }
        if op.has_json_body() || op.method == "post" {
            // A POST reads its body for the Idempotency-Key even when it takes no JSON.
            let req = app
                .req(op.http_method(), &url, token)
                .header("content-type", "application/json")
                .header("idempotency-key", "too-large")
                .body(big.clone());
            probes.push(("over 1 MiB", 413, "payload_too_large", send(req).await));
        }
        if !op.params("path").is_empty() {
            let req = app
                .req(op.http_method(), &op.url("not-a-uuid"), token)
                .json(&json!({}));
            probes.push((
                "an id that is not a UUID",
                404,
                "not_found",
                send(req).await,
            ));
        }
        if op.param("query", "limit").is_some() {
            for limit in ["0", "201", "ten"] {
                let req = app.req(op.http_method(), &format!("{url}?limit={limit}"), token);
                probes.push((
                    "a limit out of range",
                    422,
                    "validation_failed",
                    send(req).await,
                ));
            }
        }
        if op.method == "post" {
            let req = app
                .req(op.http_method(), &url, token)
                .header("idempotency-key", "k".repeat(256))
                .json(&json!({}));
            probes.push((
                "a 256-character Idempotency-Key",
                422,
                "invalid_idempotency_key",
                send(req).await,
            ));
        }
        if op.method == "patch" {
            let req = app.req(op.http_method(), &url, token).json(&json!({}));
            probes.push(("no If-Match", 428, "precondition_required", send(req).await));
        }
        if op.secured() && !op.path.starts_with("/v1/gate/") {
            let req = app
                .req(op.http_method(), &url, Some(&service_key))
                .json(&json!({}));
            probes.push(("a service key", 403, "forbidden", send(req).await));
        }

        for (what, status, code, res) in probes {
            match problem(res, status, code).await {
                Err(e) => bad.push(format!("{} with {what}: {e}", op.name())),
                Ok(_) if op.response(status).is_none() => bad.push(format!(
                    "{} with {what}: {status} given, not documented",
                    op.name()
                )),
                Ok(body) => {
                    if code == "validation_failed" && body["errors"][0]["field"] != "limit" {
                        bad.push(format!("{} with {what}: {body}", op.name()));
                    }
                    *checked.entry(status).or_default() += 1;
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
    for (status, at_least) in [
        (400, 17),
        (403, 44),
        (404, 26),
        (413, 26),
        (415, 17),
        (422, 57),
        (428, 2),
    ] {
        assert!(
            checked.get(&status).copied().unwrap_or(0) >= at_least,
            "{status}: checked {checked:?}"
        );
    }
    // None of this changed anything.
    assert_eq!(app.count("SELECT count(*) FROM audit_events").await, before);
}

/// A value that `schema` describes: its example, default or first enum value, else one
/// built from its type, bounds and format; every property of an object, one item of an
/// array. What a client generated from the document would send.
fn instance(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema[key].as_array()
            && let Some(first) = alts.iter().find(|s| s["type"] != "null")
        {
            return instance(doc, first);
        }
    }
    if let Some(e) = schema.get("example") {
        return e.clone();
    }
    if let Some(e) = schema["examples"].get(0) {
        return e.clone();
    }
    if let Some(d) = schema
        .get("default")
        .filter(|d| d.as_array().is_none_or(|a| !a.is_empty()))
    {
        return d.clone();
    }
    if let Some(e) = schema["enum"].get(0) {
        return e.clone();
    }
    let ty = types(schema)
        .into_iter()
        .find(|t| *t != "null")
        .unwrap_or("object");
    match ty {
        "object" => Value::Object(
            schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), instance(doc, v)))
                .collect(),
        ),
        "array" => json!([instance(doc, &schema["items"])]),
        "integer" | "number" => schema.get("minimum").cloned().unwrap_or(json!(1)),
        "boolean" => json!(false),
        _ => match schema["format"].as_str().unwrap_or_default() {
            "date-time" => json!("2027-06-18T12:00:00+08:00"),
            "uuid" => json!(uuid::Uuid::new_v4()),
            "email" => json!("someone@brand.example"),
            "uri" => json!("https://lining.tmall.com/"),
            _ => json!("x".repeat(schema["minLength"].as_u64().unwrap_or(1) as usize)),
        },
    }
}

#[tokio::test]
async fn every_v1_operation_documents_the_503_it_gives_without_a_database() {
    let settings = moments_gate::config::Settings {
        bind: "127.0.0.1:0".into(),
        workers: 1,
        db_acquire_timeout: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let pool = moments_gate::app::pool(&settings, "postgres://nobody:x@127.0.0.1:1/none").unwrap();
    let dead = moments_gate::app::Application::build(settings, pool)
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", dead.port);
    tokio::spawn(dead.run());
    let client = reqwest::Client::new();
    let doc: Value = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ops = operations(&doc);
    // Each body is built from the document alone: a body the app refused would be
    // answered 400 or 422 before the database is asked, so a 503 also shows that the
    // documented shape is the accepted one.
    let calls = ops
        .iter()
        .filter(|op| op.path.starts_with("/v1/"))
        .map(|op| {
            let mut req = client
                .request(
                    op.http_method(),
                    format!("{base}{}", op.url(&uuid::Uuid::new_v4().to_string())),
                )
                .bearer_auth("mgs_a-session-the-database-would-know");
            if op.has_json_body() {
                req = req.json(&instance(
                    &doc,
                    &op.op["requestBody"]["content"]["application/json"]["schema"],
                ));
            }
            async move {
                (
                    op.name(),
                    op.response(503).is_some(),
                    req.send().await.unwrap(),
                )
            }
        });
    let answers = futures_util::future::join_all(calls).await;
    assert_eq!(answers.len(), 48);
    let mut bad = Vec::new();
    for (name, documented, res) in answers {
        let retry = res.headers().get("retry-after").is_some();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or_default();
        if !(documented && retry && status == 503 && body["code"] == "unavailable") {
            bad.push(format!(
                "{name}: documented {documented}, {status} {body}, Retry-After {retry}"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
