//! Reading the requests and writing the error answers of AWS's protocols, for the models:
//! ECS's JSON, EC2's query dialect, the query protocol of IAM, ELB and Auto Scaling,
//! Route 53's REST calls, and CloudWatch's Smithy RPC v2 CBOR.

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

/// The Smithy RPC v2 CBOR service and operation a request calls, from its path
/// (`/service/<service>/operation/<operation>`): CloudWatch's.
pub(super) fn rpc_v2_operation(request: &HttpRequest) -> Option<(&str, &str)> {
    let path = request.uri().split('?').next().unwrap_or_default();
    let (before, operation) = path.rsplit_once("/operation/")?;
    let (_, service) = before.rsplit_once("/service/")?;
    (!operation.is_empty() && !operation.contains('/')).then_some((service, operation))
}

/// The operation a request calls: its JSON target, its query `Action`, its RPC v2 path, or
/// Route 53's `CreateHostedZone` (the only REST call the models follow).
pub(super) fn operation(request: &HttpRequest) -> Option<String> {
    if let Some(target) = request.headers().get("x-amz-target") {
        return target.rsplit('.').next().map(str::to_owned);
    }
    if let Some((_, operation)) = rpc_v2_operation(request) {
        return Some(operation.to_owned());
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

/// The body of a Smithy RPC v2 CBOR error: the map `{"__type": code, "message": message}`.
pub(super) fn cbor_error_body(code: &str, message: &str) -> Vec<u8> {
    // A CBOR head: the major type in the top three bits, then the length.
    fn head(out: &mut Vec<u8>, major: u8, len: usize) {
        let major = major << 5;
        match len {
            0..=23 => out.push(major | len as u8),
            24..=0xff => out.extend([major | 24, len as u8]),
            0x100..=0xffff => {
                out.push(major | 25);
                out.extend((len as u16).to_be_bytes());
            }
            _ => {
                out.push(major | 26);
                out.extend((len as u32).to_be_bytes());
            }
        }
    }
    let mut out = Vec::new();
    head(&mut out, 5, 2);
    for text in ["__type", code, "message", message] {
        head(&mut out, 3, text.len());
        out.extend(text.as_bytes());
    }
    out
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

    /// A CloudWatch (Smithy RPC v2 CBOR) request to `operation`.
    pub(in crate::harness) fn cloudwatch(operation: &str) -> HttpRequest {
        let mut request = HttpRequest::new(SdkBody::from(vec![0xa0]));
        request
            .set_uri(format!(
                "http://127.0.0.1:5000/service/GraniteServiceVersion20100801/operation/{operation}"
            ))
            .unwrap();
        request
            .headers_mut()
            .insert("content-type", "application/cbor");
        request
    }

    #[test]
    fn rpc_v2_operations_come_from_the_path() {
        let request = cloudwatch("DescribeAlarms");
        assert_eq!(
            rpc_v2_operation(&request),
            Some(("GraniteServiceVersion20100801", "DescribeAlarms"))
        );
        assert_eq!(operation(&request).as_deref(), Some("DescribeAlarms"));
        assert_eq!(rpc_v2_operation(&form("Action=DescribeVpcs")), None);
    }

    #[test]
    fn a_cbor_error_is_a_map_of_its_code_and_message() {
        let body = cbor_error_body("ThrottlingException", "Rate exceeded");
        let mut want = vec![0xa2, 0x66];
        want.extend(b"__type");
        want.push(0x73);
        want.extend(b"ThrottlingException");
        want.push(0x67);
        want.extend(b"message");
        want.push(0x6d);
        want.extend(b"Rate exceeded");
        assert_eq!(body, want);
        // Longer texts take a one-byte length.
        let long = "x".repeat(30);
        assert_eq!(&cbor_error_body(&long, "")[8..10], &[0x78, 30]);
    }
}
