"""Population runs: the single-chart rules over a whole FHIR Bulk Data export.

Flow: ``source`` finds the export's files and counts broken lines; ``viewdef`` compiles the
SQL-on-FHIR ViewDefinitions in ``views/`` into SQL over the raw lines; ``terminology`` resolves the
distinct codes and units met in the data with the same terminology index and unit converter the
single-chart reader uses; ``lp`` builds the per-event facts of the LP-safety audit and compiles the
rules' conditions into SQL; ``replay`` runs the Python engine on candidate events for the other
audits and the cohorts; ``run`` writes findings, summary and report. ``engine`` hides DuckDB and
Spark: SQL is written once in DuckDB's dialect and transpiled for Spark with sqlglot.

DuckDB, sqlglot and pyspark are optional dependencies (extras ``batch`` and ``spark``); nothing in
this package is imported by the single-chart path.
"""
