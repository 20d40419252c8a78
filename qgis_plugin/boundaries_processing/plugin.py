"""The plugin object QGIS loads: it registers the provider, in QGIS Desktop and in ``qgis_process``."""

from __future__ import annotations

from qgis.core import QgsApplication


class BoundariesPlugin:
    """Adds the Boundaries provider to the Processing registry, and removes it on unload."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS's names)
        """Called by ``qgis_process`` (``hasProcessingProvider=yes``) and by :meth:`initGui`."""
        from .provider import BoundariesProvider

        if self.provider is None:
            self.provider = BoundariesProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
