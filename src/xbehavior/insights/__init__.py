"""Insights stage: headless behaviour analytics returning DataFrames (drawing in ``plots``).

Modules: stats (Wilson intervals, Other pooling), descriptive, funnels, cohorts, targeting,
coupons (dunnhumby), acquisition (Olist), findings. See docs/ANALYTICS.md for semantics.
"""
