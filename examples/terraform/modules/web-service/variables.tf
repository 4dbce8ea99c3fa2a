variable "name" {
  description = "Name of the service, its load balancer and its target group."
  type        = string
}

variable "image" {
  description = "Container image of the web process."
  type        = string
}

variable "command" {
  description = "Command line of the web process; null leaves it to the image."
  type        = list(string)
  default     = null
}

variable "port" {
  description = "Port the web process listens on."
  type        = number
  default     = 8000
}

variable "idle_timeout" {
  description = "Seconds the load balancer keeps an idle connection to a target open."
  type        = number
  default     = 60
}

variable "deregistration_delay" {
  description = "Seconds in-flight requests get to finish when a task is deregistered."
  type        = number
  default     = 300
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "cluster_arn" {
  type = string
}
