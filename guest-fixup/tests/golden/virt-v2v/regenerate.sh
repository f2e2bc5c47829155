#!/usr/bin/env bash
# Regenerates xen-pv.facts, the golden reference of guest-fixup's virt_v2v_golden test: the
# boot facts (tests/support/guest-facts.sh) of the xen-pv test image after Debian's virt-v2v
# converted it (run-virt-v2v.sh: about 10 minutes under TCG, cached). Needs root. Not a CI
# step: run it when the image recipe or the virt-v2v chroot changes, then review the diff.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
converted=$("$here/run-virt-v2v.sh")
"$here/../../support/guest-facts.sh" "$converted" >"$here/xen-pv.facts.new"
mv "$here/xen-pv.facts.new" "$here/xen-pv.facts"
echo "wrote $here/xen-pv.facts from $converted"
