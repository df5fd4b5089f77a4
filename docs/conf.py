"""Sphinx configuration for matsqrt (no network: no intersphinx)."""

project = "matsqrt"
author = "matsqrt developers"
copyright = "2026, matsqrt developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "numpydoc"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
html_theme = "alabaster"
exclude_patterns = ["_build"]
autodoc_default_options = {"members": False}
