# The checkout service: its task definition sets no command, so the image's own runs. The Dockerfile
# that builds the image (mapped in examples/.keepalive-guard.toml) runs `npm start`, which package.json
# turns into `node dist/server.js` on Node 22: Node's http.Server closes idle connections after 5 s,
# long before the load balancer's 60 s.

module "checkout" {
  source = "../modules/web-service"

  name                 = "checkout"
  image                = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:3.1.0"
  port                 = 3000
  deregistration_delay = 60

  vpc_id      = "vpc-0a1b2c3d"
  subnet_ids  = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
  cluster_arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"
}
