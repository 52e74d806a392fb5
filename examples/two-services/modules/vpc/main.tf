# A local stand-in for terraform-aws-modules/vpc/aws v5.21.0, so the example runs offline.
#
# For the inputs the seed passes (name, azs, cidr, public_subnets, private_subnets,
# enable_nat_gateway = true, single_nat_gateway = true) it creates the same 19 resources the
# registry module creates, with the same types, addresses (count-indexed, as there), arguments
# and tags:
#
#   aws_vpc.this                          1   Name = "<name>"
#   aws_default_security_group.this       1   adopted; all rules removed; "<name>-default"
#   aws_default_network_acl.this          1   adopted; allow-all v4 + v6 in/out; "<name>-default"
#   aws_default_route_table.default       1   adopted; no extra routes; "<name>-default"
#   aws_internet_gateway.this             1   Name = "<name>"
#   aws_subnet.public / .private       2 + 2  "<name>-public-<az>" / "<name>-private-<az>"
#   aws_route_table.public / .private  1 + 1  "<name>-public" / "<name>-private"
#   aws_route_table_association        2 + 2
#   aws_route.public_internet_gateway     1   0.0.0.0/0 -> internet gateway
#   aws_eip.nat                           1   Name = "<name>-<first az>"
#   aws_nat_gateway.this                  1   in the first public subnet; "<name>-<first az>"
#   aws_route.private_nat_gateway         1   0.0.0.0/0 -> NAT gateway
#
# Because the addresses match, a state written with this module keeps working after switching
# `source` back to the registry module (see ../../README.md).

locals {
  len_public_subnets  = length(var.public_subnets)
  len_private_subnets = length(var.private_subnets)

  create_public_subnets  = local.len_public_subnets > 0
  create_private_subnets = local.len_private_subnets > 0

  # One NAT gateway (single_nat_gateway), one per AZ, or one per private subnet.
  nat_gateway_count = var.single_nat_gateway ? 1 : var.one_nat_gateway_per_az ? length(var.azs) : local.len_private_subnets

  vpc_id = aws_vpc.this[0].id
}

################################################################################
# VPC and the three resources AWS creates with it
################################################################################

resource "aws_vpc" "this" {
  count = 1

  cidr_block           = var.cidr
  instance_tenancy     = var.instance_tenancy
  enable_dns_hostnames = var.enable_dns_hostnames
  enable_dns_support   = var.enable_dns_support

  tags = merge(
    { "Name" = var.name },
    var.tags,
  )
}

# Adopting the default security group removes AWS's default rules (self ingress, all egress):
# with no ingress/egress blocks, nothing is allowed.
resource "aws_default_security_group" "this" {
  count = 1

  vpc_id = aws_vpc.this[0].id

  dynamic "ingress" {
    for_each = var.default_security_group_ingress
    content {
      self             = lookup(ingress.value, "self", null)
      cidr_blocks      = compact(split(",", lookup(ingress.value, "cidr_blocks", "")))
      ipv6_cidr_blocks = compact(split(",", lookup(ingress.value, "ipv6_cidr_blocks", "")))
      prefix_list_ids  = compact(split(",", lookup(ingress.value, "prefix_list_ids", "")))
      security_groups  = compact(split(",", lookup(ingress.value, "security_groups", "")))
      description      = lookup(ingress.value, "description", null)
      from_port        = lookup(ingress.value, "from_port", 0)
      to_port          = lookup(ingress.value, "to_port", 0)
      protocol         = lookup(ingress.value, "protocol", "-1")
    }
  }

  dynamic "egress" {
    for_each = var.default_security_group_egress
    content {
      self             = lookup(egress.value, "self", null)
      cidr_blocks      = compact(split(",", lookup(egress.value, "cidr_blocks", "")))
      ipv6_cidr_blocks = compact(split(",", lookup(egress.value, "ipv6_cidr_blocks", "")))
      prefix_list_ids  = compact(split(",", lookup(egress.value, "prefix_list_ids", "")))
      security_groups  = compact(split(",", lookup(egress.value, "security_groups", "")))
      description      = lookup(egress.value, "description", null)
      from_port        = lookup(egress.value, "from_port", 0)
      to_port          = lookup(egress.value, "to_port", 0)
      protocol         = lookup(egress.value, "protocol", "-1")
    }
  }

  tags = merge(
    { "Name" = "${var.name}-default" },
    var.tags,
  )
}

# The default network ACL keeps allowing everything, IPv4 and IPv6, both ways.
resource "aws_default_network_acl" "this" {
  count = 1

  default_network_acl_id = aws_vpc.this[0].default_network_acl_id

  # Subnets join the default ACL by themselves; the registry module ignores this list
  # (terraform-aws-modules/terraform-aws-vpc#736).
  subnet_ids = null

  dynamic "ingress" {
    for_each = var.default_network_acl_ingress
    content {
      action          = ingress.value.action
      cidr_block      = lookup(ingress.value, "cidr_block", null)
      from_port       = ingress.value.from_port
      icmp_code       = lookup(ingress.value, "icmp_code", null)
      icmp_type       = lookup(ingress.value, "icmp_type", null)
      ipv6_cidr_block = lookup(ingress.value, "ipv6_cidr_block", null)
      protocol        = ingress.value.protocol
      rule_no         = ingress.value.rule_no
      to_port         = ingress.value.to_port
    }
  }

  dynamic "egress" {
    for_each = var.default_network_acl_egress
    content {
      action          = egress.value.action
      cidr_block      = lookup(egress.value, "cidr_block", null)
      from_port       = egress.value.from_port
      icmp_code       = lookup(egress.value, "icmp_code", null)
      icmp_type       = lookup(egress.value, "icmp_type", null)
      ipv6_cidr_block = lookup(egress.value, "ipv6_cidr_block", null)
      protocol        = egress.value.protocol
      rule_no         = egress.value.rule_no
      to_port         = egress.value.to_port
    }
  }

  tags = merge(
    { "Name" = "${var.name}-default" },
    var.tags,
  )

  lifecycle {
    ignore_changes = [subnet_ids]
  }
}

# The main route table keeps only its `local` route; subnets get explicit tables below.
resource "aws_default_route_table" "default" {
  count = 1

  default_route_table_id = aws_vpc.this[0].default_route_table_id
  propagating_vgws       = []

  timeouts {
    create = "5m"
    update = "5m"
  }

  tags = merge(
    { "Name" = "${var.name}-default" },
    var.tags,
  )
}

################################################################################
# Public subnets: routed to the internet gateway
################################################################################

resource "aws_subnet" "public" {
  count = local.create_public_subnets ? local.len_public_subnets : 0

  # An entry of `azs` is a zone name ("us-east-1a") or a zone id ("use1-az6").
  availability_zone                              = length(regexall("^[a-z]{2}-", element(var.azs, count.index))) > 0 ? element(var.azs, count.index) : null
  availability_zone_id                           = length(regexall("^[a-z]{2}-", element(var.azs, count.index))) == 0 ? element(var.azs, count.index) : null
  cidr_block                                     = element(concat(var.public_subnets, [""]), count.index)
  assign_ipv6_address_on_creation                = false
  enable_dns64                                   = false
  enable_resource_name_dns_aaaa_record_on_launch = false
  enable_resource_name_dns_a_record_on_launch    = false
  ipv6_native                                    = false
  map_public_ip_on_launch                        = var.map_public_ip_on_launch
  vpc_id                                         = local.vpc_id

  tags = merge(
    { "Name" = format("${var.name}-${var.public_subnet_suffix}-%s", element(var.azs, count.index)) },
    var.tags,
  )
}

resource "aws_internet_gateway" "this" {
  count = local.create_public_subnets ? 1 : 0

  vpc_id = local.vpc_id

  tags = merge(
    { "Name" = var.name },
    var.tags,
  )
}

resource "aws_route_table" "public" {
  count = local.create_public_subnets ? 1 : 0

  vpc_id = local.vpc_id

  tags = merge(
    { "Name" = "${var.name}-${var.public_subnet_suffix}" },
    var.tags,
  )
}

resource "aws_route_table_association" "public" {
  count = local.create_public_subnets ? local.len_public_subnets : 0

  subnet_id      = element(aws_subnet.public[*].id, count.index)
  route_table_id = aws_route_table.public[0].id
}

resource "aws_route" "public_internet_gateway" {
  count = local.create_public_subnets ? 1 : 0

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id

  timeouts {
    create = "5m"
  }
}

################################################################################
# Private subnets: routed to the NAT gateway(s)
################################################################################

resource "aws_subnet" "private" {
  count = local.create_private_subnets ? local.len_private_subnets : 0

  availability_zone                              = length(regexall("^[a-z]{2}-", element(var.azs, count.index))) > 0 ? element(var.azs, count.index) : null
  availability_zone_id                           = length(regexall("^[a-z]{2}-", element(var.azs, count.index))) == 0 ? element(var.azs, count.index) : null
  cidr_block                                     = element(concat(var.private_subnets, [""]), count.index)
  assign_ipv6_address_on_creation                = false
  enable_dns64                                   = false
  enable_resource_name_dns_aaaa_record_on_launch = false
  enable_resource_name_dns_a_record_on_launch    = false
  ipv6_native                                    = false
  vpc_id                                         = local.vpc_id

  tags = merge(
    { "Name" = format("${var.name}-${var.private_subnet_suffix}-%s", element(var.azs, count.index)) },
    var.tags,
  )
}

# One table per NAT gateway: with single_nat_gateway, one table for every private subnet.
resource "aws_route_table" "private" {
  count = local.create_private_subnets ? local.nat_gateway_count : 0

  vpc_id = local.vpc_id

  tags = merge(
    {
      "Name" = var.single_nat_gateway ? "${var.name}-${var.private_subnet_suffix}" : format(
        "${var.name}-${var.private_subnet_suffix}-%s",
        element(var.azs, count.index),
      )
    },
    var.tags,
  )
}

resource "aws_route_table_association" "private" {
  count = local.create_private_subnets ? local.len_private_subnets : 0

  subnet_id      = element(aws_subnet.private[*].id, count.index)
  route_table_id = element(aws_route_table.private[*].id, var.single_nat_gateway ? 0 : count.index)
}

################################################################################
# NAT gateway(s), each with an Elastic IP, in the public subnets
################################################################################

resource "aws_eip" "nat" {
  count = var.enable_nat_gateway ? local.nat_gateway_count : 0

  domain = "vpc"

  tags = merge(
    { "Name" = format("${var.name}-%s", element(var.azs, var.single_nat_gateway ? 0 : count.index)) },
    var.tags,
  )

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = var.enable_nat_gateway ? local.nat_gateway_count : 0

  allocation_id = element(aws_eip.nat[*].id, var.single_nat_gateway ? 0 : count.index)
  subnet_id     = element(aws_subnet.public[*].id, var.single_nat_gateway ? 0 : count.index)

  tags = merge(
    { "Name" = format("${var.name}-%s", element(var.azs, var.single_nat_gateway ? 0 : count.index)) },
    var.tags,
  )

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route" "private_nat_gateway" {
  count = var.enable_nat_gateway ? local.nat_gateway_count : 0

  route_table_id         = element(aws_route_table.private[*].id, count.index)
  destination_cidr_block = var.nat_gateway_destination_cidr_block
  nat_gateway_id         = element(aws_nat_gateway.this[*].id, count.index)

  timeouts {
    create = "5m"
  }
}
