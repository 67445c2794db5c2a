output "vpc_id" {
  description = "The ID of the VPC"
  value       = try(aws_vpc.this[0].id, null)
}

output "vpc_arn" {
  description = <<-EOT
    The ARN of the VPC.
      Indented further.
  EOT
  value = try(aws_vpc.this[0].arn, null)
}

output "summary" {
  value = <<EOF
VPC ${var.name} in ${join(", ", var.azs)} }
EOF
}

output "connection" {
  value     = "postgres://app:${var.db_password}@${aws_db_instance.this.address}/app"
  sensitive = true
}
