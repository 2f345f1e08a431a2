"""The pickle opcodes: one table that every other module reads.

Each opcode is a byte constant and one `OpInfo` record (name, byte, argument kind,
first protocol).  The argument kinds use the names of `pickletools`' argument
descriptors, so the disassembler can be checked against it.  These values are an
on-disk format: they never change.
"""

from __future__ import annotations

from typing import Final, NamedTuple

INT: Final = 0x49  # 'I'
BININT: Final = 0x4A  # 'J'
BININT1: Final = 0x4B  # 'K'
BININT2: Final = 0x4D  # 'M'
LONG: Final = 0x4C  # 'L'
LONG1: Final = 0x8A  # '\x8a'
LONG4: Final = 0x8B  # '\x8b'
STRING: Final = 0x53  # 'S'
BINSTRING: Final = 0x54  # 'T'
SHORT_BINSTRING: Final = 0x55  # 'U'
BINBYTES: Final = 0x42  # 'B'
SHORT_BINBYTES: Final = 0x43  # 'C'
BINBYTES8: Final = 0x8E  # '\x8e'
BYTEARRAY8: Final = 0x96  # '\x96'
NEXT_BUFFER: Final = 0x97  # '\x97'
READONLY_BUFFER: Final = 0x98  # '\x98'
NONE: Final = 0x4E  # 'N'
NEWTRUE: Final = 0x88  # '\x88'
NEWFALSE: Final = 0x89  # '\x89'
UNICODE: Final = 0x56  # 'V'
SHORT_BINUNICODE: Final = 0x8C  # '\x8c'
BINUNICODE: Final = 0x58  # 'X'
BINUNICODE8: Final = 0x8D  # '\x8d'
FLOAT: Final = 0x46  # 'F'
BINFLOAT: Final = 0x47  # 'G'
EMPTY_LIST: Final = 0x5D  # ']'
APPEND: Final = 0x61  # 'a'
APPENDS: Final = 0x65  # 'e'
LIST: Final = 0x6C  # 'l'
EMPTY_TUPLE: Final = 0x29  # ')'
TUPLE: Final = 0x74  # 't'
TUPLE1: Final = 0x85  # '\x85'
TUPLE2: Final = 0x86  # '\x86'
TUPLE3: Final = 0x87  # '\x87'
EMPTY_DICT: Final = 0x7D  # '}'
DICT: Final = 0x64  # 'd'
SETITEM: Final = 0x73  # 's'
SETITEMS: Final = 0x75  # 'u'
EMPTY_SET: Final = 0x8F  # '\x8f'
ADDITEMS: Final = 0x90  # '\x90'
FROZENSET: Final = 0x91  # '\x91'
POP: Final = 0x30  # '0'
DUP: Final = 0x32  # '2'
MARK: Final = 0x28  # '('
POP_MARK: Final = 0x31  # '1'
GET: Final = 0x67  # 'g'
BINGET: Final = 0x68  # 'h'
LONG_BINGET: Final = 0x6A  # 'j'
PUT: Final = 0x70  # 'p'
BINPUT: Final = 0x71  # 'q'
LONG_BINPUT: Final = 0x72  # 'r'
MEMOIZE: Final = 0x94  # '\x94'
EXT1: Final = 0x82  # '\x82'
EXT2: Final = 0x83  # '\x83'
EXT4: Final = 0x84  # '\x84'
GLOBAL: Final = 0x63  # 'c'
STACK_GLOBAL: Final = 0x93  # '\x93'
REDUCE: Final = 0x52  # 'R'
BUILD: Final = 0x62  # 'b'
INST: Final = 0x69  # 'i'
OBJ: Final = 0x6F  # 'o'
NEWOBJ: Final = 0x81  # '\x81'
NEWOBJ_EX: Final = 0x92  # '\x92'
PROTO: Final = 0x80  # '\x80'
STOP: Final = 0x2E  # '.'
FRAME: Final = 0x95  # '\x95'
PERSID: Final = 0x50  # 'P'
BINPERSID: Final = 0x51  # 'Q'
# Protocol-1 spellings of NEWTRUE/NEWFALSE's text forms, as pickle.py names them.
TRUE: Final = b"I01\n"
FALSE: Final = b"I00\n"

HIGHEST_PROTOCOL: Final = 5
DEFAULT_PROTOCOL: Final = 4
FRAME_SIZE_TARGET: Final = 64 * 1024
FRAME_SIZE_MIN: Final = 4
BATCHSIZE: Final = 1000


class OpInfo(NamedTuple):
    name: str
    code: int
    arg: str | None
    proto: int


OPCODES: Final[tuple[OpInfo, ...]] = (
    OpInfo("INT", INT, "decimalnl_short", 0),
    OpInfo("BININT", BININT, "int4", 1),
    OpInfo("BININT1", BININT1, "uint1", 1),
    OpInfo("BININT2", BININT2, "uint2", 1),
    OpInfo("LONG", LONG, "decimalnl_long", 0),
    OpInfo("LONG1", LONG1, "long1", 2),
    OpInfo("LONG4", LONG4, "long4", 2),
    OpInfo("STRING", STRING, "stringnl", 0),
    OpInfo("BINSTRING", BINSTRING, "string4", 1),
    OpInfo("SHORT_BINSTRING", SHORT_BINSTRING, "string1", 1),
    OpInfo("BINBYTES", BINBYTES, "bytes4", 3),
    OpInfo("SHORT_BINBYTES", SHORT_BINBYTES, "bytes1", 3),
    OpInfo("BINBYTES8", BINBYTES8, "bytes8", 4),
    OpInfo("BYTEARRAY8", BYTEARRAY8, "bytearray8", 5),
    OpInfo("NEXT_BUFFER", NEXT_BUFFER, None, 5),
    OpInfo("READONLY_BUFFER", READONLY_BUFFER, None, 5),
    OpInfo("NONE", NONE, None, 0),
    OpInfo("NEWTRUE", NEWTRUE, None, 2),
    OpInfo("NEWFALSE", NEWFALSE, None, 2),
    OpInfo("UNICODE", UNICODE, "unicodestringnl", 0),
    OpInfo("SHORT_BINUNICODE", SHORT_BINUNICODE, "unicodestring1", 4),
    OpInfo("BINUNICODE", BINUNICODE, "unicodestring4", 1),
    OpInfo("BINUNICODE8", BINUNICODE8, "unicodestring8", 4),
    OpInfo("FLOAT", FLOAT, "floatnl", 0),
    OpInfo("BINFLOAT", BINFLOAT, "float8", 1),
    OpInfo("EMPTY_LIST", EMPTY_LIST, None, 1),
    OpInfo("APPEND", APPEND, None, 0),
    OpInfo("APPENDS", APPENDS, None, 1),
    OpInfo("LIST", LIST, None, 0),
    OpInfo("EMPTY_TUPLE", EMPTY_TUPLE, None, 1),
    OpInfo("TUPLE", TUPLE, None, 0),
    OpInfo("TUPLE1", TUPLE1, None, 2),
    OpInfo("TUPLE2", TUPLE2, None, 2),
    OpInfo("TUPLE3", TUPLE3, None, 2),
    OpInfo("EMPTY_DICT", EMPTY_DICT, None, 1),
    OpInfo("DICT", DICT, None, 0),
    OpInfo("SETITEM", SETITEM, None, 0),
    OpInfo("SETITEMS", SETITEMS, None, 1),
    OpInfo("EMPTY_SET", EMPTY_SET, None, 4),
    OpInfo("ADDITEMS", ADDITEMS, None, 4),
    OpInfo("FROZENSET", FROZENSET, None, 4),
    OpInfo("POP", POP, None, 0),
    OpInfo("DUP", DUP, None, 0),
    OpInfo("MARK", MARK, None, 0),
    OpInfo("POP_MARK", POP_MARK, None, 1),
    OpInfo("GET", GET, "decimalnl_short", 0),
    OpInfo("BINGET", BINGET, "uint1", 1),
    OpInfo("LONG_BINGET", LONG_BINGET, "uint4", 1),
    OpInfo("PUT", PUT, "decimalnl_short", 0),
    OpInfo("BINPUT", BINPUT, "uint1", 1),
    OpInfo("LONG_BINPUT", LONG_BINPUT, "uint4", 1),
    OpInfo("MEMOIZE", MEMOIZE, None, 4),
    OpInfo("EXT1", EXT1, "uint1", 2),
    OpInfo("EXT2", EXT2, "uint2", 2),
    OpInfo("EXT4", EXT4, "int4", 2),
    OpInfo("GLOBAL", GLOBAL, "stringnl_noescape_pair", 0),
    OpInfo("STACK_GLOBAL", STACK_GLOBAL, None, 4),
    OpInfo("REDUCE", REDUCE, None, 0),
    OpInfo("BUILD", BUILD, None, 0),
    OpInfo("INST", INST, "stringnl_noescape_pair", 0),
    OpInfo("OBJ", OBJ, None, 1),
    OpInfo("NEWOBJ", NEWOBJ, None, 2),
    OpInfo("NEWOBJ_EX", NEWOBJ_EX, None, 4),
    OpInfo("PROTO", PROTO, "uint1", 2),
    OpInfo("STOP", STOP, None, 0),
    OpInfo("FRAME", FRAME, "uint8", 4),
    OpInfo("PERSID", PERSID, "stringnl_noescape", 0),
    OpInfo("BINPERSID", BINPERSID, None, 1),
)

BY_CODE: Final[dict[int, OpInfo]] = {op.code: op for op in OPCODES}
