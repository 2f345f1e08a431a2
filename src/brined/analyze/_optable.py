"""Stack effects and one-line summaries of the opcodes, for the disassembler.

Keyed by the opcode names of `brined._opcodes.OPCODES` (a test checks that every
opcode has an entry).  Each entry is ``(before, after, summary)``: the stack
items the opcode takes and leaves, named as pickletools names its stack types
(``mark`` is the markobject, ``stackslice`` everything above it), and the first
line of its description.  These are protocol facts written out for brined's
disassembler, whose text must equal ``pickletools.dis``; they never change.
"""

from __future__ import annotations

from typing import Final

__all__ = ["EFFECTS", "Effect"]

Effect = tuple[tuple[str, ...], tuple[str, ...], str]

_RAW: Final[dict[str, tuple[str, str, str]]] = {
    "INT": ("", "int_or_bool", "Push an integer or bool."),
    "BININT": ("", "int", "Push a four-byte signed integer."),
    "BININT1": ("", "int", "Push a one-byte unsigned integer."),
    "BININT2": ("", "int", "Push a two-byte unsigned integer."),
    "LONG": ("", "int", "Push a long integer."),
    "LONG1": ("", "int", "Long integer using one-byte length."),
    "LONG4": ("", "int", "Long integer using found-byte length."),
    "STRING": ("", "bytes_or_str", "Push a Python string object."),
    "BINSTRING": ("", "bytes_or_str", "Push a Python string object."),
    "SHORT_BINSTRING": ("", "bytes_or_str", "Push a Python string object."),
    "BINBYTES": ("", "bytes", "Push a Python bytes object."),
    "SHORT_BINBYTES": ("", "bytes", "Push a Python bytes object."),
    "BINBYTES8": ("", "bytes", "Push a Python bytes object."),
    "BYTEARRAY8": ("", "bytearray", "Push a Python bytearray object."),
    "NEXT_BUFFER": ("", "buffer", "Push an out-of-band buffer object."),
    "READONLY_BUFFER": (
        "buffer",
        "buffer",
        "Make an out-of-band buffer object read-only.",
    ),
    "NONE": ("", "None", "Push None on the stack."),
    "NEWTRUE": ("", "bool", "Push True onto the stack."),
    "NEWFALSE": ("", "bool", "Push False onto the stack."),
    "UNICODE": ("", "str", "Push a Python Unicode string object."),
    "SHORT_BINUNICODE": ("", "str", "Push a Python Unicode string object."),
    "BINUNICODE": ("", "str", "Push a Python Unicode string object."),
    "BINUNICODE8": ("", "str", "Push a Python Unicode string object."),
    "FLOAT": ("", "float", "Newline-terminated decimal float literal."),
    "BINFLOAT": ("", "float", "Float stored in binary form, with 8 bytes of data."),
    "EMPTY_LIST": ("", "list", "Push an empty list."),
    "APPEND": ("list any", "list", "Append an object to a list."),
    "APPENDS": (
        "list mark stackslice",
        "list",
        "Extend a list by a slice of stack objects.",
    ),
    "LIST": (
        "mark stackslice",
        "list",
        "Build a list out of the topmost stack slice, after markobject.",
    ),
    "EMPTY_TUPLE": ("", "tuple", "Push an empty tuple."),
    "TUPLE": (
        "mark stackslice",
        "tuple",
        "Build a tuple out of the topmost stack slice, after markobject.",
    ),
    "TUPLE1": (
        "any",
        "tuple",
        "Build a one-tuple out of the topmost item on the stack.",
    ),
    "TUPLE2": (
        "any any",
        "tuple",
        "Build a two-tuple out of the top two items on the stack.",
    ),
    "TUPLE3": (
        "any any any",
        "tuple",
        "Build a three-tuple out of the top three items on the stack.",
    ),
    "EMPTY_DICT": ("", "dict", "Push an empty dict."),
    "DICT": (
        "mark stackslice",
        "dict",
        "Build a dict out of the topmost stack slice, after markobject.",
    ),
    "SETITEM": ("dict any any", "dict", "Add a key+value pair to an existing dict."),
    "SETITEMS": (
        "dict mark stackslice",
        "dict",
        "Add an arbitrary number of key+value pairs to an existing dict.",
    ),
    "EMPTY_SET": ("", "set", "Push an empty set."),
    "ADDITEMS": (
        "set mark stackslice",
        "set",
        "Add an arbitrary number of items to an existing set.",
    ),
    "FROZENSET": (
        "mark stackslice",
        "frozenset",
        "Build a frozenset out of the topmost slice, after markobject.",
    ),
    "POP": ("any", "", "Discard the top stack item, shrinking the stack by one item."),
    "DUP": (
        "any",
        "any any",
        "Push the top stack item onto the stack again, duplicating it.",
    ),
    "MARK": ("", "mark", "Push markobject onto the stack."),
    "POP_MARK": (
        "mark stackslice",
        "",
        "Pop all the stack objects at and above the topmost markobject.",
    ),
    "GET": ("", "any", "Read an object from the memo and push it on the stack."),
    "BINGET": ("", "any", "Read an object from the memo and push it on the stack."),
    "LONG_BINGET": (
        "",
        "any",
        "Read an object from the memo and push it on the stack.",
    ),
    "PUT": ("", "", "Store the stack top into the memo.  The stack is not popped."),
    "BINPUT": ("", "", "Store the stack top into the memo.  The stack is not popped."),
    "LONG_BINPUT": (
        "",
        "",
        "Store the stack top into the memo.  The stack is not popped.",
    ),
    "MEMOIZE": (
        "any",
        "any",
        "Store the stack top into the memo.  The stack is not popped.",
    ),
    "EXT1": ("", "any", "Extension code."),
    "EXT2": ("", "any", "Extension code."),
    "EXT4": ("", "any", "Extension code."),
    "GLOBAL": ("", "any", "Push a global object (module.attr) on the stack."),
    "STACK_GLOBAL": (
        "str str",
        "any",
        "Push a global object (module.attr) on the stack.",
    ),
    "REDUCE": (
        "any any",
        "any",
        "Push an object built from a callable and an argument tuple.",
    ),
    "BUILD": (
        "any any",
        "any",
        "Finish building an object, via __setstate__ or dict update.",
    ),
    "INST": ("mark stackslice", "any", "Build a class instance."),
    "OBJ": ("mark any stackslice", "any", "Build a class instance."),
    "NEWOBJ": ("any any", "any", "Build an object instance."),
    "NEWOBJ_EX": ("any any any", "any", "Build an object instance."),
    "PROTO": ("", "", "Protocol version indicator."),
    "STOP": ("any", "", "Stop the unpickling machine."),
    "FRAME": ("", "", "Indicate the beginning of a new frame."),
    "PERSID": ("", "any", "Push an object identified by a persistent ID."),
    "BINPERSID": ("any", "any", "Push an object identified by a persistent ID."),
}

EFFECTS: Final[dict[str, Effect]] = {
    name: (tuple(before.split()), tuple(after.split()), summary)
    for name, (before, after, summary) in _RAW.items()
}
