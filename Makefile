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
CDK_OUT ?= cdk.out
# CDK_APP: the end-to-end tests pass `--app ...` to synthesize through a warm process (tests/warm_synth.py).
CDK_APP ?=
CDK = npx --no-install cdk $(CDK_APP) -c artifact_dir=$(BUILD_DIR) --output $(CDK_OUT)

.PHONY: setup setup-deploy check format test test-fast demo demo-batch demo-train demo-down up-local deploy-local bootstrap-local deploy-local-stack verify verify-local \
	promote-local retrain-local approve-local lifecycle-local deploy-approved record-package package-context build synth diff deploy destroy bench bench-build bench-synth bench-runtime bench-verify bench-verify-seed bench-align bench-transform bench-train bench-drift golden clean

PROTO_OUT := recordio/aialgs_data_pb2.py

setup: setup-deploy .venv-mxnet/.installed .venv-checkov/.installed .venv-sagemaker/.installed .venv-processing/.installed

# What building, deploying, verifying and the local AWS need (requirements-local-aws.txt: moto and the runtime's
# server), without the test-only MXNet oracle and checkov venvs.
setup-deploy: $(VENV)/.installed node_modules/.installed $(PROTO_OUT)

# protobuf's advice: generate the gencode, don't commit it. grpcio-tools' protoc matches the runtime.
$(PROTO_OUT): recordio/aialgs_data.proto $(VENV)/.installed
	$(PY) -m grpc_tools.protoc -Irecordio --python_out=recordio --pyi_out=recordio recordio/aialgs_data.proto

# Each virtual environment from its requirements (the first file; the others are what it includes): the project's
# (dev tools pinned, over the local AWS's, over the runtime's), the MXNet oracle, checkov.
VENVS := $(VENV) .venv-mxnet .venv-checkov .venv-sagemaker
REQUIREMENTS_$(VENV) := requirements-dev.txt requirements-local-aws.txt requirements.txt
REQUIREMENTS_.venv-mxnet := requirements-mxnet.txt
REQUIREMENTS_.venv-checkov := requirements-checkov.txt
REQUIREMENTS_.venv-sagemaker := requirements-sagemaker.txt
.SECONDEXPANSION:
$(VENVS:=/.installed): %/.installed: $$(REQUIREMENTS_$$*)
	$(PYTHON) -m venv $*
	$*/bin/python -m pip install $(PIP_FLAGS) -r $<
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
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

# The three installs are independent: run them side by side (pip waits on the network and the disk).
test:
	$(MAKE) --no-print-directory -j3 setup
	$(PY) -m pytest -n 2 --dist loadgroup

# Everything but the end-to-end tests (servers, the CDK CLI): a minute, for the edit-test loop.
test-fast: setup
	$(PY) -m pytest -m "not slow"

# The artifact is rebuilt when the code that makes it changes.
BUILD_SOURCES := $(wildcard model_build/*.py)
ARTIFACT := $(BUILD_DIR)/model.tar.gz

build: $(ARTIFACT)

$(ARTIFACT): $(BUILD_SOURCES) | $(VENV)/.installed
	$(PY) -m model_build --out $(BUILD_DIR)

LOCAL := $(PY) -m local_aws run --
LOCAL_ACCOUNT := aws://123456789012/us-east-1
# The stack's name has one home, stacks/names.py; read when a target needs it.
STACK ?= $(shell $(PYTHON) -c "from stacks.names import STACK_BASE_NAME; print(STACK_BASE_NAME)")
CDK_LOCAL_FLAGS := --no-notices --require-approval never
DEMO_LOG := .local_aws/demo.log

# One line per step on screen; everything the step prints goes to DEMO_LOG, shown only when it fails.
step = @printf '%-44s' '$(1)'; \
	if { $(2); } >>$(DEMO_LOG) 2>&1; then echo ok; else echo "FAILED (log: $(DEMO_LOG))"; tail -n 25 $(DEMO_LOG); exit 1; fi

# The main job: build, deploy to the local AWS, verify. Idempotent; installs only what it needs.
demo:
	@mkdir -p $(dir $(DEMO_LOG)) && : > $(DEMO_LOG)
	$(call step,install (.venv and the CDK CLI),$(MAKE) --no-print-directory setup-deploy)
	$(call step,build the model ($(BUILD_DIR)/),$(MAKE) --no-print-directory build)
	$(call step,start the local AWS,$(PY) -m local_aws up)
	$(call step,cdk bootstrap,$(LOCAL) $(CDK) bootstrap $(LOCAL_ACCOUNT) --no-notices)
	$(call step,cdk deploy $(STACK),$(MAKE) --no-print-directory deploy-local-stack)
	$(call step,verify the endpoint,$(MAKE) --no-print-directory verify-local)
	@$(PY) -m local_aws hint --outputs-file $(BUILD_DIR)/outputs.json

# Batch scoring on the local AWS: an asynchronous endpoint with its scoring bucket, a transform of example
# rows whose id column InputFilter drops and JoinSource brings back, then the verifier through
# InvokeEndpointAsync (an async endpoint answers nothing else) and through a transform job.
demo-batch:
	@mkdir -p $(dir $(DEMO_LOG)) && : > $(DEMO_LOG)
	$(call step,install (.venv and the CDK CLI),$(MAKE) --no-print-directory setup-deploy)
	$(call step,build the model ($(BUILD_DIR)/),$(MAKE) --no-print-directory build)
	$(call step,start the local AWS,$(PY) -m local_aws up)
	$(call step,cdk bootstrap,$(LOCAL) $(CDK) bootstrap $(LOCAL_ACCOUNT) --no-notices)
	$(call step,cdk deploy $(STACK) -c async_inference=true,$(MAKE) --no-print-directory deploy-local-stack DEPLOY_CONTEXT="-c async_inference=true")
	$(call step,example rows with an id column,$(PY) scripts/example_rows.py --out $(BUILD_DIR)/batch-input)
	$(LOCAL) $(PY) -m scoring transform --input $(BUILD_DIR)/batch-input --output $(BUILD_DIR)/batch-output \
		--input-filter '$$[1:]' --join-input --output-filter '$$[0,-2,-1]' --instances 2
	@head -n 3 $(BUILD_DIR)/batch-output/part-0.csv.out
	$(call step,verify: async invocation + batch transform,$(LOCAL) $(MAKE) --no-print-directory verify BATCH=1)
	@grep -o '"name": "predictions async"\|"name": "batch transform"' $(OUT).json

# Training at scale on the local AWS: the stack with -c training=true (a first model from `make build`, since
# every synth needs a build), then SageMaker's k-means training job on 2 instances through `python -m model_build
# --engine sagemaker`, then the trained build deployed and verified. TRAIN_DIR holds the rows and the new build.
TRAIN_DIR ?= $(BUILD_DIR)/train
TRAIN_INSTANCES ?= 2
demo-train:
	@mkdir -p $(dir $(DEMO_LOG)) && : > $(DEMO_LOG)
	$(call step,install (.venv and the CDK CLI),$(MAKE) --no-print-directory setup-deploy)
	$(call step,build a first model ($(BUILD_DIR)/),$(MAKE) --no-print-directory build)
	$(call step,start the local AWS,$(PY) -m local_aws up)
	$(call step,cdk bootstrap,$(LOCAL) $(CDK) bootstrap $(LOCAL_ACCOUNT) --no-notices)
	$(call step,cdk deploy $(STACK) -c training=true,$(MAKE) --no-print-directory deploy-local-stack DEPLOY_CONTEXT="-c training=true")
	$(call step,rows to train on ($(TRAIN_DIR)/),$(PY) scripts/training_rows.py --out $(TRAIN_DIR))
	$(LOCAL) $(PY) -m model_build --engine sagemaker --data $(TRAIN_DIR)/train.csv --test $(TRAIN_DIR)/test.csv \
		--clusters 10 --instances $(TRAIN_INSTANCES) --stack $(STACK) --out $(TRAIN_DIR)/build
	$(call step,cdk deploy the trained model,$(MAKE) --no-print-directory deploy-local-stack BUILD_DIR=$(TRAIN_DIR)/build DEPLOY_CONTEXT="-c training=true")
	$(call step,verify the endpoint,$(MAKE) --no-print-directory verify-local BUILD_DIR=$(TRAIN_DIR)/build)
	@echo "trained on SageMaker (local AWS, $(TRAIN_INSTANCES) instances), deployed and verified: $(TRAIN_DIR)/build"

up-local: setup-deploy
	$(PY) -m local_aws up

deploy-local: up-local $(ARTIFACT)
	$(LOCAL) $(CDK) bootstrap $(LOCAL_ACCOUNT) --no-notices
	$(MAKE) --no-print-directory deploy-local-stack

# Every cdk command synthesizes the app, which needs a build: BUILD_DIR must hold one.
bootstrap-local:
	$(LOCAL) $(CDK) bootstrap $(LOCAL_ACCOUNT) --no-notices

deploy-local-stack:
	$(LOCAL) $(CDK) deploy $(STACK) $(CDK_LOCAL_FLAGS) $(DEPLOY_CONTEXT) --outputs-file $(BUILD_DIR)/outputs.json

# The one verify command (demo, promote-local, the pipeline and the workflows run it):
#   make verify STACK=name [OUT=prefix]                       reads the stack's outputs
#   make verify ENDPOINT=name [EXPECT_CONFIG=name] [OUT=...]  when only the endpoint may be read
# Reports go to OUT.json and OUT.xml (JUnit); the reference rows come from REFERENCE (the build), and
# an A/B challenger's from CHALLENGER_REFERENCE (each variant is checked against the build it serves).
REFERENCE ?= $(BUILD_DIR)
OUT ?= $(BUILD_DIR)/verification
VERIFY_TARGET = $(if $(ENDPOINT),--endpoint "$(ENDPOINT)" $(if $(EXPECT_CONFIG),--expect-config "$(EXPECT_CONFIG)"),--stack "$(STACK)")
# MODEL_PACKAGE=arn instead of REFERENCE: the rows and sha256 come from that registered package (registry deploys).
VERIFY_EXPECTED = $(if $(MODEL_PACKAGE),--model-package "$(MODEL_PACKAGE)",--reference $(REFERENCE) \
	$(if $(CHALLENGER_REFERENCE),--reference $(CHALLENGER_REFERENCE)))
verify:
	$(PY) -m verification $(VERIFY_TARGET) $(VERIFY_EXPECTED) $(if $(BATCH),--batch) --json $(OUT).json --junit $(OUT).xml

verify-local:
	$(LOCAL) $(MAKE) --no-print-directory verify

# Staging -> verify -> prod -> verify, as the pipeline runs it, against the local AWS.
STAGES = $(shell $(PYTHON) -c "import json; print(' '.join(json.load(open('stages.json'))))")
promote-local: setup-deploy build up-local
	$(LOCAL) $(CDK) bootstrap $(LOCAL_ACCOUNT) --no-notices
	@set -e; for stage in $(STAGES); do \
		echo "== $$stage: deploy"; \
		$(LOCAL) $(CDK) deploy $(STACK)-$$stage -c stage=$$stage $(CDK_LOCAL_FLAGS) \
			--outputs-file $(BUILD_DIR)/outputs-$$stage.json; \
		echo "== $$stage: verify"; \
		$(LOCAL) $(MAKE) --no-print-directory verify STACK=$(STACK)-$$stage OUT=$(BUILD_DIR)/verification-$$stage BATCH=$(BATCH); \
	done
	@echo "promoted through: $(STAGES)"

# Retrain safely, on the local AWS: deploy a live model, retrain with its ids kept (--align-to), run the
# candidate as a shadow of the live one, gate it against the live endpoint, then promote it and verify.
# Adding and retiring the shadow change the endpoint's variant names, which a guarded (blue/green with alarms)
# update may not: those two deploys say variant_change=true. The promotion itself is guarded.
# Seeds 2 and 3 of the bundled digits converge to nearby solutions; give CANDIDATE_ARGS="--seed 6" to
# watch the gate refuse another optimum. Data capture stays on throughout: it keeps the shadow's answers.
RETRAIN_DIR ?= $(BUILD_DIR)/retrain
LIVE_ARGS ?= --seed 2
CANDIDATE_ARGS ?= --seed 3
MIN_AGREEMENT ?= 0.9
RETRAIN_DEPLOY = $(MAKE) --no-print-directory deploy-local-stack
retrain-local: setup-deploy up-local
	@echo "== live: build and deploy"
	$(PY) -m model_build $(LIVE_ARGS) --out $(RETRAIN_DIR)/live
	$(MAKE) --no-print-directory bootstrap-local BUILD_DIR=$(RETRAIN_DIR)/live
	$(RETRAIN_DEPLOY) BUILD_DIR=$(RETRAIN_DIR)/live DEPLOY_CONTEXT="-c data_capture=true"
	@echo "== candidate: retrain, keeping the live model's cluster ids"
	$(PY) -m model_build $(CANDIDATE_ARGS) --align-to $(RETRAIN_DIR)/live --out $(RETRAIN_DIR)/candidate
	@echo "== shadow: the candidate gets a copy of every request"
	$(RETRAIN_DEPLOY) BUILD_DIR=$(RETRAIN_DIR)/live \
		DEPLOY_CONTEXT="-c data_capture=true -c shadow_artifact_dir=$(RETRAIN_DIR)/candidate -c variant_change=true"
	@echo "== gate: the live endpoint labels the candidate's reference rows"
	$(LOCAL) $(PY) -m verification --stack $(STACK) --candidate $(RETRAIN_DIR)/candidate \
		--min-agreement $(MIN_AGREEMENT) --json $(RETRAIN_DIR)/gate.json --junit $(RETRAIN_DIR)/gate.xml
	@echo "== retire the shadow: the live model alone again"
	$(RETRAIN_DEPLOY) BUILD_DIR=$(RETRAIN_DIR)/live DEPLOY_CONTEXT="-c data_capture=true -c variant_change=true"
	@echo "== promote: the candidate serves, then is verified"
	$(RETRAIN_DEPLOY) BUILD_DIR=$(RETRAIN_DIR)/candidate DEPLOY_CONTEXT="-c data_capture=true"
	$(LOCAL) $(MAKE) --no-print-directory verify REFERENCE=$(RETRAIN_DIR)/candidate OUT=$(RETRAIN_DIR)/verification
	@echo "promoted the candidate: $(RETRAIN_DIR)/candidate"

# Approval drives the deploy, on the local AWS (which runs no CodePipeline): two builds are registered in a model
# package group; approving the first, `python -m approval follow` (the pipeline's equivalent, fed by the approval
# rule's SQS queue) resolves the newest approved package and deploys and verifies it; approving the second serves
# it; rejecting it serves the first again (rollback by rejection). Packages already served are not redeployed.
APPROVAL_GROUP ?= kmeans-byom-local
APPROVAL_DIR ?= $(BUILD_DIR)/approval
APPROVAL_QUEUE ?= $(APPROVAL_GROUP)-approvals
APPROVAL_BUILD_ARGS ?= --max-rows 400
APPROVAL_BOOTSTRAP ?= $(MAKE) --no-print-directory bootstrap-local BUILD_DIR=$(APPROVAL_DIR)/first
APPROVAL_FOLLOW = $(LOCAL) $(PY) -m approval follow --group $(APPROVAL_GROUP) --queue $(APPROVAL_QUEUE) --stack $(STACK) \
	-- $(MAKE) --no-print-directory deploy-approved
approve-local: setup-deploy up-local
	$(PY) -m model_build $(APPROVAL_BUILD_ARGS) --seed 2 --out $(APPROVAL_DIR)/first
	$(PY) -m model_build $(APPROVAL_BUILD_ARGS) --seed 3 --align-to $(APPROVAL_DIR)/first --out $(APPROVAL_DIR)/second
	$(APPROVAL_BOOTSTRAP)
	$(LOCAL) $(PY) -m approval listen --group $(APPROVAL_GROUP) --queue $(APPROVAL_QUEUE)
	@set -e; register() { line=$$($(LOCAL) $(PY) -m model_build register $(APPROVAL_DIR)/$$1 --group $(APPROVAL_GROUP)) \
		&& echo "$$line" >&2 && echo "$$line" | grep -o 'arn:aws[^ ]*' | head -n 1; }; \
	decide() { $(LOCAL) $(PY) -m model_build $$1 $$2 --description "$$3"; }; \
	first=$$(register first); echo "== approve the first build: deployed and verified"; \
	decide approve $$first "make approve-local: first build"; $(APPROVAL_FOLLOW); \
	second=$$(register second); echo "== approve the second build: served"; \
	decide approve $$second "make approve-local: second build"; $(APPROVAL_FOLLOW); \
	echo "== reject the second build: the first is served again"; \
	decide reject $$second "make approve-local: rolled back"; $(APPROVAL_FOLLOW); \
	served=$$($(LOCAL) $(PY) -m approval served --stack $(STACK)); \
	test "$$served" = "$$first" || { echo "served $$served, expected $$first"; exit 1; }; \
	echo "serving $$first again"

# The loop closed, on the local AWS (scripts/lifecycle_local.py, one line a step): an approved package deployed with
# capture, drift monitoring and training; traffic; no drift; traffic from a new cluster; drift, the schedule fired, the
# alarm's SNS message; the recent traffic exported and retrained on with the old rows (a SageMaker job, --align-to the
# served build); the candidate gate; register, approve, `approval follow` deploys and verifies; no drift on traffic like
# the new. LIFECYCLE_DIR holds the builds, rows, reports, lifecycle.log and transcript.txt.
LIFECYCLE_DIR ?= $(BUILD_DIR)/lifecycle
LIFECYCLE_GROUP ?= kmeans-byom-lifecycle
LIFECYCLE_BOOTSTRAP ?= $(MAKE) --no-print-directory bootstrap-local BUILD_DIR=$(LIFECYCLE_DIR)/first
lifecycle-local: setup-deploy up-local
	@$(LOCAL) $(PY) scripts/lifecycle_local.py --dir $(LIFECYCLE_DIR) --group $(LIFECYCLE_GROUP) --stack $(STACK) \
		$(if $(LIFECYCLE_BOOTSTRAP),--bootstrap "$(LIFECYCLE_BOOTSTRAP)")

# A named package (GitHub's manual trigger): MODEL_PACKAGE=arn:...:model-package/GROUP/VERSION. record-package
# records it for synth (refused unless Approved); package-context prints the deploy's context flag for it.
# (The ARN's group part is the group's name: names with upper case, which AWS lowers in ARNs, are refused.)
PACKAGE_GROUP = $(word 2,$(subst /, ,$(MODEL_PACKAGE)))
record-package:
	$(PY) -m approval resolve --group "$(PACKAGE_GROUP)" --package "$(MODEL_PACKAGE)"

package-context:
	@$(if $(MODEL_PACKAGE),echo "--context model_package_group=$(PACKAGE_GROUP)",true)

# What the pipeline runs for an approval, once `approval follow` has recorded the package (MODEL_PACKAGE_ARN).
deploy-approved:
	$(CDK) deploy $(STACK) $(CDK_LOCAL_FLAGS) -c model_package_group=$(APPROVAL_GROUP) $(DEPLOY_CONTEXT) \
		--outputs-file $(APPROVAL_DIR)/outputs.json
	$(MAKE) --no-print-directory verify MODEL_PACKAGE="$$MODEL_PACKAGE_ARN" OUT=$(APPROVAL_DIR)/verification

# Data-capture buckets must be empty before CloudFormation can delete them: teardown, then destroy.
# $(1): command prefix (the local AWS wrapper or nothing), $(2): stack, $(3): extra cdk flags.
empty_and_destroy = $(1) $(PY) -m teardown --stack $(2) --force && $(1) $(CDK) destroy $(2) $(3) --force

# Destroys the demo's and promote-local's stacks that exist on the local AWS (if it runs), then stops it.
# A stage stack is STACK-stage, destroyed with -c stage=stage; stacks never deployed are left alone, silently.
DEMO_STACKS = $(STACK) $(foreach stage,$(STAGES),$(STACK)-$(stage))
demo-down:
	@if $(PY) -m local_aws status >/dev/null 2>&1; then \
		existing=$$($(LOCAL) $(PY) -m teardown.existing $(DEMO_STACKS)) || exit 1; \
		for stack in $$existing; do \
			stage=$${stack#$(STACK)}; stage=$${stage#-}; \
			echo "== destroy $$stack"; \
			$(call empty_and_destroy,$(LOCAL),$$stack,$${stage:+-c stage=$$stage} --no-notices) || exit 1; \
		done; \
	fi
	$(PY) -m local_aws down

synth: setup-deploy $(ARTIFACT)
	$(CDK) synth --quiet

diff: setup-deploy $(ARTIFACT)
	$(CDK) diff

deploy: setup-deploy $(ARTIFACT)
	$(CDK) deploy --require-approval never --outputs-file $(BUILD_DIR)/outputs.json

destroy: setup-deploy
	$(call empty_and_destroy,,$(STACK))

bench: bench-build bench-synth bench-runtime bench-verify bench-verify-seed bench-align bench-transform bench-train bench-drift

bench-build: setup
	$(PY) bench/build_vs_notebook.py

bench-synth: setup $(ARTIFACT)
	$(PY) bench/synth_vs_empty_app.py

bench-runtime: setup
	$(PY) bench/runtime_vs_numpy.py

bench-verify: setup
	$(PY) bench/verify_vs_sequential.py

bench-verify-seed: setup
	$(PY) bench/verify_vs_seed.py

bench-align: setup
	$(PY) bench/align.py

bench-transform: setup
	$(PY) bench/transform_vs_numpy.py

bench-drift: setup
	$(PY) bench/drift_vs_json.py

# The drift monitor's processing job runs on SageMaker's scikit-learn image 1.2-1: Python 3.9 with its numpy and boto3
# (requirements-processing.txt). tests/monitoring/test_processing_image.py runs the job's code in this venv.
# A Python 3.9 on PATH, else pyenv's (its shim refuses versions not selected); none: the test skips, setup says so.
PROCESSING_PYTHON ?= $(firstword $(shell command -v python3.9 >/dev/null 2>&1 && python3.9 -c 'import sys' 2>/dev/null \
	&& echo python3.9) $(wildcard $(HOME)/.pyenv/versions/3.9*/bin/python3.9))
.venv-processing/.installed: requirements-processing.txt
ifeq ($(strip $(PROCESSING_PYTHON)),)
	@echo "no Python 3.9 here: the processing image's test (tests/monitoring/test_processing_image.py) will skip"
else
	$(PROCESSING_PYTHON) -m venv .venv-processing
	.venv-processing/bin/python -m pip install $(PIP_FLAGS) -r $<
	touch $@
endif

# Training at scale: each benchmark its own target, `bench-train` all of them (a 5 GB CSV, a million rows: minutes).
.PHONY: bench-train bench-train-streaming bench-train-sagemaker
bench-train: bench-train-streaming bench-train-sagemaker

bench-train-streaming: setup
	$(PY) bench/train_streaming_vs_arrow.py

# A 2-instance local training job against in-process scikit-learn (BENCH_TRAIN_ROWS rows).
BENCH_TRAIN_ROWS ?= 1000000
bench-train-sagemaker: setup
	$(PY) bench/train_vs_sklearn.py --rows $(BENCH_TRAIN_ROWS)

# Regenerate the golden NDArray files with real MXNet (commit the result).
golden: .venv-mxnet/.installed
	$(MXNET_PY) scripts/mxnet_oracle.py golden tests/golden

clean: demo-down
	rm -rf $(BUILD_DIR) cdk.out .bench .local_aws .pytest_cache .mypy_cache .ruff_cache
