"""The bench's point sampler and the test suite's are the same ten lines: they must draw the same points."""

import numpy as np
import shapely

from benchmarks.common import points_in
from helpers import points_in as helpers_points_in  # tests/helpers.py (pytest's pythonpath has tests/)


def test_bench_and_tests_draw_the_same_points():
    polygon = shapely.Polygon([(0, 0), (10, 0), (10, 3), (2, 3), (2, 10), (0, 10)])  # an L: many rejections
    a = points_in(polygon, 500, np.random.default_rng(7))
    b = helpers_points_in(polygon, 500, np.random.default_rng(7))
    assert a.shape == (500, 2) and np.array_equal(a, b)
    assert shapely.contains_xy(polygon, a[:, 0], a[:, 1]).all()
