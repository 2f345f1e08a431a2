"""The load engine: the input reader, the opcode loop, rare opcodes and the memo view.

Imports `_format`, `_safe` and `errors`; the public `Unpickler` is
`brined._api.Unpickler`.
"""
