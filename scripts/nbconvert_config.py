# nbconvert configuration for scripts/run-notebooks.ts (passed with --config).
#
# tslab reports a failing cell only through the status of its execute reply: the diagnostics go
# to the cell's stderr, no error output is written, and later cells are skipped. Recording each
# cell's reply status in its metadata lets the runner tell exactly which cell failed.


def record_reply_status(cell, cell_index, execute_reply):
    if execute_reply is not None:
        cell.metadata["execution_status"] = execute_reply["content"].get("status")


c.ExecutePreprocessor.on_cell_executed = record_reply_status  # noqa: F821 (c is given by traitlets)
