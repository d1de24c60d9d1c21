"""Evaluation: policies compiled to Polars over a population (compile, clause, atoms, engine), the
exact reference interpreter for one firm (interpret, rowwise), rounding, exclusivity and caps
(allocate).
"""
