"""The case catalogue (installed as ``wellposed.cases``): one JSON file per named pattern and census results.

The files are package data; read them through :mod:`wellposed.catalogue` (``case:NAME`` specs, ``wellposed cases``).
"""
