"""Batch issuance: a whole cohort from one spreadsheet, on a local pool or on Celery workers.

Modules: ``readers`` (CSV/XLSX/JSONL, streamed, with limits), ``validate`` (rows to
template data, problems in Thai and English), ``service`` (submit, status, results,
cancel, and :func:`run_chunk`, what every executor runs), ``embedded`` (the local
process pool), ``celery_app`` (Celery over RabbitMQ), ``webhook`` (signed completion
callbacks), ``runtime`` (wiring to a home). Batch and row state live in the registry
(``storage.batches``).
"""

from .readers import BatchInputError, Limits, read_records
from .service import BatchOptions, BatchService, CheckReport, ResultRow, run_chunk
from .validate import Problem, RowConverter

__all__ = [
    "BatchInputError", "BatchOptions", "BatchService", "CheckReport", "Limits", "Problem",
    "ResultRow", "RowConverter", "read_records", "run_chunk",
]
