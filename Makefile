# One obvious entry per job. `make setup` installs everything the others need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MXNET_PY := .venv-mxnet/bin/python
PIP_FLAGS := --quiet --disable-pip-version-check
BUILD_DIR ?= build

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

# The app reads the artifact from BUILD_DIR, so `make deploy BUILD_DIR=x` deploys what it built.
CDK := npx --no-install cdk -c artifact_dir=$(BUILD_DIR)

.PHONY: setup setup-deploy check format test demo demo-down up-local deploy-local verify-local promote-local build synth diff deploy destroy \
	bench bench-build bench-synth bench-runtime bench-verify golden clean

PROTO_OUT := recordio/aialgs_data_pb2.py

setup: setup-deploy .venv-mxnet/.installed .venv-checkov/.installed

# What building, deploying and verifying need, without the test-only MXNet oracle and checkov venvs.
setup-deploy: $(VENV)/.installed node_modules/.installed $(PROTO_OUT)

# protobuf's advice: generate the gencode, don't commit it. grpcio-tools' protoc matches the runtime.
$(PROTO_OUT): recordio/aialgs_data.proto $(VENV)/.installed
	$(PY) -m grpc_tools.protoc -Irecordio --python_out=recordio --pyi_out=recordio recordio/aialgs_data.proto

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -r requirements-dev.txt
	touch $@

.venv-mxnet/.installed: requirements-mxnet.txt
	$(PYTHON) -m venv .venv-mxnet
	$(MXNET_PY) -m pip install $(PIP_FLAGS) -r requirements-mxnet.txt
	touch $@

.venv-checkov/.installed: requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install $(PIP_FLAGS) -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

check: $(VENV)/.installed $(PROTO_OUT)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy .
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --no-progress --config .github/zizmor.yml --min-severity low .github/workflows/

format: $(VENV)/.installed
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

test: setup
	$(PY) -m pytest

build: $(VENV)/.installed
	$(PY) -m model_build --out $(BUILD_DIR)

$(BUILD_DIR)/model.tar.gz: | $(VENV)/.installed
	$(PY) -m model_build --out $(BUILD_DIR)

LOCAL := $(PY) -m local_aws run --
LOCAL_ACCOUNT := aws://123456789012/us-east-1
STACK ?= KMeansEndpoint
CDK_LOCAL_FLAGS := --no-notices --require-approval never

# The main job: build, deploy to the local AWS, verify. Idempotent.
demo: setup build up-local deploy-local verify-local
	@$(PY) -m local_aws hint --outputs-file $(BUILD_DIR)/outputs.json

up-local: setup
	$(PY) -m local_aws up

deploy-local: up-local $(BUILD_DIR)/model.tar.gz
	$(LOCAL) $(CDK) bootstrap $(LOCAL_ACCOUNT) --no-notices
	$(LOCAL) $(CDK) deploy $(STACK) --method=direct $(CDK_LOCAL_FLAGS) --outputs-file $(BUILD_DIR)/outputs.json

verify-local:
	$(LOCAL) $(PY) -m verification --stack $(STACK) --reference $(BUILD_DIR) \
		--json $(BUILD_DIR)/verification.json --junit $(BUILD_DIR)/verification.xml

# Staging -> verify -> prod -> verify, as the pipeline runs it, against the local AWS.
STAGES := $(shell python3 -c "import json; print(' '.join(json.load(open('stages.json'))))")
promote-local: setup build up-local
	$(LOCAL) $(CDK) bootstrap $(LOCAL_ACCOUNT) --no-notices
	@set -e; for stage in $(STAGES); do \
		echo "== $$stage: deploy"; \
		$(LOCAL) $(CDK) deploy $(STACK)-$$stage -c stage=$$stage --method=direct $(CDK_LOCAL_FLAGS) \
			--outputs-file $(BUILD_DIR)/outputs-$$stage.json; \
		echo "== $$stage: verify"; \
		$(LOCAL) $(PY) -m verification --stack $(STACK)-$$stage --reference $(BUILD_DIR) \
			--junit $(BUILD_DIR)/verification-$$stage.xml; \
	done
	@echo "promoted through: $(STAGES)"

# Data-capture buckets must be empty before CloudFormation can delete them: teardown, then destroy.
# $(1): command prefix (the local AWS wrapper or nothing), $(2): stack, $(3): extra cdk flags.
empty_and_destroy = $(1) $(PY) -m teardown --stack $(2) --force && $(1) $(CDK) destroy $(2) $(3) --force

# Destroys the stack (if the local AWS runs), then stops the local AWS.
demo-down:
	if $(PY) -m local_aws status >/dev/null 2>&1; then \
		$(call empty_and_destroy,$(LOCAL),$(STACK),--no-notices) && \
		for stage in $(STAGES); do \
			$(call empty_and_destroy,$(LOCAL),$(STACK)-$$stage,-c stage=$$stage --no-notices) || exit 1; \
		done; \
	fi
	$(PY) -m local_aws down

synth: setup $(BUILD_DIR)/model.tar.gz
	$(CDK) synth --quiet

diff: setup $(BUILD_DIR)/model.tar.gz
	$(CDK) diff

deploy: setup $(BUILD_DIR)/model.tar.gz
	$(CDK) deploy --require-approval never --outputs-file $(BUILD_DIR)/outputs.json

destroy: setup
	$(call empty_and_destroy,,$(STACK))

bench: bench-build bench-synth bench-runtime bench-verify

bench-build: setup
	$(PY) bench/build_vs_notebook.py

bench-synth: setup $(BUILD_DIR)/model.tar.gz
	$(PY) bench/synth_vs_empty_app.py

bench-runtime: setup
	$(PY) bench/runtime_vs_numpy.py

bench-verify: setup
	$(PY) bench/verify_vs_sequential.py

# Regenerate the golden NDArray files with real MXNet (commit the result).
golden: .venv-mxnet/.installed
	$(MXNET_PY) scripts/mxnet_oracle.py golden tests/golden

clean: demo-down
	rm -rf $(BUILD_DIR) cdk.out .bench .local_aws .pytest_cache .mypy_cache .ruff_cache
