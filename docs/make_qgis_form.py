"""Draw docs/img/qgis-form.png: the Processing form of boundaries:build, as QGIS Desktop shows it.

Run with Debian's PyQGIS interpreter, under Xvfb (or ``QT_QPA_PLATFORM=offscreen``)::

    /usr/bin/python3 docs/make_qgis_form.py PLUGINS_FOLDER [OUT.png]

PLUGINS_FOLDER holds the unzipped plugin (``make qgis-plugin``, then unzip
``dist/boundaries_processing.zip``). ``tests/test_qgis_plugin.py`` runs it into a
temporary file; the picture in the docs was made by the same command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "img" / "qgis-form.png"
SIZE = (980, 760)


def main(argv: list[str]) -> int:
    from qgis.core import QgsApplication

    plugins, out = argv[1], Path(argv[2]) if len(argv) > 2 else OUT
    app = QgsApplication([], True)  # a GUI application: the form is a widget
    app.initQgis()
    sys.path[:0] = [plugins, os.path.join(QgsApplication.pkgDataPath(), "python", "plugins")]
    from processing.core.Processing import Processing

    Processing.initialize()
    import boundaries_processing

    plugin = boundaries_processing.classFactory(None)
    plugin.initProcessing()
    try:
        _draw(out)
    finally:
        plugin.unload()
        app.exitQgis()
    print(out)
    return 0


def _draw(out: Path) -> None:
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.core import QgsApplication
    from qgis.PyQt.QtWidgets import QApplication

    alg = QgsApplication.processingRegistry().createAlgorithmById("boundaries:build")
    dialog = AlgorithmDialog(alg)
    dialog.resize(*SIZE)
    dialog.show()
    for _ in range(20):  # let the layout and the help panel settle
        QApplication.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not dialog.grab().save(str(out), "PNG"):
        raise SystemExit(f"could not write {out}")
    dialog.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
