"""Run moto's server (as the `moto_server` console script does) after patching
moto 5.2.5's ECS emulation where it departs from AWS's documented behaviour.

Usage: python scripts/moto_server.py -H 127.0.0.1 -p PORT   (argv goes to moto)

Patches (see the CreateService / UpdateService API references):

* CreateService: moto never reads `capacityProviderStrategy` and defaults the
  service's launch type to "EC2". On AWS the service keeps the strategy and has
  no `launchType` ("omitted if the service was created using a capacity provider
  strategy"). Giving both is rejected by AWS with InvalidParameterException;
  moto accepted it.
* UpdateService: moto stores a new strategy but keeps the launch type. On AWS a
  non-empty strategy moves the service off its launch type, and an empty list
  moves it back to the launch type it had (for a service created with a
  strategy: FARGATE when that strategy was Fargate-only, else EC2).

* CreateService: moto ignores `enableExecuteCommand` and
  `deploymentConfiguration`; AWS keeps both and describes them (UpdateService
  stores them already, as any property it is given).

* ListServiceDeployments, DescribeServiceDeployments: moto answers HTTP 500
  (not implemented). Here CreateService and each UpdateService that starts a
  deployment (anything but a desired count alone) record one, done at once as
  the emulator's services are (`SUCCESSFUL`), and the service names it as its
  `currentServiceDeployment`; the harness models its stages and a rollback.

* ModifyVpcEndpoint: moto records route tables added to or removed from a
  gateway endpoint but leaves their routes; AWS adds and removes the route to the
  service's prefix list with the table. (Deleting the endpoint then fails on the
  route moto never made.)

* DeregisterScalableTarget (Application Auto Scaling): moto removes the target
  only. On AWS, deregistering "deletes the scaling policies and the scheduled
  actions that are associated with it".

* With IAM enforced (INITIAL_NO_AUTH_ACTION_COUNT), moto checks each call's
  SigV4 signature by signing the request again, but for a request without a body
  (Route 53's GETs and DELETEs) it signs the headers or query parameters as if
  they were a form body, so every such call fails with SignatureDoesNotMatch
  whatever the caller's policy, and it encodes a form body again with `+` for a
  space, which refuses any call whose parameters hold a space (a security group's
  description). AWS signs the body as sent; so does this patch, as near as the
  parsed form allows.

* DescribeServices: moto records which fields an answer leaves out (a service's
  tags, unless `include` asks for them) in one dict shared by every request, so a
  call without `include` answered while another with it is being answered strips
  that one's tags. AWS answers each call on its own; so does moto with this patch,
  each request keeping its own copy.

moto's serializer reads model attributes by the snake_case of the API field, so
`capacity_provider_strategy` answers as `capacityProviderStrategy`, a None
attribute is left out of the answer, and an empty list is sent as `[]`.
"""

import base64
import datetime
import gzip
import io
import json
import re
import sys
import threading
from urllib.parse import quote, urlencode

import botocore.session
import cbor2

from moto.applicationautoscaling import models as scaling
from moto.ecs import models, responses
from botocore.awsrequest import AWSRequest
from moto.ec2.models.vpcs import VPCEndPoint
from moto.iam import access_control
from moto.core.responses import ActionResult
from moto.ecs.exceptions import InvalidParameterException, ServiceNotFoundException
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main

FARGATE_PROVIDERS = {"FARGATE", "FARGATE_SPOT"}


def _items(strategy):
    # AWS describes every item with its defaults filled in (weight 0, base 0).
    return [{"weight": 0, "base": 0, **item} for item in strategy]


def _set_launch(service, launch_type, strategy):
    service.launch_type = launch_type
    service.capacity_provider_strategy = strategy
    for deployment in service.deployments:
        deployment["launchType"] = launch_type
        deployment["capacityProviderStrategy"] = strategy or None


_create_service = responses.EC2ContainerServiceResponse.create_service


def create_service(self):
    strategy = self._get_param("capacityProviderStrategy")
    if strategy and self._get_param("launchType"):
        raise InvalidParameterException(
            "Specifying both a launch type and capacity provider strategy is not"
            " supported. Remove one and try again."
        )
    result = _create_service(self)
    service = result.result["service"]
    service.enable_execute_command = bool(self._get_param("enableExecuteCommand", False))
    # AWS keeps the deployment configuration given at create (moto keeps it only from an
    # update): its strategy, bake time and circuit breaker are described back.
    deployment = self._get_param("deploymentConfiguration")
    if deployment:
        service.deployment_configuration = deployment
    if strategy:
        _set_launch(service, None, _items(strategy))
    _record_deployment(service)
    return result


_update_service = models.EC2ContainerServiceBackend.update_service


def update_service(self, props):
    deploys = any(v is not None for k, v in props.items() if k not in _NOT_DEPLOYING)
    service = _update_strategy(self, props)
    if deploys:
        _record_deployment(service)
    return service


# What an UpdateService may carry without starting a deployment.
_NOT_DEPLOYING = {"cluster", "service", "desired_count"}


def _update_strategy(self, props):
    strategy = props.get("capacity_provider_strategy")
    if strategy is None:
        return _update_service(self, props)
    name = props["service"].split("/")[-1]
    old = self._get_service(props.get("cluster", "default"), name)
    old_strategy = getattr(old, "capacity_provider_strategy", None) or []
    service = _update_service(self, props)
    if strategy:
        if service.launch_type:
            service._launch_type_before_strategy = service.launch_type
        _set_launch(service, None, _items(strategy))
    elif not service.launch_type:
        fargate = bool(old_strategy) and all(
            item.get("capacityProvider") in FARGATE_PROVIDERS for item in old_strategy
        )
        launch_type = getattr(service, "_launch_type_before_strategy", None) or (
            "FARGATE" if fargate else "EC2"
        )
        _set_launch(service, launch_type, [])
    return service


# --- Service deployments ---------------------------------------------------


def _record_deployment(service):
    now = datetime.datetime.now(datetime.timezone.utc)
    deployments = service.__dict__.setdefault("_service_deployments", [])
    number = len(deployments) + 1
    deployments.append(
        {
            "serviceDeploymentArn": service.arn.replace(":service/", ":service-deployment/")
            + f"/{number:012d}",
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "createdAt": now,
            "startedAt": now,
            "finishedAt": now,
            "status": "SUCCESSFUL",
        }
    )
    # AWS names it on the service (`currentServiceDeployment`).
    service.current_service_deployment = deployments[-1]["serviceDeploymentArn"]


def _deployments(backend, cluster, service):
    try:
        found = backend._get_service(cluster or "default", service)
    except ServiceNotFoundException:
        return []
    return getattr(found, "_service_deployments", [])


def list_service_deployments(self):
    found = _deployments(self.ecs_backend, self._get_param("cluster"), self._get_param("service"))
    statuses = self._get_param("status") or []
    # Newest first, as AWS lists them.
    briefs = [d for d in reversed(found) if not statuses or d["status"] in statuses]
    return ActionResult({"serviceDeployments": briefs})


def describe_service_deployments(self):
    wanted = self._get_param("serviceDeploymentArns") or []
    every = [
        d
        for s in self.ecs_backend.services.values()
        for d in getattr(s, "_service_deployments", [])
    ]
    found = [d for d in every if d["serviceDeploymentArn"] in wanted]
    known = {d["serviceDeploymentArn"] for d in found}
    failures = [{"arn": arn, "reason": "MISSING"} for arn in wanted if arn not in known]
    return ActionResult({"serviceDeployments": found, "failures": failures})


_deregister = scaling.ApplicationAutoscalingBackend.deregister_scalable_target


def deregister_scalable_target(self, namespace, r_id, dimension):
    _deregister(self, namespace, r_id, dimension)
    for policy in list(self.policies.values()):
        if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (
            namespace,
            r_id,
            dimension,
        ):
            self.delete_scaling_policy(policy.policy_name, namespace, r_id, dimension)
    self.scheduled_actions = [
        a
        for a in self.scheduled_actions
        if (a.service_namespace, a.resource_id, a.scalable_dimension)
        != (namespace, r_id, dimension)
    ]


_modify_endpoint = VPCEndPoint.modify


def modify_endpoint(self, policy_doc, add_subnets, remove_subnets, add_route_tables,
                    remove_route_tables, add_security_groups, remove_security_groups):
    prefix_list = self.destination_prefix_list_id
    before = set(self.route_table_ids or [])
    _modify_endpoint(self, policy_doc, add_subnets, remove_subnets, add_route_tables,
                     remove_route_tables, add_security_groups, remove_security_groups)
    if not prefix_list:
        return
    after = set(self.route_table_ids or [])
    for table in after - before:
        self.ec2_backend.create_route(
            table, None, gateway_id=self.id, destination_prefix_list_id=prefix_list
        )
    for table in before - after:
        self.ec2_backend.delete_route(table, None, destination_prefix_list_id=prefix_list)


def signed_request(self):
    names = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"])
    headers = self._create_headers_for_aws_request(names.split(";"), self._headers)
    data = self._body
    if not data and "x-www-form-urlencoded" in self._headers.get("Content-Type", ""):
        # The form comes parsed; encode it again as the SDKs do (a space is %20, not +).
        data = urlencode(self._data, doseq=True, quote_via=quote, safe="-_.~")
    request = AWSRequest(method=self._method, url=self._path, data=data, headers=headers)
    request.context["timestamp"] = headers["X-Amz-Date"]
    return request


_ecs_response_init = responses.EC2ContainerServiceResponse.__init__


def ecs_response_init(self):
    _ecs_response_init(self)
    self.RESPONSE_KEY_PATH_TO_TRANSFORMER = dict(type(self).RESPONSE_KEY_PATH_TO_TRANSFORMER)


access_control.IAMRequestBase._create_aws_request = signed_request
responses.EC2ContainerServiceResponse.__init__ = ecs_response_init
VPCEndPoint.modify = modify_endpoint
responses.EC2ContainerServiceResponse.create_service = create_service
scaling.ApplicationAutoscalingBackend.deregister_scalable_target = deregister_scalable_target
models.EC2ContainerServiceBackend.update_service = update_service
responses.EC2ContainerServiceResponse.list_service_deployments = list_service_deployments
responses.EC2ContainerServiceResponse.describe_service_deployments = (
    describe_service_deployments
)


# --- Smithy RPC v2 CBOR (CloudWatch) ------------------------------------------------------
#
# aws-sdk-cloudwatch (1.100 and later) speaks Smithy RPC v2 CBOR: `POST
# /service/GraniteServiceVersion20100801/operation/<Op>` with a CBOR body, `Content-Type:
# application/cbor` and `smithy-protocol: rpc-v2-cbor`. moto 5.2.5 has no CBOR protocol and
# answers 404 there, but serves CloudWatch over AWS JSON 1.0 (`X-Amz-Target:
# GraniteServiceVersion20100801.<Op>`). This shim, in front of moto's WSGI application:
#
# * turns such a request into the JSON 1.0 request of the same operation (CBOR decoded with
#   cbor2; a timestamp, tag 1, becomes epoch seconds, a byte string base64) and hands it to
#   moto unchanged otherwise, so moto's own parsing, backend, IAM check and errors apply;
# * turns moto's JSON answer back into CBOR, typed by the operation's output shape in
#   botocore's model (timestamps as tag 1, doubles as floats, integers as integers, blobs as
#   byte strings, nulls left out), with `smithy-protocol: rpc-v2-cbor`;
# * turns an error into the CBOR envelope the SDK parses, `{"__type": code, "message": text}`,
#   keeping moto's `x-amzn-query-error` header (CloudWatch is awsQueryCompatible: the SDK
#   takes the code from it);
# * with IAM enforced, checks the signature against the request as the SDK signed it (its
#   path, CBOR body and headers), and names CloudWatch's actions `cloudwatch:<Op>` as IAM
#   does: moto takes the prefix from the signing name, `monitoring`, for every protocol.
#
# Another service that moves to CBOR needs its line in RPC_V2_CBOR_SERVICES.


# Smithy service shape name -> (botocore service name, JSON protocol version).
RPC_V2_CBOR_SERVICES = {"GraniteServiceVersion20100801": ("cloudwatch", "1.0")}
# IAM's prefix where it is not the signing name.
IAM_PREFIX_BY_SIGNING_NAME = {"monitoring": "cloudwatch"}

_RPC_V2_PATH = re.compile(r"^/service/([A-Za-z0-9_.]+)/operation/([A-Za-z0-9_]+)$")
_rpc_v2_original = threading.local()
_botocore_session = botocore.session.get_session()
_service_models = {}


def _service_model(name):
    if name not in _service_models:
        _service_models[name] = _botocore_session.get_service_model(name)
    return _service_models[name]


def _cbor_to_json(value):
    """A decoded CBOR request value as the JSON protocol sends it."""
    if isinstance(value, dict):
        return {k: _cbor_to_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_cbor_to_json(v) for v in value]
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return value.value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return value


def _epoch(value):
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return value


def _json_to_cbor(value, shape):
    """A JSON answer's value typed for CBOR by its botocore shape."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {
            name: _json_to_cbor(v, shape.members.get(name))
            for name, v in value.items()
            if v is not None
        }
    if kind == "list":
        return [_json_to_cbor(v, shape.member) for v in value]
    if kind == "map":
        return {k: _json_to_cbor(v, shape.value) for k, v in value.items() if v is not None}
    if kind == "timestamp":
        return cbor2.CBORTag(1, _epoch(value))
    if kind == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long", "short", "byte"):
        return int(value)
    return value


def _error_of(status, body):
    """The code and message of moto's error answer (JSON, or XML from its IAM check)."""
    text = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
        code = parsed.get("__type") or parsed.get("code") or ""
        message = parsed.get("message") or parsed.get("Message") or ""
    except (ValueError, AttributeError):
        code = (re.search(r"<Code>(.*?)</Code>", text, re.S) or [None, ""])[1]
        message = (re.search(r"<Message>(.*?)</Message>", text, re.S) or [None, text])[1]
    if not code:
        code = "InternalFailure" if status >= 500 else "ValidationError"
    return code, message


def _rpc_v2_cbor(app, environ, start_response, shape_name, operation):
    service, version = RPC_V2_CBOR_SERVICES[shape_name]
    length = environ.get("CONTENT_LENGTH")
    raw = environ["wsgi.input"].read(int(length)) if length else environ["wsgi.input"].read()
    body = raw
    if "gzip" in environ.get("HTTP_CONTENT_ENCODING", ""):
        body = gzip.decompress(body)
    params = _cbor_to_json(cbor2.loads(body)) if body else {}
    payload = json.dumps(params).encode()
    target = f"{shape_name}.{operation}"
    inner = dict(environ)
    inner.pop("HTTP_CONTENT_ENCODING", None)
    inner.update(
        {
            "PATH_INFO": "/",
            "RAW_URI": "/",
            "REQUEST_URI": "/",
            "CONTENT_TYPE": f"application/x-amz-json-{version}",
            "CONTENT_LENGTH": str(len(payload)),
            "HTTP_X_AMZ_TARGET": target,
            "wsgi.input": io.BytesIO(payload),
        }
    )
    answer = {}

    def capture(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, headers
        return lambda data: None

    # The request as signed, for moto's signature check.
    _rpc_v2_original.request = (environ.get("PATH_INFO", ""), raw, environ.get("CONTENT_TYPE", ""))
    try:
        chunks = app(inner, capture)
        try:
            out = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
    finally:
        _rpc_v2_original.request = None
    status = int(answer["status"].split()[0])
    kept = [
        (k, v)
        for k, v in answer["headers"]
        if k.lower() not in ("content-type", "content-length", "x-amzn-errortype", "status")
    ]
    if status < 300:
        model = _service_model(service).operation_model(operation)
        result = json.loads(out) if out.strip() else {}
        data = _json_to_cbor(result, model.output_shape) if model.output_shape else {}
    else:
        code, message = _error_of(status, out)
        data = {"__type": code, "message": message}
    encoded = cbor2.dumps(data)
    kept += [
        ("Content-Type", "application/cbor"),
        ("Content-Length", str(len(encoded))),
        ("smithy-protocol", "rpc-v2-cbor"),
    ]
    start_response(answer["status"], kept)
    return [encoded]


_dispatch_call = DomainDispatcherApplication.__call__


def dispatch_call(self, environ, start_response):
    match = _RPC_V2_PATH.match(environ.get("PATH_INFO", ""))
    if (
        environ.get("REQUEST_METHOD") == "POST"
        and match
        and match.group(1) in RPC_V2_CBOR_SERVICES
    ):
        moto = lambda env, respond: _dispatch_call(self, env, respond)  # noqa: E731
        return _rpc_v2_cbor(moto, environ, start_response, match.group(1), match.group(2))
    return _dispatch_call(self, environ, start_response)


_iam_request_init = access_control.IAMRequestBase.__init__
_create_aws_request = access_control.IAMRequestBase._create_aws_request


def iam_request_init(self, *args, **kwargs):
    _iam_request_init(self, *args, **kwargs)
    prefix = IAM_PREFIX_BY_SIGNING_NAME.get(self._service)
    if prefix:
        self._action = f"{prefix}:{self._action.split(':', 1)[1]}"


def create_aws_request(self):
    original = getattr(_rpc_v2_original, "request", None)
    if not original:
        return _create_aws_request(self)
    path, body, content_type = original
    saved = self._path, self._body, self._data, self._headers
    headers = dict(self._headers)
    for key in [k for k in headers if k.lower() in ("content-type", "content-length")]:
        del headers[key]
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    self._path, self._body, self._data, self._headers = path, body, {}, headers
    try:
        return _create_aws_request(self)
    finally:
        self._path, self._body, self._data, self._headers = saved


DomainDispatcherApplication.__call__ = dispatch_call
access_control.IAMRequestBase.__init__ = iam_request_init
access_control.IAMRequestBase._create_aws_request = create_aws_request

# --- end of Smithy RPC v2 CBOR ------------------------------------------------------------

if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(main())
