"""`pvhlint fix` as a pipeline, one module per stage (pipeline.py runs them in order):

    request  FixRequest -> Edit      the note names and values parsed, targets settled
    plan     Edit -> Plan            the byte-minimal rewrite of the notes, in memory
    repack   Plan -> Packed          a bzImage's payload re-compressed into the same slot
    verify   Packed -> Verified      re-opened, read back as planned, re-checked
    write    Verified -> Written     beside the destination, fsynced, renamed over it

A stage that cannot go on raises pvhlint.errors.EditError (the fix is refused, nothing
written, exit 1) or UsageError (the request cannot apply to this input, exit 2).
`extract` (the ELF out of a bzImage) and `report` (what `fix` prints) sit beside them.

Named `fixer`, not `fix`: importing a package `pvhlint.fix` would replace the function
`pvhlint.fix` (the API) by the module.
"""
