"""The evaluation engine: scoring and statistics. Pure: stdlib, numpy and scipy only.

Arrays, mappings and dataclasses go in; frozen dataclasses come out. Invalid input raises a
subclass of :class:`ValueError` whose message names the offending argument.
"""
