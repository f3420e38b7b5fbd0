"""Evaluators: each takes an encoder (``encode(list[str]) -> np.ndarray``) and data, returns plain metrics."""
