# Everything a newcomer needs: `make run` and `make test` set up .venv/ first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    := out/town

.PHONY: install web-assets run test docs qgis-plugin fuzz bench bench-national bench-land bench-uses bench-web fixtures clean help

help:
	@echo "make run      set up .venv, then build the bundled example town into $(OUT)/"
	@echo "make test     set up .venv, then run the test suite"
	@echo "make docs     regenerate docs/options.md (every command and option) from the code"
	@echo "make qgis-plugin  the QGIS Processing plugin, dist/boundaries_processing.zip (its forms generated"
	@echo "              from the commands' options; install it in QGIS from the zip: docs/qgis.md)"
	@echo "make fuzz     the property tests with 10,000 random examples and the hostile-input generators with"
	@echo "              500 each (tests/test_hostile*.py; 2 batches at once; about half an hour),"
	@echo "              result in benchmarks/FUZZ.md (make test runs them with a few fixed examples)"
	@echo "make install  set up .venv only (then .venv/bin/boundaries is the command)"
	@echo "make web-assets  install MapLibre GL JS and pmtiles (web/package-lock.json, npm ci) into"
	@echo "              boundaries/webassets/vendor/ with their licences, for boundaries web"
	@echo "make fixtures regenerate fixtures/town from its seeded script, then the golden outputs (fixtures/golden)"
	@echo "make bench    measure accuracy and speed against the plain-Voronoi yardstick (about half an hour;"
	@echo "              needs ../shared/data) into benchmarks/RESULTS.md and the README table"
	@echo "make bench-national  only its national-shape section (1, 4, 16 M generated rows, --all -j 2, then"
	@echo "              the unsorted layouts at 16 M; 20-40 minutes), into the same files, the other sections kept"
	@echo "make bench-land  only its land-layers section (issue 19: Paris with streets, hold-out with parcels,"
	@echo "              buildings, streets; 10-20 minutes) into benchmarks/RESULTS.md, the other sections kept"
	@echo "make bench-uses  only its profiles-and-crosswalks section (issue 20; about a minute), the others kept"
	@echo "make bench-web   only its web-map section (issue 21: boundaries web on Val-de-Marne, 1 and 16 M rows;"
	@echo "              archive sizes and times; 15-25 minutes, 1800 s budget), the others kept"

install: $(STAMP)

# The web map's JavaScript, pinned by web/package-lock.json: npm ci runs no package script; the dist files
# and their licences are copied into the package (git-ignored), whence `boundaries web` copies them to a site.
VENDOR := boundaries/webassets/vendor
web-assets: $(VENDOR)/.installed

$(VENDOR)/.installed: web/package.json web/package-lock.json web/licenses/pmtiles-LICENSE.txt
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cp web/node_modules/maplibre-gl/dist/maplibre-gl.js web/node_modules/maplibre-gl/dist/maplibre-gl.css $(VENDOR)/
	cp web/node_modules/maplibre-gl/LICENSE.txt $(VENDOR)/maplibre-gl-LICENSE.txt
	cp web/node_modules/pmtiles/dist/pmtiles.js $(VENDOR)/
	cp web/licenses/pmtiles-LICENSE.txt $(VENDOR)/pmtiles-LICENSE.txt
	cd web && node -e 'for (const p of ["maplibre-gl", "pmtiles"]) { const j = require("./node_modules/" + p + "/package.json"); console.log(p + " " + j.version + " " + j.license) }' > ../$(VENDOR)/VERSIONS.txt
	@touch $@

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "boundaries needs Python >= 3.11 (found $$($(PYTHON) --version)); run: make PYTHON=python3.11 ..."; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@$(MAKE) web-assets || echo "make: warning: no web assets (npm missing or offline?): boundaries web will refuse until make web-assets works"
	@touch $(STAMP)

run: install
	@mkdir -p $(OUT)
	$(BIN)/boundaries build fixtures/town/addresses.csv --communes fixtures/town/communes.geojson \
		-o $(OUT)/stations.geojson
	@echo "Output: $(OUT)/stations.geojson (report: $(OUT)/stations.report.json)"

test: install
	@$(MAKE) web-assets || echo "make: warning: no web assets; the tests of boundaries web will skip"
	$(BIN)/python -m pytest -q

docs: install
	$(BIN)/python docs/make_reference.py

qgis-plugin: install
	$(BIN)/python qgis_plugin/make_plugin.py --out dist

fuzz: install
	$(BIN)/python -m benchmarks.fuzz --parallel 2 --out benchmarks/FUZZ.md

bench: install
	$(BIN)/python -m benchmarks.run --out benchmarks/RESULTS.md

bench-national: install
	$(BIN)/python -m benchmarks.run --only national --out benchmarks/RESULTS.md

bench-land: install
	$(BIN)/python -m benchmarks.run --only land --out benchmarks/RESULTS.md

bench-uses: install
	$(BIN)/python -m benchmarks.run --only uses --out benchmarks/RESULTS.md

bench-web: install web-assets
	$(BIN)/python -m benchmarks.run --only web --out benchmarks/RESULTS.md

fixtures: install
	$(BIN)/python fixtures/make_town.py --out fixtures/town
	$(BIN)/python fixtures/make_golden.py

clean:
	rm -rf $(VENV) out dist .pytest_cache build *.egg-info
