"""What each command prints, one module per command and format: `check` as check_console,
check_concise (with --statistics), check_json, sarif and github; `inspect` as inspect_tree
and inspect_json; layers, where things are in an image's layers. Imported one module at a
time, by the format asked for."""
