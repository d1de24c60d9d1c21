"""The rules language: policies as exact, tested, explainable code.

This package is the core. It imports nothing else from `zhida` (import-linter enforces it).
"""
