# The two quick-start commands are `make demo` and `make test`; both set up
# what they need first. Models come from ONLOOKER_MODEL_MIRROR when it is set
# (a folder holding the upstream files), else from their pinned upstream URLs.

PYTHON ?= python3
CARGO ?= cargo
ONLOOKER := target/release/onlooker

.PHONY: all models build demo test lint check-ffmpeg bench bench-compare bench-set bench-int8 bench-memory clean-models fuzz cluster-test validate-k8s

all: build

models:
	$(PYTHON) scripts/fetch_models.py

build: models
	$(CARGO) build --release

# The report folder `make demo` writes (and replaces on the next run).
REPORT_DIR ?= onlooker-report

# Videos are decoded by the ffmpeg program (Debian package ffmpeg).
check-ffmpeg:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || \
		{ echo "ffmpeg and ffprobe are needed for videos: install the Debian package ffmpeg (apt-get install ffmpeg)" >&2; exit 2; }

demo: build check-ffmpeg
	$(ONLOOKER) models
	$(ONLOOKER) analyze samples/ --out $(REPORT_DIR) --force
	@echo "Open the report: $(CURDIR)/$(REPORT_DIR)/index.html"

# Tests run optimised: image decoding and resizing are 10-25x slower in debug.
test: models check-ffmpeg
	$(CARGO) test --release

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

bench: build
	$(CARGO) bench

clean-models:
	rm -rf models/weights

# Fuzzes the per-image entry point for FUZZ_SECONDS (fuzz/README.md). The
# toolchain is stable: RUSTC_BOOTSTRAP lets cargo-fuzz use sanitizer flags.
FUZZ_SECONDS ?= 600
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	mkdir -p fuzz/corpus/decode
	ONLOOKER_FUZZ_SEEDS=$(CURDIR)/fuzz/corpus/decode $(CARGO) test --release --test hostile -- --ignored write_fuzz_seeds
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O decode corpus/decode -- \
		-dict=decode.dict -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-malloc_limit_mb=512 -max_len=32768 -print_final_stats=1

# The Python reference pipeline (benches/reference/) and onlooker on the same
# images, alternating; prints both rates and their ratio. The reference's
# pinned dependencies go into a git-ignored virtualenv.
REF_VENV := benches/reference/.venv
BENCH_PATHS ?= samples

bench-compare: build $(REF_VENV)/.installed
	$(REF_VENV)/bin/python benches/reference/compare.py --python $(REF_VENV)/bin/python --onlooker $(ONLOOKER) $(BENCH_PATHS)

$(REF_VENV)/.installed: benches/reference/requirements.txt
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/pip install --quiet -r benches/reference/requirements.txt
	touch $@

# A mixed benchmark set (over 200 images: phone-like 12 MP JPEGs, small web
# images, 2-8 MP, group photos up to Solvay at 6000 px, EXIF-rotated,
# greyscale, PNG with and without alpha) made from samples/ and
# scikit-image's bundled data images, the same bytes on every run with the
# reference's pinned Pillow (scripts/make_bench_set.py; MANIFEST.tsv lists
# them). BENCH_PATHS=$(BENCH_SET_DIR) make bench-compare runs on it.
BENCH_SET_DIR ?= target/bench-set
BENCH_SET_WHEELS := target/bench-set-wheels

bench-set: $(REF_VENV)/.installed
	$(REF_VENV)/bin/pip download --quiet --no-deps --only-binary :all: scikit-image==0.26.0 -d $(BENCH_SET_WHEELS)
	$(REF_VENV)/bin/python scripts/make_bench_set.py --skimage-wheel-dir $(BENCH_SET_WHEELS) $(BENCH_SET_DIR)

# Static int8 versions of the detectors against the fp32 models: CPU time of
# one inference and the detections kept over $(BENCH_SET_DIR) (make bench-set
# first), calibrated on samples/ (benches/reference/int8.py).
bench-int8: $(REF_VENV)/.int8
	$(REF_VENV)/bin/python benches/reference/int8.py $(BENCH_SET_DIR)

$(REF_VENV)/.int8: $(REF_VENV)/.installed benches/reference/requirements-int8.txt
	$(REF_VENV)/bin/pip install --quiet -r benches/reference/requirements-int8.txt
	touch $@

# Peak memory (VmHWM) of `onlooker analyze --jsonl` over 20 and 2000 images
# (links to the samples), and their ratio.
bench-memory: build
	scripts/bench_memory.sh $(ONLOOKER)

# Shards CLUSTER_INPUT (default samples/) across a throwaway single-node Slurm
# cluster started under a temporary folder (deploy/slurm/onlooker-array.sbatch),
# merges the shards and checks the result equals one `onlooker analyze` run.
# Needs root and the Debian packages slurm-wlm and munge (installed if absent).
cluster-test: build check-ffmpeg
	ONLOOKER=$(ONLOOKER) scripts/cluster_test.sh

# Validates deploy/k8s/job.yaml against the Kubernetes schema (strict).
validate-k8s:
	scripts/validate_k8s.sh
