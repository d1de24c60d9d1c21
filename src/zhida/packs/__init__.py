"""Compiled policy packs kept on disk between processes (cache.py) and their serialised state
(state.py): file handling kept out of the pure rules core.
"""
