"""Load the Boundaries Processing plugin in PyQGIS and print, as JSON, what QGIS sees of it.

Run with Debian's system interpreter (PyQGIS), never the project's venv::

    QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=... /usr/bin/python3 tests/qgis_plugin_check.py \\
        PLUGINS_FOLDER EXECUTABLE list
    ... PLUGINS_FOLDER EXECUTABLE cancel ADDRESSES COMMUNES OUTPUT [staged|SECONDS|never]
    ... PLUGINS_FOLDER EXECUTABLE style GPKG
    ... PLUGINS_FOLDER EXECUTABLE load ADDRESSES COMMUNES OUTPUT

``list``: the provider's algorithms with their parameters (name, type, default,
options, bounds) and outputs. ``cancel``: runs ``boundaries:build`` and cancels it
(``feedback.cancel()`` from another thread) as soon as the command stages its
output beside OUTPUT (or after SECONDS; ``never``: a whole run); prints the error, whether the run had finished, the
files left in OUTPUT's folder and the progress the feedback was given. ``style``: loads each layer of GPKG as Processing
loads an output, before and after the plugin's post-processor (renderer types).
``load``: runs ``boundaries:build`` as the Processing dialog does and loads its outputs
as it does (``handleAlgorithmResults``); prints the project's layers.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time


def _start(plugins: str, executable: str):
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    sys.path[:0] = [plugins, os.path.join(QgsApplication.pkgDataPath(), "python", "plugins")]  # ours, Processing
    from processing.core.Processing import Processing
    from processing.core.ProcessingConfig import ProcessingConfig

    Processing.initialize()
    import boundaries_processing

    plugin = boundaries_processing.classFactory(None)
    plugin.initProcessing()
    ProcessingConfig.setSettingValue("BOUNDARIES_EXECUTABLE", executable)
    return app, plugin


def _describe(param) -> dict:
    # compared with the old names, which 3.44 still aliases to its Qgis enums: the same value in both
    from qgis.core import QgsProcessing, QgsProcessingParameterFile, QgsProcessingParameterNumber

    out = {"name": param.name(), "type": param.type(), "default": param.defaultValue(),
           "optional": bool(param.flags() & param.FlagOptional)}
    if param.type() == "enum":
        out["options"] = param.options()
    if param.isDestination():
        out["create_by_default"] = param.createByDefault()
    if param.type() == "vectorDestination":
        out["any_geometry"] = param.dataType() == QgsProcessing.TypeVectorAnyGeometry
    if param.type() == "number":
        out.update(min=param.minimum(), max=param.maximum(),
                   integer=param.dataType() == QgsProcessingParameterNumber.Integer)
    if param.type() == "file":
        out["folder"] = param.behavior() == QgsProcessingParameterFile.Folder
    return out


def list_algorithms() -> dict:
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("boundaries")
    return {"provider": provider.name(), "algorithms": {
        alg.id(): {"params": [_describe(p) for p in alg.parameterDefinitions()],
                   "outputs": [o.name() for o in alg.outputDefinitions()], "help": alg.shortHelpString()}
        for alg in provider.algorithms()}}


def _staged(output: str) -> bool:
    folder, name = os.path.split(output)
    return any(entry.startswith(f".{name}") for entry in os.listdir(folder or "."))


def cancel(addresses: str, communes: str, output: str, when: str = "staged") -> dict:
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    seen = {}

    def watch():  # cancel while the command writes its output beside OUTPUT, or after `when` seconds
        start = time.perf_counter()
        while not feedback.isCanceled() and "done" not in seen:
            if when == "never":
                pass
            elif _staged(output) if when == "staged" else time.perf_counter() - start > float(when):
                seen["staged"] = True
                feedback.cancel()
            time.sleep(0.002)

    progress = []
    feedback.progressChanged.connect(progress.append)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0, error = time.perf_counter(), None
    try:
        processing.run("boundaries:build", {"ADDRESSES": addresses, "COMMUNES": communes, "OUTPUT": output},
                       feedback=feedback)
    except QgsProcessingException as exc:
        error = str(exc)
    seen["done"] = True
    return {"error": error, "cancelled": feedback.isCanceled(), "staged": seen.get("staged", False),
            "seconds": time.perf_counter() - t0, "left": sorted(os.listdir(os.path.dirname(output))),
            "progress": progress}


def style(gpkg: str) -> dict:
    from boundaries_processing.algorithm import StyleLoader
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProcessingUtils

    context, out = QgsProcessingContext(), {}
    for name in ("stations", "communes"):
        layer = QgsProcessingUtils.mapLayerFromString(f"{gpkg}|layername={name}", context)
        before = layer.renderer().type()
        StyleLoader().postProcessLayer(layer, context, QgsProcessingFeedback())
        out[name] = {"as_processing_loads": before, "after_post_processor": layer.renderer().type()}
    return out


def load(addresses: str, communes: str, output: str) -> dict:
    """Run ``boundaries:build`` as the Processing dialog does with "open output file" ticked, then load its
    outputs with Processing's own post-processing; the layers the project then holds."""
    from processing.gui.Postprocessing import handleAlgorithmResults
    from qgis.core import (QgsApplication, QgsProcessingContext, QgsProcessingFeedback,
                           QgsProcessingOutputLayerDefinition, QgsProject)

    project, feedback = QgsProject.instance(), QgsProcessingFeedback()
    context = QgsProcessingContext()
    context.setProject(project)
    alg = QgsApplication.processingRegistry().createAlgorithmById("boundaries:build")
    params = {"ADDRESSES": addresses, "COMMUNES": communes,
              "OUTPUT": QgsProcessingOutputLayerDefinition(output, project)}
    results, ok = alg.run(params, context, feedback)
    # by keyword: 3.22 has a showResults argument before parameters, 3.44 has not
    handleAlgorithmResults(alg, context, feedback=feedback, parameters=params)
    layers = {layer.name(): {"renderer": layer.renderer().type(), "features": layer.featureCount(),
                             "labels": bool(layer.labelsEnabled()),
                             "source": layer.source()} for layer in project.mapLayers().values()}
    project.clear()
    return {"ok": ok, "results": {k: str(v) for k, v in (results or {}).items()}, "layers": layers}


def main(argv: list[str]) -> int:
    plugins, executable, mode, *rest = argv[1:]
    app, plugin = _start(plugins, executable)
    try:
        out = {"list": list_algorithms, "cancel": cancel, "style": style, "load": load}[mode](*rest)
    finally:
        plugin.unload()
        app.exitQgis()
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
