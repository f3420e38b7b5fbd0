"""Uncertainty for the tables: bootstrap intervals over test items, seed summaries, paired tests.

Pure numpy/scipy (no torch), so the table builder can recompute every statistic from the per-item predictions
kept beside the records (:mod:`repro.stats.predictions`) without rerunning a model.
"""

from repro.stats.bootstrap import (DEFAULT_RESAMPLES, Interval, bootstrap_interval, item_statistic,
                                   paired_bootstrap, paired_permutation, seed_summary, paired_seed_test)

__all__ = ["DEFAULT_RESAMPLES", "Interval", "bootstrap_interval", "item_statistic", "paired_bootstrap",
           "paired_permutation", "seed_summary", "paired_seed_test"]
