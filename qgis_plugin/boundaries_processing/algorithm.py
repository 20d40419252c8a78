"""One Processing algorithm per ``boundaries`` command, its form made from the spec.

Each parameter of the command becomes a QgsProcessingParameter* of the same
meaning: files and folders, enums for choices, numbers with their bounds,
booleans for flags, text, and output destinations (a layer QGIS loads with the
style our GeoPackage carries, or a file). The run is the installed command in a
subprocess (``command.run``): its stderr lines go to the log, a cancel stops it
with nothing half-written, a failure raises our one-line message.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from qgis.core import (Qgis, QgsProcessing, QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingException,
                       QgsProcessingLayerPostProcessorInterface, QgsProcessingOutputString,
                       QgsProcessingParameterBoolean, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString, QgsProcessingParameterVectorDestination)

from . import command as cmd

#: The extensions of outputs that are layers QGIS can load.
LAYER_SUFFIXES = {".gpkg", ".geojson", ".json", ".fgb", ".geojsonl", ".geojsons", ".csv"}


def _enum(scoped: str, member: str, owner, alias: str):
    """``Qgis.<scoped>.<member>`` where QGIS has that enum (3.36+, where the old aliases are deprecated), else the
    3.22 name ``owner.<alias>``.

    Parameters
    ----------
    scoped, member : str
        The enum's name in ``Qgis`` and the member's (``"ProcessingNumberParameterType"``, ``"Integer"``).
    owner : type
        The class holding the old alias (``QgsProcessingParameterNumber``).
    alias : str
        The old alias's name (``"Integer"``).
    """
    new = getattr(Qgis, scoped, None)
    return getattr(new, member) if new is not None else getattr(owner, alias)


def label(param: dict) -> str:
    """A short label from the parameter's name, its unit shown (``…_m`` metres, ``…_m2`` square metres)."""
    name = param["id"].lower()  # the flag's name: --format is "Format", --all "All"
    for suffix, unit in (("_path", ""), ("_m2", " (m²)"), ("_m", " (m)")):
        if name.endswith(suffix):
            name = name[: -len(suffix)] + unit
            break
    text = name.replace("_", " ").capitalize()
    return text + (" (several: separated by commas)" if param["multiple"] else "")


def _number(param: dict):
    integer = param["type"] == "integer"
    name = "Integer" if integer else "Double"
    kind = _enum("ProcessingNumberParameterType", name, QgsProcessingParameterNumber, name)
    bounds = {}
    if param.get("min") is not None:
        bounds["minValue"] = param["min"] + (1 if integer and param["min_open"] else 0)
    if param.get("max") is not None:
        bounds["maxValue"] = param["max"] - (1 if integer and param["max_open"] else 0)
    default = param.get("default")
    return QgsProcessingParameterNumber(param["id"], label(param), kind, default,
                                        not param["required"] or default is None, **bounds)


def _choice(param: dict):
    enum = QgsProcessingParameterEnum(param["id"], label(param), param["choices"], False, None,
                                      not param["required"])
    enum.setUsesStaticStrings(True)  # QGIS 3.18+: the value is the choice itself (METHOD=hull)
    if param.get("default") is not None:
        enum.setDefaultValue(param["default"])
    return enum


def make_parameter(param: dict):
    """The QgsProcessingParameter* of one spec parameter, with the command's help as its tooltip."""
    name, text, optional = param["id"], label(param), not param["required"]
    output, kind = param.get("output"), param["type"]
    if output == "layer":
        any_geometry = _enum("ProcessingSourceType", "VectorAnyGeometry", QgsProcessing, "TypeVectorAnyGeometry")
        made = QgsProcessingParameterVectorDestination(name, text, any_geometry, None,
                                                       optional, not optional or bool(param.get("create")))
    elif output == "file":
        made = QgsProcessingParameterFileDestination(name, text, param["filter"], None, optional, not optional)
    elif kind in ("file", "folder"):
        member = "Folder" if kind == "folder" else "File"
        behavior = _enum("ProcessingFileParameterBehavior", member, QgsProcessingParameterFile, member)
        made = QgsProcessingParameterFile(name, text, behavior, "", None, optional)
    elif kind == "choice":
        made = _choice(param)
    elif kind in ("integer", "number"):
        made = _number(param)
    elif kind == "flag":
        made = QgsProcessingParameterBoolean(name, text, False, True)
    else:
        made = QgsProcessingParameterString(name, text, param.get("default"), False, optional)
    made.setHelp(param["help"])
    return made


class StyleLoader(QgsProcessingLayerPostProcessorInterface):
    """Applies the style stored in the layer's file (our GeoPackage's ``layer_styles``) once loaded."""

    instances: list = []  # Processing keeps a bare pointer: Python must keep the objects alive

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS's name)
        layer.loadDefaultStyle()
        layer.triggerRepaint()

    @classmethod
    def create(cls):
        cls.instances.append(cls())
        return cls.instances[-1]


def _raw_given(parameters: dict, name: str) -> bool:
    value = parameters.get(name)
    return value is not None and value != ""


def form_value(alg, param: dict, parameters: dict, context):
    """The value of one parameter as the command takes it (None: not given)."""
    name, kind, output = param["id"], param["type"], param.get("output")
    if output == "layer":
        return alg.parameterAsOutputLayer(parameters, name, context) or None
    if output == "file":
        return alg.parameterAsFileOutput(parameters, name, context) or None
    if not _raw_given(parameters, name):
        return None
    if kind == "flag":
        return alg.parameterAsBoolean(parameters, name, context)
    if kind == "integer":
        return alg.parameterAsInt(parameters, name, context)
    if kind == "number":
        return alg.parameterAsDouble(parameters, name, context)
    if kind == "choice":
        return alg.parameterAsEnumString(parameters, name, context) or None
    if kind in ("file", "folder"):
        return alg.parameterAsFile(parameters, name, context) or None
    text = alg.parameterAsString(parameters, name, context)
    if param["multiple"]:
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def help_html(command: dict) -> str:
    """The command's ``--help`` text, then each parameter's flag and help, for the form's help panel."""
    rows = [f"<p>{_escape(command['help'])}</p>"]
    for param in command["params"]:
        flag = param["flag"] or param["id"]
        rows.append(f"<p><b>{_escape(label(param))}</b> ({_escape(flag)}): {_escape(param['help'])}</p>")
    return "\n".join(rows)


def _escape(text: str) -> str:
    """HTML of a click help text: its paragraphs kept, the lines inside one folded."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<br>".join(" ".join(paragraph.split()) for paragraph in text.split("\n\n"))


class CommandAlgorithm(QgsProcessingAlgorithm):
    """A ``boundaries`` command as a Processing algorithm (id ``boundaries:NAME``)."""

    def __init__(self, command: dict, version: str):
        super().__init__()
        self.command, self.version = command, version

    def createInstance(self):  # noqa: N802 (QGIS's names)
        return CommandAlgorithm(self.command, self.version)

    def name(self):
        return self.command["name"]

    def displayName(self):  # noqa: N802
        return self.command["name"]

    def shortDescription(self):  # noqa: N802
        return self.command["short"]

    def shortHelpString(self):  # noqa: N802
        return help_html(self.command)

    def initAlgorithm(self, config=None):  # noqa: N802
        for param in self.command["params"]:
            self.addParameter(make_parameter(param))
        if self.command.get("json"):
            self.addOutput(QgsProcessingOutputString("SUMMARY", "Summary (JSON)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from .provider import executable_setting

        executable = cmd.find_executable(executable_setting())
        if not executable:
            raise QgsProcessingException("boundaries: error: the boundaries command is not on PATH; install it, or "
                                         f"set its path in {cmd.SETTING}")
        values = {p["name"]: form_value(self, p, parameters, context) for p in self.command["params"]}
        argv = cmd.command_line(executable, self.command, values)
        feedback.pushCommandInfo(shlex.join(argv))
        before = cmd.snapshot(self._outputs(values))
        try:
            code, cancelled, stdout, lines = cmd.run(argv, lambda line: _log(feedback, line), feedback.isCanceled)
        except cmd.NotRunnable as exc:
            raise QgsProcessingException(str(exc)) from None
        if cancelled and code != 0:
            written = cmd.written_since(before)
            raise QgsProcessingException("boundaries: cancelled; " + (
                f"the run had already written {', '.join(written)} (whole)" if written else "nothing was written"))
        if code not in self.command["done_codes"]:
            raise QgsProcessingException(cmd.error_line(lines, code))
        feedback.setProgress(100)
        return self._results(values, stdout, context, feedback)

    def _outputs(self, values: dict) -> list[str]:
        """The files the run may write: its outputs and the report written beside OUTPUT by default."""
        paths = [values[p["name"]] for p in self.command["params"] if p.get("output") and values.get(p["name"])]
        main = values.get("output")
        if main:
            paths.append(str(Path(main).with_suffix(".report.json")))
        return paths

    def _results(self, values: dict, stdout: str, context, feedback) -> dict:
        """The outputs written, layers queued for loading with their stored style, and the JSON summary."""
        results = {}
        for param in self.command["params"]:
            path = values.get(param["name"])
            if not param.get("output") or not path:
                continue
            results[param["id"]] = path
            if param["output"] == "layer" or Path(path).suffix.lower() in LAYER_SUFFIXES:
                _load(path, param, context)
        if self.command.get("json") and stdout.strip():
            results["SUMMARY"] = stdout
            feedback.pushInfo(stdout)
        return results


def _log(feedback, line: str) -> None:
    """A stderr line of the command into the Processing log: warnings as warnings, the rest as info
    (the error line is the exception's message: shown once), progress lines as the progress bar."""
    percent = cmd.progress_of(line)
    if percent is not None:
        feedback.setProgress(percent)
    elif line.startswith("boundaries: warning:"):
        feedback.pushWarning(line)
    elif not line.startswith("boundaries: error:"):
        feedback.pushInfo(line)


def _load(path: str, param: dict, context) -> None:
    """Have an output loaded when the run ends, with the style its file carries (a GeoPackage's every layer)."""
    if context.willLoadLayerOnCompletion(path):
        context.layerToLoadOnCompletionDetails(path).setPostProcessor(StyleLoader.create())
    elif param.get("output") == "file" and context.project() is not None:
        details = QgsProcessingContext.LayerDetails(Path(path).stem, context.project(), param["id"])
        details.setPostProcessor(StyleLoader.create())
        context.addLayerToLoadOnCompletion(path, details)
    if path.lower().endswith(".gpkg") and context.willLoadLayerOnCompletion(path):
        project = context.layerToLoadOnCompletionDetails(path).project
        for layer in param.get("layers", []):  # the GeoPackage's other layers (QGIS loads its first)
            details = QgsProcessingContext.LayerDetails(layer, project, param["id"])
            details.setPostProcessor(StyleLoader.create())
            context.addLayerToLoadOnCompletion(f"{path}|layername={layer}", details)
