import os

from tests.helpers import NODE_MAJORS

# Set before any test module of this package imports aws_cdk (which starts the jsii kernel).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", NODE_MAJORS)
