"""Policy documents: the YAML model (document.py), parsed policies with content hashes (policy.py),
and fact documents turned into a frame (facts.py).
"""
