# A cluster, one Fargate task definition whose image is `product-svc`, and a service of two tasks
# in two private subnets of two zones; no load balancer. berth runs the tasks for real.

provider "aws" {
  region = "us-east-1"
}

resource "aws_vpc" "main" {
  cidr_block           = "10.42.0.0/16"
  enable_dns_hostnames = true
  tags                 = { Name = "ecs-no-alb" }
}

resource "aws_subnet" "private_a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.42.2.0/24"
  availability_zone = "us-east-1a"
}

resource "aws_subnet" "private_b" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.42.3.0/24"
  availability_zone = "us-east-1b"
}

resource "aws_security_group" "tasks" {
  vpc_id = aws_vpc.main.id
  name   = "tasks"
  ingress {
    from_port   = 3000
    to_port     = 3000
    protocol    = "tcp"
    cidr_blocks = ["10.42.0.0/16"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_iam_role" "execution" {
  name = "ecs-no-alb-execution"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17",
    Statement = [{ Effect = "Allow", Principal = { Service = "ecs-tasks.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_ecs_cluster" "main" {
  name = "ecs-cluster"
}

resource "aws_ecs_task_definition" "product" {
  family = "product-svc-td"
  container_definitions = jsonencode([{
    name      = "product-svc"
    image     = "product-svc"
    essential = true
    portMappings = [{
      containerPort = 3000
      hostPort      = 3000
    }]
    environment = [{ name = "GREETING", value = "hello" }]
  }])
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  execution_role_arn       = aws_iam_role.execution.arn
  cpu                      = 256
  memory                   = 1024
}

resource "aws_ecs_service" "product" {
  name            = "product-svc"
  cluster         = aws_ecs_cluster.main.arn
  task_definition = aws_ecs_task_definition.product.arn
  desired_count   = 2
  launch_type     = "FARGATE"
  network_configuration {
    subnets         = [aws_subnet.private_a.id, aws_subnet.private_b.id]
    security_groups = [aws_security_group.tasks.id]
  }
  availability_zone_rebalancing = "ENABLED"
  tags                          = { team = "shop" }
}

output "subnets" {
  value = [aws_subnet.private_a.id, aws_subnet.private_b.id]
}
