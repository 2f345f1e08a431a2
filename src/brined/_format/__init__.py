"""The pickle protocol as data: the opcode table, protocol numbers and framing sizes.

The bottom layer: it imports nothing from brined, and everything else may import it.
"""
