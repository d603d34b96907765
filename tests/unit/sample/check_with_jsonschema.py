# Independent reference for the grammar tests: validates each output against its schema with the PyPI
# `jsonschema` package (Draft 2020-12). Input: a JSON file [{"schema": ..., "outputs": ["<json text>", ...]}].
# Prints one line per failure and "checked N" last; exit status 1 on any failure, 2 if jsonschema is missing.
import json
import sys

try:
    import jsonschema
except ImportError:
    print("jsonschema missing")
    sys.exit(2)

cases = json.load(open(sys.argv[1], encoding="utf-8"))
failures = 0
checked = 0
for case in cases:
    validator = jsonschema.Draft202012Validator(case["schema"])
    for text in case["outputs"]:
        checked += 1
        try:
            value = json.loads(text)
        except ValueError as e:
            failures += 1
            print(f"not JSON ({e}): {text!r}")
            continue
        errors = list(validator.iter_errors(value))
        if errors:
            failures += 1
            print(f"invalid ({errors[0].message}): {text!r}")
print(f"checked {checked}")
sys.exit(1 if failures else 0)
