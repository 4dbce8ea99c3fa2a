output "dns_name" {
  value = aws_lb.this.dns_name
}
