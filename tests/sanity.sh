#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the collection laid out as
# ansible_collections/dockernet/packetflow (ansible-test needs that path).
# The copy stays between runs so ansible-test reuses its virtualenvs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${VENV:-$repo/.venv}/bin
# Outside the repository: inside it, ansible-test would list files through git.
dest=${PF_SANITY_ROOT:-/var/tmp/packetflow-sanity}/ansible_collections/dockernet/packetflow

# ansible-test downloads a pip bootstrap script from a host this machine cannot
# reach; the stand-in beside the repository seeds pip from Python's own wheel.
site=$("$bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(grep -oP "pip='\K[0-9.]+" "$site/_internal/python_requirements.py" | head -n 1 | tr . _)
standin=$repo/../shared/tools/ansible-test-get-pip.py
mkdir -p ~/.ansible/test/cache
if [ -f "$standin" ] && [ ! -f ~/.ansible/test/cache/get_pip_${pip_version}.py ]; then
  cp "$standin" ~/.ansible/test/cache/get_pip_${pip_version}.py
fi

mkdir -p "$dest"
(cd "$repo" && git ls-files -co --exclude-standard) \
  | rsync -a --delete --exclude tests/output --files-from=- "$repo"/ "$dest"/
# --files-from does not delete files gone from the tree: prune them.
(cd "$dest" && find . -type f -not -path './tests/output/*' -printf '%P\n') | while read -r f; do
  [ -e "$repo/$f" ] || rm -f "$dest/$f"
done

cd "$dest"
"$bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
