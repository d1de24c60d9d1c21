"""The rules language: policies as exact, tested, explainable code.

This package is the core. It imports nothing else from `zhida` and touches no files beyond
its own grammar (import-linter enforces both). Its subpackages, each importing only those
below it (a layers contract, and no cycles between siblings):

* `check` — lint of policy files and their cases (`zhida policy lint|test`);
* `explanation` — one firm × every clause in words, and the facts that could change a verdict;
* `evaluate` — compiling to Polars for a whole population, the exact reference interpreter,
  exclusivity and caps;
* `model` — policy documents: the YAML model, loading, content hashes, fact documents;
* `lang` — the expression language: grammar, syntax tree, types, periods, exact numbers,
  frame column names, and the registry of its functions.

The compiled-pack cache on disk is `zhida.packs`, outside this core.
"""
