# pvhlint.mk: check the kernel image after the build, and fail the build on errors.
#
# Include it after the kernel's own Makefile (contrib/README.md shows a GNUmakefile that
# does so without editing the kernel tree):
#
#     include /path/to/pvhlint/contrib/pvhlint.mk
#
# `make` (the `all` goal) then builds bzImage and runs
#     pvhlint check --require xen-pvh arch/x86/boot/bzImage
# and stops with pvhlint's exit status (1: a required target would refuse the image,
# or another error finding; 2: the image cannot be read). `make pvhlint-check` runs the
# check alone. Every variable can be set on the command line or before the include.

# The pvhlint command (e.g. "python3 -m pvhlint", or a path into a virtualenv).
PVHLINT ?= pvhlint
# Boot targets that must accept the image, space-separated (empty: what the image claims).
PVHLINT_REQUIRE ?= xen-pvh
# The image to check, relative to where make runs (with O=, the output tree).
PVHLINT_IMAGE ?= arch/x86/boot/bzImage
# The target that builds PVHLINT_IMAGE: the check runs after it (empty: check the file as
# it is, e.g. `make -f pvhlint.mk pvhlint-check PVHLINT_AFTER=` from a packaging script).
PVHLINT_AFTER ?= bzImage
# The goal that runs the check as part of the build (empty: only `make pvhlint-check`).
PVHLINT_GOAL ?= all
# Extra options, e.g. --fail-on warning, --ignore RULE, --format github.
PVHLINT_FLAGS ?=

# Defining targets here must not change the including Makefile's default goal.
pvhlint_default_goal := $(.DEFAULT_GOAL)

.PHONY: pvhlint-check
pvhlint-check: $(PVHLINT_AFTER)
	$(Q)$(PVHLINT) check $(strip $(addprefix --require=,$(PVHLINT_REQUIRE)) $(PVHLINT_FLAGS) $(PVHLINT_IMAGE))

ifneq ($(strip $(PVHLINT_GOAL)),)
$(PVHLINT_GOAL): pvhlint-check
endif

.DEFAULT_GOAL := $(pvhlint_default_goal)
