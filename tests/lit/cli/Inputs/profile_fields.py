"""Prints which fields `spire devices --profile` (argv[1], JSON) has: first
those of the #spire.target in a compiled module (argv[2]), in its order, then
the rest, then the profile that fits the device."""
import json
import re
import sys

profile = json.load(open(sys.argv[1]))
target = re.search(r"#spire\.target<(.*?)>", open(sys.argv[2]).read()).group(1)
fields = re.findall(r"(\w+) = ", target)
missing = [f for f in fields if f not in profile]
print("every #spire.target field:", " ".join(fields) + (f" MISSING {missing}" if missing else ""))
print("and the device:", " ".join(k for k in profile if k not in fields))
print("fits:", profile["name"])
