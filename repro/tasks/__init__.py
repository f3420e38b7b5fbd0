"""Evaluation protocols ("tasks"). Placeholder on the `speed` branch: the `tasks` branch's registry replaces this
file (with the entry ``"speed": "repro.tasks.speed:SPEED"``)."""
