"""Generate synthetic but realistic CloudFormation stacks: STACKS templates of SERVICES services each.

Each service is an ALB with an HTTPS listener and a target group, an ECS service on Fargate and its
task definition (command, environment, secrets, logging), plus what surrounds it in a real stack:
security groups and ingress rules, task and execution roles with inline policies, a log group, an S3
bucket with its policy, an SQS queue and CloudWatch alarms: 14 to 16 resources a service, so 30
services make a stack of about 450 resources (CloudFormation allows 500). Templates are YAML with the
short-form intrinsic functions (`!Ref`, `!GetAtt`, `!Sub`), as people write them.

    python bench/generate_cfn.py 10 30 /tmp/stacks     # 10 stacks of 30 services
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

COMMANDS = [
    ["gunicorn", "--threads", "4", "app.wsgi"],
    ["gunicorn", "--threads", "4", "--keep-alive", "75", "app.wsgi"],
    ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--timeout-keep-alive", "65"],
    ["uvicorn", "app.main:app", "--host", "0.0.0.0"],
    ["node", "dist/server.js"],
]


def _service(stack: int, index: int, rng: random.Random) -> str:
    name = f"S{stack:02d}Svc{index:03d}"
    command = json.dumps(rng.choice(COMMANDS))
    image = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{name.lower()}:1.{rng.randrange(100)}"
    alarms = "".join(
        f"""
  {name}{metric}Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub "${{AWS::StackName}}-{name}-{metric}"
      Namespace: AWS/ECS
      MetricName: {metric}
      Statistic: Average
      Period: 60
      EvaluationPeriods: {rng.randrange(2, 6)}
      Threshold: {rng.randrange(50, 95)}
      ComparisonOperator: GreaterThanThreshold
      Dimensions:
        - Name: ServiceName
          Value: !GetAtt {name}Service.Name
"""
        for metric in rng.sample(
            ["CPUUtilization", "MemoryUtilization", "RunningTaskCount"], rng.randrange(1, 4)
        )
    )
    return f"""
  {name}LbSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: {name} load balancer
      VpcId: !Ref VpcId
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: 443
          ToPort: 443
          CidrIp: 0.0.0.0/0
  {name}ServiceSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: {name} tasks
      VpcId: !Ref VpcId
  {name}Ingress:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !Ref {name}ServiceSecurityGroup
      SourceSecurityGroupId: !Ref {name}LbSecurityGroup
      IpProtocol: tcp
      FromPort: 8000
      ToPort: 8000
  {name}LoadBalancer:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Type: application
      Subnets: !Ref PublicSubnets
      SecurityGroups: [!Ref {name}LbSecurityGroup]
      LoadBalancerAttributes:
        - Key: idle_timeout.timeout_seconds
          Value: "{rng.choice([60, 60, 120, 30])}"
  {name}TargetGroup:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Port: 8000
      Protocol: HTTP
      TargetType: ip
      VpcId: !Ref VpcId
      HealthCheckPath: /health
      TargetGroupAttributes:
        - Key: deregistration_delay.timeout_seconds
          Value: "{rng.choice([30, 60, 300])}"
  {name}Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref {name}LoadBalancer
      Port: 443
      Protocol: HTTPS
      Certificates:
        - CertificateArn: !Ref CertificateArn
      DefaultActions:
        - Type: forward
          TargetGroupArn: !Ref {name}TargetGroup
  {name}LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub "/ecs/${{AWS::StackName}}/{name}"
      RetentionInDays: {rng.choice([7, 14, 30, 90])}
  {name}ExecutionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: ecs-tasks.amazonaws.com}}
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy
  {name}TaskRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: ecs-tasks.amazonaws.com}}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: {name}-data
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: [s3:GetObject, s3:PutObject]
                Resource: !Sub "${{{name}Bucket.Arn}}/*"
              - Effect: Allow
                Action: [sqs:SendMessage, sqs:ReceiveMessage]
                Resource: !GetAtt {name}Queue.Arn
  {name}Bucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: {{Status: Enabled}}
      PublicAccessBlockConfiguration:
        BlockPublicAcls: true
        BlockPublicPolicy: true
        IgnorePublicAcls: true
        RestrictPublicBuckets: true
  {name}Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: {rng.choice([30, 60, 300])}
  {name}TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: {name}
      Cpu: "512"
      Memory: "1024"
      NetworkMode: awsvpc
      RequiresCompatibilities: [FARGATE]
      ExecutionRoleArn: !GetAtt {name}ExecutionRole.Arn
      TaskRoleArn: !GetAtt {name}TaskRole.Arn
      ContainerDefinitions:
        - Name: app
          Image: {image}
          Command: {command}
          PortMappings:
            - ContainerPort: 8000
          Environment:
            - Name: QUEUE_URL
              Value: !Ref {name}Queue
            - Name: BUCKET
              Value: !Ref {name}Bucket
          LogConfiguration:
            LogDriver: awslogs
            Options:
              awslogs-group: !Ref {name}LogGroup
              awslogs-region: !Ref AWS::Region
              awslogs-stream-prefix: app
  {name}Service:
    Type: AWS::ECS::Service
    DependsOn: {name}Listener
    Properties:
      Cluster: !Ref Cluster
      LaunchType: FARGATE
      DesiredCount: 2
      TaskDefinition: !Ref {name}TaskDefinition
      NetworkConfiguration:
        AwsvpcConfiguration:
          Subnets: !Ref PrivateSubnets
          SecurityGroups: [!Ref {name}ServiceSecurityGroup]
      LoadBalancers:
        - ContainerName: app
          ContainerPort: 8000
          TargetGroupArn: !Ref {name}TargetGroup
{alarms}"""


def generate(stacks: int, services: int, root: Path, seed: int = 11) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for stack in range(stacks):
        body = "".join(_service(stack, index, rng) for index in range(services))
        (root / f"stack-{stack:02d}.yaml").write_text(
            f"""AWSTemplateFormatVersion: "2010-09-09"
Description: Services of team {stack}
Parameters:
  VpcId:
    Type: AWS::EC2::VPC::Id
    Default: vpc-0a1b2c3d
  PublicSubnets:
    Type: List<AWS::EC2::Subnet::Id>
    Default: subnet-0a1b2c3d,subnet-4e5f6a7b
  PrivateSubnets:
    Type: List<AWS::EC2::Subnet::Id>
    Default: subnet-1a1b2c3d,subnet-5e5f6a7b
  Cluster:
    Type: String
    Default: team-{stack}
  CertificateArn:
    Type: String
    Default: arn:aws:acm:eu-west-1:123456789012:certificate/{rng.getrandbits(64):016x}
Resources:{body}"""
        )
    return root


if __name__ == "__main__":
    if len(sys.argv) != 4 or not all(arg.isdigit() for arg in sys.argv[1:3]):
        sys.exit("usage: python bench/generate_cfn.py STACKS SERVICES DIRECTORY")
    print(generate(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])))
