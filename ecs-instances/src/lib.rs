//! EC2 capacity for ECS: the port of npalm/terraform-aws-ecs-instances (in progress).
