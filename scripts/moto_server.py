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
  the emulator's services are (`SUCCESSFUL`); the harness models its stages and
  a rollback.

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

import re
import sys
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from moto.applicationautoscaling import models as scaling
from moto.ecs import models, responses
from botocore.awsrequest import AWSRequest
from moto.ec2.models.vpcs import VPCEndPoint
from moto.iam import access_control
from moto.core.responses import ActionResult
from moto.ecs.exceptions import InvalidParameterException, ServiceNotFoundException
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
    now = datetime.now(timezone.utc)
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

if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(main())
