#!/usr/bin/env bash
# The provisioning tests (`cargo xtask test` runs them; CI requires them):
#   1. ansible-lint, production profile, no warnings;
#   2. ansible-playbook --syntax-check against the example inventory;
#   3. a check-mode (--check --diff) run of site.yml against this machine (tests/localhost.yml).
# Needs the versions of requirements.txt: pip install -r ansible/requirements.txt
set -euo pipefail
cd "$(dirname "$0")"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1

for tool in ansible-playbook ansible-lint; do
  if ! command -v "$tool" >/dev/null; then
    echo "ansible/test.sh: $tool not found (pip install -r ansible/requirements.txt)" >&2
    exit 3
  fi
done

echo "== ansible-lint --profile production"
ansible-lint --offline --profile production --strict site.yml roles inventory tests

echo "== ansible-playbook --syntax-check"
ansible-playbook -i inventory/example.yml --syntax-check site.yml

echo "== ansible-playbook --check --diff against localhost"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ansible-playbook -i tests/localhost.yml site.yml --check --diff | tee "$log"
# Both plays reached the end on this host, with nothing failed or unreachable.
grep -Eq '^localhost +: ok=[0-9]+ +changed=[0-9]+ +unreachable=0 +failed=0' "$log"
if grep -q 'venue_password\|check-mode-only' "$log"; then
  echo "ansible/test.sh: a secret appeared in the output" >&2
  exit 1
fi
echo "ansible: lint, syntax check and check mode passed"
