"""The "Boundaries" Processing provider: one algorithm per command of the spec, and its setting."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider

from .algorithm import CommandAlgorithm
from .command import load_spec

#: The provider's setting (Processing ▸ Options ▸ Providers ▸ Boundaries): the ``boundaries`` to run.
EXECUTABLE = "BOUNDARIES_EXECUTABLE"


def executable_setting() -> str:
    """The path set in Processing's options, or "" (then ``boundaries`` is looked up on PATH)."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
    except ImportError:  # Processing's Python plugin absent: read the same key directly
        from qgis.core import QgsSettings

        return str(QgsSettings().value(f"Processing/Configuration/{EXECUTABLE}", "") or "")
    return str(ProcessingConfig.getSetting(EXECUTABLE) or "")


class BoundariesProvider(QgsProcessingProvider):
    """The Boundaries provider (id ``boundaries``): build, check, evaluate, report, profile, crosswalk."""

    def __init__(self):
        super().__init__()
        self.spec = load_spec()

    def id(self):
        return "boundaries"

    def name(self):
        return "Boundaries"

    def longName(self):  # noqa: N802 (QGIS's names)
        return f"Boundaries {self.spec['boundaries']} (runs the boundaries command)"

    def load(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
        except ImportError:
            ProcessingConfig = None
        if ProcessingConfig is not None:
            ProcessingConfig.settingIcons[self.name()] = self.icon()
            ProcessingConfig.addSetting(Setting(self.name(), EXECUTABLE, "boundaries command (empty: found on PATH)",
                                                "", valuetype=Setting.FILE))
            ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
            ProcessingConfig.removeSetting(EXECUTABLE)
        except (ImportError, KeyError):
            pass

    def loadAlgorithms(self):  # noqa: N802
        for command in self.spec["commands"]:
            self.addAlgorithm(CommandAlgorithm(command, self.spec["boundaries"]))

    def supportedOutputVectorLayerExtensions(self):  # noqa: N802: the formats `boundaries` writes
        return ["gpkg", "geojson", "fgb", "geojsonl", "parquet"]

    def defaultVectorFileExtension(self, hasGeometry=True):  # noqa: N802, N803
        return "gpkg"
