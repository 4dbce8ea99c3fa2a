"""The cfn-lint rules directory: `cfn-lint --append-rules $(keepalive-guard cfn-lint-rules) template.yaml`.

cfn-lint imports every `*.py` file here whose name does not start with `_` (so not this one).
"""
