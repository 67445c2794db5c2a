terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}
locals {
  tags     = merge(var.tags, { "Name" = "${var.name}-${each.key}" })
  template = "%{ for k, v in var.tags }${k}=${v}%{ endfor }"
  literal  = "$${not.an.interpolation}"
}
resource "aws_security_group" "this" {
  dynamic "ingress" {
    for_each = var.rules
    content {
      from_port = ingress.value.port # a comment
    }
  }
  policy = <<POLICY
{"Statement": [{"Effect": "Allow"}
POLICY
}
variable c { description = "one line" }
output "one_line" { value = 1 }
