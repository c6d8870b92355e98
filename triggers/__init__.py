"""The logic behind the Functions triggers; `function_app.py` only wires these to bindings."""
