################################################################
# VPC
################################################################

variable "create_vpc" {
  description = "Controls if VPC should be created (it affects almost all resources)"
  type        = bool
  default     = true
}

variable "name" {
  description = "Name to be used on all the resources as identifier"
  type        = string
  default     = ""
}

variable "azs" {
  description = "A list of availability zones names or ids in the region"
  type        = list(string)
  default     = []
}

variable "subnets" {
  description = "Subnets by name: { cidr, public }"
  type = map(object({
    cidr   = string
    public = optional(bool, false) // the default is private
    tags   = optional(map(string), {})
  }))
  default = {
    "a" = { cidr = "10.0.0.0/24" }
  }

  validation {
    condition = alltrue([
      for s in values(var.subnets) : can(cidrhost(s.cidr, 0))
    ])
    error_message = "Every subnet needs a valid CIDR, e.g. \"10.0.0.0/24\"."
  }
}

/*
variable "commented_out" {
  type = string
}
*/

variable "db_password" {
  type      = string
  sensitive = true
  nullable  = false
}
