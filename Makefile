# The two commands of README.md: `make demo` and `make test`. Both install the
# Debian packages they need first (scripts/install-deps.sh).

# A target directory outside the clone keeps rebuilds fast across clones.
CARGO_TARGET_DIR ?= /var/tmp/kiosk-target
export CARGO_TARGET_DIR
# Tesseract's OpenMP threads stall on small machines; one per engine is faster.
export OMP_THREAD_LIMIT = 1
CARGO ?= cargo

.PHONY: deps build demo test bench invariants screenshots

deps:
	./scripts/install-deps.sh

# Every binary, kiosk with the feature `demo` (simulators, SPECIMEN data, `kiosk
# demo`) for the demo and the benchmarks. The terminal's own binary is built
# without it: `cargo deb -p kiosk` (image-build/), or `cargo build --release -p kiosk`.
build: deps
	$(CARGO) build --workspace --bins --features kiosk/demo

demo: build
	$(CARGO_TARGET_DIR)/debug/kiosk demo

test: deps
	$(CARGO) build --workspace --all-targets
	./scripts/check-invariants.sh
	./scripts/test-all.sh

# Rewrites the reference screenshots of kiosk/ui/screenshots/ after a deliberate
# change of the UI: look at every changed PNG before committing it.
screenshots:
	UPDATE_SCREENSHOTS=1 $(CARGO) test -p kiosk-ui --test ui screenshots

bench: build
	$(CARGO_TARGET_DIR)/debug/intake-bench $(or $(RUNS),5) $(or $(PAGES),2)
