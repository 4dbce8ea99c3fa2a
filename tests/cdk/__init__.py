import os

# jsii warns on stderr about Node.js versions it no longer supports; the tests run on whichever is
# installed. Set before any test module of this package imports aws_cdk (which starts the jsii kernel).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", ",".join(map(str, range(14, 40))))
