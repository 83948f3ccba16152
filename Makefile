# apihub: `make run` (the local stack) and `make test` (everything CI checks) are the entry points.
PYTHON ?= python3.11
VENV := .venv
TOOLS := .venv-tools
OPENAPI := .venv-openapi
CHECKOV := .venv-checkov
PY := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: run test unit lint template checkov build verify bench clean browser smoke

$(VENV)/.installed: requirements-dev.txt layers/apihub/requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install -q --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import apihub, moto, aws_lambda_powertools, pynamodb"
	touch $@

$(TOOLS)/.installed: requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q -r requirements-tools.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(TOOLS)/bin/sam --version
	touch $@

# openapi-python-client in its own venv (its pins are its own): tests/e2e/test_clients.py generates a
# client from the local stack's /api/openapi.json and drives the main flows through it.
$(OPENAPI)/.installed: requirements-openapi.txt
	test -x $(OPENAPI)/bin/python || $(PYTHON) -m venv $(OPENAPI)
	$(OPENAPI)/bin/python -m pip install -q -r requirements-openapi.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(OPENAPI)/bin/openapi-python-client --version
	touch $@

run: $(VENV)/.installed
	$(PY) -m apihub_local

test: browser lint template checkov unit

# A browser for the jobs page test (tests/e2e/test_jobs_page.py): the one you have (CHROME/CHROMEDRIVER,
# the PATH, Selenium Manager's cache), else Debian's chromium + chromium-driver when root with apt-get,
# else one line saying the page test will be skipped. With CI set a missing browser fails instead.
browser: $(VENV)/.installed
	@$(PY) -m apihub_local.browser --install

# The complexity gate runs xenon as Powertools does: every block of the layer ranked C or better
# (docs/architecture.md, "Gates"; sizes are tests/tooling/test_code_gates.py).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/xenon --max-absolute C --max-modules C --max-average A layers/apihub/apihub

template: $(TOOLS)/.installed
	$(TOOLS)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam validate --lint --template template.yaml --region us-east-1
	SAM_CLI_TELEMETRY=0 $(TOOLS)/bin/sam build --template template.yaml --build-dir .aws-sam/build

$(CHECKOV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV)/bin/python || $(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/python -m pip install -q -r requirements-checkov.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(CHECKOV)/bin/checkov --version
	touch $@

# Static scan of template.yaml: zero failed checks; each skip is justified inline in the template
# (Metadata: checkov: skip). --skip-download: no network beyond the package registry.
checkov: $(CHECKOV)/.installed $(VENV)/.installed
	@mkdir -p build
	status=0; $(CHECKOV)/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download \
		-o json > build/checkov.json || status=1; \
	$(PY) tests/infrastructure/checkov_figures.py build/checkov.json || status=1; \
	exit $$status

# Coverage of the layer (the code that ships) is reported, and may not fall below COVERAGE_FLOOR
# (docs/architecture.md, "Gates"; the floor was set from the figure measured when it was added).
COVERAGE_FLOOR ?= 0
unit: $(VENV)/.installed $(OPENAPI)/.installed
	$(PY) -m pytest -n 2 -q -m "not slow and not verify" --durations=20 \
		--cov=layers/apihub/apihub --cov-report=term:skip-covered --cov-report=xml:build/coverage.xml \
		--cov-fail-under=$(COVERAGE_FLOOR)

# The long runs (docs/reliability.md): 500+ hypothesis examples of the pipeline state machine, 200 of
# the change feed's stream Lambda under faults (docs/changes.md, "Guarantees under AWS's conditions"), the
# slow fault-injection variants, every test marked `verify` or `slow`, and the mutation suite
# (each invariant's guard removed must fail its test: src/apihub_verify/mutations.py). Each suite records its
# figures in $(VERIFY_DIR) (apihub_verify.record); the report is written even when a run fails.
VERIFY_DIR := build/verify
PBT_EXAMPLES ?= 500
FEED_PBT_EXAMPLES ?= 200
verify: $(VENV)/.installed
	rm -rf $(VERIFY_DIR) && mkdir -p $(VERIFY_DIR)
	status=0; \
	APIHUB_VERIFY_DIR=$(CURDIR)/$(VERIFY_DIR) APIHUB_PBT_EXAMPLES=$(PBT_EXAMPLES) APIHUB_PBT_SHARDS=2 APIHUB_PBT_RANDOM=1 \
		$(PY) -m pytest -n 2 -q tests/integration/test_pipeline_properties.py || status=1; \
	APIHUB_VERIFY_DIR=$(CURDIR)/$(VERIFY_DIR) APIHUB_FEED_PBT_EXAMPLES=$(FEED_PBT_EXAMPLES) APIHUB_PBT_RANDOM=1 \
		$(PY) -m pytest -p no:xdist -q tests/integration/test_change_feed_guarantees.py tests/integration/test_change_feed_followers.py \
		-k "stream_lambda or followers_of" || status=1; \
	APIHUB_VERIFY_DIR=$(CURDIR)/$(VERIFY_DIR) $(PY) -m pytest -n 2 -q -m "slow or verify" || status=1; \
	APIHUB_VERIFY_DIR=$(CURDIR)/$(VERIFY_DIR) $(MAKE) --no-print-directory checkov || status=1; \
	APIHUB_VERIFY_DIR=$(CURDIR)/$(VERIFY_DIR) $(PY) -m apihub_verify.mutations || status=1; \
	$(PY) -m apihub_verify.report --dir $(VERIFY_DIR) --out docs/reliability.md --command "make verify" || status=1; \
	exit $$status

# Performance figures against the budgets of issue 7, measured on the local stack (about 10 minutes:
# most of it is the supplier's 200 ms per call; C=1 and C=2 run in lanes beside the rest). Writes bench/results.json,
# bench/details.json, docs/benchmarks.md and its plot. Also issue 14's inventory figures and issue 15's change feed
# figures (about 2 minutes of the run). Not part of make test.
bench: $(VENV)/.installed $(TOOLS)/.installed
	PYTHONPATH=layers/apihub:src POWERTOOLS_LOG_LEVEL=WARNING $(PY) -m apihub_bench

# A short black-box check of a running stack (docs/operations.md, "Smoke test"): make smoke API=<url>
# TOKEN=<admin token> [SMOKE_SUPPLIER=<slug>]. make test runs it against the local stack
# (tests/e2e/test_clients.py).
smoke: $(VENV)/.installed
	@test -n "$(API)" -a -n "$(TOKEN)" || { echo "usage: make smoke API=<url> TOKEN=<admin token> [SMOKE_SUPPLIER=<slug>]"; exit 2; }
	@echo "smoke test of $(API)"
	@APIHUB_SMOKE_TOKEN="$(TOKEN)" PYTHONPATH=layers/apihub:src $(PY) -m apihub_smoke --api "$(API)" \
		$(if $(SMOKE_SUPPLIER),--supplier "$(SMOKE_SUPPLIER)")

clean:
	rm -rf $(VENV) $(TOOLS) $(CHECKOV) $(OPENAPI) .aws-sam .pytest_cache .mypy_cache
