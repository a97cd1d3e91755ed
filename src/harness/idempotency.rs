//! AWS's idempotent creates, which the emulator ignores: a create call carrying a client token
//! that AWS already carried out is not carried out again. EC2 and ECS answer it with the
//! first answer (EC2 refuses the same token with other parameters,
//! `IdempotentParameterMismatch`); Route 53 refuses a `CallerReference` it has seen with
//! `HostedZoneAlreadyExists`. Only successful calls count: a refused one made nothing.

use std::collections::HashMap;

use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::wire::{
    between, ec2_error, ecs_error, ecs_operation, form_body, json_body, operation, param,
};
use super::World;

/// The API a token belongs to, which decides how a repeat is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Ec2,
    Ecs,
    Route53,
}

/// A create call's client token, with its operation.
#[derive(Clone, Debug)]
pub(super) struct Token {
    api: Api,
    key: String,
}

/// The first successful answer to each token.
#[derive(Debug, Default)]
pub(super) struct Answers {
    first: HashMap<String, First>,
}

#[derive(Debug)]
struct First {
    request: Vec<u8>,
    status: u16,
    content_type: String,
    body: String,
}

/// The client token a request carries, when the model is on: EC2's `ClientToken`, ECS's
/// `clientToken`, Route 53's `CallerReference` on `CreateHostedZone`.
pub(super) fn token_of(request: &HttpRequest, world: &World) -> Option<Token> {
    if !world.idempotency {
        return None;
    }
    if let Some(operation) = ecs_operation(request) {
        let body = json_body(request)?;
        let token = body.get("clientToken")?.as_str()?;
        return Some(Token {
            api: Api::Ecs,
            key: format!("ecs {operation} {token}"),
        });
    }
    let form = form_body(request);
    if form.contains("Version=2016-11-15") {
        let action = param(form, "Action")?;
        let token = param(form, "ClientToken")?;
        return Some(Token {
            api: Api::Ec2,
            key: format!("ec2 {action} {token}"),
        });
    }
    if operation(request).as_deref() == Some("CreateHostedZone") {
        let reference = between(form, "<CallerReference>", "</CallerReference>")?;
        return Some(Token {
            api: Api::Route53,
            key: format!("route53 CreateHostedZone {reference}"),
        });
    }
    None
}

/// AWS's answer to a call whose token it already carried out, without carrying it out again.
pub(super) fn repeat(token: &Token, request: &HttpRequest, world: &World) -> Option<HttpResponse> {
    let answers = world.answers.lock().unwrap_or_else(|p| p.into_inner());
    let first = answers.first.get(&token.key)?;
    let same = request.body().bytes() == Some(first.request.as_slice());
    Some(match (token.api, same) {
        (Api::Route53, _) => {
            let xml = concat!(
                "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error>",
                "<Type>Sender</Type><Code>HostedZoneAlreadyExists</Code><Message>A hosted zone ",
                "has already been created with the specified caller reference (modelled)",
                "</Message></Error><RequestId>harness</RequestId></ErrorResponse>",
            );
            answer(409, "text/xml", xml.to_owned())
        }
        (_, true) => answer(first.status, &first.content_type, first.body.clone()),
        (Api::Ec2, false) => ec2_error(
            "IdempotentParameterMismatch",
            "The client token was used with other parameters (modelled)",
        ),
        (Api::Ecs, false) => ecs_error(
            "InvalidParameterException",
            "The client token was used with other parameters (modelled)",
        ),
    })
}

/// Records the first successful answer, `text`, to a call carrying `token`.
pub(super) fn record(
    token: &Token,
    request: Vec<u8>,
    response: &HttpResponse,
    text: &str,
    world: &World,
) {
    let mut answers = world.answers.lock().unwrap_or_else(|p| p.into_inner());
    answers
        .first
        .entry(token.key.clone())
        .or_insert_with(|| First {
            request,
            status: response.status().as_u16(),
            content_type: response
                .headers()
                .get("content-type")
                .unwrap_or("text/xml")
                .to_owned(),
            body: text.to_owned(),
        });
}

fn answer(status: u16, content_type: &str, body: String) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("a valid status"),
        SdkBody::from(body),
    );
    response
        .headers_mut()
        .insert("content-type", content_type.to_owned());
    response
}

#[cfg(test)]
mod tests {
    use super::super::wire::tests::{ecs, form};
    use super::super::Harness;
    use super::*;

    fn world() -> std::sync::Arc<World> {
        let harness = Harness::builder().idempotency().build();
        std::sync::Arc::clone(&harness.state.world)
    }

    fn ok(body: &str) -> HttpResponse {
        answer(200, "text/xml", body.to_owned())
    }

    #[test]
    fn a_repeated_ec2_token_gets_the_first_answer_and_other_parameters_a_mismatch() {
        let world = world();
        let body = "Action=CreateNatGateway&Version=2016-11-15&ClientToken=abc&SubnetId=subnet-1";
        let call = form(body);
        let token = token_of(&call, &world).expect("a token");
        assert!(repeat(&token, &call, &world).is_none());
        record(
            &token,
            body.as_bytes().to_vec(),
            &ok("<natGatewayId>nat-1</natGatewayId>"),
            "<natGatewayId>nat-1</natGatewayId>",
            &world,
        );
        let again = repeat(&token, &form(body), &world).expect("a repeat");
        assert_eq!(again.status().as_u16(), 200);
        assert_eq!(
            again.body().bytes(),
            Some(b"<natGatewayId>nat-1</natGatewayId>".as_slice())
        );
        let other =
            form("Action=CreateNatGateway&Version=2016-11-15&ClientToken=abc&SubnetId=subnet-2");
        let token = token_of(&other, &world).expect("a token");
        let refused = repeat(&token, &other, &world).expect("a refusal");
        assert_eq!(refused.status().as_u16(), 400);
        let text = std::str::from_utf8(refused.body().bytes().unwrap()).unwrap();
        assert!(text.contains("IdempotentParameterMismatch"), "{text}");
        // Another token, or none, is another call.
        let fresh = form("Action=CreateNatGateway&Version=2016-11-15&ClientToken=abd");
        let token = token_of(&fresh, &world).expect("a token");
        assert!(repeat(&token, &fresh, &world).is_none());
        assert!(token_of(&form("Action=CreateVpc&Version=2016-11-15"), &world).is_none());
    }

    #[test]
    fn ecs_and_route53_tokens_are_read_and_route53_refuses_a_repeat() {
        let world = world();
        let call = ecs(
            "CreateService",
            r#"{"serviceName":"blog","clientToken":"t1"}"#,
        );
        assert!(token_of(&call, &world).is_some());
        assert!(token_of(&ecs("CreateService", r#"{"serviceName":"blog"}"#), &world).is_none());

        let body = "<CreateHostedZoneRequest><Name>blog.local</Name><CallerReference>ecs-modules/vpc/blog/t1</CallerReference></CreateHostedZoneRequest>";
        let mut zone = HttpRequest::new(SdkBody::from(body));
        zone.set_method("POST").expect("a valid method");
        zone.set_uri("http://127.0.0.1:5000/2013-04-01/hostedzone")
            .expect("a valid uri");
        let token = token_of(&zone, &world).expect("a caller reference");
        record(
            &token,
            body.as_bytes().to_vec(),
            &ok("<Id>Z1</Id>"),
            "<Id>Z1</Id>",
            &world,
        );
        let refused = repeat(&token, &zone, &world).expect("a refusal");
        assert_eq!(refused.status().as_u16(), 409);
    }

    #[test]
    fn off_by_default() {
        let harness = Harness::builder().build();
        let call = form("Action=CreateNatGateway&Version=2016-11-15&ClientToken=abc");
        assert!(token_of(&call, &harness.state.world).is_none());
    }
}
