"""What untrusted loading may do: the policy (allowlist, blocklist, profiles), the
guards on each opcode, and the resource limits.

Imports `_format` and `errors` only; the load engine and the analysis tools use it.
"""
