"""Load one vector layer with PyQGIS and print, as JSON, how QGIS sees it.

Run with Debian's system interpreter, not the project's venv (PyQGIS lives in
Debian's dist-packages and pulls in Debian's own numpy)::

    QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=... /usr/bin/python3 tests/qgis_check.py FILE [LAYER]

Prints one JSON object: ``valid``, ``features``, ``renderer`` (QGIS renderer type,
e.g. ``categorizedSymbol``; ``singleSymbol`` means no stored style was applied),
``attribute`` (the renderer's classification field, if any), ``categories``,
``labels_enabled``, ``label_field`` (of the first rule, with rule-based labels), ``styles`` (names of the styles QGIS lists
in the file's ``layer_styles`` table) and ``qgis`` (version). Exit status 0 even
when the layer is invalid: the caller judges the JSON.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from qgis.core import Qgis, QgsApplication, QgsVectorLayer

    path = argv[1]
    uri = f"{path}|layername={argv[2]}" if len(argv) > 2 else path
    app = QgsApplication([], False)
    app.initQgis()
    try:
        layer = QgsVectorLayer(uri, "check", "ogr")  # loads the default style, as QGIS Desktop does
        out = {"valid": layer.isValid(), "qgis": Qgis.version()}
        if layer.isValid():
            renderer = layer.renderer()
            out["features"] = layer.featureCount()
            out["renderer"] = renderer.type() if renderer else None
            out["attribute"] = renderer.classAttribute() if hasattr(renderer, "classAttribute") else None
            out["categories"] = len(renderer.categories()) if hasattr(renderer, "categories") else None
            out["labels_enabled"] = bool(layer.labelsEnabled())
            labeling = layer.labeling()
            settings = labeling.settings() if labeling is not None and labeling.type() == "simple" else None
            if labeling is not None and labeling.type() == "rule-based":  # the first rule: zoomed in
                settings = labeling.rootRule().children()[0].settings()
            out["label_field"] = settings.fieldName if settings is not None else None
            n, ids, names, descriptions, err = layer.listStylesInDatabase()
            out["styles"] = list(names)
        # an invalid layer is "valid": false only: its layer.error() crashes QGIS 3.22 (segmentation fault)
        del layer  # before exitQgis(), or QGIS crashes at shutdown
    finally:
        app.exitQgis()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
