"""Workflow and money: 免申即享 offers (a state machine as data), budgets, the double-entry
ledger and payments. Services take the acting user and own their transaction."""
