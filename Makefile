# ddm_gpu — build.
#
#   make            ./ddm_gpu (CPU backend always; CUDA backend too when nvcc is found)
#   make CUDA=0     CPU backend only, even where nvcc exists
#   make CUDA=1     require the CUDA backend (error without nvcc)
#   make deps       install the Debian packages the build, tests and plots need (root)
#   make test       build and run the Criterion tests
#   make bench      build and run the benchmarks (separate from the tests)
#   make info       what was found, and how the build is configured
#   make format     clang-format every source; make format-check fails on a diff
#   make install    PREFIX=/usr/local (and DESTDIR): the binary, scripts, experiments and docs;
#                   make uninstall removes them again; make test-install checks both
#
# Variables: CC, CUDA (auto|0|1), CUDA_HOME, CUDA_ARCH (e.g. sm_90), OPT (default -O3).

VERSION   := 0.1.0
CC        ?= gcc
OPT       ?= -O3
CUDA      ?= auto
CUDA_HOME ?= /usr/local/cuda
CUDA_ARCH ?= sm_90
BUILD     := build

PKGS      := hdf5 inih lapacke openblas sleef
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# The commit (with -dirty for uncommitted changes) is compiled into --version and each run file's
# git_commit. The objects that hold it depend on a stamp rewritten only when it changes, so an
# incremental build after a pull or a commit does not record the commit of the previous build.
GIT_COMMIT := $(shell git describe --always --dirty --abbrev=12 --match=NONE 2>/dev/null || echo unknown)
COMMIT_STAMP := $(BUILD)/git_commit.stamp
$(shell mkdir -p $(BUILD) && [ "$$(cat $(COMMIT_STAMP) 2>/dev/null)" = "$(GIT_COMMIT)" ] || \
        echo "$(GIT_COMMIT)" > $(COMMIT_STAMP))

CFLAGS  := -std=c11 $(OPT) -g -Wall -Wextra -Werror -fopenmp -Iinclude $(PKG_CFLAGS) \
           -D_GNU_SOURCE -DDDM_VERSION='"$(VERSION)"' -DDDM_GIT_COMMIT='"$(GIT_COMMIT)"'
LDLIBS  := $(PKG_LIBS) -lhdf5_hl -lm -lgomp
LDFLAGS := -fopenmp

# SANITIZE=1 builds everything with ASan + UBSan (used by `make test` for its second pass)
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                  -fno-omit-frame-pointer
ifeq ($(SANITIZE),1)
  CFLAGS  += $(SANITIZE_FLAGS)
  LDFLAGS += $(SANITIZE_FLAGS)
endif

# --- CUDA detection (STYLE rule 9): the CPU backend is always built ---------------------------
NVCC := $(shell command -v nvcc 2>/dev/null || ls $(CUDA_HOME)/bin/nvcc 2>/dev/null)
ifeq ($(CUDA),auto)
  ifneq ($(NVCC),)
    WITH_CUDA := 1
  else
    WITH_CUDA := 0
  endif
else ifeq ($(CUDA),1)
  ifeq ($(NVCC),)
    $(error CUDA=1 but nvcc was not found on PATH or in CUDA_HOME=$(CUDA_HOME); install the CUDA toolkit or build with CUDA=0)
  endif
  WITH_CUDA := 1
else
  WITH_CUDA := 0
endif

# --- sources ---------------------------------------------------------------------------------
SIMD_SRC := $(wildcard host/cpu/*_simd.c)
HOST_SRC := $(filter-out host/run/main.c $(wildcard host/cpu/*.c),$(wildcard host/*/*.c)) \
            $(filter-out $(SIMD_SRC),$(wildcard host/cpu/*.c))
HOST_OBJ := $(HOST_SRC:%.c=$(BUILD)/%.o)

# Each vectorised CPU path (host/cpu/*_simd.c) is one source compiled once per instruction set and
# chosen at run time (host/cpu/backend_cpu.c), so one binary runs on any x86-64 machine of a cluster.
ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
  SIMD_OBJ := $(SIMD_SRC:%.c=$(BUILD)/%_avx512.o) $(SIMD_SRC:%.c=$(BUILD)/%_avx2.o) \
              $(SIMD_SRC:%.c=$(BUILD)/%_avx512_sleef.o) $(SIMD_SRC:%.c=$(BUILD)/%_avx2_sleef.o)
  CFLAGS   += -DDDM_HAVE_SIMD=1
else
  SIMD_OBJ :=
endif

CUDA_SRC := $(wildcard kernels/*.cu)
CUDA_DEV := $(wildcard kernels/dev/*.cu)
ifeq ($(CUDA_SRC),)
  WITH_CUDA := 0
endif
ifeq ($(WITH_CUDA),1)
  CUDA_OBJ := $(CUDA_SRC:%.cu=$(BUILD)/%.o)
  CFLAGS   += -DDDM_WITH_CUDA=1 -I$(CUDA_HOME)/include
  LDLIBS   += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 \
              -lcusolver -lcublas -lcurand -lcudart -lstdc++
  NVFLAGS  := -O3 -std=c++17 -lineinfo -Iinclude $(PKG_CFLAGS) \
              -gencode arch=compute_$(CUDA_ARCH:sm_%=%),code=$(CUDA_ARCH) \
              -gencode arch=compute_$(CUDA_ARCH:sm_%=%),code=compute_$(CUDA_ARCH:sm_%=%) \
              -DDDM_CUDA_ARCH=$(CUDA_ARCH:sm_%=%) -Xcompiler -Wall,-Wextra,-Werror \
              -Werror all-warnings
  DEV_BIN  := $(CUDA_DEV:kernels/dev/%.cu=$(BUILD)/kernels/dev/%)
else
  CUDA_OBJ :=
  DEV_BIN  :=
endif

LIB := $(BUILD)/libddm.a
BIN := ddm_gpu

TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(BUILD)/ddm_tests

BENCH_SRC := $(wildcard scripts/bench/*.c)
BENCH_BIN := $(BENCH_SRC:scripts/bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps info test test-sanitize test-valgrind test-slurm bench dev fuzz format format-check \
        clean install uninstall test-install gpu-bundle test-gpu-dry-run sass-check
all: $(BIN) info-line

$(BUILD)/host/run/main.o $(BUILD)/host/io/runfile.o $(BUILD)/host/io/merge.o: $(COMMIT_STAMP)
$(COMMIT_STAMP): # written above when the Makefile is read; again after a `make clean` in one call
	@mkdir -p $(@D) && echo '$(GIT_COMMIT)' > $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC    $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%_avx512.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC    $< (AVX-512)"
	@$(CC) $(CFLAGS) -mavx512f -mavx512dq -mfma -DDDM_SIMD_AVX512=1 -MMD -MP -c $< -o $@

$(BUILD)/%_avx2.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC    $< (AVX2)"
	@$(CC) $(CFLAGS) -mavx2 -mfma -DDDM_SIMD_AVX2=1 -MMD -MP -c $< -o $@

# The same paths with SLEEF's tanhf in place of the rational tanh (DDM_CPU_TANH=sleef).
$(BUILD)/%_avx512_sleef.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC    $< (AVX-512, SLEEF tanh)"
	@$(CC) $(CFLAGS) -mavx512f -mavx512dq -mfma -DDDM_SIMD_AVX512=1 -DDDM_TANH_SLEEF=1 -MMD -MP \
	    -c $< -o $@

$(BUILD)/%_avx2_sleef.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC    $< (AVX2, SLEEF tanh)"
	@$(CC) $(CFLAGS) -mavx2 -mfma -DDDM_SIMD_AVX2=1 -DDDM_TANH_SLEEF=1 -MMD -MP -c $< -o $@

$(BUILD)/kernels/%.o: kernels/%.cu
	@mkdir -p $(dir $@)
	@echo "NVCC  $<"
	@$(NVCC) $(NVFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(HOST_OBJ) $(SIMD_OBJ) $(CUDA_OBJ)
	@rm -f $@
	@echo "AR    $@"
	@ar rcs $@ $^

$(BIN): $(BUILD)/host/run/main.o $(LIB)
	@echo "LD    $@"
	@$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	@echo "LD    $@"
	@$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcriterion

$(BUILD)/bench/%: scripts/bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "CC    $<"
	@$(CC) $(CFLAGS) $< -o $@ $(LIB) $(LDLIBS)

# Kernel experiments (STYLE rule 8) are compiled, never run, by CI (make test builds them): each
# validates its versions against the CPU twins of libddm.a, then times them, on a GPU machine.
$(BUILD)/kernels/dev/%: kernels/dev/%.cu $(LIB)
	@mkdir -p $(dir $@)
	@echo "NVCC  $< (kernel experiment)"
	@$(NVCC) $(NVFLAGS) -c $< -o $@.o
	@$(CC) $(LDFLAGS) $@.o $(LIB) -o $@ $(LDLIBS)

dev: $(DEV_BIN)

# The tests run twice: as built, then once more under ASan + UBSan (LeakSanitizer included), on
# the CPU backend, in build/sanitize. A sanitizer report or a leak fails the target (except a
# block Criterion's runner itself leaks now and then: scripts/sanitizer_reports.sh; leaks are
# judged from the logs, so they do not change a process's exit status). The second
# pass alone: make test-sanitize. tests/check_output.py (~10 s) checks real run files against
# docs/output.md, opens them with xarray and reads a live run with swmr=True.
test: $(TEST_BIN) $(BIN) $(DEV_BIN)
	$(TEST_BIN) -j2
	/usr/bin/python3 tests/check_output.py $(BIN)
	@$(MAKE) --no-print-directory test-sanitize
	@$(MAKE) --no-print-directory test-valgrind
	@$(MAKE) --no-print-directory test-gpu-dry-run
	@$(MAKE) --no-print-directory sass-check

# scripts/gpu/first_run.sh end to end without a GPU: stand-ins for nvidia-smi, the sanitizers and
# ncu, the CUDA libraries found in a stand-in Python wheel; fails if its table is wrong (~1–2 min).
test-gpu-dry-run: $(BIN) $(TEST_BIN) $(BUILD)/bench/bench_ddm
	bash tests/gpu_dry_run.sh $(BIN) $(TEST_BIN) $(BUILD)/bench/bench_ddm

# The simulation kernel's issue slots per neuron-step (k = 3, N4_R4), counted from its SASS
# (kernels/NOTES.md): fails past the recorded figure; skipped without a CUDA build, or without
# cuobjdump/nvdisasm (pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm).
SASS_MAX := 19.4
sass-check:
	@if [ '$(WITH_CUDA)' != 1 ]; then echo "sass-check: skipped (not a CUDA build)"; exit 0; fi; \
	 $(MAKE) --no-print-directory $(BUILD)/kernels/rnn_step.o || exit 1; \
	 bash scripts/gpu/sass_count.sh $(BUILD)/kernels/rnn_step.o --max $(SASS_MAX); rc=$$?; \
	 if [ $$rc -eq 3 ]; then echo "sass-check: skipped (no cuobjdump/nvdisasm)"; exit 0; fi; \
	 exit $$rc

# Valgrind memcheck on one short end-to-end run (tests/valgrind.ini) of a plain CPU build: it sees
# into OpenBLAS/LAPACK and HDF5, which the sanitizers do not instrument. --overwrite: the run
# replaces the file of the previous `make test`.
test-valgrind:
	@$(MAKE) --no-print-directory BUILD=build/valgrind CUDA=0 OPT=-O1 BIN=build/valgrind/ddm_gpu \
	    build/valgrind/ddm_gpu
	@start=$$(date +%s); \
	 valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	    --show-leak-kinds=definite build/valgrind/ddm_gpu tests/valgrind.ini --overwrite --quiet || exit 1; \
	 echo "valgrind memcheck: 0 errors, 0 definite leaks ($$(( $$(date +%s) - start )) s)"

SANITIZE_LOGS := $(BUILD)/sanitize-logs
test-sanitize:
	@$(MAKE) --no-print-directory BUILD=build/sanitize SANITIZE=1 CUDA=0 OPT=-O1 \
	    build/sanitize/ddm_tests
	@rm -rf $(SANITIZE_LOGS) && mkdir -p $(SANITIZE_LOGS)
	@start=$$(date +%s); \
	 ASAN_OPTIONS=detect_leaks=1:log_path=$(CURDIR)/$(SANITIZE_LOGS)/asan LSAN_OPTIONS=exitcode=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:log_path=$(CURDIR)/$(SANITIZE_LOGS)/ubsan \
	 build/sanitize/ddm_tests -j2 || exit 1; \
	 echo "sanitizer pass: $$(( $$(date +%s) - start )) s"
	@if ls $(SANITIZE_LOGS)/* >/dev/null 2>&1; then \
	   bash scripts/sanitizer_reports.sh $(SANITIZE_LOGS)/* || exit 1; fi

# The SLURM job templates of scripts/slurm/ for real, on a one-node cluster started on this
# machine (root; installs slurm-wlm and munge when missing; about 25 s).
test-slurm: $(BIN)
	bash scripts/slurm/local_cluster.sh bash scripts/slurm/test_slurm.sh

# bench_cpu: the CPU backend against its twin; run_bench.py: every backend of this build and the
# PyTorch / JAX peers (skipped when not installed) in one table. BENCH_ARGS=--quick for small sizes;
# BENCH_SIZES=4096x1024 (B,...xn,...) for a grid of one's own.
bench: $(BENCH_BIN) $(BIN)
	$(BUILD)/bench/bench_cpu
	python3 scripts/bench/run_bench.py --ddm $(BUILD)/bench/bench_ddm $(BENCH_ARGS) \
	    $(if $(BENCH_SIZES),--sizes $(BENCH_SIZES))

# One archive for a bare GPU machine (docs/gpu.md): ddm_gpu, the tests, the benchmarks and the
# kernel experiments (built with -lineinfo), their shared libraries but glibc, libstdc++ and CUDA,
# and the headers to rebuild there; scripts/gpu/first_run.sh unpacks and runs it there.
GPU_BUNDLE := .gpucarry/ddm_gpu_bundle.tar.xz
gpu-bundle:
	@if [ '$(WITH_CUDA)' != 1 ]; then echo "make gpu-bundle needs nvcc (CUDA=1)"; exit 1; fi
	@$(MAKE) --no-print-directory $(BIN) $(TEST_BIN) $(BENCH_BIN) $(DEV_BIN)
	bash scripts/gpu/bundle.sh $(GPU_BUNDLE) $(BIN) $(TEST_BIN) $(BENCH_BIN) $(DEV_BIN)

# Every float (all 2^32 bit patterns) through each CPU vector tanh against libm's tanh in double
# (minutes on two cores; tests/test_tanh.c checks a stride of them in well under a second).
.PHONY: tanh-check
tanh-check: $(BUILD)/bench/tanh_check
	$(BUILD)/bench/tanh_check

info-line:
	@printf 'ddm_gpu %s: CPU backend ✓' '$(VERSION)'; \
	 if [ '$(SIMD_OBJ)' ]; then printf ', SIMD (AVX2/AVX-512, run-time choice) ✓'; else printf ', SIMD ✗ (not x86-64)'; fi; \
	 if [ '$(WITH_CUDA)' = 1 ]; then printf ', CUDA backend ✓ (%s)\n' '$(CUDA_ARCH)'; \
	 else printf ', CUDA backend ✗ (%s)\n' '$(if $(NVCC),CUDA=0,nvcc not found)'; fi

info: info-line
	@echo "CC        = $(CC) ($(shell $(CC) -dumpversion))"
	@echo "NVCC      = $(or $(NVCC),not found)"
	@echo "CUDA_ARCH = $(CUDA_ARCH)"
	@for p in $(PKGS) criterion; do \
	   if pkg-config --exists $$p; then echo "  ✓ $$p $$(pkg-config --modversion $$p)"; \
	   else echo "  ✗ $$p (run: make deps)"; fi; done

# libFuzzer targets (clang, ASan + UBSan) for the expression compiler and the configuration loader.
# The working corpus lives in build/fuzz/ (seeded from experiments/, tests/bad_inputs/ and
# tests/fuzz/seeds/); FUZZ_SECONDS bounds each target's run.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -std=c11 -g -O1 -D_GNU_SOURCE -Iinclude $(shell pkg-config --cflags inih) \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_EXPR    := host/config/expr_parse.c host/config/expr_eval.c
FUZZ_CONFIG  := $(FUZZ_EXPR) host/config/config.c host/config/config_keys.c host/model/system.c host/model/wells.c \
                host/run/error.c

$(BUILD)/fuzz/fuzz_expr: tests/fuzz/fuzz_expr.c $(FUZZ_EXPR)
	@mkdir -p $(dir $@)
	@echo "FUZZ  $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) $^ -o $@ -lm

$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c $(FUZZ_CONFIG)
	@mkdir -p $(dir $@)
	@echo "FUZZ  $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) $^ -o $@ -linih -lm

fuzz: $(BUILD)/fuzz/fuzz_expr $(BUILD)/fuzz/fuzz_config
	@mkdir -p $(BUILD)/fuzz/corpus_expr $(BUILD)/fuzz/corpus_config
	@cp tests/fuzz/seeds/expr/* $(BUILD)/fuzz/corpus_expr/
	@cp experiments/*.ini tests/bad_inputs/*.ini tests/fuzz/seeds/config/* $(BUILD)/fuzz/corpus_config/
	cd $(BUILD)/fuzz && ./fuzz_expr -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=crash_expr_ corpus_expr 2>&1 | grep -E '^(stat::number_of_executed_units|Done|==)'
	cd $(BUILD)/fuzz && ./fuzz_config -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=crash_config_ corpus_config 2>&1 | grep -E '^(stat::number_of_executed_units|Done|==)'
	@! ls $(BUILD)/fuzz/crash_* 2>/dev/null || { echo "fuzzing found crashes (above)"; exit 1; }

# Debian packages: compilers and libraries for the build, Criterion for the tests, h5py and
# matplotlib for scripts/plot.py, hdf5-tools for h5dump.
DEB_PKGS := build-essential pkg-config libhdf5-dev hdf5-tools libinih-dev libopenblas-dev \
            liblapacke-dev libsleef-dev libcriterion-dev python3-h5py python3-numpy \
            python3-matplotlib python3-xarray python3-h5netcdf clang-format clang \
            libclang-rt-14-dev valgrind
deps:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PKGS)

FORMAT_SRC = $(wildcard include/ddm/*.h scripts/bench/*.h host/*/*.c host/*/*.h kernels/*.cu kernels/*.cuh \
                        kernels/*.h \
                        kernels/dev/*.cu tests/*.c tests/*.h scripts/bench/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

# Install: PREFIX/bin/ddm_gpu, PREFIX/share/ddm_gpu/{scripts,experiments} (plot.py with its helper,
# the SLURM templates) and PREFIX/share/doc/ddm_gpu (README, LICENSE, CITATION.cff, docs/).
# DESTDIR is prepended for packaging. uninstall removes exactly these.
PREFIX   ?= /usr/local
DATA_DIR := $(DESTDIR)$(PREFIX)/share/ddm_gpu
DOC_DIR  := $(DESTDIR)$(PREFIX)/share/doc/ddm_gpu
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DATA_DIR)/scripts/slurm $(DATA_DIR)/experiments \
	    $(DOC_DIR)/docs/figures
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ddm_gpu
	install -m 755 scripts/plot.py $(DATA_DIR)/scripts/
	install -m 644 scripts/plot_memory.py $(DATA_DIR)/scripts/
	install -m 755 scripts/slurm/*.sh $(DATA_DIR)/scripts/slurm/
	install -m 644 scripts/slurm/*.sbatch $(DATA_DIR)/scripts/slurm/
	install -m 644 experiments/*.ini $(DATA_DIR)/experiments/
	install -m 644 README.md LICENSE CITATION.cff $(DOC_DIR)/
	install -m 644 docs/*.md $(DOC_DIR)/docs/
	install -m 644 docs/figures/*.png $(DOC_DIR)/docs/figures/
	@echo "installed $(DESTDIR)$(PREFIX)/bin/ddm_gpu; plots: python3 $(PREFIX)/share/ddm_gpu/scripts/plot.py RUN.h5"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/ddm_gpu
	rm -rf $(DATA_DIR) $(DOC_DIR)

# Installs into a temporary prefix, runs the installed binary on an installed experiment from
# another directory (short settings) and the installed plot.py on its file, then uninstalls and
# checks that nothing is left.
test-install: $(BIN)
	bash scripts/install_check.sh

clean:
	rm -rf $(BUILD) $(BIN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
