"""Validation rules for definition documents, one module per part of the language.

:func:`workflow.validate.validate_document` runs them in order; each rule reports
located diagnostics through a shared :class:`~workflow.checks.context.Checker` and
returns the spec objects it could build.
"""
