//! Reading the requests and writing the error answers of AWS's protocols, for the models:
//! ECS's JSON, EC2's query dialect, the query protocol of IAM, ELB and Auto Scaling, and
//! Route 53's REST calls.

use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

const ECS: &str = "AmazonEC2ContainerServiceV20141113.";
const SCALING: &str = "AnyScaleFrontendService.";

/// The ECS operation a request calls.
pub(super) fn ecs_operation(request: &HttpRequest) -> Option<&str> {
    request.headers().get("x-amz-target")?.strip_prefix(ECS)
}

/// The Application Auto Scaling operation a request calls (its errors are ECS's JSON).
pub(super) fn scaling_operation(request: &HttpRequest) -> Option<&str> {
    request.headers().get("x-amz-target")?.strip_prefix(SCALING)
}

/// A JSON request's body.
pub(super) fn json_body(request: &HttpRequest) -> Option<Value> {
    serde_json::from_slice(request.body().bytes()?).ok()
}

/// A query request's form body (empty for other protocols).
pub(super) fn form_body(request: &HttpRequest) -> &str {
    request
        .body()
        .bytes()
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or_default()
}

/// The operation a request calls: its JSON target, its query `Action`, or Route 53's
/// `CreateHostedZone` (the only REST call the models follow).
pub(super) fn operation(request: &HttpRequest) -> Option<String> {
    if let Some(target) = request.headers().get("x-amz-target") {
        return target.rsplit('.').next().map(str::to_owned);
    }
    let form = form_body(request);
    if let Some(rest) = form.strip_prefix("Action=") {
        return Some(rest.split('&').next().unwrap_or(rest).to_owned());
    }
    (request.method() == "POST" && request.uri().ends_with("/2013-04-01/hostedzone"))
        .then(|| "CreateHostedZone".to_owned())
}

/// A form parameter's value (`Key=value&`), percent-decoded enough for names and ARNs.
pub(super) fn param(body: &str, key: &str) -> Option<String> {
    let start = body.find(&format!("{key}="))? + key.len() + 1;
    let end = body[start..].find('&').map_or(body.len(), |e| start + e);
    Some(body[start..end].replace("%3A", ":").replace("%2F", "/"))
}

/// The text between the first `open` and the `close` after it.
pub(super) fn between<'t>(text: &'t str, open: &str, close: &str) -> Option<&'t str> {
    let start = text.find(open)? + open.len();
    let end = start + text[start..].find(close)?;
    Some(&text[start..end])
}

fn answer(status: u16, body: String, content_type: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("a valid status"),
        SdkBody::from(body),
    );
    response
        .headers_mut()
        .insert("content-type", content_type.to_owned());
    response
}

/// An ECS error answer (JSON, status 400).
pub(super) fn ecs_error(code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({ "__type": code, "message": message }).to_string();
    answer(400, body, "application/x-amz-json-1.1")
}

/// An EC2 error answer (the query protocol's XML), as AWS gives it with status 400.
pub(super) fn ec2_error(code: &str, message: &str) -> HttpResponse {
    let xml = format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>harness</RequestID></Response>"
    );
    answer(400, xml, "text/xml")
}

/// An error answer of the query protocol that IAM, ELB and Auto Scaling speak (status 400).
pub(super) fn query_error(code: &str, message: &str) -> HttpResponse {
    let xml = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>harness</RequestId></ErrorResponse>"
    );
    answer(400, xml, "text/xml")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A request to an ECS operation.
    pub(in crate::harness) fn ecs(operation: &str, body: &str) -> HttpRequest {
        let mut request = HttpRequest::new(SdkBody::from(body.to_owned()));
        request
            .headers_mut()
            .insert("x-amz-target", format!("{ECS}{operation}"));
        request
    }

    /// A request to an Application Auto Scaling operation.
    pub(in crate::harness) fn scaling(operation: &str, body: &str) -> HttpRequest {
        let mut request = HttpRequest::new(SdkBody::from(body.to_owned()));
        request
            .headers_mut()
            .insert("x-amz-target", format!("{SCALING}{operation}"));
        request
    }

    /// A query-protocol request with this form body.
    pub(in crate::harness) fn form(body: &str) -> HttpRequest {
        HttpRequest::new(SdkBody::from(body.to_owned()))
    }
}
