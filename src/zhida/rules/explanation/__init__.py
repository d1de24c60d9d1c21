"""Explanations for people: one firm × every clause, atom by atom (explain.py), and the facts that
can change an unknown verdict (relevance.py).
"""
