"""Training SBERT (paper §3) and the BERT cross-encoder baseline: the defaults (``settings``), what trains on what
(``objectives``: training data, dev sets and the objective registry; torch-free), training runs as data (``stage``,
torch-free) and running them (``recipes``), the objectives' modules (``losses``), optimizer and schedule
(``schedule``), examples and their order (``data``), the loop with checkpoints and resume (``trainer``), the
cross-encoder (``cross_encoder``) and AFS folds (``afs``)."""
