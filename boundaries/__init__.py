"""boundaries — rebuild the territory of each French polling station from its voters' addresses.

>>> import boundaries
>>> result = boundaries.build("addresses.csv.gz", "communes.geojson", departement="94")  # doctest: +SKIP
>>> result.stations.head()  # doctest: +SKIP
"""

__version__ = "0.1.0"

from .errors import BoundariesError, InputError, PartitionError  # noqa: E402
from .params import Parameters  # noqa: E402
from .pipeline import BuildResult, build  # noqa: E402
from .read import AddressColumns  # noqa: E402
from .report import Report  # noqa: E402

__all__ = [
    "AddressColumns",
    "BoundariesError",
    "BuildResult",
    "InputError",
    "Parameters",
    "PartitionError",
    "Report",
    "__version__",
    "build",
]
