"""Sphinx configuration of the lifecircle API reference (``sphinx-build -W docs out/docs``)."""

project = "lifecircle"
author = "lifecircle maintainers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "show-inheritance": False}
language = "zh_CN"
html_theme = "alabaster"
exclude_patterns = ["_build"]
suppress_warnings = ["ref.python"]  # numpydoc type names (GeoDataFrame, WalkNetwork ...) are text
