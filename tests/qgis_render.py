"""Open every layer of a GeoPackage as QGIS Desktop does, render the map to a PNG, print JSON.

Run with Debian's system interpreter, not the project's venv (see ``tests/qgis_check.py``)::

    QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=... /usr/bin/python3 tests/qgis_render.py FILE.gpkg OUT.png [WIDTH [LAYER [FILTER]]]

Each vector sublayer is opened alone (``QgsVectorLayer("FILE|layername=NAME")``,
which applies the layer's default style from ``layer_styles``, as opening the file
by drag-and-drop does) and added with ``QgsProject.addMapLayer`` in the order the
provider lists them; the map is drawn in the resulting layer-tree order (each layer
added goes on top). The extent is all layers', or that of LAYER's features (those
matching the QGIS expression FILTER, e.g. one commune), with 5 % margin. Prints one JSON
object: ``order`` (layer names, top first), ``renderers``, ``labels`` (enabled per
layer), ``scale`` (the map's scale denominator), ``label_rules``, ``outline_px`` (pixel positions of
points spaced along the ``communes`` outlines) and ``qgis``. The same map without
labels is saved beside OUT.png as OUT.nolabels.png, so a caller can see what the
labels add.
"""

from __future__ import annotations

import json
import sys


def _open_all(path: str) -> list:
    """Every vector sublayer of ``path``, opened alone with its default style, added to the project."""
    from qgis.core import QgsProject, QgsProviderRegistry, QgsVectorLayer

    layers = []
    for sub in QgsProviderRegistry.instance().querySublayers(path):
        layer = QgsVectorLayer(f"{path}|layername={sub.name()}", sub.name(), "ogr")
        if layer.isValid():
            QgsProject.instance().addMapLayer(layer)  # as a drag-and-drop: on top of the tree
            layers.append(layer)
    return layers


def _extent(layers: list, layer_name: str | None, expression: str | None):
    """The map extent: all layers', or the features of ``layer_name`` matching ``expression``."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsFeatureRequest, QgsProject, \
        QgsRectangle

    extent = QgsRectangle()
    for layer in layers:
        if layer_name is not None and layer.name() != layer_name:
            continue
        request = QgsFeatureRequest().setFilterExpression(expression) if expression else QgsFeatureRequest()
        for feature in layer.getFeatures(request):
            if feature.hasGeometry():
                extent.combineExtentWith(feature.geometry().boundingBox())
    crs = QgsCoordinateReferenceSystem("EPSG:2154")  # Lambert-93: the project CRS of docs/qgis.md
    transform = QgsCoordinateTransform(layers[0].crs(), crs, QgsProject.instance())
    return transform.transformBoundingBox(extent), crs, transform


def _label_rules(layers: list) -> dict:
    """Per layer with rule-based labels: ``[description, zoomed-in limit, zoomed-out limit]`` of each rule."""
    out = {}
    for layer in layers:
        labeling = layer.labeling()
        if labeling is not None and labeling.type() == "rule-based":
            out[layer.name()] = [[r.description(), r.maximumScale(), r.minimumScale()]
                                 for r in labeling.rootRule().children()]
    return out


def _draw(settings, png: str) -> None:
    """Render the map of ``settings`` to ``png``."""
    from qgis.core import QgsMapRendererParallelJob

    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(png, "PNG")


def _outline_pixels(layers: list, settings, step_px: float = 10.0) -> list:
    """Pixel (column, row) of points every ``step_px`` pixels along the ``communes`` outlines, on the map."""
    from qgis.core import QgsCoordinateTransform, QgsProject

    communes = [lay for lay in layers if lay.name() == "communes"]
    if not communes:
        return []
    transform = QgsCoordinateTransform(communes[0].crs(), settings.destinationCrs(), QgsProject.instance())
    to_pixel, step = settings.mapToPixel(), step_px * settings.mapUnitsPerPixel()
    out = []
    for feature in communes[0].getFeatures():
        geometry = feature.geometry()
        geometry.transform(transform)
        boundary = geometry.convertToType(1)  # the rings, as lines
        for i in range(int(boundary.length() / step)):
            point = to_pixel.transform(boundary.interpolate(i * step).asPoint())
            if 0 <= point.x() < settings.outputSize().width() and 0 <= point.y() < settings.outputSize().height():
                out.append([round(point.x()), round(point.y())])
    return out


def render(path: str, png: str, width: int, layer_name: str | None, expression: str | None) -> dict:
    """Render the file's layers to ``png``; return what the caller needs to judge the picture."""
    from qgis.core import Qgis, QgsMapSettings, QgsProject
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    layers = _open_all(path)
    order = QgsProject.instance().layerTreeRoot().layerOrder()  # top first, as drawn
    extent, crs, _ = _extent(layers, layer_name, expression)
    extent.scale(1.05)
    settings = QgsMapSettings()
    settings.setLayers(order)
    settings.setDestinationCrs(crs)
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setOutputDpi(96)
    settings.setOutputSize(QSize(width, max(1, round(width * extent.height() / extent.width()))))
    settings.setExtent(extent)
    _draw(settings, png)
    settings.setFlag(QgsMapSettings.DrawLabeling, False)
    _draw(settings, png[:-4] + ".nolabels.png")
    out = {"outline_px": _outline_pixels(layers, settings),"order": [lay.name() for lay in order], "qgis": Qgis.version(), "scale": settings.scale(),
           "renderers": {lay.name(): lay.renderer().type() for lay in layers if lay.renderer()},
           "labels": {lay.name(): bool(lay.labelsEnabled()) for lay in layers},
           "label_rules": _label_rules(layers)}
    return out


def main(argv: list[str]) -> int:
    from qgis.core import QgsApplication, QgsProject

    width = int(argv[3]) if len(argv) > 3 else 800
    layer_name = argv[4] if len(argv) > 4 else None
    expression = argv[5] if len(argv) > 5 else None
    app = QgsApplication([], False)
    app.initQgis()
    try:
        out = render(argv[1], argv[2], width, layer_name, expression)
        QgsProject.instance().removeAllMapLayers()  # before exitQgis(), or QGIS crashes at shutdown
    finally:
        app.exitQgis()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
