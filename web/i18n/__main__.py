"""``python -m web.i18n``: recompile the English catalog."""

from . import compile_catalog

print(compile_catalog())
