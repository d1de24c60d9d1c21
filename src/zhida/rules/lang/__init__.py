"""The expression language: grammar and parser, syntax tree, static types and the checker, periods,
exact numbers, parameters, statuses, frame column names, and the function registry (functions/).
"""
