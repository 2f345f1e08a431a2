"""Test package: lets pickle find helper classes as tests.<module>.<name>."""
