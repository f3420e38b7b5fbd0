"""Tables: result records + the paper's reference numbers -> CSV, Markdown, PNG and the report.

Generic: nothing here knows a table by its number. Each table is declared once, as a
:class:`repro.tables.declaration.TableDef` (a :class:`repro.specs.TableSpec` is one, with what runs to fill it);
every function here receives the declarations it needs as arguments (the one registry is
:func:`repro.specs.load_specs`, which this package never imports). :func:`repro.tables.publish.build_tables`
builds tables and the report from records in one call.
"""
