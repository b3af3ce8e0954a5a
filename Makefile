# The README's two commands: `make book` and `make test`. Both set up .venv themselves.
PROFILE ?= paper
VENV    := .venv
BIN     := $(VENV)/bin
CHAPTERS := $(basename $(notdir $(wildcard book/notebooks/*.md)))

ifeq ($(filter $(PROFILE),smoke quick paper),)
$(error PROFILE must be smoke, quick or paper, got '$(PROFILE)': run e.g. make book PROFILE=quick)
endif

.PHONY: setup book test chapters reproduce clean FORCE

setup: $(VENV)/.installed

# Exact pins live in pyproject.toml; constraints.txt pins everything they pull in.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

# papermill's injected parameters cell is tagged remove-cell, like the cell it overrides
export HIDE_INJECTED := import nbformat, sys; nb = nbformat.read(sys.argv[1], 4); \
  [c.metadata.setdefault("tags", []).append("remove-cell") for c in nb.cells \
   if "injected-parameters" in c.metadata.get("tags", [])]; nbformat.write(nb, sys.argv[1])

# Execute every chapter with papermill at $(PROFILE) into $(OUT) (notebook per chapter);
# CHAPTERS="identity steer" executes only those, and make -j2 two at a time.
OUT ?= book/executed
chapters: setup
	@$(MAKE) --no-print-directory $(CHAPTERS:%=$(OUT)/%.ipynb)

# FORCE: a chapter is executed again whenever asked for (the results it reads may be newer)
$(OUT)/%.ipynb: book/notebooks/%.md FORCE
	@mkdir -p $(OUT)
	@echo "== executing $* at profile $(PROFILE)"
	$(BIN)/jupytext --quiet --to ipynb -o $@ $<
	$(BIN)/papermill --cwd $(OUT) -k python3 -p profile $(PROFILE) $@ $@
	$(BIN)/python -c "$$HIDE_INJECTED" $@

FORCE:

book: chapters
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "book: $(CURDIR)/_build/html/index.html (profile $(PROFILE))"

# Everything from nothing at $(PROFILE): datasets, policies, every study and mode, then the
# book; what is stored and intact is reused, so an interrupted run resumes.
reproduce: setup
	$(BIN)/frozensteer reproduce --profile $(PROFILE)

# Unit and integration tests, then nbval over every chapter executed at the smoke profile,
# on TEST_JOBS processes: first the smoke reproduction (every dataset, policy and study the
# chapters read), then the chapters, then pytest (pytest-xdist; a notebook's cells stay in
# one process).
TEST_JOBS ?= 2
test: setup
	$(BIN)/frozensteer reproduce --profile smoke --no-book --workers $(TEST_JOBS)
	$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target chapters \
	  PROFILE=smoke OUT=_build/smoke
	$(BIN)/pytest -n $(TEST_JOBS) --dist loadfile tests _build/smoke --nbval-lax

clean:
	rm -rf _build book/executed
