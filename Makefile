# Thin wrapper; CMakeLists.txt is the source of truth.
JOBS ?= $(shell nproc)
PRESET ?= cpu-release
BUILD := build/$(PRESET)

.PHONY: all deps build test run bench asan fuzz format clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure

# The main job: train a small ResNet on Fashion-MNIST until it memorizes, forget a random 10%
# with retrain, ft and amun, print the comparison table (scripts/main_job.sh; runs/main/).
run: build
	$(BUILD)/lethe info
	LETHE=$(BUILD)/lethe scripts/main_job.sh

bench: build
	@scripts/deps.sh libopenblas0-openmp
	$(BUILD)/bench_gemm
	$(BUILD)/bench_conv
	$(BUILD)/bench_ops

asan:
	@scripts/deps.sh
	@cmake --preset asan >/dev/null
	@cmake --build build/asan -j $(JOBS)
	cd build/asan && ctest --output-on-failure

# libFuzzer targets (fuzz/, one per parser of outside data), each for FUZZ_SECONDS (default 60);
# clang and libclang-rt-14-dev (its libFuzzer) are installed when missing.
fuzz: build
	@scripts/deps.sh clang libclang-rt-14-dev
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) scripts/fuzz.sh

format:
	find engine kernels apps tests bench models data unlearn eval fuzz -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' | xargs -r clang-format -i

clean:
	rm -rf build
