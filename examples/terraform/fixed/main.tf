# The storefront after the fix.
#
# gunicorn now keeps idle connections for 65 seconds, longer than the load balancer's 60, so the load
# balancer always closes an idle connection first. The deregistration delay covers the longest a
# request may take (gthread sets no request timeout, so the 60 s idle timeout bounds it).

module "storefront" {
  source = "../modules/web-service"

  name                 = "storefront"
  image                = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/storefront:2.14.0"
  command              = ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--keep-alive", "65", "storefront.wsgi"]
  deregistration_delay = 60

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
