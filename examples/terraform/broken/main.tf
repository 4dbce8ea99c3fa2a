# The storefront as it was when the "random" 502s started.
#
# gunicorn runs with --threads 4, which makes it a gthread worker: it keeps connections alive, but
# closes them after its default --keep-alive of 2 seconds. The load balancer keeps idle connections
# for 60 seconds (its default) and reuses them, so now and then it sends a request into a connection
# gunicorn is closing: a 502 that no application log shows.
#
# The deregistration delay was cut to 5 seconds to speed up deploys; requests still running when it
# ends are cut off on every deploy.

module "storefront" {
  source = "../modules/web-service"

  name                 = "storefront"
  image                = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/storefront:2.14.0"
  command              = ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "storefront.wsgi"]
  deregistration_delay = 5

  vpc_id      = var.vpc_id
  subnet_ids  = var.subnet_ids
  cluster_arn = var.cluster_arn
}

variable "vpc_id" {
  type    = string
  default = "vpc-0a1b2c3d"
}

variable "subnet_ids" {
  type    = list(string)
  default = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
}

variable "cluster_arn" {
  type    = string
  default = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
}
