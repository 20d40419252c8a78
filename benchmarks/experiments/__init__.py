"""The bench's experiments, one module each; each returns plain data for :mod:`benchmarks.render`.

``holdout`` (10 % hold-out against the yardstick), ``reference`` (IoU against known
polygons: the town), ``paris`` (semi-synthetic Paris), ``ablation`` (each accuracy step
off in turn), ``simplification``, ``speed``, ``scaling`` (copies of Val-de-Marne) and
``national`` (all France at national shape, generated tables).
"""
