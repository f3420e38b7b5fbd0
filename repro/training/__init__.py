"""Training SBERT (paper §3) and the BERT cross-encoder baseline: objectives (``losses``), optimizer and schedule
(``schedule``), examples and their order (``data``), the loop with checkpoints and resume (``trainer``), the
cross-encoder (``cross_encoder``) and training runs as data (``recipes``)."""
