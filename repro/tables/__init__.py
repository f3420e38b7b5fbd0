"""Tables: result records + the paper's reference numbers -> CSV, Markdown and PNG.

The builder reads result records only (never reruns anything). Each table is declared once as a
:class:`repro.tables.registry.TableDef`; later pipelines add theirs with :func:`register`.
"""

from repro.tables.registry import TABLES, TableDef, register  # noqa: F401
