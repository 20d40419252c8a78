"""The Boundaries plugin: a Processing provider running the installed ``boundaries`` command."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    """QGIS's entry point (``iface`` is None under ``qgis_process``)."""
    from .plugin import BoundariesPlugin

    return BoundariesPlugin(iface)
