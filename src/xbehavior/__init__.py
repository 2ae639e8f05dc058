"""xbehavior: cross-national e-commerce behaviour analytics.

Pipeline stages, each a package, data flowing one way:
ingest -> features -> models -> segments -> insights -> report (cli/pipeline drive them).
"""

__version__ = "0.1.0"
